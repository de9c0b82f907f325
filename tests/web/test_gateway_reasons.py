"""The page reads a payment's `last_error` as the API stores it: the forms the layer writes, run through the page's
own reader (web/js/status.js, `gatewayReason`) under node, give the reason the catalogue words. Likewise the
`reversal.reason` of a payment whose invoices another payment paid."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from epay.callbacks import PAID_ELSEWHERE
from epay.error_catalogue import REASONS, declined_last_error

ROOT = Path(__file__).parents[2]
READER = """
const { gatewayReason } = await import(new URL("web/js/status.js", `file://${process.cwd()}/`).href);
console.log(JSON.stringify(JSON.parse(process.argv[1]).map(gatewayReason)));
"""


def node() -> str:
    found = shutil.which("node")
    if found is None:
        pytest.fail("node is not installed: run `make node` (Debian's nodejs)", pytrace=False)
    return found


def read_on_the_page(texts: list[str]) -> list[dict | None]:
    run = subprocess.run(
        [node(), "--input-type=module", "-e", READER, json.dumps(texts)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return json.loads(run.stdout)


def test_each_stored_gateway_failure_is_a_reason_the_page_words():
    stored = {
        declined_last_error("CMI", "05", "Do not honour"): ("CARD_DECLINED", {"code": "05"}),
        declined_last_error("CMI", "51", None): ("CARD_DECLINED", {"code": "51"}),
        # The callback engine stores an M2T ending as "M2T <status>" (tests/unit/services/test_m2t_callback_engine.py).
        **{f"M2T {status}": (status, {"gateway": "M2T"}) for status in ("FAILED", "CANCELLED", "EXPIRED")},
    }
    read = read_on_the_page(list(stored))
    assert [(entry["key"], entry["vars"]) for entry in read] == [
        (f"reason.{reason}", values) for reason, values in stored.values()
    ]
    assert {reason for reason, _ in stored.values()} == set(REASONS)


def test_the_page_knows_the_reason_recorded_when_another_payment_paid_the_invoices():
    reader = """
const { PAID_ELSEWHERE } = await import(new URL("web/js/status.js", `file://${process.cwd()}/`).href);
console.log(JSON.stringify(PAID_ELSEWHERE));
"""
    run = subprocess.run(
        [node(), "--input-type=module", "-e", reader], cwd=ROOT, capture_output=True, text=True, timeout=60, check=True
    )
    assert json.loads(run.stdout) == PAID_ELSEWHERE
