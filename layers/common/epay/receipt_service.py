"""The receipt's PDF as a use case (operations-api.md §7): `GET /v1/payments/{id}/receipt.pdf?lang=fr|ar|en`.

The PDF is drawn by `epay.receipt_pdf`, imported only when a receipt is drawn: fpdf2, Pillow, fontTools and the fonts
are in the receipt layer, which only the receipt and mailer functions ship.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from epay import errors
from epay.payments import Payment, PaymentStatus, is_payment_id
from epay.receipt_texts import text


class PaymentReader(Protocol):
    def get_payment(self, payment_id: str) -> Payment | None: ...


@dataclass(frozen=True)
class ReceiptDocument:
    content: bytes
    filename: str


def receipt_document(payment: Payment, lang: str, frontend_url: str) -> ReceiptDocument:
    """The receipt of a paid payment, in `lang`, with its file name in that language."""
    from epay.receipt_pdf import render

    assert payment.receipt_code is not None
    return ReceiptDocument(render(payment, lang, frontend_url), text(lang, "mail.filename", code=payment.receipt_code))


@dataclass(frozen=True)
class ReceiptDocuments:
    payments: PaymentReader
    frontend_url: str

    def pdf(self, payment_id: str, lang: str) -> ReceiptDocument:
        """`PAYMENT_NOT_FOUND` for an unknown payment; `RECEIPT_NOT_AVAILABLE` (409) unless it is `PAID` (a reversed
        payment's receipt still verifies by its code, but is no longer handed out as proof)."""
        payment = self.payments.get_payment(payment_id) if is_payment_id(payment_id) else None
        if payment is None:
            raise errors.payment_not_found()
        if payment.status is not PaymentStatus.PAID or payment.receipt_code is None:
            raise errors.receipt_not_available()
        return receipt_document(payment, lang, self.frontend_url)
