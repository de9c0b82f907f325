"""The receipt's e-mail (operations-api.md §7): when a payment becomes `PAID`, its payer receives the receipt, once.

The settlement transaction queues the e-mail in the outbox (`epay.ports.ReceiptOutbox`): it exists if and only if the
payment settled. DynamoDB Streams hands each new outbox entry to the mailer function (in AWS; `epay serve` runs the
same handler on the local table's stream), which sends it here:

1. claim the entry (a conditional write: queued, or its last sender's lease ended) — a second mailer, or a retry of
   the same record, finds it sent, or claimed and waits;
2. read the payment, draw its receipt in the payer's language, and hand SES one raw message with the PDF attached;
3. record it sent, with SES's message id — it is never claimed again.

SES refusing this message for good (`MailRejected`: a bad address, a recipient SES suppresses) is recorded as
`FAILED`, counted (`ReceiptMailFailed`, alarmed) and never retried; any other failure gives the claim back and is
raised, so the stream retries the record. The one way to send twice is a mailer that dies after SES accepted and
before it recorded it: its lease (longer than the function's timeout) must end first, then the next attempt sends
again. docs/architecture.md, "The receipt's e-mail", has the failure modes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formataddr, formatdate, make_msgid
from enum import StrEnum
from typing import Protocol

from epay.clock import iso_instant
from epay.observability import logger, metrics
from epay.payments import Payment
from epay.ports import ReceiptOutbox
from epay.receipt_service import ReceiptDocument, receipt_document
from epay.receipt_texts import LANGUAGES, text
from epay.receipts import Claim, ReceiptMail

# Longer than the mailer's timeout (60 s in template.yaml): a claim outlives any attempt that may still be running.
LEASE_SECONDS = 120
SENDER_NAME = "PORTNET"


class MailRejected(Exception):
    """SES refused this message for good: sending it again would be refused again."""


class MailSender(Protocol):
    """Hands a raw MIME message to the mail service (SES); returns its message id."""

    def send(self, sender: str, recipient: str, message: bytes) -> str: ...


class PaymentReader(Protocol):
    def get_payment(self, payment_id: str) -> Payment | None: ...


class Delivery(StrEnum):
    SENT = "sent"
    ALREADY_DONE = "already sent or refused"
    FAILED = "refused for good"
    BUSY = "claimed by another attempt"
    UNKNOWN = "not in the outbox"


class MailBusy(Exception):
    """Another attempt holds the e-mail's claim: try again after its lease."""


def receipt_message(payment: Payment, document: ReceiptDocument, sender: str, frontend_url: str) -> EmailMessage:
    """The e-mail: to the payer, in the payment's language, a short text and the receipt's PDF attached."""
    from epay.receipt_pdf import amount_text, morocco_time, verification_url

    assert payment.receipt_code is not None
    assert payment.paid_at is not None
    lang = payment.lang if payment.lang in LANGUAGES else "fr"
    message = EmailMessage()
    message["From"] = formataddr((SENDER_NAME, sender))
    message["To"] = payment.payer.email
    message["Subject"] = text(lang, "mail.subject", code=payment.receipt_code)
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = make_msgid(domain=sender.rsplit("@", 1)[-1])
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(
        text(
            lang,
            "mail.body",
            amount=amount_text(payment.amount, "en").removesuffix(" MAD"),
            issuer=payment.issuer.name,
            paid_at=morocco_time(payment.paid_at, lang),
            url=verification_url(frontend_url, payment.receipt_code),
        )
    )
    message.add_attachment(document.content, maintype="application", subtype="pdf", filename=document.filename)
    return message


@dataclass(frozen=True)
class ReceiptMailer:
    outbox: ReceiptOutbox
    payments: PaymentReader
    sender: MailSender
    mail_from: str
    frontend_url: str
    clock: Callable[[], int]

    def deliver(self, mail: ReceiptMail) -> Delivery:
        """Send one queued receipt e-mail, unless it was sent or refused already. Raises `MailBusy` when another
        attempt holds it, and whatever failed (the store, SES) when it is worth trying again."""
        now = self.clock()
        claim = self.outbox.claim_mail(mail, now, LEASE_SECONDS)
        if claim is Claim.DONE:
            return Delivery.ALREADY_DONE
        if claim is Claim.UNKNOWN:
            logger.warning("receipt e-mail not in the outbox", extra={"payment_id": mail.payment_id})
            return Delivery.UNKNOWN
        if claim is Claim.BUSY:
            raise MailBusy(mail.payment_id)
        try:
            payment = self.payments.get_payment(mail.payment_id)
            if payment is None or payment.receipt_code is None:
                raise LookupError(f"payment {mail.payment_id} has no receipt")
            document = receipt_document(payment, payment.lang if payment.lang in LANGUAGES else "fr", self.frontend_url)
            message = receipt_message(payment, document, self.mail_from, self.frontend_url)
            message_id = self.sender.send(self.mail_from, payment.payer.email, message.as_bytes())
        except MailRejected as rejected:
            self.outbox.mail_failed(mail, self.clock(), str(rejected)[:200])
            metrics.add_metric(name="ReceiptMailFailed", unit="Count", value=1)
            logger.error("receipt e-mail refused for good", extra={"payment_id": mail.payment_id})
            return Delivery.FAILED
        except Exception:
            self._give_back(mail)
            raise
        self.outbox.mail_sent(mail, self.clock(), message_id)
        metrics.add_metric(name="ReceiptMailSent", unit="Count", value=1)
        logger.info("receipt e-mail sent", extra={"payment_id": mail.payment_id, "sent_at": iso_instant(self.clock())})
        return Delivery.SENT

    def unsent(self, day: str) -> list[ReceiptMail]:
        """The receipt e-mails queued on `day` (UTC) that are neither sent nor refused (an operator's resend)."""
        return self.outbox.unsent_mail(day)

    def _give_back(self, mail: ReceiptMail) -> None:
        try:
            self.outbox.release_mail(mail)
        except Exception:  # the lease ends by itself: the next attempt waits for it
            logger.exception("receipt e-mail claim not released", extra={"payment_id": mail.payment_id})
