"""The gateways' side of the money, in memory: what CMI and M2T hold for each order, and their merchant APIs.

`FakeCmi` and `FakeM2t` implement recovery's `MerchantApi` (epay.gateways.protocol) by the rules gateways.md gives
(and NestPay's): CMI authorises (`A`), captures an authorisation once for at most its amount (`C`), voids an
uncaptured one (`V`), credits a captured one once; M2T takes the money when the order is `PAID` and refunds it once
per `refund_id` (the same request again answers the same). Their answers are built by the production parsers'
types (`CmiOrderStatus.as_order_status`, `M2tStatus.as_order_status`), so recovery reads exactly what the real
clients hand it.

Each ledger counts every call, can be told to fail an operation (`NoAnswer`, as a timeout), and says how much of a
payer's money it keeps (`kept`): what was captured or paid, less what was returned. The invariant of recovery is
written with it: money kept equals money owed for invoices paid.
"""

from __future__ import annotations

import threading
from collections import Counter
from dataclasses import dataclass, field

from epay.gateways.clients import refund_id_of
from epay.gateways.cmi_api import CmiOrderStatus, CmiUnknownOrder, TransStat
from epay.gateways.m2t_api import M2tOrderStatus, M2tStatus, M2tUnknownOrder
from epay.gateways.protocol import (
    NoAnswer,
    NoAnswerReason,
    Operation,
    OperationAnswer,
    OperationDone,
    OperationRefused,
    OrderStatus,
)
from epay.gateways.registry import method
from epay.money import Money
from epay.payments import Payment

STATUS = "STATUS"


@dataclass
class Order:
    """One order on the gateway's side."""

    state: str  # CMI: a TRANS_STAT; M2T: a status
    amount: Money  # authorised (CMI) or paid (M2T)
    transaction_id: str
    captured: Money = field(default_factory=lambda: Money(0))
    returned: Money = field(default_factory=lambda: Money(0))
    refunds: set[str] = field(default_factory=set)

    @property
    def kept(self) -> Money:
        return Money(self.captured.centimes - self.returned.centimes)


@dataclass
class _Ledger:
    gateway: str
    orders: dict[str, Order] = field(default_factory=dict)
    calls: Counter[str] = field(default_factory=Counter)
    done: Counter[str] = field(default_factory=Counter)
    failing: set[str] = field(default_factory=set)  # operations (and STATUS) that time out
    lock: threading.RLock = field(default_factory=threading.RLock)

    def asks_about(self, payment: Payment) -> bool:
        found = method(payment.gateway, payment.method)
        return payment.gateway == self.gateway and found is not None and found.kind.value != "REFERENCE"

    def kept(self, payment_id: str) -> Money:
        """What the gateway keeps of this order's money (captured or paid, less what was returned)."""
        order = self.orders.get(payment_id)
        return order.kept if order else Money(0)

    def _fails(self, operation: str, payment_id: str) -> NoAnswer | None:
        self.calls[operation] += 1
        if operation in self.failing:
            return NoAnswer(self.gateway, operation.lower(), payment_id, NoAnswerReason.TIMEOUT, "no answer within 5 s")
        return None

    def _done(self, operation: Operation, payment_id: str, transaction_id: str = "") -> OperationDone:
        self.done[operation.value] += 1
        return OperationDone(self.gateway, operation, payment_id, transaction_id)

    def _refused(self, operation: Operation, payment_id: str, detail: str) -> OperationRefused:
        return OperationRefused(self.gateway, operation, payment_id, detail)


@dataclass
class FakeCmi(_Ledger):
    """CMI's side: card orders and NestPay's rules."""

    gateway: str = "CMI"

    def authorise(self, payment_id: str, amount: Money | str, transaction_id: str = "26015K1Q0001") -> None:
        """The payer submits the card page: the order is authorised (PreAuth)."""
        with self.lock:
            self.orders[payment_id] = Order("A", _money(amount), transaction_id)

    def decline(self, payment_id: str, amount: Money | str, state: str = "D") -> None:
        with self.lock:
            self.orders[payment_id] = Order(state, _money(amount), "")

    def set_state(self, payment_id: str, state: str) -> None:
        with self.lock:
            self.orders[payment_id].state = state

    def postauth_from_callback(self, payment_id: str) -> None:
        """Our callback answer said `ACTION=POSTAUTH`: CMI captures the authorisation."""
        with self.lock:
            order = self.orders[payment_id]
            if order.state == "A":
                order.state, order.captured = "C", order.amount

    def status(self, payment: Payment) -> OrderStatus | NoAnswer:
        with self.lock:
            failed = self._fails(STATUS, payment.payment_id)
            if failed:
                return failed
            order = self.orders.get(payment.payment_id)
            if order is None:
                return CmiUnknownOrder(payment.payment_id).as_order_status()
            stat = TransStat(order.state)
            taken = stat in (TransStat.CAPTURED, TransStat.SALE)
            return CmiOrderStatus(
                payment.payment_id,
                stat,
                order.transaction_id,
                order.amount if order.transaction_id or stat is TransStat.AUTHORISED else None,
                order.captured if taken else None,
                "123456",
                "",
            ).as_order_status()

    def capture(self, payment: Payment, amount: Money) -> OperationAnswer:
        with self.lock:
            failed = self._fails(Operation.CAPTURE.value, payment.payment_id)
            if failed:
                return failed
            order = self.orders.get(payment.payment_id)
            if order is None or order.state != "A" or not 0 < amount.centimes <= order.amount.centimes:
                return self._refused(Operation.CAPTURE, payment.payment_id, "Declined 99")
            order.state, order.captured = "C", amount
            return self._done(Operation.CAPTURE, payment.payment_id, order.transaction_id)

    def void(self, payment: Payment) -> OperationAnswer:
        with self.lock:
            failed = self._fails(Operation.VOID.value, payment.payment_id)
            if failed:
                return failed
            order = self.orders.get(payment.payment_id)
            if order is None or order.state != "A":
                return self._refused(Operation.VOID, payment.payment_id, "Declined 99")
            order.state = "V"
            return self._done(Operation.VOID, payment.payment_id, order.transaction_id)

    def refund(self, payment: Payment, amount: Money) -> OperationAnswer:
        with self.lock:
            failed = self._fails(Operation.REFUND.value, payment.payment_id)
            if failed:
                return failed
            order = self.orders.get(payment.payment_id)
            if order is None or order.state not in ("C", "S") or order.returned.centimes:
                return self._refused(Operation.REFUND, payment.payment_id, "Declined 99")
            if not 0 < amount.centimes <= order.captured.centimes:
                return self._refused(Operation.REFUND, payment.payment_id, "Declined 99")
            order.returned = amount
            return self._done(Operation.REFUND, payment.payment_id, order.transaction_id)


@dataclass
class FakeM2t(_Ledger):
    """M2T's side: the money is taken when the order is PAID; refunds are idempotent by refund_id."""

    gateway: str = "M2T"

    def pay(self, payment_id: str, amount: Money | str, transaction_id: str = "M2T-TX-0001") -> None:
        with self.lock:
            money = _money(amount)
            self.orders[payment_id] = Order("PAID", money, transaction_id, captured=money)

    def set_state(self, payment_id: str, state: str, amount: Money | str | None = None) -> None:
        with self.lock:
            order = self.orders.get(payment_id)
            if order is None:
                self.orders[payment_id] = Order(state, _money(amount or "0.01"), "")
            else:
                order.state = state

    def status(self, payment: Payment) -> OrderStatus | NoAnswer:
        with self.lock:
            failed = self._fails(STATUS, payment.payment_id)
            if failed:
                return failed
            order = self.orders.get(payment.payment_id)
            if order is None:
                return M2tUnknownOrder(payment.payment_id).as_order_status()
            state = M2tOrderStatus(order.state)
            return M2tStatus(
                payment.payment_id,
                state,
                order.transaction_id or None,
                order.amount,
                "MAD",
                payment.method,
                "TSH-REF-0001" if state is M2tOrderStatus.REFERENCE_ISSUED else None,
                None,
            ).as_order_status()

    def capture(self, payment: Payment, amount: Money) -> OperationAnswer:
        self.calls[Operation.CAPTURE.value] += 1
        return self._refused(Operation.CAPTURE, payment.payment_id, "M2T takes the money at once")

    def void(self, payment: Payment) -> OperationAnswer:
        self.calls[Operation.VOID.value] += 1
        return self._refused(Operation.VOID, payment.payment_id, "M2T has no void: refund")

    def refund(self, payment: Payment, amount: Money) -> OperationAnswer:
        with self.lock:
            failed = self._fails(Operation.REFUND.value, payment.payment_id)
            if failed:
                return failed
            order = self.orders.get(payment.payment_id)
            refund_id = refund_id_of(payment)
            if order is not None and refund_id in order.refunds:
                return OperationDone(self.gateway, Operation.REFUND, payment.payment_id, refund_id)
            if (
                order is None
                or order.state != "PAID"
                or order.returned.centimes + amount.centimes > order.captured.centimes
            ):
                return self._refused(Operation.REFUND, payment.payment_id, "NOT_REFUNDABLE")
            order.refunds.add(refund_id)
            order.returned = Money(order.returned.centimes + amount.centimes)
            return self._done(Operation.REFUND, payment.payment_id, refund_id)


def _money(amount: Money | str) -> Money:
    return amount if isinstance(amount, Money) else Money.parse(amount)
