"""State-machine properties: searches, payments, cancels, expiries and callbacks of all three gateways, in any
order, duplicated or late, against moto; after every step the invariants of the money hold.

Invariants (checked on the stored items themselves, after every step):
1. an invoice is paid at most once, by exactly one payment;
2. a paid invoice is never held and never listed;
3. a `PAID` payment never changes again;
4. every payment's amount is the exact sum of its invoices;
5. no invoice is held by two live payments.
"""

from __future__ import annotations

import json
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
from epay.lookup import criteria_from
from epay.money import Money, total
from epay.payments import LIVE, PaymentStatus
from epay.schemas import PaymentRequest, SearchRequest
from epay_local.moto_isolation import serialise_moto_dynamodb
from epay_local.tables import ensure_tables, local_table_names
from tests.conftest import TEST_ENVIRONMENT
from tests.support.factories import an_invoice

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
        self.store = runtime.store()
        self.payments_service = runtime.payment_service()
        self.callbacks = runtime.callback_service()
        self.now = START
        self.paid_snapshots: dict[str, Any] = {}
        self.sent: list[tuple[str, bytes, str | None]] = []
        self.invoices = [
            an_invoice(CODE, issuer=issuer, number=f"P-{index}", amount=f"{100 + index * 37}.{index * 7 % 100:02d}")
            for index, issuer in enumerate(["ANP", "ANP", "ANP", "MARSA", "MARSA", "MARSA"])
        ]
        for invoice in self.invoices:
            self.store.upsert_invoice(invoice, self.now)

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
        payment = self.store.get_payment(payment_id) if payment_id else None
        amount = str(payment.amount) if payment and right_amount else "1.00"
        fields = {
            "clientid": "600000000",
            "oid": payment_id or "PAY-UNKNOWN",
            "amount": amount,
            "currency": "504",
            "ProcReturnCode": "00" if approved else "05",
            "TransId": f"T-{payment_id[-6:]}-{int(approved)}",
            "Response": "Approved" if approved else "Declined",
            "ErrMsg": "",
            "MaskedPan": "400000***0002",
        }
        fields["HASH"] = cmi.compute_hash(fields, CMI_KEY)
        self.send("cmi", urlencode(fields).encode(), None)

    @rule(
        payment_id=payments,
        status=st.sampled_from(["PAID", "FAILED", "CANCELLED", "EXPIRED", "REFERENCE_ISSUED"]),
        right_amount=st.booleans(),
    )
    def m2t_notification(self, payment_id: str, status: str, right_amount: bool) -> None:
        payment = self.store.get_payment(payment_id) if payment_id else None
        body = json.dumps(
            {
                "event_id": f"evt-{len(self.sent)}",
                "order_ref": payment_id or "PAY-UNKNOWN",
                "transaction_id": f"m2t-{payment_id[-6:]}",
                "status": status,
                "amount": str(payment.amount) if payment and right_amount else "1.00",
                "currency": "MAD",
                "reference": "7012345678",
            }
        ).encode()
        self.send("m2t", body, sign_body(M2T_KEY, body, self.now))

    @rule(payment_id=payments, right_amount=st.booleans(), transaction=st.sampled_from(["FT-1", "FT-2", "FT-3"]))
    def fatourati_confirmation(self, payment_id: str, right_amount: bool, transaction: str) -> None:
        payment = self.store.get_payment(payment_id) if payment_id else None
        if payment is None or payment.reference is None:
            return
        body = json.dumps(
            {
                "reference": payment.reference.code,
                "transaction_id": transaction,
                "amount": str(payment.amount) if right_amount else "1.00",
                "currency": "MAD",
                "channel": "E-BANKING",
                "paid_at": "2026-11-27T10:15:00Z",
            }
        ).encode()
        self.send("fatourati", body, sign_body(FATOURATI_KEY, body, self.now))

    @rule()
    def a_callback_is_delivered_again(self) -> None:
        if self.sent:
            gateway, body, _ = self.sent[-1]
            signature = sign_body(M2T_KEY if gateway == "m2t" else FATOURATI_KEY, body, self.now)
            self.send(gateway, body, signature, remember=False)

    @rule()
    def a_payer_searches(self) -> None:
        _, invoices, listed = self.snapshot()
        paid = {invoice.invoice_id for invoice in invoices if invoice.status is InvoiceStatus.PAID}
        assert not listed & paid

    def send(self, gateway: str, body: bytes, signature: str | None, remember: bool = True) -> None:
        if remember:
            self.sent.append((gateway, body, signature))
        now_ms = self.now * 1000
        if gateway == "cmi":
            status, _ = self.callbacks.cmi(body, now_ms)
        elif gateway == "m2t":
            status, _ = self.callbacks.m2t(body, signature, now_ms)
        else:
            status, _ = self.callbacks.fatourati_confirm(body, signature, now_ms)
        assert status < 500, f"{gateway} callback answered {status}"

    # -- what the store holds -------------------------------------------------------------------------------

    def snapshot(self) -> tuple[list[Any], list[Any], set[str]]:
        """Every payment and invoice as stored, and what a search lists, read once per step."""
        from epay.store import _payment_from_item, invoice_from_item

        items = self.client.scan(TableName=TEST_ENVIRONMENT["EPAY_TABLE"], ConsistentRead=True)["Items"]
        payments = [_payment_from_item(item) for item in items if item["sk"]["S"] == "PAYMENT"]
        invoices = [invoice_from_item(item) for item in items if item["sk"]["S"] == "INVOICE"]
        return payments, invoices, self.listed_ids()

    def stored_invoices(self) -> list[Any]:
        return self.snapshot()[1]

    def listed_ids(self) -> set[str]:
        criteria = criteria_from(SearchRequest(subscription_code=CODE))
        return {invoice.invoice_id for invoice in self.store.read_unpaid(criteria, None, 100).invoices}

    # -- invariants -----------------------------------------------------------------------------------------

    @invariant()
    def the_money_invariants_hold(self) -> None:
        payments, invoices, listed = self.snapshot()
        self.an_invoice_is_paid_at_most_once(payments, invoices)
        self.a_paid_invoice_is_never_held_or_listed(invoices, listed)
        self.a_paid_payment_never_changes(payments)
        self.a_payment_amounts_to_its_invoices(payments)
        self.no_invoice_is_held_by_two_live_payments(payments, invoices)

    @staticmethod
    def an_invoice_is_paid_at_most_once(payments: list[Any], invoices: list[Any]) -> None:
        paid_lines = [line.invoice_id for p in payments if p.status is PaymentStatus.PAID for line in p.lines]
        assert len(paid_lines) == len(set(paid_lines))
        paid_by = {p.payment_id for p in payments if p.status is PaymentStatus.PAID}
        for invoice in invoices:
            if invoice.status is InvoiceStatus.PAID:
                assert invoice.paid_by in paid_by

    @staticmethod
    def a_paid_invoice_is_never_held_or_listed(invoices: list[Any], listed: set[str]) -> None:
        for invoice in invoices:
            if invoice.status is InvoiceStatus.PAID:
                assert invoice.hold is None
                assert invoice.invoice_id not in listed

    def a_paid_payment_never_changes(self, payments: list[Any]) -> None:
        for payment in payments:
            if payment.payment_id in self.paid_snapshots:
                assert payment == self.paid_snapshots[payment.payment_id]
            elif payment.status is PaymentStatus.PAID:
                self.paid_snapshots[payment.payment_id] = payment

    def a_payment_amounts_to_its_invoices(self, payments: list[Any]) -> None:
        amounts = {invoice.invoice_id: invoice.amount for invoice in self.invoices}
        for payment in payments:
            assert payment.amount == total([line.amount for line in payment.lines])
            assert all(line.amount == amounts[line.invoice_id] for line in payment.lines)

    def no_invoice_is_held_by_two_live_payments(self, payments: list[Any], invoices: list[Any]) -> None:
        live = [p for p in payments if p.status_at(self.now) in LIVE]
        claimed = [invoice_id for p in live for invoice_id in p.invoice_ids]
        assert len(claimed) == len(set(claimed)), "two live payments claim one invoice"
        holders = {i.invoice_id: i.hold.payment_id for i in invoices if i.live_hold(self.now)}
        for payment in live:
            for invoice_id in payment.invoice_ids:
                assert holders.get(invoice_id) == payment.payment_id


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
