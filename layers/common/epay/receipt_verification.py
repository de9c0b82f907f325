"""Verifying a receipt by its code (operations-api.md §7): `GET /v1/receipts/{receipt_code}`, public.

Anyone holding a receipt (the operator the payer paid for, an auditor) checks that it is real and what it paid. The
route is public, so it is rate-limited as the invoice lookup is, with its own budgets per client address (scope
`receipt`, the lookup's limits): a request is charged before anything is read, and one that finds no receipt spends a
miss, past the hour's budget every verification from the address is refused until the hour ends. With 2^80 codes an
enumeration finds nothing anyway; the budget makes trying cost the same as for subscription codes.

What is shown is what the receipt itself shows, and its status now: no payer detail, no subscription code.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from epay import errors
from epay.clock import iso_instant
from epay.payments import Payment, PaymentStatus
from epay.ratelimit import RateLimiter
from epay.receipts import normalised
from epay.schemas import IssuerOut, ReceiptInvoiceOut, ReceiptVerification

# A receipt verifies while its payment is paid, and says so once its money was returned.
VERIFIABLE = frozenset({PaymentStatus.PAID, PaymentStatus.REVERSED})


class ReceiptReader(Protocol):
    """What verification reads of the payment store: the code's item, then its payment."""

    def payment_id_for_receipt(self, code: str) -> str | None: ...

    def get_payment(self, payment_id: str) -> Payment | None: ...


def verification_of(payment: Payment) -> ReceiptVerification:
    """What a receipt proves about its payment (its `receipt_code` is set)."""
    assert payment.receipt_code is not None
    return ReceiptVerification(
        receipt_code=payment.receipt_code,
        status="REVERSED" if payment.status is PaymentStatus.REVERSED else "PAID",
        payment_id=payment.payment_id,
        paid_at=iso_instant(payment.paid_at) if payment.paid_at is not None else None,
        amount=str(payment.amount),
        issuer=IssuerOut(code=payment.issuer.code, name=payment.issuer.name),
        gateway=payment.gateway,
        method=payment.method,
        invoices=[
            ReceiptInvoiceOut(invoice_number=line.invoice_number, amount=str(line.amount)) for line in payment.lines
        ],
    )


@dataclass(frozen=True)
class ReceiptVerifier:
    payments: ReceiptReader
    limiter: RateLimiter

    def verify(self, typed: str, client_address: str, now: int) -> ReceiptVerification:
        """The receipt `typed` names; `RECEIPT_NOT_FOUND` for a code that is malformed, unknown, or whose payment
        is not (or no longer) paid or reversed — one answer, which never repeats what was typed."""
        self.limiter.charge(client_address, now)
        code = normalised(typed)
        payment_id = self.payments.payment_id_for_receipt(code) if code is not None else None
        payment = self.payments.get_payment(payment_id) if payment_id is not None else None
        if payment is None or payment.receipt_code != code or payment.status not in VERIFIABLE:
            self.limiter.record_miss(client_address, now)
            raise errors.receipt_not_found()
        return verification_of(payment)
