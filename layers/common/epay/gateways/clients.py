"""The merchant API clients, one per gateway: the only code that calls a gateway (gateways.md, "Server-to-server
gateway APIs"). Everything else about these calls (building a request, reading an answer) is pure, in `cmi_api` and
`m2t_api`.

Each call is one `POST` with the standard library (`http.client`, nothing added to the layer), a 5 s limit on the
whole exchange, no retry (the next recovery pass asks again), no redirect followed, no proxy taken from the
environment, TLS verified, and an answer read up to 64 KiB. Whatever goes wrong — a timeout, a refused connection,
a redirect, a 5xx or any status the contract does not document, an unreadable, unsigned or stale answer — comes
back as a `NoAnswer`, never as an exception. (A `ValueError` is raised only for what the contract cannot carry at
all — an order id outside `[A-Za-z0-9-]{1,64}`, a refund id outside `[A-Za-z0-9._-]{1,64}`, a credential with a
control character — a caller's or a configuration's bug, before anything is sent.) Logs name the gateway, the
operation, the order and the outcome; never a body (payer data) nor a credential.
"""

from __future__ import annotations

import contextlib
import socket
import ssl
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from http.client import HTTPConnection, HTTPException, HTTPSConnection
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from epay import clock
from epay.gateways import cmi, cmi_api, m2t, m2t_api
from epay.gateways.cmi_api import (
    CmiApiCredentials,
    CmiApiOperation,
    CmiOperationAnswer,
    CmiStatusAnswer,
)
from epay.gateways.m2t_api import M2tRefundAnswer, M2tStatusAnswer
from epay.gateways.protocol import (
    MethodKind,
    NoAnswer,
    NoAnswerReason,
    Operation,
    OperationAnswer,
    OperationDone,
    OperationRefused,
    OrderStatus,
)
from epay.money import Money
from epay.observability import logger

if TYPE_CHECKING:
    from epay.config import GatewayApiSettings
    from epay.payments import Payment

TIMEOUT_SECONDS = 5.0
MAX_ANSWER_BYTES = 64 * 1024


@dataclass(frozen=True)
class HttpAnswer:
    """What came back: the status, the body (at most `MAX_ANSWER_BYTES`) and the headers (names in lower case)."""

    status: int
    body: bytes
    headers: Mapping[str, str]

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())


@dataclass(frozen=True)
class Failure:
    """Why nothing usable came back from the network."""

    reason: NoAnswerReason
    detail: str


class _Watchdog:
    """Cuts the connection when the time is up: whatever the exchange waits for then (a header line, a body byte)
    returns at once. The socket is held from the moment it is connected: http.client lets go of it once the
    response owns it."""

    def __init__(self, timeout: float) -> None:
        self.expired = threading.Event()
        self._lock = threading.Lock()
        self._socket: socket.socket | None = None
        self._timer = threading.Timer(timeout, self._expire)
        self._timer.daemon = True
        self._timer.start()

    def watch(self, sock: socket.socket | None) -> None:
        with self._lock:
            self._socket = sock
        if self.expired.is_set():
            self._cut()

    def _expire(self) -> None:
        self.expired.set()
        self._cut()

    def _cut(self) -> None:
        with self._lock, contextlib.suppress(OSError):
            if self._socket is not None:
                self._socket.shutdown(socket.SHUT_RDWR)

    def stop(self) -> None:
        self._timer.cancel()


def post(url: str, body: bytes, headers: Mapping[str, str], timeout: float = TIMEOUT_SECONDS) -> HttpAnswer | Failure:
    """One `POST`, whatever its status; a `Failure` when no complete answer came back within `timeout` seconds.

    The limit covers the whole exchange (connection, TLS, request, headers, body): a watchdog cuts the connection
    when it passes, so a server dripping its answer byte by byte cannot hold the caller longer. Redirects are
    answers like any other (http.client never follows them), and no proxy is taken from the environment.
    """
    try:
        parts = urlsplit(url)
        host, port = parts.hostname, parts.port
    except ValueError:
        return Failure(NoAnswerReason.UNREACHABLE, "not an http(s) URL")
    if parts.scheme not in ("https", "http") or not host:
        return Failure(NoAnswerReason.UNREACHABLE, "not an http(s) URL")
    connection: HTTPConnection
    if parts.scheme == "https":
        connection = HTTPSConnection(host, port, timeout=timeout, context=ssl.create_default_context())
    else:
        connection = HTTPConnection(host, port, timeout=timeout)
    watchdog = _Watchdog(timeout)
    try:
        connection.connect()
        watchdog.watch(connection.sock)
        path = parts.path or "/"
        connection.request("POST", f"{path}?{parts.query}" if parts.query else path, body=body, headers=dict(headers))
        response = connection.getresponse()
        read = response.read(MAX_ANSWER_BYTES + 1)
        answer = HttpAnswer(response.status, read, {name.lower(): value for name, value in response.getheaders()})
    except (OSError, HTTPException, ValueError) as error:
        if watchdog.expired.is_set() or isinstance(error, TimeoutError):
            return Failure(NoAnswerReason.TIMEOUT, f"no answer within {timeout:g} s")
        return Failure(NoAnswerReason.UNREACHABLE, type(error).__name__)
    finally:
        watchdog.stop()
        connection.close()
    if watchdog.expired.is_set():
        return Failure(NoAnswerReason.TIMEOUT, f"no answer within {timeout:g} s")
    if len(answer.body) > MAX_ANSWER_BYTES:
        return Failure(NoAnswerReason.UNREADABLE, "answer too large")
    return answer


Transport = Callable[[str, bytes, Mapping[str, str], float], "HttpAnswer | Failure"]


def _log(gateway: str, operation: str, order_id: str, answer: object, started: float) -> None:
    """One line per call: the gateway, the operation, the order, the outcome (never a body, never a credential)."""
    extra: dict[str, object] = {
        "gateway": gateway,
        "operation": operation,
        "payment_id": order_id,
        "duration_ms": round((time.monotonic() - started) * 1000),
    }
    if isinstance(answer, NoAnswer):
        extra |= {"outcome": f"no answer: {answer.reason.value}", "detail": answer.detail}
    elif isinstance(answer, cmi_api.CmiOrderStatus):
        extra["outcome"] = f"TRANS_STAT {answer.trans_stat.value}"
    elif isinstance(answer, cmi_api.CmiOperationResult):
        extra["outcome"] = "done" if answer.done else f"not done: {answer.response.value} {answer.proc_return_code}"
    elif isinstance(answer, m2t_api.M2tStatus):
        extra["outcome"] = f"status {answer.status.value}"
    else:
        extra["outcome"] = type(answer).__name__
    logger.info("gateway API call", extra=extra)


@dataclass(frozen=True)
class CmiApiClient:
    """CMI's merchant API (NestPay XML) at `url` (`EPAY_CMI_API_URL`)."""

    url: str
    credentials: CmiApiCredentials
    timeout: float = TIMEOUT_SECONDS
    transport: Transport = field(default=post, repr=False)

    @classmethod
    def from_settings(cls, settings: GatewayApiSettings, password: str) -> CmiApiClient:
        """Wired from the settings (`EPAY_CMI_API_URL`, `EPAY_CMI_API_USER`, `EPAY_CMI_CLIENT_ID`) and the
        password (`epay.config.secret(CMI_API_PASSWORD)`: `EPAY_CMI_API_PASSWORD`, or Secrets Manager by `_ID`)."""
        return cls(settings.cmi_api_url, CmiApiCredentials(settings.cmi_api_user, password, settings.cmi_client_id))

    def status(self, order_id: str) -> CmiStatusAnswer:
        """What CMI knows of the order: `CmiOrderStatus`, `CmiUnknownOrder` or `NoAnswer`."""
        operation = CmiApiOperation.STATUS
        started = time.monotonic()
        sent = self._call(operation, order_id, cmi_api.status_request(self.credentials, order_id))
        answer: CmiStatusAnswer = sent if isinstance(sent, NoAnswer) else cmi_api.parse_status_answer(sent, order_id)
        _log(cmi.NAME, operation.value, order_id, answer, started)
        return answer

    def capture(self, order_id: str, amount: Money) -> CmiOperationAnswer:
        """`PostAuth` of the order's authorisation for `amount`."""
        return self._operate(
            CmiApiOperation.CAPTURE, order_id, cmi_api.capture_request(self.credentials, order_id, amount)
        )

    def void(self, order_id: str) -> CmiOperationAnswer:
        """`Void` of the order's transaction."""
        return self._operate(CmiApiOperation.VOID, order_id, cmi_api.void_request(self.credentials, order_id))

    def refund(self, order_id: str, amount: Money) -> CmiOperationAnswer:
        """`Credit` of `amount` on the order's captured transaction."""
        return self._operate(
            CmiApiOperation.REFUND, order_id, cmi_api.refund_request(self.credentials, order_id, amount)
        )

    def _operate(self, operation: CmiApiOperation, order_id: str, body: bytes) -> CmiOperationAnswer:
        started = time.monotonic()
        sent = self._call(operation, order_id, body)
        answer: CmiOperationAnswer = (
            sent if isinstance(sent, NoAnswer) else cmi_api.parse_operation_answer(sent, operation, order_id)
        )
        _log(cmi.NAME, operation.value, order_id, answer, started)
        return answer

    def _call(self, operation: CmiApiOperation, order_id: str, body: bytes) -> bytes | NoAnswer:
        """The answer's body when CMI answered 200; else why there is no answer."""
        got = _transport(self.transport, self.url, body, {"Content-Type": cmi_api.CONTENT_TYPE}, self.timeout)
        if isinstance(got, Failure):
            return NoAnswer(cmi.NAME, operation.value, order_id, got.reason, got.detail)
        if got.status != 200:
            return NoAnswer(cmi.NAME, operation.value, order_id, NoAnswerReason.HTTP_STATUS, f"HTTP {got.status}")
        return got.body


@dataclass(frozen=True)
class M2tApiClient:
    """M2T's merchant API (provisional) under `base_url` (`EPAY_M2T_API_URL`); requests and answers signed with the
    notifications' secret, answers believed within 300 s of `now()`."""

    base_url: str
    merchant_id: str
    secret: bytes = field(repr=False)
    now: Callable[[], int] = field(default=clock.now, repr=False)
    timeout: float = TIMEOUT_SECONDS
    transport: Transport = field(default=post, repr=False)

    @classmethod
    def from_settings(cls, settings: GatewayApiSettings, secret: bytes) -> M2tApiClient:
        """Wired from the settings (`EPAY_M2T_API_URL`, `EPAY_M2T_MERCHANT_ID`) and `EPAY_M2T_SECRET`."""
        return cls(settings.m2t_api_url, settings.m2t_merchant_id, secret)

    def status(self, order_ref: str) -> M2tStatusAnswer:
        """What M2T knows of the order: `M2tStatus`, `M2tUnknownOrder` or `NoAnswer`."""
        started = time.monotonic()
        request = m2t_api.status_request(self.merchant_id, order_ref, self.secret, self.now())
        got = self._call(request, order_ref)
        answer: M2tStatusAnswer = (
            got
            if isinstance(got, NoAnswer)
            else m2t_api.parse_status_answer(
                got.status, got.body, got.header(m2t.HEADER_NAME), self.secret, self.now(), order_ref
            )
        )
        _log(m2t.NAME, request.operation.value, order_ref, answer, started)
        return answer

    def refund(self, order_ref: str, refund_id: str, amount: Money) -> M2tRefundAnswer:
        """Refund `amount` of the order, idempotently by `refund_id`: `M2tRefunded`, `M2tNotRefundable` or
        `NoAnswer` (then ask again with the same refund_id: it never refunds twice)."""
        started = time.monotonic()
        request = m2t_api.refund_request(self.merchant_id, order_ref, refund_id, amount, self.secret, self.now())
        got = self._call(request, order_ref)
        answer: M2tRefundAnswer = (
            got
            if isinstance(got, NoAnswer)
            else m2t_api.parse_refund_answer(
                got.status, got.body, got.header(m2t.HEADER_NAME), self.secret, self.now(), order_ref, refund_id
            )
        )
        _log(m2t.NAME, request.operation.value, order_ref, answer, started)
        return answer

    def _call(self, request: m2t_api.SignedRequest, order_ref: str) -> HttpAnswer | NoAnswer:
        url = self.base_url.rstrip("/") + request.path
        got = _transport(self.transport, url, request.body, request.headers, self.timeout)
        if isinstance(got, Failure):
            return NoAnswer(m2t.NAME, request.operation.value, order_ref, got.reason, got.detail)
        return got


# -- the clients as recovery's `MerchantApi` (epay.gateways.protocol) -------------------------------------------


def _asks_about(gateway: str, payment: Payment) -> bool:
    """A payment whose method went through the gateway's own page: the gateway knows its order (a Fatourati
    reference is paid from a bank channel, which has no status call: gateways.md)."""
    from epay.gateways import registry

    method = registry.method(payment.gateway, payment.method)
    return payment.gateway == gateway and method is not None and method.kind is not MethodKind.REFERENCE


_CMI_OPERATIONS = {
    CmiApiOperation.CAPTURE: Operation.CAPTURE,
    CmiApiOperation.VOID: Operation.VOID,
    CmiApiOperation.REFUND: Operation.REFUND,
}


def _cmi_result(answer: CmiOperationAnswer) -> OperationAnswer:
    if isinstance(answer, NoAnswer):
        return answer
    operation = _CMI_OPERATIONS[answer.operation]
    if answer.done:
        return OperationDone(cmi.NAME, operation, answer.order_id, answer.transaction_id)
    detail = " ".join(part for part in (answer.response.value, answer.proc_return_code, answer.error_code) if part)
    return OperationRefused(cmi.NAME, operation, answer.order_id, detail)


@dataclass(frozen=True)
class CmiMerchantApi:
    """CMI's merchant API as recovery uses it: card payments (CMI's `OrderId` is the payment id)."""

    client: CmiApiClient
    gateway: str = cmi.NAME

    def asks_about(self, payment: Payment) -> bool:
        return _asks_about(self.gateway, payment)

    def status(self, payment: Payment) -> OrderStatus | NoAnswer:
        answer = self.client.status(payment.payment_id)
        return answer if isinstance(answer, NoAnswer) else answer.as_order_status()

    def capture(self, payment: Payment, amount: Money) -> OperationAnswer:
        return _cmi_result(self.client.capture(payment.payment_id, amount))

    def void(self, payment: Payment) -> OperationAnswer:
        return _cmi_result(self.client.void(payment.payment_id))

    def refund(self, payment: Payment, amount: Money) -> OperationAnswer:
        """`Credit` carries no idempotency key: NestPay refuses a credit above what is left captured, so a second
        full credit of the same order is refused, never paid (recovery treats such a refusal after a lost answer as
        unconfirmed, for an operator)."""
        return _cmi_result(self.client.refund(payment.payment_id, amount))


def refund_id_of(payment: Payment) -> str:
    """The one refund id of a payment: asking again with it never refunds twice (M2T answers the same)."""
    return f"{payment.payment_id}-REFUND"


@dataclass(frozen=True)
class M2tMerchantApi:
    """M2T's merchant API as recovery uses it: every M2T method (M2T's `order_ref` is the payment id). M2T takes the
    money at once (nothing to capture or void): what must be returned is refunded."""

    client: M2tApiClient
    gateway: str = m2t.NAME

    def asks_about(self, payment: Payment) -> bool:
        return _asks_about(self.gateway, payment)

    def status(self, payment: Payment) -> OrderStatus | NoAnswer:
        answer = self.client.status(payment.payment_id)
        return answer if isinstance(answer, NoAnswer) else answer.as_order_status()

    def capture(self, payment: Payment, amount: Money) -> OperationAnswer:
        return OperationRefused(self.gateway, Operation.CAPTURE, payment.payment_id, "M2T takes the money at once")

    def void(self, payment: Payment) -> OperationAnswer:
        return OperationRefused(self.gateway, Operation.VOID, payment.payment_id, "M2T has no void: refund")

    def refund(self, payment: Payment, amount: Money) -> OperationAnswer:
        answer = self.client.refund(payment.payment_id, refund_id_of(payment), amount)
        if isinstance(answer, NoAnswer):
            return answer
        if isinstance(answer, m2t_api.M2tRefunded):
            return OperationDone(self.gateway, Operation.REFUND, payment.payment_id, answer.refund_id)
        return OperationRefused(self.gateway, Operation.REFUND, payment.payment_id, "NOT_REFUNDABLE")


def _transport(
    transport: Transport, url: str, body: bytes, headers: Mapping[str, str], timeout: float
) -> HttpAnswer | Failure:
    """The transport's answer; an unexpected error in it is a `Failure` too, logged, never raised to the caller."""
    try:
        return transport(url, body, headers, timeout)
    except Exception as error:
        logger.exception("gateway API transport failed", extra={"error_type": type(error).__name__})
        return Failure(NoAnswerReason.UNREACHABLE, type(error).__name__)


__all__ = [
    "TIMEOUT_SECONDS",
    "CmiApiClient",
    "CmiMerchantApi",
    "Failure",
    "HttpAnswer",
    "M2tApiClient",
    "M2tMerchantApi",
    "Transport",
    "post",
    "refund_id_of",
]
