"""The engine the three gateways share (epay.callbacks): failures classified, and concurrent copies of a callback.

A storage failure is retryable: nothing was written, and the gateway is asked to retry (CMI `500 FAILURE`, M2T
`503`, Fatourati `503`). Any other failure is deterministic, so it gets a final refusal (CMI `400 FAILURE`, M2T
`422`, Fatourati `410`), is counted (`CallbackFailed`) and writes nothing. A copy of a notification that commits
between the engine's read and its write makes the engine decide again, and the late copy gets the duplicate's answer.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import pytest
from botocore.exceptions import ClientError

from epay.errors import StoreUnavailable
from epay.payments import PaymentStatus
from epay.ports import PaymentChanged
from tests.support.engine import CODE, Harness, failing, reference_of
from tests.support.factories import an_invoice

Send = Callable[[], tuple[int, Any]]
CMI_RETRY, CMI_FINAL = (500, "FAILURE"), (400, "FAILURE")
M2T_RETRY, M2T_FINAL = (503, {"status": "RETRY"}), (422, {"status": "REJECTED"})
FATOURATI_RETRY, FATOURATI_FINAL = (503, {"code": "503"}), (410, {"code": "410"})


def one_invoice(h: Harness) -> list[Any]:
    return h.given(an_invoice(CODE, amount="300.00"))


# -- the callbacks, each ready to send against a payment in the state it needs -----------------------------------


def cmi_success(h: Harness) -> Send:
    fields = h.cmi_fields(h.start(one_invoice(h), "CMI", "CARD"))
    return lambda: h.post_cmi(fields)


def cmi_decline(h: Harness) -> Send:
    fields = h.cmi_fields(h.start(one_invoice(h), "CMI", "CARD"), proc_return_code="05")
    return lambda: h.post_cmi(fields)


def cmi_mismatch(h: Harness) -> Send:
    fields = h.cmi_fields(h.start(one_invoice(h), "CMI", "CARD"), amount="1.00")
    return lambda: h.post_cmi(fields)


def cmi_second_success(h: Harness) -> Send:
    created = h.start(one_invoice(h), "CMI", "CARD")
    h.cmi_success(created, trans_id="T-FIRST")
    fields = h.cmi_fields(created, trans_id="T-SECOND")
    return lambda: h.post_cmi(fields)


def m2t(status: str, method: str = "CARD", amount: str = "300.00", **options: str) -> Callable[[Harness], Send]:
    def prepare(h: Harness) -> Send:
        created = h.start(one_invoice(h), "M2T", method)
        body = h.m2t_body(created.payment_id, status, amount, method=method, **options)
        return lambda: h.notify_m2t(body)

    return prepare


def fatourati_confirm(h: Harness) -> Send:
    created = h.start(one_invoice(h), "CMI", "FATOURATI")
    body = h.confirm_body(reference_of(created), "300.00")
    return lambda: h.post_confirm(body, h.fatourati_signature(body))


def fatourati_inquiry(h: Harness) -> Send:
    created = h.start(one_invoice(h), "CMI", "FATOURATI")
    return lambda: h.inquire(reference_of(created))


class Call(NamedTuple):
    """A callback, one store method on its path, and the answers it gets when that method fails."""

    name: str
    prepare: Callable[[Harness], Send]
    method: str  # "payments.<name>" or "invoices.<name>"
    retry: tuple[int, Any]
    final: tuple[int, Any]

    @property
    def id(self) -> str:
        return f"{self.name}-{self.method.split('.')[1]}"


CALLS = [
    Call("cmi success", cmi_success, "payments.get_payment", CMI_RETRY, CMI_FINAL),
    Call("cmi success", cmi_success, "payments.settle", CMI_RETRY, CMI_FINAL),
    Call("cmi decline", cmi_decline, "payments.transition", CMI_RETRY, CMI_FINAL),
    Call("cmi mismatch", cmi_mismatch, "invoices.get_invoices", CMI_RETRY, CMI_FINAL),
    Call("cmi mismatch", cmi_mismatch, "payments.transition", CMI_RETRY, CMI_FINAL),
    Call("cmi second success", cmi_second_success, "payments.record_unapplied", CMI_RETRY, CMI_FINAL),
    Call("m2t paid", m2t("PAID"), "payments.get_payment", M2T_RETRY, M2T_FINAL),
    Call("m2t paid", m2t("PAID"), "payments.settle", M2T_RETRY, M2T_FINAL),
    Call("m2t failed", m2t("FAILED"), "invoices.get_invoices", M2T_RETRY, M2T_FINAL),
    Call("m2t failed", m2t("FAILED"), "payments.transition", M2T_RETRY, M2T_FINAL),
    Call(
        "m2t reference",
        m2t("REFERENCE_ISSUED", "TASHILAT", reference="T-1"),
        "payments.transition",
        M2T_RETRY,
        M2T_FINAL,
    ),
    Call("m2t mismatch", m2t("PAID", amount="1.00"), "payments.record_unapplied", M2T_RETRY, M2T_FINAL),
    Call("fatourati confirm", fatourati_confirm, "payments.payment_id_for_reference", FATOURATI_RETRY, FATOURATI_FINAL),
    Call("fatourati confirm", fatourati_confirm, "payments.get_payment", FATOURATI_RETRY, FATOURATI_FINAL),
    Call("fatourati confirm", fatourati_confirm, "payments.settle", FATOURATI_RETRY, FATOURATI_FINAL),
    Call("fatourati inquiry", fatourati_inquiry, "payments.get_payment", FATOURATI_RETRY, FATOURATI_FINAL),
]


def break_store(h: Harness, monkeypatch: pytest.MonkeyPatch, method: str, error: Exception) -> None:
    """Make one store method fail with `error` before it writes anything."""
    store_name, method_name = method.split(".")
    monkeypatch.setattr(getattr(h, store_name), method_name, failing(error))


# -- storage failure: the retryable answer, nothing written -----------------------------------------------------


@pytest.mark.parametrize("call", CALLS, ids=lambda call: call.id)
def test_a_storage_failure_is_answered_retry_and_writes_nothing(h, monkeypatch, call):
    send = call.prepare(h)
    before, evidence = h.stored(), h.evidence
    break_store(h, monkeypatch, call.method, StoreUnavailable("throttled"))
    assert send() == call.retry
    assert h.stored() == before
    assert h.evidence == evidence


@pytest.mark.parametrize(
    ("prepare", "applied"),
    [
        (cmi_success, (200, "ACTION=POSTAUTH")),
        (m2t("PAID"), (200, {"status": "OK"})),
        (fatourati_confirm, (200, {"code": "000"})),
    ],
    ids=["cmi", "m2t", "fatourati"],
)
def test_the_retry_after_a_storage_failure_is_applied(h, monkeypatch, prepare, applied):
    send = prepare(h)
    with monkeypatch.context() as outage:
        break_store(h, outage, "payments.settle", StoreUnavailable("throttled"))
        send()
    assert send() == applied
    assert [payment.status for payment in h.payments.payments.values()] == [PaymentStatus.PAID]


def test_a_botocore_error_from_the_store_is_a_storage_failure_too(h, monkeypatch):
    send = cmi_success(h)
    throttled = ClientError(
        {"Error": {"Code": "ThrottlingException", "Message": "Rate exceeded"}}, "TransactWriteItems"
    )
    break_store(h, monkeypatch, "payments.settle", throttled)
    assert send() == CMI_RETRY


def test_a_payment_that_keeps_changing_under_the_callback_is_a_storage_failure(h, monkeypatch):
    # Given every write finds the payment moved since it was read (concurrent callbacks that never settle down)
    send = cmi_success(h)
    before = h.stored()
    break_store(h, monkeypatch, "payments.settle", PaymentChanged("moved"))
    # Then the engine gives up after a bounded number of attempts and asks CMI to retry
    assert send() == CMI_RETRY
    assert h.stored() == before


def test_losing_the_evidence_of_a_callback_that_changes_nothing_does_not_change_its_answer(h, monkeypatch):
    # Given a settled payment, and evidence that can no longer be stored
    send = cmi_success(h)
    send()
    lost: list[object] = []

    def record_evidence(evidence: object) -> bool:
        lost.append(evidence)
        raise StoreUnavailable("throttled")

    monkeypatch.setattr(h.payments, "record_evidence", record_evidence)
    # When the same success arrives again, which changes nothing but its evidence
    answer = send()
    # Then the answer stands without the evidence
    assert answer == (200, "ACTION=POSTAUTH")
    assert len(lost) == 1


# -- any other failure: the final answer, nothing written, counted ----------------------------------------------


@pytest.mark.parametrize("call", CALLS, ids=lambda call: call.id)
def test_any_other_failure_is_answered_final_counted_and_writes_nothing(h, monkeypatch, counted, call):
    send = call.prepare(h)
    before, evidence = h.stored(), h.evidence
    break_store(h, monkeypatch, call.method, KeyError("status"))  # e.g. a stored item the code cannot read
    assert send() == call.final
    assert h.stored() == before
    assert h.evidence == evidence
    assert counted.count("CallbackFailed") == 1


# -- a copy of the same notification committed between the engine's read and its write ---------------------------


def committed_meanwhile(h: Harness, monkeypatch: pytest.MonkeyPatch, payment_id: str, copy: Send) -> list[Any]:
    """The next read of `payment_id` returns the payment as it was, after `copy` (a concurrent delivery of the same
    notification) has committed: the interleaving in which a late copy could be refused what was applied."""
    real_read = h.payments.get_payment
    pending, answers = [copy], []

    def read(asked: str) -> Any:
        found = real_read(asked)
        if asked == payment_id and pending:
            answers.append(pending.pop()())
        return found

    monkeypatch.setattr(h.payments, "get_payment", read)
    return answers


def test_a_cmi_success_committed_by_a_concurrent_copy_is_captured_once(h, monkeypatch, counted):
    created = h.start(one_invoice(h), "CMI", "CARD")
    fields = h.cmi_fields(created)
    first = committed_meanwhile(h, monkeypatch, created.payment_id, lambda: h.post_cmi(fields))
    assert h.post_cmi(fields) == (200, "ACTION=POSTAUTH")
    assert first == [(200, "ACTION=POSTAUTH")]
    assert h.payment(created.payment_id).status is PaymentStatus.PAID
    assert counted.count("PaymentsPaid") == 1


@pytest.mark.parametrize("status", ["PAID", "FAILED"])
def test_an_m2t_event_committed_by_a_concurrent_copy_is_acknowledged_once(h, monkeypatch, counted, status):
    created = h.start(one_invoice(h), "M2T", "CARD")
    body = h.m2t_body(created.payment_id, status, "300.00", event_id="evt-dup")
    first = committed_meanwhile(h, monkeypatch, created.payment_id, lambda: h.notify_m2t(body))
    assert h.notify_m2t(body) == (200, {"status": "OK"})
    assert first == [(200, {"status": "OK"})]
    assert h.payment(created.payment_id).status is PaymentStatus(status)
    assert h.unapplied(created.payment_id) == []


def test_a_fatourati_confirm_committed_by_a_concurrent_copy_is_told_already_applied(h, monkeypatch):
    created = h.start(one_invoice(h), "CMI", "FATOURATI")
    body = h.confirm_body(reference_of(created), "300.00", transaction_id="FTR-77")
    signature = h.fatourati_signature(body)
    first = committed_meanwhile(h, monkeypatch, created.payment_id, lambda: h.post_confirm(body, signature))
    # Never "do not debit" for a transaction that was applied
    assert h.post_confirm(body, signature) == (200, {"code": "301"})
    assert first == [(200, {"code": "000"})]
    assert h.payment(created.payment_id).status is PaymentStatus.PAID
