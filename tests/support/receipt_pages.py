"""The API's answers about receipts, as the browser tests fake them (operations-api.md §7): a PAID payment's view with
its receipt code, and the public verification's answers. Built from the API's own view (epay.payment_service)."""

from __future__ import annotations

import json
import re
from dataclasses import replace
from typing import Any

from playwright.sync_api import Page, Route

from epay.callbacks import PAID_ELSEWHERE
from epay.invoices import Issuer
from epay.money import Money
from epay.payment_service import payment_view
from epay.payments import Payer, Payment, PaymentLine, PaymentStatus, Reversal, ReversalAction

PAYMENT_ID = "PAY-RECEIPTTEST000000000000000"  # 30 characters, as the service mints them
RECEIPT_CODE = "7K3M9Q2D4XHV8T1B"
REVERSED_CODE = "9ZX4T2M8K6P0Q1RB"
UNKNOWN_CODE = "0000111122223333"
NOW = 1_795_774_500  # 2026-11-27T10:15:00Z: 11:15 in Morocco (UTC+1)


def paid_payment(*, receipt_code: str | None = RECEIPT_CODE) -> Payment:
    return Payment(
        payment_id=PAYMENT_ID,
        subscription_code="AB12",
        issuer=Issuer("ANP", "Agence Nationale des Ports"),
        gateway="CMI",
        method="CARD",
        lines=(
            PaymentLine("inv-receipt-1", "F-2026-000123", Money(125_050)),
            PaymentLine("inv-receipt-2", "F-2026-000187", Money(98_000)),
        ),
        amount=Money(223_050),
        payer=Payer("Société Maritime du Détroit", "compta@example.ma"),
        lang="fr",
        status=PaymentStatus.PAID,
        created_at=NOW - 300,
        expires_at=NOW + 1500,
        paid_at=NOW,
        gateway_transaction_id="26331K1Q0042-AUTH-0042",
    )


def paid_view(*, receipt_code: str | None = RECEIPT_CODE) -> dict[str, Any]:
    """`GET /v1/payments/{id}` for a PAID payment, with the `receipt_code` operations-api.md §7 adds once PAID."""
    view = payment_view(paid_payment(), NOW + 60).model_dump(mode="json")
    view["receipt_code"] = receipt_code
    return view


def receipt_answer(code: str, status: str) -> dict[str, Any]:
    """`GET /v1/receipts/{code}` → 200: the public facts of a receipt (no payer data, no subscription code)."""
    payment = paid_payment()
    if status == "REVERSED":
        payment = replace(
            payment, status=PaymentStatus.REVERSED, reversal=Reversal(ReversalAction.REFUND, NOW + 600, PAID_ELSEWHERE)
        )
    return {
        "receipt_code": code,
        "status": status,
        "payment_id": payment.payment_id,
        "paid_at": "2026-11-27T10:15:00Z",
        "amount": "2230.50",
        "currency": "MAD",
        "issuer": {"code": "ANP", "name": "Agence Nationale des Ports"},
        "gateway": "CMI",
        "method": "CARD",
        "invoices": [
            {"invoice_number": "F-2026-000123", "amount": "1250.50"},
            {"invoice_number": "F-2026-000187", "amount": "980.00"},
        ],
    }


NOT_FOUND = {
    "type": "about:blank",
    "title": "Receipt not found",
    "status": 404,
    "detail": "Ce reçu est introuvable.",
    "code": "RECEIPT_NOT_FOUND",
}


def fake_receipts(page: Page) -> list[str]:
    """Answers GET /v1/receipts/{code} as the API would (PAID, REVERSED, else 404); returns the codes asked."""
    asked: list[str] = []
    known = {RECEIPT_CODE: "PAID", REVERSED_CODE: "REVERSED"}

    def answer(route: Route) -> None:
        code = route.request.url.rsplit("/", 1)[-1].split("?")[0]
        asked.append(code)
        if code in known:
            route.fulfill(
                status=200, content_type="application/json", body=json.dumps(receipt_answer(code, known[code]))
            )
        else:
            route.fulfill(status=404, content_type="application/problem+json", body=json.dumps(NOT_FOUND))

    page.route("**/v1/receipts/*", answer)
    return asked


def fake_paid_payment(page: Page, view: dict[str, Any] | None = None) -> None:
    """Answers the page's read of PAYMENT_ID with a PAID payment's view."""
    body = json.dumps(view or paid_view())
    page.route(
        f"**/v1/payments/{PAYMENT_ID}",
        lambda route: route.fulfill(status=200, content_type="application/json", body=body),
    )


def assert_morocco_time(shown: str, lang: str = "fr") -> None:
    """2026-11-27T10:15:00Z as a receipt states it: in Morocco's time, saying which offset from UTC that was (the
    browser's time-zone data decides whether it was UTC+1 or, as newer data has it, UTC+0: the hour follows)."""
    pattern = {
        "fr": r"^27/11/2026 à (\d{2}):15 \(heure du Maroc, UTC\+([01])\)$",
        "en": r"^27/11/2026 at (\d{2}):15 \(Morocco time, UTC\+([01])\)$",
    }[lang]
    match = re.match(pattern, shown.strip())
    assert match, shown
    assert int(match.group(1)) == 10 + int(match.group(2)), shown
