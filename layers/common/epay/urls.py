"""URL building for redirects."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit


def with_query(url: str, **parameters: str) -> str:
    """`url` with `parameters` added to (or replacing those in) its query string."""
    parts = urlsplit(url)
    query = [(key, value) for key, value in parse_qsl(parts.query, keep_blank_values=True) if key not in parameters]
    query += list(parameters.items())
    return urlunsplit(parts._replace(query=urlencode(query)))
