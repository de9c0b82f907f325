"""One specification of the store ports, run against the DynamoDB store (on moto) and the in-memory fakes.

The fakes stand in for DynamoDB in the use cases' unit tests; this is what keeps them honest: every condition the
real transactions encode (holds, settlement, versions, applied events, unapplied funds, issuers' reloads) is
checked here on both, with the same outcome and the same explanation.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from epay import runtime
from epay.evidence import CallbackEvidence
from epay.invoices import Invoice, InvoiceStatus, SearchCriteria
from epay.money import Money, total
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
from epay.ports import (
    EventAlreadyApplied,
    EventAppliedElsewhere,
    FundsAlreadyRecorded,
    InvoiceRefusal,
    InvoicesUnavailable,
    PaymentChanged,
    ReceiptCodeTaken,
    ReferenceTaken,
    TooManyLivePayments,
    UpsertOutcome,
)
from epay.receipts import Claim, MailState, ReceiptMail
from tests.support.factories import an_invoice
from tests.support.fakes import in_memory_stores

NOW = 1_795_774_500
CODE = "ST01"
_serial = iter(range(1, 1_000_000))


@pytest.fixture(params=["dynamodb", "in-memory"])
def stores(request: pytest.FixtureRequest) -> tuple[Any, Any]:
    """(invoice store, payment store) of one kind."""
    if request.param == "dynamodb":
        request.getfixturevalue("dynamodb")
        return runtime.invoice_store(), runtime.payment_store()
    return in_memory_stores()


def loaded(stores: tuple[Any, Any], *invoices: Invoice) -> list[Invoice]:
    for invoice in invoices:
        assert stores[0].upsert_invoice(invoice, NOW) is UpsertOutcome.WRITTEN
    return list(invoices)


def a_payment(invoices: list[Invoice], *, expires_at: int = NOW + 1800, reference: str | None = None) -> Payment:
    return Payment(
        payment_id=f"PAY-CONTRACT-{next(_serial)}",
        subscription_code=CODE,
        issuer=invoices[0].issuer,
        gateway="CMI",
        method="FATOURATI" if reference else "CARD",
        lines=tuple(PaymentLine(i.invoice_id, i.invoice_number, i.amount) for i in invoices),
        amount=total([i.amount for i in invoices]),
        payer=Payer("Société Maritime", "compta@example.ma"),
        lang="fr",
        status=PaymentStatus.AWAITING_SETTLEMENT if reference else PaymentStatus.PENDING,
        created_at=NOW,
        expires_at=expires_at,
        reference=Reference(reference, expires_at) if reference else None,
    )


def evidence(payment: Payment | None = None) -> CallbackEvidence:
    return CallbackEvidence("CMI", NOW * 1000, "0" * 64, True, "test", 200, payment.payment_id if payment else None)


def invoice(stores: tuple[Any, Any], invoice_id: str) -> Invoice:
    return stores[0].get_invoices([invoice_id])[invoice_id]


def settled(payment: Payment) -> Payment:
    return payment.advance(PaymentEvent.SETTLED, paid_at=NOW, settled_by="fp")


def invoices_of(amounts: list[str]) -> list[Invoice]:
    return [an_invoice(CODE, number=f"C-{next(_serial)}", amount=amount) for amount in amounts]


# -- holds ----------------------------------------------------------------------------------------------------


def as_read(stores: tuple[Any, Any], payment: Payment) -> Payment | None:
    """The payment as stored, but for the live slot the store gave it (the fakes count instead of using slots)."""
    found = stores[1].get_payment(payment.payment_id)
    return replace(found, live_slot=None) if found else None


def live_payments(stores: tuple[Any, Any], count: int, *, expires_at: int = NOW + 1800) -> list[Payment]:
    created = []
    for held in loaded(stores, *invoices_of(["10.00"] * count)):
        payment = a_payment([held], expires_at=expires_at)
        stores[1].create_payment(payment, NOW, 3)
        created.append(payment)
    return created


def test_a_code_with_its_limit_of_live_payments_refuses_one_more_and_nothing_of_it_is_written(stores):
    first, *_ = live_payments(stores, 3)
    (free,) = loaded(stores, *invoices_of(["10.00"]))
    fourth = a_payment([free])
    with pytest.raises(TooManyLivePayments) as refused:
        stores[1].create_payment(fourth, NOW, 3)
    assert (refused.value.subscription_code, refused.value.limit) == (CODE, 3)
    assert stores[1].get_payment(fourth.payment_id) is None
    assert invoice(stores, free.invoice_id).hold is None
    assert as_read(stores, first) == first


def test_the_limit_counts_one_codes_live_payments_only(stores):
    live_payments(stores, 3)
    (other,) = loaded(stores, an_invoice("ZZ99", number=f"C-{next(_serial)}", amount="10.00"))
    theirs = replace(a_payment([other]), subscription_code="ZZ99")
    stores[1].create_payment(theirs, NOW, 3)
    assert as_read(stores, theirs) == theirs


def test_without_a_limit_any_number_of_live_payments_is_created(stores):
    for held in loaded(stores, *invoices_of(["10.00"] * 5)):
        stores[1].create_payment(a_payment([held]), NOW)


@pytest.mark.parametrize("end", ["cancelled", "settled", "failed", "flagged"])
def test_a_payment_that_ended_no_longer_counts(stores, end):
    first, *_ = live_payments(stores, 3)
    stored = stores[1].get_payment(first.payment_id)
    if end == "settled":
        stores[1].settle(stored, settled(stored), NOW, evidence(stored))
    else:
        event = {
            "cancelled": PaymentEvent.CANCELLED_BY_PAYER,
            "failed": PaymentEvent.GATEWAY_FAILED,
            "flagged": PaymentEvent.FLAGGED,
        }[end]
        stores[1].transition(stored, stored.advance(event), None, release=stored.invoice_ids)
    (free,) = loaded(stores, *invoices_of(["10.00"]))
    replacement = a_payment([free])
    stores[1].create_payment(replacement, NOW, 3)
    assert as_read(stores, replacement) == replacement


def test_a_payment_whose_hold_lapsed_no_longer_counts_though_nothing_recorded_it(stores):
    live_payments(stores, 1, expires_at=NOW + 10)
    live_payments(stores, 2)
    (free,) = loaded(stores, *invoices_of(["10.00"]))
    with pytest.raises(TooManyLivePayments):
        stores[1].create_payment(a_payment([free]), NOW + 9, 3)
    later = a_payment([free], expires_at=NOW + 4000)
    stores[1].create_payment(later, NOW + 10, 3)
    assert as_read(stores, later) == later
    (another,) = loaded(stores, *invoices_of(["10.00"]))
    with pytest.raises(TooManyLivePayments):
        stores[1].create_payment(a_payment([another]), NOW + 10, 3)


def test_a_refused_hold_wins_over_the_limit_only_when_a_place_is_free(stores):
    (held,) = loaded(stores, *invoices_of(["10.00"]))
    stores[1].create_payment(a_payment([held]), NOW, 3)
    with pytest.raises(InvoicesUnavailable):
        stores[1].create_payment(a_payment([held]), NOW, 3)
    live_payments(stores, 2)
    with pytest.raises(TooManyLivePayments):
        stores[1].create_payment(a_payment([held]), NOW, 3)


def test_creating_a_payment_holds_every_invoice_until_its_expiry(stores):
    first, second = loaded(stores, *invoices_of(["10.00", "20.00"]))
    payment = a_payment([first, second])
    stores[1].create_payment(payment, NOW)
    assert stores[1].get_payment(payment.payment_id) == payment
    assert {invoice(stores, i.invoice_id).hold.payment_id for i in (first, second)} == {payment.payment_id}


def test_a_held_invoice_refuses_a_second_payment_and_nothing_of_it_is_written(stores):
    held, free = loaded(stores, *invoices_of(["10.00", "20.00"]))
    stores[1].create_payment(a_payment([held]), NOW)
    late = a_payment([free, held])
    with pytest.raises(InvoicesUnavailable) as refused:
        stores[1].create_payment(late, NOW)
    assert refused.value.refusals == {held.invoice_id: InvoiceRefusal.HELD}
    assert stores[1].get_payment(late.payment_id) is None
    assert invoice(stores, free.invoice_id).hold is None


def test_a_lapsed_hold_lets_another_payment_hold_the_invoice(stores):
    (contested,) = loaded(stores, *invoices_of(["10.00"]))
    stores[1].create_payment(a_payment([contested], expires_at=NOW + 10), NOW)
    later = a_payment([contested], expires_at=NOW + 4000)
    stores[1].create_payment(later, NOW + 10)
    assert invoice(stores, contested.invoice_id).hold.payment_id == later.payment_id


def test_an_invoice_reloaded_at_another_amount_refuses_a_payment_computed_from_the_old_one(stores):
    (original,) = loaded(stores, *invoices_of(["10.00"]))
    stale = a_payment([original])
    stores[0].upsert_invoice(an_invoice(CODE, number=original.invoice_number, amount="99.00"), NOW)
    with pytest.raises(InvoicesUnavailable) as refused:
        stores[1].create_payment(stale, NOW)
    assert refused.value.changed


def test_a_reference_already_in_use_is_refused(stores):
    first, second = loaded(stores, *invoices_of(["10.00", "20.00"]))
    stores[1].create_payment(a_payment([first], reference="123456789012"), NOW)
    with pytest.raises(ReferenceTaken):
        stores[1].create_payment(a_payment([second], reference="123456789012"), NOW)
    assert invoice(stores, second.invoice_id).hold is None


# -- settlement -----------------------------------------------------------------------------------------------


def test_settling_pays_the_payment_and_every_invoice_at_once(stores):
    invoices = loaded(stores, *invoices_of(["10.00", "20.00"]))
    payment = a_payment(invoices)
    stores[1].create_payment(payment, NOW)
    stores[1].settle(payment, settled(payment), NOW, evidence(payment))
    assert stores[1].get_payment(payment.payment_id).status is PaymentStatus.PAID
    for item in invoices:
        paid = invoice(stores, item.invoice_id)
        assert (paid.status, paid.paid_by, paid.hold) == (InvoiceStatus.PAID, payment.payment_id, None)


def test_settling_from_a_stale_version_is_refused(stores):
    invoices = loaded(stores, *invoices_of(["10.00"]))
    payment = a_payment(invoices)
    stores[1].create_payment(payment, NOW)
    stores[1].settle(payment, settled(payment), NOW, evidence(payment))
    with pytest.raises(PaymentChanged):
        stores[1].settle(payment, settled(payment), NOW, evidence(payment))


def test_an_invoice_reloaded_at_another_amount_is_never_settled_and_nothing_is_written(stores):
    (original,) = loaded(stores, *invoices_of(["1020.00"]))
    payment = a_payment([original], expires_at=NOW + 10)
    stores[1].create_payment(payment, NOW)
    stores[0].upsert_invoice(an_invoice(CODE, number=original.invoice_number, amount="5000.00"), NOW + 20)
    with pytest.raises(InvoicesUnavailable) as refused:
        stores[1].settle(payment, settled(payment), NOW + 30, evidence(payment))
    assert refused.value.refusals == {original.invoice_id: InvoiceRefusal.CHANGED}
    assert stores[1].get_payment(payment.payment_id) == payment
    assert (invoice(stores, original.invoice_id).status, str(invoice(stores, original.invoice_id).amount)) == (
        InvoiceStatus.UNPAID,
        "5000.00",
    )


def test_an_invoice_paid_by_another_payment_is_not_settled_again(stores):
    (contested,) = loaded(stores, *invoices_of(["10.00"]))
    lapsed = a_payment([contested], expires_at=NOW + 10)
    stores[1].create_payment(lapsed, NOW)
    winner = a_payment([contested], expires_at=NOW + 4000)
    stores[1].create_payment(winner, NOW + 10)
    stores[1].settle(winner, settled(winner), NOW + 20, evidence(winner))
    with pytest.raises(InvoicesUnavailable) as refused:
        stores[1].settle(lapsed, settled(lapsed), NOW + 30, evidence(lapsed))
    assert refused.value.refusals == {contested.invoice_id: InvoiceRefusal.PAID}
    assert not refused.value.changed


def test_an_event_is_applied_once_and_to_one_payment_only(stores):
    first_invoices, second_invoices = loaded(stores, *invoices_of(["10.00", "20.00"]))
    first, second = a_payment([first_invoices]), a_payment([second_invoices])
    stores[1].create_payment(first, NOW)
    stores[1].create_payment(second, NOW)
    declined = first.advance(PaymentEvent.ATTEMPT_DECLINED, last_error="05")
    stores[1].transition(first, declined, evidence(first), event=("FATOURATI", "TX-1"))
    # The same event again for the same payment, even from its new version: already applied
    with pytest.raises(EventAlreadyApplied):
        stores[1].transition(
            declined, declined.advance(PaymentEvent.ATTEMPT_DECLINED), None, event=("FATOURATI", "TX-1")
        )
    # The same event for another payment: applied elsewhere, and nothing of the second payment changes
    with pytest.raises(EventAppliedElsewhere):
        stores[1].settle(second, settled(second), NOW, evidence(second), ("FATOURATI", "TX-1"))
    assert stores[1].get_payment(second.payment_id) == second
    assert invoice(stores, second_invoices.invoice_id).status is InvoiceStatus.UNPAID


# -- transitions ----------------------------------------------------------------------------------------------


def test_releasing_frees_only_the_payments_own_holds(stores):
    mine, theirs = loaded(stores, *invoices_of(["10.00", "20.00"]))
    payment = a_payment([mine, theirs], expires_at=NOW + 10)
    stores[1].create_payment(payment, NOW)
    other = a_payment([theirs], expires_at=NOW + 4000)
    stores[1].create_payment(other, NOW + 10)
    cancelled = payment.advance(PaymentEvent.CANCELLED_BY_PAYER)
    with pytest.raises(InvoicesUnavailable):
        stores[1].transition(payment, cancelled, None, release=[mine.invoice_id, theirs.invoice_id])
    assert stores[1].get_payment(payment.payment_id) == payment
    stores[1].transition(payment, cancelled, None, release=[mine.invoice_id])
    assert invoice(stores, mine.invoice_id).hold is None
    assert invoice(stores, theirs.invoice_id).hold.payment_id == other.payment_id


def test_extending_holds_moves_every_hold_of_the_payment(stores):
    invoices = loaded(stores, *invoices_of(["10.00", "20.00"]))
    payment = a_payment(invoices)
    stores[1].create_payment(payment, NOW)
    awaiting = payment.advance(PaymentEvent.REFERENCE_ISSUED, reference=Reference("7012345678", NOW + 9000))
    stores[1].transition(payment, awaiting, evidence(payment), extend_holds_to=NOW + 9000)
    assert {invoice(stores, i.invoice_id).hold.expires_at for i in invoices} == {NOW + 9000}


# -- unapplied funds ------------------------------------------------------------------------------------------


def test_unapplied_funds_are_kept_once_per_report_and_listed_oldest_first(stores):
    invoices = loaded(stores, *invoices_of(["10.00"]))
    payment = a_payment(invoices)
    stores[1].create_payment(payment, NOW)

    def report(fingerprint: str, at: int) -> UnappliedFunds:
        return UnappliedFunds("M2T", fingerprint, Money(1000), "MAD", at, UnappliedReason.SECOND_PAYMENT, fingerprint)

    stores[1].record_unapplied(payment, report("M2T|B", NOW + 5), evidence(payment))
    stores[1].record_unapplied(payment, report("M2T|A", NOW + 1), evidence(payment))
    with pytest.raises(FundsAlreadyRecorded):
        stores[1].record_unapplied(payment, report("M2T|A", NOW + 9), evidence(payment))
    assert [funds.fingerprint for funds in stores[1].unapplied_funds(payment.payment_id)] == ["M2T|A", "M2T|B"]
    assert stores[1].get_payment(payment.payment_id) == payment


# -- issuers' loads and the listing ---------------------------------------------------------------------------


def test_a_reload_never_alters_a_paid_or_held_invoice_but_refreshes_a_free_one(stores):
    paid, held, free = loaded(stores, *invoices_of(["10.00", "20.00", "30.00"]))
    paying = a_payment([paid])
    stores[1].create_payment(paying, NOW)
    stores[1].settle(paying, settled(paying), NOW, evidence(paying))
    stores[1].create_payment(a_payment([held]), NOW)

    def reload(item: Invoice) -> UpsertOutcome:
        return stores[0].upsert_invoice(an_invoice(CODE, number=item.invoice_number, amount="77.00"), NOW + 1)

    assert [reload(item) for item in (paid, held, free)] == [
        UpsertOutcome.KEPT_PAID,
        UpsertOutcome.KEPT_HELD,
        UpsertOutcome.WRITTEN,
    ]
    assert [str(invoice(stores, item.invoice_id).amount) for item in (paid, held, free)] == ["10.00", "20.00", "77.00"]


def test_the_listing_reads_unpaid_invoices_in_order_across_reads(stores):
    invoices = loaded(stores, *invoices_of([f"{10 + index}.00" for index in range(7)]))
    paying = a_payment(invoices[:1])
    stores[1].create_payment(paying, NOW)
    stores[1].settle(paying, settled(paying), NOW, evidence(paying))
    listed, after = [], None
    while True:
        batch = stores[0].read_unpaid(SearchCriteria(CODE), after, 3)
        listed += batch.invoices
        if batch.resume_after is None:
            break
        after = batch.resume_after
    expected = sorted(invoices[1:], key=lambda i: (i.position, i.invoice_id))
    assert [i.invoice_id for i in listed] == [i.invoice_id for i in expected]


# -- the recovery index --------------------------------------------------------------------------------------------


def test_the_payments_due_for_recovery_are_read_earliest_first_and_only_while_due(stores):
    from dataclasses import replace

    from epay.payments import Capture, Recovery, Reversal, ReversalAction

    first, second, third = (a_payment(loaded(stores, an_invoice(CODE))) for _ in range(3))
    for payment, due in ((first, NOW + 30), (second, NOW + 10), (third, None)):
        stores[1].create_payment(replace(payment, recovery=Recovery(due=due)), NOW)

    assert stores[1].due_for_recovery(NOW + 5, 10) == []
    assert stores[1].due_for_recovery(NOW + 30, 10) == [second.payment_id, first.payment_id]
    assert stores[1].due_for_recovery(NOW + 30, 1) == [second.payment_id]

    stored = stores[1].get_payment(second.payment_id)
    done = stored.scheduled(None, checks=3, unresolved_since=NOW, reversal_attempts=1)
    done = done.amended(capture=Capture.DONE, reversal=Reversal(ReversalAction.VOID, NOW, "INVOICES_PAID_ELSEWHERE"))
    stores[1].transition(stored, done, None)

    assert stores[1].due_for_recovery(NOW + 30, 10) == [first.payment_id]
    assert stores[1].get_payment(second.payment_id) == done  # every recovery field is kept exactly


# -- receipt codes and the receipt's e-mail (operations-api.md §7) -----------------------------------------------


def paid_with_receipt(payment: Payment, code: str) -> Payment:
    return payment.advance(PaymentEvent.SETTLED, paid_at=NOW, settled_by="fp", receipt_code=code)


def test_settling_keeps_the_receipt_code_leads_it_to_its_payment_and_queues_the_e_mail(stores):
    payment = a_payment(loaded(stores, *invoices_of(["10.00"])))
    stores[1].create_payment(payment, NOW)
    stores[1].settle(payment, paid_with_receipt(payment, "0123456789ABCDEF"), NOW, evidence(payment))
    assert stores[1].get_payment(payment.payment_id).receipt_code == "0123456789ABCDEF"
    assert stores[1].payment_id_for_receipt("0123456789ABCDEF") == payment.payment_id
    assert stores[1].payment_id_for_receipt("0123456789ABCDEG") is None
    mail = ReceiptMail.queued(payment.payment_id, NOW)
    assert stores[1].mail_state(mail) is MailState.PENDING
    assert stores[1].unsent_mail(mail.day) == [mail]


def test_a_receipt_code_in_use_refuses_the_settlement_and_nothing_of_it_is_written(stores):
    first, second = (a_payment(loaded(stores, *invoices_of(["10.00"]))) for _ in range(2))
    for payment in (first, second):
        stores[1].create_payment(payment, NOW)
    stores[1].settle(first, paid_with_receipt(first, "0123456789ABCDEF"), NOW, evidence(first))
    with pytest.raises(ReceiptCodeTaken):
        stores[1].settle(second, paid_with_receipt(second, "0123456789ABCDEF"), NOW, evidence(second))
    assert stores[1].get_payment(second.payment_id) == second
    assert invoice(stores, second.lines[0].invoice_id).status is InvoiceStatus.UNPAID
    assert stores[1].payment_id_for_receipt("0123456789ABCDEF") == first.payment_id
    assert stores[1].mail_state(ReceiptMail.queued(second.payment_id, NOW)) is None
    # With another code it settles.
    stores[1].settle(second, paid_with_receipt(second, "0123456789ABCDEG"), NOW, evidence(second))


def test_an_invoice_refusal_wins_over_a_receipt_code_in_use(stores):
    (contested,) = loaded(stores, *invoices_of(["10.00"]))
    lapsed = a_payment([contested], expires_at=NOW + 10)
    stores[1].create_payment(lapsed, NOW)
    winner = a_payment([contested], expires_at=NOW + 4000)
    stores[1].create_payment(winner, NOW + 10)
    stores[1].settle(winner, paid_with_receipt(winner, "0123456789ABCDEF"), NOW + 20, evidence(winner))
    # Both fail: the invoice is paid, and the code is taken. The invoice decides (the payment goes to review).
    with pytest.raises(InvoicesUnavailable):
        stores[1].settle(lapsed, paid_with_receipt(lapsed, "0123456789ABCDEF"), NOW + 30, evidence(lapsed))


def test_a_queued_e_mail_is_claimed_once_until_its_lease_ends(stores):
    payment = a_payment(loaded(stores, *invoices_of(["10.00"])))
    stores[1].create_payment(payment, NOW)
    stores[1].settle(payment, paid_with_receipt(payment, "0123456789ABCDEF"), NOW, evidence(payment))
    mail = ReceiptMail.queued(payment.payment_id, NOW)
    assert stores[1].claim_mail(mail, NOW, 60) is Claim.CLAIMED
    assert stores[1].claim_mail(mail, NOW + 59, 60) is Claim.BUSY
    # The sender died (before or after SES took it): once its lease ends, another may send.
    assert stores[1].claim_mail(mail, NOW + 60, 60) is Claim.CLAIMED
    stores[1].release_mail(mail)
    assert stores[1].mail_state(mail) is MailState.PENDING
    assert stores[1].claim_mail(mail, NOW + 61, 60) is Claim.CLAIMED
    stores[1].mail_sent(mail, NOW + 62, "ses-message-1")
    assert stores[1].mail_state(mail) is MailState.SENT
    assert stores[1].claim_mail(mail, NOW + 999, 60) is Claim.DONE
    assert stores[1].unsent_mail(mail.day) == []


def test_an_e_mail_refused_for_good_is_never_claimed_again_and_an_unknown_one_is_unknown(stores):
    payment = a_payment(loaded(stores, *invoices_of(["10.00"])))
    stores[1].create_payment(payment, NOW)
    stores[1].settle(payment, paid_with_receipt(payment, "0123456789ABCDEF"), NOW, evidence(payment))
    mail = ReceiptMail.queued(payment.payment_id, NOW)
    stores[1].claim_mail(mail, NOW, 60)
    stores[1].mail_failed(mail, NOW + 1, "MessageRejected")
    assert stores[1].mail_state(mail) is MailState.FAILED
    assert stores[1].claim_mail(mail, NOW + 999, 60) is Claim.DONE
    assert stores[1].claim_mail(ReceiptMail("PAY-NEVER-SETTLED", mail.day), NOW, 60) is Claim.UNKNOWN


# -- superseding unpaid references (api.md §8) ----------------------------------------------------------------------


def test_a_payment_takes_over_a_references_holds_and_ends_it_in_the_same_change(stores):
    shared, other = loaded(stores, *invoices_of(["10.00", "20.00"]))
    reference = a_payment([shared, other], reference="000000000011")
    stores[1].create_payment(reference, NOW, 3)
    card = a_payment([shared])
    stores[1].create_payment(card, NOW, 3, [stores[1].get_payment(reference.payment_id)])
    old = stores[1].get_payment(reference.payment_id)
    assert (old.status, old.last_error, old.version) == (PaymentStatus.CANCELLED, "SUPERSEDED", 2)
    assert invoice(stores, shared.invoice_id).hold.payment_id == card.payment_id
    assert invoice(stores, other.invoice_id).hold is None
    assert stores[1].payment_id_for_reference("000000000011") == reference.payment_id


def test_a_reference_that_moved_since_it_was_read_is_not_superseded_and_nothing_is_written(stores):
    (shared,) = loaded(stores, *invoices_of(["10.00"]))
    reference = a_payment([shared], reference="000000000012")
    stores[1].create_payment(reference, NOW)
    read = stores[1].get_payment(reference.payment_id)
    stores[1].settle(read, settled(read), NOW, evidence(read))
    card = a_payment([shared])
    with pytest.raises(PaymentChanged):
        stores[1].create_payment(card, NOW, 3, [read])
    assert stores[1].get_payment(card.payment_id) is None
    assert stores[1].get_payment(reference.payment_id).status is PaymentStatus.PAID


def test_without_superseding_it_a_references_hold_still_refuses(stores):
    (shared,) = loaded(stores, *invoices_of(["10.00"]))
    stores[1].create_payment(a_payment([shared], reference="000000000013"), NOW)
    with pytest.raises(InvoicesUnavailable) as refused:
        stores[1].create_payment(a_payment([shared]), NOW, 3)
    assert refused.value.refusals == {shared.invoice_id: InvoiceRefusal.HELD}


def test_a_superseded_reference_leaves_its_place_among_the_live_payments(stores):
    invoices = loaded(stores, *invoices_of(["10.00", "10.00", "10.00"]))
    references = [a_payment([held], reference=f"00000000002{index}") for index, held in enumerate(invoices)]
    for reference in references:
        stores[1].create_payment(reference, NOW, 3)
    card = a_payment([invoices[0]])
    stores[1].create_payment(card, NOW, 3, [stores[1].get_payment(references[0].payment_id)])
    assert as_read(stores, card) == card
    (free,) = loaded(stores, *invoices_of(["10.00"]))
    with pytest.raises(TooManyLivePayments):
        stores[1].create_payment(a_payment([free]), NOW, 3)
