"""Opaque pagination cursors: HMAC-signed, expiring, bound to one search, built from the last item returned.

Format: base64url(payload) "." base64url(HMAC-SHA256(key, payload)), payload a compact JSON object:
`{"v": 1, "k": list key, "i": invoice id, "e": expiry (epoch s), "b": search binding tag}`. The binding is a keyed
digest of the code and filters, so the cursor never carries the subscription code, even encoded.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from dataclasses import dataclass

from epay.invoices import Position

_VERSION = 1
_MAX_TOKEN = 2048


class InvalidCursor(ValueError):
    """Forged, corrupted, expired, or minted for another search."""


def _b64encode(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _b64decode(text: str) -> bytes:
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError) as error:
        raise InvalidCursor("not base64url") from error


@dataclass(frozen=True)
class CursorCodec:
    """Mints and checks cursors with one secret key."""

    key: bytes
    ttl_seconds: int

    def _mac(self, payload: bytes) -> bytes:
        return hmac.new(self.key, b"cursor|" + payload, hashlib.sha256).digest()

    def _binding_tag(self, binding: str) -> str:
        digest = hmac.new(self.key, b"binding|" + binding.encode("utf-8"), hashlib.sha256).digest()
        return _b64encode(digest[:16])

    def encode(self, position: Position, binding: str, now: int) -> str:
        """A cursor that resumes after `position`, valid for this search only, until now + ttl."""
        payload = json.dumps(
            {
                "v": _VERSION,
                "k": position.list_key,
                "i": position.invoice_id,
                "e": now + self.ttl_seconds,
                "b": self._binding_tag(binding),
            },
            separators=(",", ":"),
            ensure_ascii=True,
        ).encode("ascii")
        return f"{_b64encode(payload)}.{_b64encode(self._mac(payload))}"

    def decode(self, token: str, binding: str, now: int) -> Position:
        """The position a cursor resumes after; `InvalidCursor` for anything not minted by us for this search."""
        if not token or len(token) > _MAX_TOKEN or token.count(".") != 1:
            raise InvalidCursor("malformed")
        encoded_payload, encoded_mac = token.split(".")
        payload = _b64decode(encoded_payload)
        if not hmac.compare_digest(_b64decode(encoded_mac), self._mac(payload)):
            raise InvalidCursor("bad signature")
        try:
            fields = json.loads(payload)
            version, key, invoice_id = fields["v"], fields["k"], fields["i"]
            expires, tag = fields["e"], fields["b"]
        except (ValueError, KeyError, TypeError) as error:
            raise InvalidCursor("unreadable") from error
        if version != _VERSION or not isinstance(key, str) or not isinstance(invoice_id, str):
            raise InvalidCursor("unknown version")
        if not isinstance(expires, int) or expires <= now:
            raise InvalidCursor("expired")
        if not isinstance(tag, str) or not hmac.compare_digest(tag, self._binding_tag(binding)):
            raise InvalidCursor("minted for another search")
        return Position(key, invoice_id)
