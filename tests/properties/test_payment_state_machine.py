"""State-machine properties: searches, payments, cancels, expiries and callbacks of all three gateways, in any
order, duplicated or late, against moto; after every step the invariants of the money hold.

Invariants (checked on the stored items themselves, after every step):
1. an invoice is paid at most once, by exactly one payment;
2. a paid invoice is never held and never listed;
3. a `PAID` payment never changes again;
4. every payment's amount is the exact sum of its invoices as they were when it was created;
5. no invoice is held by two live payments;
6. a paid invoice's amount is the amount its payment paid for it (an issuer may reload an unpaid invoice at another
   amount at any time; a late success must never settle it at the old one).

Notifications are also delivered twice at once, for every gateway: the copy commits between the first delivery's
read and its write; the first must then get the duplicate's answer, never a refusal of what was applied.
"""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any
from urllib.parse import urlencode

import boto3
import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import Bundle, RuleBasedStateMachine, initialize, invariant, rule
from moto import mock_aws

from epay import runtime
from epay.errors import DomainError
from epay.gateways import cmi
from epay.gateways.common import sign_body
from epay.invoices import InvoiceStatus
from epay.money import Money, total
from epay.payments import PaymentStatus
from epay.ports import UpsertOutcome
from epay.schemas import PaymentRequest
from epay_local.moto_isolation import serialise_moto_dynamodb
from epay_local.tables import ensure_tables, local_table_names
from tests.conftest import TEST_ENVIRONMENT
from tests.support.factories import an_invoice
from tests.support.money_invariants import check_all, listed_ids, stored

CODE = "PQ89"
START = 1_795_774_500
PAIRS = [("CMI", "CARD"), ("CMI", "FATOURATI"), ("M2T", "CARD"), ("M2T", "TASHILAT"), ("M2T", "DIRECT_DEBIT")]
PAYER = {"name": "Société Maritime", "email": "compta@example.ma"}
CMI_KEY = TEST_ENVIRONMENT["EPAY_CMI_STORE_KEY"]
M2T_KEY = TEST_ENVIRONMENT["EPAY_M2T_SECRET"].encode()
FATOURATI_KEY = TEST_ENVIRONMENT["EPAY_FATOURATI_SECRET"].encode()


class PaymentLifecycle(RuleBasedStateMachine):
    payments = Bundle("payments")

    def __init__(self) -> None:
        super().__init__()
        self.mock = mock_aws()
        self.mock.start()
        client = boto3.client("dynamodb", region_name="eu-west-3")
        ensure_tables(client, local_table_names(dict(TEST_ENVIRONMENT)))
        runtime.reset()
        self.client = client
        self.invoice_store = runtime.invoice_store()
        self.payment_store = runtime.payment_store()
        self.payments_service = runtime.payment_service()
        self.callbacks = runtime.callback_service()
        self.now = START
        self.paid_snapshots: dict[str, Any] = {}
        self.amounts_at_creation: dict[str, dict[str, Money]] = {}
        # The form each CMI card payment sent to CMI, which CMI echoes in its callbacks.
        self.cmi_forms: dict[str, dict[str, str]] = {}
        self.sent: list[tuple[str, bytes, str | None]] = []
        self.invoices = [
            an_invoice(CODE, issuer=issuer, number=f"P-{index}", amount=f"{100 + index * 37}.{index * 7 % 100:02d}")
            for index, issuer in enumerate(["ANP", "ANP", "ANP", "MARSA", "MARSA", "MARSA"])
        ]
        for invoice in self.invoices:
            self.invoice_store.upsert_invoice(invoice, self.now)

    def teardown(self) -> None:
        self.mock.stop()
        runtime.reset()

    # -- rules ----------------------------------------------------------------------------------------------

    @initialize()
    def nothing_yet(self) -> None:
        assert self.listed_ids() == {invoice.invoice_id for invoice in self.invoices}

    @rule(
        target=payments,
        picks=st.lists(st.integers(0, 5), min_size=1, max_size=4, unique=True),
        pair=st.sampled_from(PAIRS),
    )
    def start_payment(self, picks: list[int], pair: tuple[str, str]) -> str:
        request = PaymentRequest.model_validate(
            {
                "subscription_code": CODE,
                "invoice_ids": [self.invoices[index].invoice_id for index in picks],
                "gateway": pair[0],
                "method": pair[1],
                "payer": PAYER,
            }
        )
        try:
            created = self.payments_service.create(request, f"198.51.100.{len(self.sent) % 200}", self.now)
        except DomainError as refused:
            refusal = refused.code
        else:
            assert Money.parse(created.amount) == total([self.invoices[index].amount for index in picks])
            self.amounts_at_creation[created.payment_id] = {
                self.invoices[index].invoice_id: self.invoices[index].amount for index in picks
            }
            if pair == ("CMI", "CARD") and created.redirect is not None:
                self.cmi_forms[created.payment_id] = dict(created.redirect.fields)
            return created.payment_id
        assert refusal in {"INVOICE_NOT_PAYABLE", "MIXED_ISSUERS", "RATE_LIMITED"}, refusal
        return ""

    @rule(payment_id=payments)
    def cancel(self, payment_id: str) -> None:
        if not payment_id:
            return
        try:
            self.payments_service.cancel(payment_id, self.now)
        except DomainError as refused:
            refusal = refused.code
        else:
            return
        assert refusal == "PAYMENT_NOT_CANCELLABLE"

    @rule(seconds=st.sampled_from([30, 1_801, 260_000]))
    def time_passes(self, seconds: int) -> None:
        self.now += seconds

    @rule(payment_id=payments, approved=st.booleans(), right_amount=st.booleans())
    def cmi_callback(self, payment_id: str, approved: bool, right_amount: bool) -> None:
        payment = self.payment_store.get_payment(payment_id) if payment_id else None
        amount = str(payment.amount) if payment and right_amount else "1.00"
        transaction = f"T-{payment_id[-6:]}-{int(approved)}"
        status = self.send("cmi", self.cmi_body(payment_id, amount, approved=approved, transaction=transaction), None)
        # A callback echoing the payment's own form is never refused, so this rule keeps exercising settlement.
        assert status != 403 or payment_id not in self.cmi_forms

    def cmi_body(self, payment_id: str, amount: str, *, approved: bool, transaction: str) -> bytes:
        # CMI echoes every field its form was sent; a payment it never saw (M2T, a reference, none) gets a bare one.
        sent = {name: value for name, value in self.cmi_forms.get(payment_id, {}).items() if name != "HASH"}
        fields = {
            **sent,
            "clientid": "600000000",
            "oid": payment_id or "PAY-UNKNOWN",
            "amount": amount,
            "currency": "504",
            "ProcReturnCode": "00" if approved else "05",
            "TransId": transaction,
            "Response": "Approved" if approved else "Declined",
            "ErrMsg": "",
            "MaskedPan": "400000***0002",
        }
        fields["HASH"] = cmi.compute_hash(fields, CMI_KEY)
        return urlencode(fields).encode()

    @rule(
        payment_id=payments,
        status=st.sampled_from(["PAID", "FAILED", "CANCELLED", "EXPIRED", "REFERENCE_ISSUED"]),
        right_amount=st.booleans(),
    )
    def m2t_notification(self, payment_id: str, status: str, right_amount: bool) -> None:
        payment = self.payment_store.get_payment(payment_id) if payment_id else None
        amount = str(payment.amount) if payment and right_amount else "1.00"
        body = self.m2t_body(payment_id, status, amount, event_id=f"evt-{len(self.sent)}")
        self.send("m2t", body, sign_body(M2T_KEY, body, self.now))

    @staticmethod
    def m2t_body(payment_id: str, status: str, amount: str, *, event_id: str) -> bytes:
        return json.dumps(
            {
                "event_id": event_id,
                "order_ref": payment_id or "PAY-UNKNOWN",
                "transaction_id": f"m2t-{payment_id[-6:]}",
                "status": status,
                "amount": amount,
                "currency": "MAD",
                "reference": "7012345678",
            }
        ).encode()

    @rule(payment_id=payments, right_amount=st.booleans(), transaction=st.sampled_from(["FT-1", "FT-2", "FT-3"]))
    def fatourati_confirmation(self, payment_id: str, right_amount: bool, transaction: str) -> None:
        payment = self.payment_store.get_payment(payment_id) if payment_id else None
        if payment is None or payment.reference is None:
            return
        body = self.fatourati_body(payment.reference.code, transaction, str(payment.amount) if right_amount else "1.00")
        self.send("fatourati", body, sign_body(FATOURATI_KEY, body, self.now))

    @staticmethod
    def fatourati_body(reference: str, transaction: str, amount: str) -> bytes:
        return json.dumps(
            {
                "reference": reference,
                "transaction_id": transaction,
                "amount": amount,
                "currency": "MAD",
                "channel": "E-BANKING",
                "paid_at": "2026-11-27T10:15:00Z",
            }
        ).encode()

    @rule()
    def a_callback_is_delivered_again(self) -> None:
        if self.sent:
            gateway, body, _ = self.sent[-1]
            signature = sign_body(M2T_KEY if gateway == "m2t" else FATOURATI_KEY, body, self.now)
            self.send(gateway, body, signature, remember=False)

    @rule(index=st.integers(0, 5), centimes=st.integers(1, 900_000))
    def the_issuer_reloads_an_invoice(self, index: int, centimes: int) -> None:
        """The issuer's file again, with another amount: applied only if the invoice is unpaid and not held."""
        reloaded = replace(self.invoices[index], amount=Money(centimes))
        if self.invoice_store.upsert_invoice(reloaded, self.now) is UpsertOutcome.WRITTEN:
            self.invoices[index] = reloaded

    @rule(payment_id=payments, gateway=st.sampled_from(["cmi", "m2t", "fatourati"]))
    def a_success_is_delivered_twice_at_once(self, payment_id: str, gateway: str) -> None:
        payment = self.payment_store.get_payment(payment_id) if payment_id else None
        if payment is None:
            return
        if gateway == "cmi":
            body = self.cmi_body(payment_id, str(payment.amount), approved=True, transaction="T-TWICE")
        elif gateway == "m2t":
            body = self.m2t_body(payment_id, "PAID", str(payment.amount), event_id=f"twice-{len(self.sent)}")
        elif payment.reference is not None:
            body = self.fatourati_body(payment.reference.code, "FT-TWICE", str(payment.amount))
        else:
            return
        key = {"cmi": CMI_KEY.encode(), "m2t": M2T_KEY, "fatourati": FATOURATI_KEY}[gateway]
        signature = sign_body(key, body, self.now)
        real_read = self.payment_store.get_payment
        copies: list[tuple[int, Any]] = []
        pending = [lambda: self.deliver(gateway, body, signature)]

        def read(asked: str) -> Any:
            found = real_read(asked)
            if pending:
                copies.append(pending.pop()())
            return found

        self.payment_store.get_payment = read  # type: ignore[method-assign]
        try:
            first = self.deliver(gateway, body, signature)
        finally:
            del self.payment_store.get_payment
        (copy,) = copies
        applied = {"cmi": (200, "ACTION=POSTAUTH"), "m2t": (200, {"status": "OK"}), "fatourati": (200, {"code": "000"})}
        duplicate = {"cmi": applied["cmi"], "m2t": applied["m2t"], "fatourati": (200, {"code": "301"})}
        assert first[0] < 500
        assert copy[0] < 500
        if copy == applied[gateway]:
            assert first == duplicate[gateway], (gateway, first)

    @rule()
    def a_payer_searches(self) -> None:
        _, invoices, listed = self.snapshot()
        paid = {invoice.invoice_id for invoice in invoices if invoice.status is InvoiceStatus.PAID}
        assert not listed & paid

    def send(self, gateway: str, body: bytes, signature: str | None, remember: bool = True) -> int:
        if remember:
            self.sent.append((gateway, body, signature))
        status, _ = self.deliver(gateway, body, signature)
        assert status < 500, f"{gateway} callback answered {status}"
        return status

    def deliver(self, gateway: str, body: bytes, signature: str | None) -> tuple[int, Any]:
        now_ms = self.now * 1000
        if gateway == "cmi":
            return self.callbacks.cmi(body, now_ms)
        if gateway == "m2t":
            return self.callbacks.m2t(body, signature, now_ms)
        return self.callbacks.fatourati_confirm(body, signature, now_ms)

    # -- what the store holds -------------------------------------------------------------------------------

    def snapshot(self) -> tuple[list[Any], list[Any], set[str]]:
        """Every payment and invoice as stored, and what a search lists, read once per step."""
        found = stored(self.client, TEST_ENVIRONMENT["EPAY_TABLE"], self.invoice_store, CODE)
        return found.payments, found.invoices, found.listed

    def listed_ids(self) -> set[str]:
        return listed_ids(self.invoice_store, CODE)

    # -- invariants (tests/support/money_invariants.py, and one of this machine's own) ---------------------------

    @invariant()
    def the_money_invariants_hold(self) -> None:
        found = stored(self.client, TEST_ENVIRONMENT["EPAY_TABLE"], self.invoice_store, CODE)
        check_all(found, self.amounts_at_creation, self.now)
        self.a_paid_payment_never_changes(found.payments)

    def a_paid_payment_never_changes(self, payments: list[Any]) -> None:
        # No recovery pass runs here: nothing of a PAID payment changes, not even its bookkeeping
        # (tests/properties/test_recovery_state_machine.py lets recovery capture and unschedule it).
        for payment in payments:
            if payment.payment_id in self.paid_snapshots:
                assert payment == self.paid_snapshots[payment.payment_id]
            elif payment.status is PaymentStatus.PAID:
                self.paid_snapshots[payment.payment_id] = payment


PaymentLifecycle.TestCase.settings = settings(
    max_examples=int(__import__("os").environ.get("EPAY_STATE_MACHINE_EXAMPLES", "15")),
    stateful_step_count=25,
    deadline=None,
    suppress_health_check=list(HealthCheck),
)


@pytest.fixture(autouse=True)
def _isolated_moto() -> None:
    serialise_moto_dynamodb()


TestPaymentLifecycle = PaymentLifecycle.TestCase
