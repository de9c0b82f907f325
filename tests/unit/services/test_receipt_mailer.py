"""The receipt's e-mail (operations-api.md §7) on the in-memory stores: queued by the settlement, sent once.

SES is played by `Outgoing` (accepts, refuses for good, or fails for a while); the outbox is the fake store's, held
to the DynamoDB store's by tests/integration/test_store_contract.py.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from email import message_from_bytes, policy

import pytest

from epay.receipt_mailer import LEASE_SECONDS, Delivery, MailBusy, MailRejected, ReceiptMailer
from epay.receipts import MailState, ReceiptMail
from tests.support.engine import CODE, NOW, PAYER, Harness
from tests.support.factories import an_invoice
from tests.support.receipts import folded, pdf_text

SENDER = "e-paiement@portnet.ma"
FRONTEND = "https://www.example.ma/e-paiement/"


@dataclass
class Outgoing:
    """SES, as the mailer sees it: every message handed over, and what to answer next."""

    sent: list[tuple[str, str, bytes]] = field(default_factory=list)
    failures: list[Exception] = field(default_factory=list)

    def send(self, sender: str, recipient: str, message: bytes) -> str:
        if self.failures:
            raise self.failures.pop(0)
        self.sent.append((sender, recipient, message))
        return f"ses-{len(self.sent)}"


@pytest.fixture
def ses() -> Outgoing:
    return Outgoing()


def mailer(h: Harness, ses: Outgoing) -> ReceiptMailer:
    return ReceiptMailer(h.payments, h.payments, ses, SENDER, FRONTEND, clock=lambda: h.now)


def settled(h: Harness, lang: str = "fr", number: str = "F-2026-000777") -> ReceiptMail:
    invoices = h.given(an_invoice(CODE, number=number, amount="310.00"))
    created = h.start(invoices, lang=lang)
    h.cmi_success(created)
    return ReceiptMail.queued(created.payment_id, h.now)


def test_the_receipt_is_e_mailed_to_the_payer_with_the_pdf_attached(h, ses):
    mail = settled(h)
    assert mailer(h, ses).deliver(mail) is Delivery.SENT
    ((sender, recipient, raw),) = ses.sent
    assert (sender, recipient) == (SENDER, PAYER["email"])
    message = message_from_bytes(raw, policy=policy.default)
    code = h.payment(mail.payment_id).receipt_code
    assert message["To"] == PAYER["email"]
    assert SENDER in message["From"]
    assert message["Subject"] == f"Votre reçu de paiement PORTNET {code}"
    body = message.get_body(preferencelist=("plain",)).get_content()
    assert "310.00 MAD" in body
    assert f"{FRONTEND}?verify={code}" in body
    (attachment,) = list(message.iter_attachments())
    assert attachment.get_content_type() == "application/pdf"
    assert attachment.get_filename() == f"recu-portnet-{code}.pdf"
    assert "F-2026-000777" in pdf_text(attachment.get_payload(decode=True))
    assert h.payments.mail_state(mail) is MailState.SENT
    assert h.payments.mail_sent_ids[mail] == "ses-1"


def test_the_e_mail_is_in_the_payment_s_language(h, ses):
    mail = settled(h, lang="ar")
    mailer(h, ses).deliver(mail)
    message = message_from_bytes(ses.sent[0][2], policy=policy.default)
    assert message["Subject"].startswith("وصل الأداء")
    (attachment,) = list(message.iter_attachments())
    assert folded("وصل الأداء") in folded(pdf_text(attachment.get_payload(decode=True)))


def test_an_e_mail_sent_is_never_sent_again(h, ses):
    mail = settled(h)
    assert mailer(h, ses).deliver(mail) is Delivery.SENT
    h.advance(3600)
    assert mailer(h, ses).deliver(mail) is Delivery.ALREADY_DONE
    assert len(ses.sent) == 1


def test_an_e_mail_ses_refuses_for_good_is_recorded_failed_counted_and_not_retried(h, ses, counted):
    mail = settled(h)
    ses.failures.append(MailRejected("MessageRejected"))
    assert mailer(h, ses).deliver(mail) is Delivery.FAILED
    assert h.payments.mail_state(mail) is MailState.FAILED
    assert "ReceiptMailFailed" in counted
    assert mailer(h, ses).deliver(mail) is Delivery.ALREADY_DONE
    assert ses.sent == []


def test_a_passing_failure_gives_the_e_mail_back_and_the_retry_sends_it(h, ses):
    mail = settled(h)
    ses.failures.append(ConnectionError("SES throttled"))
    with pytest.raises(ConnectionError):
        mailer(h, ses).deliver(mail)
    assert h.payments.mail_state(mail) is MailState.PENDING
    assert mailer(h, ses).deliver(mail) is Delivery.SENT  # at once: no lease to wait for
    assert len(ses.sent) == 1


def test_an_e_mail_claimed_by_a_live_attempt_waits_for_it(h, ses):
    mail = settled(h)
    assert h.payments.claim_mail(mail, h.now, LEASE_SECONDS).value == "CLAIMED"
    with pytest.raises(MailBusy):
        mailer(h, ses).deliver(mail)
    assert ses.sent == []


def test_an_attempt_that_died_after_claiming_is_taken_over_once_its_lease_ends(h, ses):
    # The one way to send twice: an attempt that died after SES accepted and before it recorded it. Its lease
    # (longer than the function's timeout) must end first.
    mail = settled(h)
    h.payments.claim_mail(mail, h.now, LEASE_SECONDS)
    h.advance(LEASE_SECONDS)
    assert mailer(h, ses).deliver(mail) is Delivery.SENT


def test_an_entry_that_was_never_queued_sends_nothing(h, ses):
    assert mailer(h, ses).deliver(ReceiptMail("PAY-NEVER", "2026-11-27")) is Delivery.UNKNOWN
    assert ses.sent == []


def test_a_day_s_unsent_e_mails_are_listed_for_an_operator(h, ses):
    first, second = settled(h), settled(h, number="F-2026-000778")
    mailer(h, ses).deliver(first)
    assert mailer(h, ses).unsent(first.day) == [second]
    assert first.day == "2026-11-27" == ReceiptMail.queued("x", NOW).day
