"""Issue 9, item 4: the subscription code cannot be recovered offline from what the API shows about invoices.

`GET /v1/payments/{id}` shows each invoice's id beside its number and issuer, and a search's `next_cursor` carries
(readable, only signed) the last invoice's id, issuer, date and number. Before issue 9 an id was an unkeyed SHA-256
of `code|issuer|number`: trying the 36**4 codes against one exposed id gave the code in under a second. The attack
(tests/support/code_search.py, bounded in time as it explains) is run here against what the service exposes now.
"""

from __future__ import annotations

import base64
import json

import pytest

import list_invoices_handler
from epay import runtime
from epay.invoices import legacy_invoice_id_for
from epay_local.loader import load_invoices
from tests.support.code_search import candidate_codes, codes_reproducing
from tests.support.factories import (
    INVOICE_ID_KEY,
    FakeLambdaContext,
    http_event,
    invoice_line,
    parse_invoice_lines,
    response_json,
)
from tests.support.payments import CODE, freeze_clock, payment, search, start_payment, stored_invoice


def cursor_payload(cursor: str) -> dict[str, object]:
    """What anyone reads in a cursor without its key: the payload before the signature."""
    encoded = cursor.split(".")[0]
    payload: dict[str, object] = json.loads(base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)))
    return payload


def first_page_cursor(code: str) -> str:
    """The `next_cursor` of a one-invoice first page."""
    body = {"subscription_code": code, "page_size": 1}
    event = http_event("POST", "/v1/invoices/search", body=body, source_ip="198.51.100.251")
    cursor: str = response_json(list_invoices_handler.lambda_handler(event, FakeLambdaContext()))["next_cursor"]
    return cursor


@pytest.fixture
def exposed(dynamodb, monkeypatch):
    """Given two invoices loaded by the operator's loader, the (id, issuer, number) a payment view and a cursor show."""
    clock = freeze_clock(monkeypatch)
    lines = [
        json.dumps(invoice_line(subscription_code=CODE, invoice_number=number, issuer_code="ANP")).encode()
        for number in ("F-2026-000123", "F-2026-000187")
    ]
    key = INVOICE_ID_KEY.encode()
    load_invoices(runtime.invoice_store(), parse_invoice_lines(lines, key), clock.now, key)
    chosen = stored_invoice(sorted(search(CODE))[0])
    view = payment(start_payment([chosen])["payment_id"])
    from_view = [(line["invoice_id"], view["issuer"]["code"], line["invoice_number"]) for line in view["invoices"]]
    payload = cursor_payload(first_page_cursor(CODE))
    issuer, _issue_date, number = str(payload["k"]).split("#")
    return [*from_view, (str(payload["i"]), issuer, number)]


def test_trying_every_code_against_an_exposed_invoice_id_no_longer_finds_the_code(exposed):
    candidates = candidate_codes(CODE)
    assert CODE in candidates
    assert len(exposed) == 2  # one from the payment view, one from the cursor
    for invoice_id, issuer, number in exposed:
        assert codes_reproducing(invoice_id, issuer, number, candidates) == set()


def test_the_same_search_finds_the_code_from_an_unkeyed_id_as_the_service_exposed_before(exposed):
    # What the same payment view and cursor showed before issue 9: the unkeyed id of the same invoice. Had the
    # service still exposed it, the test above would fail on exactly this search.
    candidates = candidate_codes(CODE)
    for _invoice_id, issuer, number in exposed:
        legacy_id = legacy_invoice_id_for(CODE, issuer, number)
        assert codes_reproducing(legacy_id, issuer, number, candidates) == {CODE}
