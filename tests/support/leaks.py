"""The no-secrets-in-logs campaign: every log line written during the test session, in-process or by the
`epay serve` processes the end-to-end tests start, is scanned for secrets, card numbers and subscription codes.

`tests/conftest.py` feeds it and fails the session if anything is found (docs/reliability.md, campaign 5).
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

# The keys the end-to-end servers are started with, so their logs can be checked for them too.
SERVE_SECRETS = {
    "EPAY_CURSOR_SECRET": "serve-cursor-secret-5b0e9c1d7a",
    "EPAY_CHALLENGE_SECRET": "serve-challenge-secret-7c2e4a9b1d",
    "EPAY_INVOICE_ID_KEY": "serve-invoice-id-key-4d9e2a7c0b13f58e6a",
    "EPAY_CMI_STORE_KEY": "serve-cmi-store-key-8f3a",
    "EPAY_M2T_SECRET": "serve-m2t-secret-2c7d",
    "EPAY_FATOURATI_SECRET": "serve-fatourati-secret-6e1b",
    "EPAY_CMI_API_PASSWORD": "serve-cmi-api-password-3a9f",
}
CARD_NUMBERS = ("4000000000000002", "4000 0000 0000 0002")
LOG_DIR = Path(__file__).resolve().parents[2] / "test-output" / "logs"


# Request and correlation ids: a code made of hex digits (AB12) can be one of their 4-character groups by chance.
_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")


def _code_pattern(code: str) -> re.Pattern[str]:
    return re.compile(rf"(?<![A-Za-z0-9]){re.escape(code)}(?![A-Za-z0-9])")


def is_distinctive(code: str) -> bool:
    """Codes worth looking for: a letter and a digit that base32 ids never hold (0, 1, 8, 9), so a find is a leak,
    not a payment id or a timestamp that happens to contain the same four characters."""
    return any(c.isalpha() for c in code) and any(c in "0189" for c in code)


@dataclass
class LeakWatch:
    secrets: set[str] = field(default_factory=set)
    codes: set[str] = field(default_factory=set)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def watch_code(self, code: str) -> None:
        if is_distinctive(code):
            with self.lock:
                self.codes.add(code.upper())

    def findings(self, lines: Iterable[str]) -> list[str]:
        """Each line that holds a secret, a card number or a watched code, with what it holds."""
        patterns = [(code, _code_pattern(variant)) for code in sorted(self.codes) for variant in (code, code.lower())]
        found = []
        for line in lines:
            for secret in [*self.secrets, *CARD_NUMBERS]:
                if secret in line:
                    found.append(f"secret or card number {secret[:4]}… in: {line[:200]}")
            without_ids = _UUID.sub("<uuid>", line)
            found += [
                f"subscription code {code} in: {line[:200]}"
                for code, pattern in patterns
                if pattern.search(without_ids)
            ]
        return found


def log_records(text: str) -> list[str]:
    """The structured log records of a process's output (its console banner, meant for a person, is not a log)."""
    return [line for line in text.splitlines() if line.startswith("{")]
