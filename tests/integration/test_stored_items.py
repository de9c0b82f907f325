"""Items as the store wrote them before it was split per aggregate (marshalled by hand), captured as DynamoDB
returned them: they still read back as the same invoices, payments and unapplied funds, and the stores still write
exactly these items, attribute for attribute, so existing tables need no migration.
"""

from __future__ import annotations

import json
import re
from dataclasses import replace
from datetime import date
from typing import Any

from epay import runtime
from epay.evidence import CallbackEvidence
from epay.invoices import Hold, Invoice, InvoiceStatus, Issuer
from epay.money import Money
from epay.payments import (
    Payer,
    Payment,
    PaymentEvent,
    PaymentLine,
    PaymentStatus,
    Reference,
    UnappliedFunds,
    UnappliedReason,
)
from tests.conftest import TEST_ENVIRONMENT

NOW = 1_795_774_500
TABLE = TEST_ENVIRONMENT["EPAY_TABLE"]
RATE_LIMIT_TABLE = TEST_ENVIRONMENT["EPAY_RATE_LIMIT_TABLE"]

# Every item of the main table after `the_day_they_record` below, as the hand-marshalling store left it.
EARLIER_ITEMS = [
    json.loads(line)
    for line in r"""
{"pk": {"S": "CALLBACK#UNMATCHED#2026-11-27#13"}, "sk": {"S": "CALLBACK#001795774680000#0e0e35ef"}, "entity": {"S": "CALLBACK"}, "gateway": {"S": "M2T"}, "received_at_ms": {"N": "1795774680000"}, "body_sha256": {"S": "cdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcd"}, "verified": {"BOOL": false}, "decision": {"S": "refused"}, "answer_status": {"N": "401"}, "purge_at": {"N": "1803550680"}}
{"pk": {"S": "CALLBACK#UNMATCHED#2026-11-27#13"}, "sk": {"S": "COUNT"}, "received": {"N": "1"}, "purge_at": {"N": "1803550680"}}
{"pk": {"S": "EVENT#FATOURATI#FT-000042"}, "sk": {"S": "EVENT"}, "payment_id": {"S": "PAY-A2B3C4D5E6F7G2H3J4K5L6M7N2"}}
{"pk": {"S": "INVOICE#inv-kzfdjv6me33xf5ngcqn7myu2j7zv6ohf"}, "sk": {"S": "INVOICE"}, "subscription_code": {"S": "ST01"}, "invoice_number": {"S": "MA-2025-09001"}, "issuer_code": {"S": "MARSA"}, "issuer_name": {"S": "Marsa Maroc"}, "issue_date": {"S": "2026-01-15"}, "amount": {"N": "45000"}, "currency": {"S": "MAD"}, "description": {"S": ""}, "status": {"S": "PAID"}, "search_text": {"S": "ma-2025-09001\n"}, "invoice_id": {"S": "inv-kzfdjv6me33xf5ngcqn7myu2j7zv6ohf"}, "entity": {"S": "INVOICE"}, "updated_at": {"N": "1795774500"}, "paid_payment_id": {"S": "PAY-A2B3C4D5E6F7G2H3J4K5L6M7N2"}, "paid_at": {"N": "1795774560"}}
{"pk": {"S": "INVOICE#inv-quir7tdxkj3edm3wby33q42ll6qyxcow"}, "sk": {"S": "INVOICE"}, "subscription_code": {"S": "ST01"}, "invoice_number": {"S": "F-2026-000123"}, "issuer_code": {"S": "ANP"}, "issuer_name": {"S": "Agence Nationale des Ports"}, "issue_date": {"S": "2026-01-15"}, "amount": {"N": "125050"}, "currency": {"S": "MAD"}, "description": {"S": "Droits de port, escale 2026/1234"}, "status": {"S": "UNPAID"}, "search_text": {"S": "f-2026-000123\ndroits de port, escale 2026/1234"}, "invoice_id": {"S": "inv-quir7tdxkj3edm3wby33q42ll6qyxcow"}, "entity": {"S": "INVOICE"}, "updated_at": {"N": "1795774500"}, "due_date": {"S": "2026-02-14"}, "list_pk": {"S": "SUB#ST01"}, "list_sk": {"S": "ANP#2026-01-15#F-2026-000123"}, "hold_payment_id": {"S": "PAY-7QH2M4XKZC3V5B6N8P9R2T4W6Y"}, "hold_expires_at": {"N": "1795776300"}}
{"pk": {"S": "PAYMENT#PAY-7QH2M4XKZC3V5B6N8P9R2T4W6Y"}, "sk": {"S": "PAYMENT"}, "entity": {"S": "PAYMENT"}, "payment_id": {"S": "PAY-7QH2M4XKZC3V5B6N8P9R2T4W6Y"}, "subscription_code": {"S": "ST01"}, "issuer_code": {"S": "ANP"}, "issuer_name": {"S": "Agence Nationale des Ports"}, "gateway": {"S": "CMI"}, "method": {"S": "CARD"}, "lines": {"L": [{"M": {"invoice_id": {"S": "inv-quir7tdxkj3edm3wby33q42ll6qyxcow"}, "invoice_number": {"S": "F-2026-000123"}, "amount": {"N": "125050"}}}]}, "amount": {"N": "125050"}, "currency": {"S": "MAD"}, "payer": {"M": {"name": {"S": "Société Maritime"}, "email": {"S": "compta@example.ma"}, "phone": {"S": "0522000000"}}}, "lang": {"S": "fr"}, "status": {"S": "PENDING"}, "created_at": {"N": "1795774500"}, "expires_at": {"N": "1795776300"}, "version": {"N": "1"}}
{"pk": {"S": "PAYMENT#PAY-A2B3C4D5E6F7G2H3J4K5L6M7N2"}, "sk": {"S": "CALLBACK#001795774560000#6a0f558a"}, "entity": {"S": "CALLBACK"}, "gateway": {"S": "FATOURATI"}, "received_at_ms": {"N": "1795774560000"}, "body_sha256": {"S": "abababababababababababababababababababababababababababababababab"}, "verified": {"BOOL": true}, "decision": {"S": "settled"}, "answer_status": {"N": "200"}, "notification": {"S": "PAID"}}
{"pk": {"S": "PAYMENT#PAY-A2B3C4D5E6F7G2H3J4K5L6M7N2"}, "sk": {"S": "CALLBACK#001795774560000#d5242272"}, "entity": {"S": "CALLBACK"}, "gateway": {"S": "FATOURATI"}, "received_at_ms": {"N": "1795774560000"}, "body_sha256": {"S": "abababababababababababababababababababababababababababababababab"}, "verified": {"BOOL": true}, "decision": {"S": "settled"}, "answer_status": {"N": "200"}, "notification": {"S": "PAID"}}
{"pk": {"S": "PAYMENT#PAY-A2B3C4D5E6F7G2H3J4K5L6M7N2"}, "sk": {"S": "PAYMENT"}, "entity": {"S": "PAYMENT"}, "payment_id": {"S": "PAY-A2B3C4D5E6F7G2H3J4K5L6M7N2"}, "subscription_code": {"S": "ST01"}, "issuer_code": {"S": "MARSA"}, "issuer_name": {"S": "Marsa Maroc"}, "gateway": {"S": "CMI"}, "method": {"S": "FATOURATI"}, "lines": {"L": [{"M": {"invoice_id": {"S": "inv-kzfdjv6me33xf5ngcqn7myu2j7zv6ohf"}, "invoice_number": {"S": "MA-2025-09001"}, "amount": {"N": "45000"}}}]}, "amount": {"N": "45000"}, "currency": {"S": "MAD"}, "payer": {"M": {"name": {"S": "Société Maritime"}, "email": {"S": "compta@example.ma"}, "phone": {"S": ""}}}, "lang": {"S": "ar"}, "status": {"S": "PAID"}, "created_at": {"N": "1795774500"}, "expires_at": {"N": "1795860900"}, "version": {"N": "2"}, "paid_at": {"N": "1795774560"}, "gateway_transaction_id": {"S": "FT-000042"}, "reference_code": {"S": "701234567890"}, "reference_expires_at": {"N": "1795860900"}, "settled_by": {"S": "FATOURATI|FT-000042|45000|MAD"}}
{"pk": {"S": "PAYMENT#PAY-A2B3C4D5E6F7G2H3J4K5L6M7N2"}, "sk": {"S": "UNAPPLIED#d356802a092a3cbec47d074b18b163fb"}, "entity": {"S": "UNAPPLIED"}, "gateway": {"S": "FATOURATI"}, "transaction_id": {"S": "FT-000043"}, "currency": {"S": "MAD"}, "reported_at": {"N": "1795774620"}, "reason": {"S": "SECOND_PAYMENT"}, "fingerprint": {"S": "FATOURATI|FT-000043|45000|MAD"}, "amount": {"N": "45000"}}
{"pk": {"S": "REFERENCE#701234567890"}, "sk": {"S": "REFERENCE"}, "payment_id": {"S": "PAY-A2B3C4D5E6F7G2H3J4K5L6M7N2"}, "expires_at": {"N": "1795860900"}}
""".strip().splitlines()
]
# The rate-limit counter that day's lookup left.
EARLIER_COUNTER = json.loads(
    r"""{"pk": {"S": "lookup#0123456789abcdef0123456789abcdef#498826"}, "m15": {"N": "1"}, "misses": {"N": "1"}, "expires_at": {"N": "1795778160"}}"""
)
# A payment under review (every optional text set), as the hand-marshalling store wrote it.
EARLIER_PAYMENT_UNDER_REVIEW = json.loads(
    r"""{"pk": {"S": "PAYMENT#PAY-7QH2M4XKZC3V5B6N8P9R2T4W6Y"}, "sk": {"S": "PAYMENT"}, "entity": {"S": "PAYMENT"}, "payment_id": {"S": "PAY-7QH2M4XKZC3V5B6N8P9R2T4W6Y"}, "subscription_code": {"S": "ST01"}, "issuer_code": {"S": "ANP"}, "issuer_name": {"S": "Agence Nationale des Ports"}, "gateway": {"S": "CMI"}, "method": {"S": "CARD"}, "lines": {"L": [{"M": {"invoice_id": {"S": "inv-quir7tdxkj3edm3wby33q42ll6qyxcow"}, "invoice_number": {"S": "F-2026-000123"}, "amount": {"N": "125050"}}}]}, "amount": {"N": "125050"}, "currency": {"S": "MAD"}, "payer": {"M": {"name": {"S": "Société Maritime"}, "email": {"S": "compta@example.ma"}, "phone": {"S": "0522000000"}}}, "lang": {"S": "fr"}, "status": {"S": "NEEDS_REVIEW"}, "created_at": {"N": "1795774500"}, "expires_at": {"N": "1795776300"}, "version": {"N": "3"}, "gateway_transaction_id": {"S": "26015K1Q0001"}, "last_error": {"S": "05"}, "review_reason": {"S": "AMOUNT_MISMATCH"}}"""
)

HELD = Invoice(
    invoice_id="inv-quir7tdxkj3edm3wby33q42ll6qyxcow",
    subscription_code="ST01",
    invoice_number="F-2026-000123",
    issuer=Issuer("ANP", "Agence Nationale des Ports"),
    issue_date=date(2026, 1, 15),
    due_date=date(2026, 2, 14),
    amount=Money(125_050),
    description="Droits de port, escale 2026/1234",
)
PAID = Invoice(
    invoice_id="inv-kzfdjv6me33xf5ngcqn7myu2j7zv6ohf",
    subscription_code="ST01",
    invoice_number="MA-2025-09001",
    issuer=Issuer("MARSA", "Marsa Maroc"),
    issue_date=date(2026, 1, 15),
    due_date=None,
    amount=Money(45_000),
    description="",
)
PENDING = Payment(
    payment_id="PAY-7QH2M4XKZC3V5B6N8P9R2T4W6Y",
    subscription_code="ST01",
    issuer=HELD.issuer,
    gateway="CMI",
    method="CARD",
    lines=(PaymentLine(HELD.invoice_id, HELD.invoice_number, HELD.amount),),
    amount=HELD.amount,
    payer=Payer("Société Maritime", "compta@example.ma", "0522000000"),
    lang="fr",
    status=PaymentStatus.PENDING,
    created_at=NOW,
    expires_at=NOW + 1800,
)
FATOURATI = Payment(
    payment_id="PAY-A2B3C4D5E6F7G2H3J4K5L6M7N2",
    subscription_code="ST01",
    issuer=PAID.issuer,
    gateway="CMI",
    method="FATOURATI",
    lines=(PaymentLine(PAID.invoice_id, PAID.invoice_number, PAID.amount),),
    amount=PAID.amount,
    payer=Payer("Société Maritime", "compta@example.ma"),
    lang="ar",
    status=PaymentStatus.AWAITING_SETTLEMENT,
    created_at=NOW,
    expires_at=NOW + 86_400,
    reference=Reference("701234567890", NOW + 86_400),
)
SETTLED = FATOURATI.advance(
    PaymentEvent.SETTLED,
    paid_at=NOW + 60,
    gateway_transaction_id="FT-000042",
    settled_by="FATOURATI|FT-000042|45000|MAD",
)
SETTLING = CallbackEvidence(
    "FATOURATI", (NOW + 60) * 1000, "ab" * 32, True, "settled", 200, FATOURATI.payment_id, "PAID"
)
SECOND_DEBIT = UnappliedFunds(
    "FATOURATI",
    "FT-000043",
    Money(45_000),
    "MAD",
    NOW + 120,
    UnappliedReason.SECOND_PAYMENT,
    "FATOURATI|FT-000043|45000|MAD",
)
UNDER_REVIEW = replace(
    PENDING,
    status=PaymentStatus.NEEDS_REVIEW,
    version=3,
    last_error="05",
    review_reason="AMOUNT_MISMATCH",
    gateway_transaction_id="26015K1Q0001",
)


def stores() -> tuple[Any, Any, Any]:
    """(invoices, payments, counters) over the test tables."""
    return runtime.invoice_store(), runtime.payment_store(), runtime.counters()


def the_day_they_record() -> None:
    """What the captured items record: two invoices loaded, a card payment holding one, a Fatourati payment settling
    the other and its bank reporting a second debit, a forged M2T callback, and one lookup that found nothing."""
    invoices, payments, counters = stores()
    invoices.upsert_invoice(HELD, NOW)
    invoices.upsert_invoice(PAID, NOW)
    payments.create_payment(PENDING, NOW)
    payments.create_payment(FATOURATI, NOW)
    payments.settle(FATOURATI, SETTLED, NOW + 60, SETTLING, ("FATOURATI", "FT-000042"))
    payments.record_unapplied(SETTLED, SECOND_DEBIT, SETTLING)
    payments.record_evidence(CallbackEvidence("M2T", (NOW + 180) * 1000, "cd" * 32, False, "refused", 401))
    counters.count_hit("lookup#0123456789abcdef0123456789abcdef#498826", ["m15", "misses"], NOW + 3660)


def earlier_item(pk: str, sk: str) -> dict[str, Any]:
    (item,) = [item for item in EARLIER_ITEMS if (item["pk"]["S"], item["sk"]["S"]) == (pk, sk)]
    return item


def stored_as_earlier(dynamodb: Any, *items: dict[str, Any]) -> None:
    for item in items:
        dynamodb.put_item(TableName=TABLE, Item=item)


def comparable(items: list[dict[str, Any]]) -> list[str]:
    """Items in key order, each as canonical JSON, the random tail of an evidence sort key left out."""
    texts = []
    for item in items:
        masked = {**item, "sk": {"S": re.sub(r"^(CALLBACK#\d+)#[0-9a-f]{8}$", r"\1#…", item["sk"]["S"])}}
        texts.append(json.dumps(masked, sort_keys=True, ensure_ascii=False))
    return sorted(texts)


# -- what earlier releases stored reads back the same ---------------------------------------------------------


def test_an_invoice_held_by_a_payment_reads_back_as_it_was_stored(dynamodb):
    stored_as_earlier(dynamodb, earlier_item(f"INVOICE#{HELD.invoice_id}", "INVOICE"))
    invoices, _, _ = stores()
    read = invoices.get_invoices([HELD.invoice_id])
    assert read == {HELD.invoice_id: replace(HELD, hold=Hold(PENDING.payment_id, PENDING.expires_at))}


def test_a_paid_invoice_without_due_date_or_description_reads_back_as_it_was_stored(dynamodb):
    stored_as_earlier(dynamodb, earlier_item(f"INVOICE#{PAID.invoice_id}", "INVOICE"))
    invoices, _, _ = stores()
    read = invoices.get_invoices([PAID.invoice_id])
    assert read == {PAID.invoice_id: replace(PAID, status=InvoiceStatus.PAID, paid_by=FATOURATI.payment_id)}


def test_a_pending_payment_without_optional_attributes_reads_back_as_it_was_stored(dynamodb):
    stored_as_earlier(dynamodb, earlier_item(f"PAYMENT#{PENDING.payment_id}", "PAYMENT"))
    _, payments, _ = stores()
    assert payments.get_payment(PENDING.payment_id) == PENDING


def test_a_settled_payment_with_its_reference_reads_back_as_it_was_stored(dynamodb):
    stored_as_earlier(
        dynamodb,
        earlier_item(f"PAYMENT#{FATOURATI.payment_id}", "PAYMENT"),
        earlier_item(f"REFERENCE#{FATOURATI.reference.code}", "REFERENCE"),
    )
    _, payments, _ = stores()
    assert payments.get_payment(FATOURATI.payment_id) == SETTLED
    assert payments.payment_id_for_reference(FATOURATI.reference.code) == FATOURATI.payment_id


def test_a_payment_under_review_reads_back_as_it_was_stored(dynamodb):
    stored_as_earlier(dynamodb, EARLIER_PAYMENT_UNDER_REVIEW)
    _, payments, _ = stores()
    assert payments.get_payment(UNDER_REVIEW.payment_id) == UNDER_REVIEW


def test_unapplied_funds_read_back_as_they_were_stored(dynamodb):
    (unapplied,) = [item for item in EARLIER_ITEMS if item["sk"]["S"].startswith("UNAPPLIED#")]
    stored_as_earlier(dynamodb, unapplied)
    _, payments, _ = stores()
    assert payments.unapplied_funds(FATOURATI.payment_id) == [SECOND_DEBIT]


# -- the stores write what earlier releases wrote ---------------------------------------------------------------


def test_the_stores_write_every_kind_of_item_exactly_as_earlier_releases_did(dynamodb):
    the_day_they_record()
    written = dynamodb.scan(TableName=TABLE, ConsistentRead=True)["Items"]
    assert comparable(written) == comparable(EARLIER_ITEMS)


def test_a_rate_limit_counter_is_written_exactly_as_earlier_releases_did(dynamodb):
    the_day_they_record()
    assert dynamodb.scan(TableName=RATE_LIMIT_TABLE, ConsistentRead=True)["Items"] == [EARLIER_COUNTER]
