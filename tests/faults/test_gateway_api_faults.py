"""Faults: the gateways' merchant APIs time out, answer 5xx, answer garbage, or (M2T) answer unsigned, at every
step recovery takes — the status, the capture, the void, the refund. The production clients and parsers are in the
path (`CmiApiClient`, `M2tApiClient` with a transport that speaks the gateway's wire format over the in-memory
ledgers of tests/support/merchant_apis.py). Each fault changes nothing at the gateway and nothing in the payment but
its schedule; the next passes complete the work, with exactly one operation at the gateway."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ElementTree
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

import pytest
from defusedxml.ElementTree import fromstring as defused_fromstring

from epay.gateways.clients import CmiApiClient, CmiMerchantApi, Failure, HttpAnswer, M2tApiClient, M2tMerchantApi
from epay.gateways.cmi_api import CmiApiCredentials
from epay.gateways.common import sign_body
from epay.gateways.protocol import NoAnswerReason, OperationDone, OrderStatus
from epay.money import Money
from epay.payments import Capture, PaymentStatus, ReversalAction
from tests.support.engine import CODE
from tests.support.factories import an_invoice
from tests.support.merchant_apis import FakeCmi
from tests.support.recovery import AFTER, Rig

pytestmark = pytest.mark.faults
M2T_SECRET = b"faults-m2t-secret"
FAULTS = ["timeout", "5xx", "garbage"]


@dataclass
class Wire:
    """A gateway's API on the wire over a ledger, with one fault to inject on one operation."""

    rig: Rig
    fault: tuple[str, str] | None = None  # (operation, kind)
    faults_seen: int = 0
    sent: list[str] = field(default_factory=list)

    def _faulty(self, operation: str) -> HttpAnswer | Failure | None:
        if self.fault is None or self.fault[0] != operation:
            return None
        self.faults_seen += 1
        match self.fault[1]:
            case "timeout":
                return Failure(NoAnswerReason.TIMEOUT, "no answer within 5 s")
            case "5xx":
                return HttpAnswer(503, b"Service Unavailable", {})
            case "garbage":
                return HttpAnswer(200, b"<html><body>maintenance</body></html>", {"content-type": "text/html"})
            case "unsigned":
                return HttpAnswer(200, b'{"status": "REFUNDED"}', {})
        raise AssertionError(self.fault)

    # -- CMI: NestPay XML ------------------------------------------------------------------------------------------

    def cmi(self, url: str, body: bytes, headers: Mapping[str, str], timeout: float) -> HttpAnswer | Failure:
        request = defused_fromstring(body)
        oid = request.findtext("OrderId") or ""
        operation = request.findtext("Type") or "STATUS"
        self.sent.append(operation)
        faulty = self._faulty(operation)
        if faulty is not None:
            return faulty
        ledger = self.rig.cmi
        payment: Any = SimpleNamespace(payment_id=oid)
        if operation == "STATUS":
            return self._cmi_status(ledger, oid)
        total = Money.parse(request.findtext("Total") or "0.01")
        done = {
            "PostAuth": lambda: ledger.capture(payment, total),
            "Void": lambda: ledger.void(payment),
            "Credit": lambda: ledger.refund(payment, total),
        }[operation]()
        ok = isinstance(done, OperationDone)
        return _cc5(
            {"OrderId": oid, "Response": "Approved" if ok else "Declined", "ProcReturnCode": "00" if ok else "99"},
            {},
        )

    @staticmethod
    def _cmi_status(ledger: FakeCmi, oid: str) -> HttpAnswer:
        order = ledger.orders.get(oid)
        if order is None:
            return _cc5({"OrderId": "", "Response": "Error", "ProcReturnCode": "99"}, {"ERRORCODE": "CORE-2008"})
        return _cc5(
            {"OrderId": oid, "Response": "Approved", "ProcReturnCode": "00", "TransId": order.transaction_id},
            {
                "TRANS_STAT": order.state,
                "ORIG_TRANS_AMT": str(order.amount.centimes),
                "CAPTURE_AMT": str(order.captured.centimes),
            },
        )

    # -- M2T: signed JSON -------------------------------------------------------------------------------------------

    def m2t(self, url: str, body: bytes, headers: Mapping[str, str], timeout: float) -> HttpAnswer | Failure:
        request = json.loads(body)
        operation = "STATUS" if url.endswith("/orders/status") else "REFUND"
        self.sent.append(operation)
        faulty = self._faulty(operation)
        if faulty is not None:
            return faulty
        ledger, order_ref = self.rig.m2t, request["order_ref"]
        if operation == "STATUS":
            order = ledger.orders.get(order_ref)
            if order is None:
                return self._signed(404, {"status": "UNKNOWN_ORDER"})
            return self._signed(
                200,
                {
                    "order_ref": order_ref,
                    "transaction_id": order.transaction_id,
                    "status": order.state,
                    "amount": str(order.amount),
                    "currency": "MAD",
                    "method": "CARD",
                },
            )
        payment: Any = SimpleNamespace(payment_id=order_ref)
        done = ledger.refund(payment, Money.parse(request["amount"]))
        if isinstance(done, OperationDone):
            return self._signed(200, {"status": "REFUNDED", "refund_id": request["refund_id"]})
        return self._signed(409, {"status": "NOT_REFUNDABLE"})

    def _signed(self, status: int, payload: dict[str, str]) -> HttpAnswer:
        body = json.dumps(payload).encode()
        return HttpAnswer(status, body, {"x-m2t-signature": sign_body(M2T_SECRET, body, self.rig.h.now)})


def _cc5(values: dict[str, str], extra: dict[str, str]) -> HttpAnswer:
    root = ElementTree.Element("CC5Response")
    for name, value in values.items():
        ElementTree.SubElement(root, name).text = value
    extras = ElementTree.SubElement(root, "Extra")
    for name, value in extra.items():
        ElementTree.SubElement(extras, name).text = value
    return HttpAnswer(200, ElementTree.tostring(root), {"content-type": "text/xml"})


@pytest.fixture
def rig() -> Rig:
    return Rig()


@pytest.fixture
def wire(rig: Rig) -> Wire:
    wire = Wire(rig)
    cmi = CmiApiClient(
        "https://testpayment.cmi.co.ma/fim/api",
        CmiApiCredentials("api-user", "api-password", "600000000"),
        transport=wire.cmi,
    )
    m2t = M2tApiClient("https://m2t.example/api", "PORTNET-TEST", M2T_SECRET, now=lambda: rig.h.now, transport=wire.m2t)
    # The recovery talks to the wire; the tests act on the ledgers (rig.cmi, rig.m2t) as the payers and CMI would.
    rig.apis = {"CMI": CmiMerchantApi(cmi), "M2T": M2tMerchantApi(m2t)}
    return wire


def recovery_of(rig: Rig):
    return rig.recovery


def run_until_quiet(rig: Rig, passes: int = 30) -> None:
    for _ in range(passes):
        due = [p.recovery.due for p in rig.h.payments.payments.values() if p.recovery.due is not None]
        if not due:
            return
        rig.h.now = max(rig.h.now, min(due))
        assert recovery_of(rig).run_pass().completed
    raise AssertionError("recovery never went quiet")


def a_payment(rig: Rig, gateway: str):
    invoice = an_invoice(CODE, amount="120.50")
    rig.h.given(invoice)
    return rig.h.start([invoice], gateway, "CARD"), invoice


def paid_elsewhere(rig: Rig, created, invoice) -> None:
    rig.h.cancel(created.payment_id)
    other = rig.h.start([invoice], "M2T" if created.gateway == "CMI" else "CMI", "CARD")
    if other.gateway == "M2T":
        rig.h.m2t(other, "PAID", transaction_id="M2T-OTHER")
    else:
        rig.h.cmi_success(other, trans_id="26015K1Q0999")


def faulty_pass(rig: Rig, wire: Wire, operation: str, kind: str) -> None:
    """One pass with the fault on `operation`; it must reach that operation, and nothing must be done there."""
    wire.fault = (operation, kind)
    rig.h.advance(AFTER)
    before = dict(rig.cmi.done) | dict(rig.m2t.done)
    assert recovery_of(rig).run_pass().completed
    assert wire.faults_seen >= 1, f"the pass never reached {operation}"
    assert dict(rig.cmi.done) | dict(rig.m2t.done) == before
    wire.fault = None


@pytest.mark.parametrize("kind", FAULTS)
@pytest.mark.parametrize("operation", ["STATUS", "PostAuth"])
def test_cmi_a_lost_callback_is_settled_and_captured_once_whatever_fails_on_the_way(rig, wire, operation, kind):
    created, _ = a_payment(rig, "CMI")
    rig.cmi.authorise(created.payment_id, created.amount)

    faulty_pass(rig, wire, operation, kind)
    payment = rig.payment(created.payment_id)
    if operation == "STATUS":
        assert payment.status is PaymentStatus.PENDING
        assert payment.version == 3  # the claim, the next check: nothing else
    else:
        assert payment.capture is Capture.DUE
    run_until_quiet(rig)

    payment = rig.payment(created.payment_id)
    assert payment.status is PaymentStatus.PAID
    assert payment.capture is Capture.DONE
    assert rig.cmi.done == {"CAPTURE": 1}


@pytest.mark.parametrize("kind", FAULTS)
@pytest.mark.parametrize(("captured", "operation"), [(False, "STATUS"), (False, "Void"), (True, "Credit")])
def test_cmi_money_for_invoices_paid_elsewhere_is_returned_once_whatever_fails(rig, wire, captured, operation, kind):
    created, invoice = a_payment(rig, "CMI")
    rig.cmi.authorise(created.payment_id, created.amount)
    if captured:
        rig.cmi.postauth_from_callback(created.payment_id)
    paid_elsewhere(rig, created, invoice)

    faulty_pass(rig, wire, operation, kind)
    assert rig.payment(created.payment_id).status in (PaymentStatus.CANCELLED, PaymentStatus.NEEDS_REVIEW)
    run_until_quiet(rig)

    payment = rig.payment(created.payment_id)
    assert payment.status is PaymentStatus.REVERSED
    assert payment.reversal.action is (ReversalAction.REFUND if captured else ReversalAction.VOID)
    assert rig.cmi.done == ({"REFUND": 1} if captured else {"VOID": 1})
    assert rig.cmi.kept(created.payment_id) == Money(0)


@pytest.mark.parametrize("kind", [*FAULTS, "unsigned"])
@pytest.mark.parametrize("operation", ["STATUS", "REFUND"])
def test_m2t_money_for_invoices_paid_elsewhere_is_refunded_once_whatever_fails(rig, wire, operation, kind):
    created, invoice = a_payment(rig, "M2T")
    rig.m2t.pay(created.payment_id, created.amount)
    paid_elsewhere(rig, created, invoice)

    faulty_pass(rig, wire, operation, kind)
    run_until_quiet(rig)

    payment = rig.payment(created.payment_id)
    assert payment.status is PaymentStatus.REVERSED
    assert rig.m2t.done == {"REFUND": 1}
    assert rig.m2t.kept(created.payment_id) == Money(0)


def test_the_wire_reads_as_the_ledgers_say(rig, wire):
    """The transport itself: a status read through the production client is the ledger's state."""
    created, _ = a_payment(rig, "CMI")
    rig.cmi.authorise(created.payment_id, created.amount)
    assert rig.apis is not None
    status = rig.apis["CMI"].status(rig.payment(created.payment_id))
    assert isinstance(status, OrderStatus)
    assert status.state == "TRANS_STAT A"
    assert status.amount == Money.parse(created.amount)
