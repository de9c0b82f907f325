"""How a request reached the API: through the stack's CloudFront distribution, or around it.

In AWS the page and `/v1/*` are served by one CloudFront distribution (docs/operations.md, "The page: CloudFront").
API Gateway then sees CloudFront's address as `sourceIp`, so the viewer's comes from CloudFront's
`CloudFront-Viewer-Address` header (`<ip>:<port>`, IPv6 without brackets). Anyone can send that header, so it is
believed only when the request carries the origin secret that CloudFront adds to every request it sends the API
(`X-Origin-Verify`, from the Secrets Manager secret `epay/<stage>/origin-verify`); viewers cannot set it, CloudFront
overwrites a header of that name. Deployed, a request without the secret went around the distribution (its WAF, its
rate rule) and is refused; locally, where no distribution exists, such a request is served as before, from
`sourceIp`.

The secret is a JSON object `{"current": "...", "previous": "..."}`: CloudFront sends `current`, and both are
accepted so that it can be rotated without refusing anyone (docs/operations.md, "Rotating the origin secret").
Pure: no I/O; `epay.runtime.edge` reads the secret and builds an `Edge`.
"""

from __future__ import annotations

import hmac
import ipaddress
import json
from collections.abc import Mapping
from dataclasses import dataclass

ORIGIN_VERIFY_HEADER = "X-Origin-Verify"
VIEWER_ADDRESS_HEADER = "CloudFront-Viewer-Address"
# Rate limits count an IPv6 client by its /64: one subscriber gets at least a /64 and can use any address in it.
IPV6_SUBJECT_PREFIX = 64


def origin_secrets(value: bytes) -> tuple[bytes, ...]:
    """The accepted values of the origin secret: its `current` and, while a rotation is under way, `previous`.

    A value that is not such a JSON object is taken whole (a local or test setting). Empty values are never accepted.
    """
    try:
        parsed = json.loads(value)
    except ValueError:
        parsed = None
    if isinstance(parsed, dict):
        found = [parsed.get("current"), parsed.get("previous")]
        return tuple(item.encode("utf-8") for item in found if isinstance(item, str) and item)
    return (value,) if value else ()


def viewer_address(value: str | None) -> str | None:
    """The address of `CloudFront-Viewer-Address` (`198.51.100.7:443`, `2001:db8::1:443`), normalised; None when
    absent or unreadable."""
    if not value:
        return None
    host, separator, port = value.strip().rpartition(":")
    if not separator or not port.isdigit():
        return None
    try:
        return str(ipaddress.ip_address(host.strip("[]")))
    except ValueError:
        return None


def rate_limit_subject(address: str) -> str:
    """What rate limits count for a client address: an IPv4 address itself, an IPv6 address's /64 network."""
    try:
        parsed = ipaddress.ip_address(address)
    except ValueError:
        return address
    if isinstance(parsed, ipaddress.IPv6Address):
        if parsed.ipv4_mapped is not None:
            return str(parsed.ipv4_mapped)
        return str(ipaddress.ip_network(f"{parsed}/{IPV6_SUBJECT_PREFIX}", strict=False))
    return str(parsed)


@dataclass(frozen=True)
class Edge:
    """The origin secrets a request may carry (none: no distribution in front, the local stack), and whether a request
    without one is refused (deployed)."""

    secrets: tuple[bytes, ...] = ()
    enforced: bool = False

    def came_through(self, headers: Mapping[str, str]) -> bool:
        """The request carries one of the origin secrets (compared in constant time, each of them every time)."""
        sent = _header(headers, ORIGIN_VERIFY_HEADER)
        if sent is None or not self.secrets:
            return False
        given = sent.encode("utf-8")
        matches = [hmac.compare_digest(given, secret) for secret in self.secrets]
        return any(matches)

    def refuses(self, headers: Mapping[str, str]) -> bool:
        """Deployed, a request that did not come through the distribution is refused."""
        return self.enforced and not self.came_through(headers)

    def client_address(self, headers: Mapping[str, str], source_ip: str | None) -> str:
        """The address rate limits count: the viewer's when the request came through the distribution, otherwise the
        caller's as API Gateway saw it (`sourceIp`); an IPv6 address by its /64."""
        address = source_ip or "unknown"
        if self.came_through(headers):
            address = viewer_address(_header(headers, VIEWER_ADDRESS_HEADER)) or address
        return rate_limit_subject(address)


def _header(headers: Mapping[str, str], name: str) -> str | None:
    wanted = name.lower()
    for key, value in headers.items():
        if key.lower() == wanted:
            return value
    return None
