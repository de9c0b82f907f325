"""The merchant API clients over real HTTP, against a server on 127.0.0.1 that each test scripts: every way a
gateway can fail to answer is a `NoAnswer`, never an exception; nothing but the order and the outcome is logged.

(tests/unit refuses every internet socket, loopback included, so these live here.)
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from epay.config import GatewayApiSettings
from epay.gateways import clients
from epay.gateways.clients import CmiApiClient, M2tApiClient
from epay.gateways.cmi_api import CmiApiCredentials, CmiOperationResult, CmiOrderStatus, CmiUnknownOrder, TransStat
from epay.gateways.common import sign_body
from epay.gateways.m2t_api import M2tNotRefundable, M2tOrderStatus, M2tRefunded, M2tStatus, M2tUnknownOrder
from epay.gateways.protocol import NoAnswer, NoAnswerReason
from epay.money import Money
from tests.conftest import TEST_ENVIRONMENT

PASSWORD = "cmi-api-password-7c1e"
CREDENTIALS = CmiApiCredentials("portnet-api", PASSWORD, "600000000")
SECRET = b"test-m2t-secret"
ORDER = "PAY-0001"
SHORT = 0.5  # the tests' time limit; the clients' own is 5 s


@dataclass
class Reply:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0  # before anything is sent
    drip: float = 0.0  # between the body's bytes


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Gateway:
    """A scripted gateway: `script(received)` gives each reply; every request is kept."""

    url: str
    script: Callable[[Received], Reply] = lambda _: Reply()
    received: list[Received] = field(default_factory=list)
    released: threading.Event = field(default_factory=threading.Event)


@pytest.fixture
def gateway() -> Iterator[Gateway]:
    holder: list[Gateway] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            scripted = holder[0]
            length = int(self.headers.get("Content-Length", "0"))
            received = Received(self.path, {k.lower(): v for k, v in self.headers.items()}, self.rfile.read(length))
            scripted.received.append(received)
            reply = scripted.script(received)
            if reply.delay and scripted.released.wait(reply.delay):
                return
            try:
                self.send_response(reply.status)
                for name, value in reply.headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(reply.body)))
                self.end_headers()
                if reply.drip:
                    for byte in reply.body:
                        if scripted.released.wait(reply.drip):
                            return
                        self.wfile.write(bytes([byte]))
                        self.wfile.flush()
                else:
                    self.wfile.write(reply.body)
            except OSError:
                pass  # the client gave up first

        def log_message(self, *_: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    host, port = server.server_address[:2]
    scripted = Gateway(f"http://{host}:{port}")
    holder.append(scripted)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield scripted
    finally:
        scripted.released.set()
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


# -- CMI -----------------------------------------------------------------------------------------------------------

STATUS_A = (
    b"<CC5Response><OrderId>PAY-0001</OrderId><Response>Approved</Response><ProcReturnCode>00</ProcReturnCode>"
    b"<TransId>26015K1Q0001</TransId><ErrMsg></ErrMsg><Extra><TRANS_STAT>A</TRANS_STAT>"
    b"<ORIG_TRANS_AMT>125050</ORIG_TRANS_AMT><CAPTURE_AMT>0</CAPTURE_AMT><AUTH_CODE>P12345</AUTH_CODE></Extra>"
    b"</CC5Response>"
)
UNKNOWN = (
    b"<CC5Response><OrderId></OrderId><Response>Error</Response><ProcReturnCode>99</ProcReturnCode>"
    b"<ErrMsg>No record</ErrMsg><Extra><ERRORCODE>CORE-2008</ERRORCODE></Extra></CC5Response>"
)
APPROVED = (
    b"<CC5Response><OrderId>PAY-0001</OrderId><Response>Approved</Response><ProcReturnCode>00</ProcReturnCode>"
    b"<TransId>26015K1Q0002</TransId><ErrMsg></ErrMsg><Extra></Extra></CC5Response>"
)


def cmi(gateway: Gateway, timeout: float = SHORT) -> CmiApiClient:
    return CmiApiClient(f"{gateway.url}/fim/api", CREDENTIALS, timeout=timeout)


def test_the_clients_wait_5_s_at_most_by_default():
    assert clients.TIMEOUT_SECONDS == 5
    assert CmiApiClient("https://cmi.example/fim/api", CREDENTIALS).timeout == 5
    assert M2tApiClient("https://m2t.example/api", "PORTNET-TEST", SECRET).timeout == 5


def test_cmi_status_posts_the_xml_request_and_reads_the_status(gateway):
    gateway.script = lambda _: Reply(200, STATUS_A, {"Content-Type": "text/xml"})

    status = cmi(gateway).status(ORDER)

    assert isinstance(status, CmiOrderStatus)
    assert (status.trans_stat, status.amount) == (TransStat.AUTHORISED, Money(125050))
    [request] = gateway.received
    assert request.path == "/fim/api"
    assert request.headers["content-type"] == "text/xml; charset=UTF-8"
    assert b"<ORDERSTATUS>QUERY</ORDERSTATUS>" in request.body
    assert f"<Password>{PASSWORD}</Password>".encode() in request.body


def test_cmi_unknown_order(gateway):
    gateway.script = lambda _: Reply(200, UNKNOWN)

    assert cmi(gateway).status(ORDER) == CmiUnknownOrder(ORDER)


@pytest.mark.parametrize(
    ("call", "element"),
    [
        (lambda client: client.capture(ORDER, Money(125050)), b"<Type>PostAuth</Type><Total>1250.50</Total>"),
        (lambda client: client.void(ORDER), b"<Type>Void</Type>"),
        (lambda client: client.refund(ORDER, Money(125050)), b"<Type>Credit</Type><Total>1250.50</Total>"),
    ],
)
def test_cmi_operations_post_their_type_and_read_the_result(gateway, call, element):
    gateway.script = lambda _: Reply(200, APPROVED)

    result = call(cmi(gateway))

    assert isinstance(result, CmiOperationResult)
    assert result.done
    assert element in gateway.received[0].body


def test_cmi_timeout_is_no_answer_within_the_limit(gateway):
    gateway.script = lambda _: Reply(200, STATUS_A, delay=30)
    started = time.monotonic()

    answer = cmi(gateway).status(ORDER)

    assert answer == NoAnswer("CMI", "ORDERSTATUS", ORDER, NoAnswerReason.TIMEOUT, "no answer within 0.5 s")
    assert time.monotonic() - started < 3


def test_an_answer_dripped_past_the_limit_is_a_timeout(gateway):
    gateway.script = lambda _: Reply(200, STATUS_A, drip=0.05)  # 0.05 s a byte: minutes for the whole body
    started = time.monotonic()

    answer = cmi(gateway).status(ORDER)

    assert (answer.reason, time.monotonic() - started < 3) == (NoAnswerReason.TIMEOUT, True)


@pytest.mark.parametrize("status", [500, 502, 503, 404, 401])
def test_cmi_non_200_is_no_answer(gateway, status):
    gateway.script = lambda _: Reply(status, STATUS_A)

    answer = cmi(gateway).status(ORDER)

    assert (answer.reason, answer.detail) == (NoAnswerReason.HTTP_STATUS, f"HTTP {status}")


def test_a_redirect_is_never_followed(gateway):
    gateway.script = lambda received: Reply(302, b"", {"Location": f"{gateway.url}/elsewhere"})

    answer = cmi(gateway).void(ORDER)

    assert (answer.reason, answer.detail) == (NoAnswerReason.HTTP_STATUS, "HTTP 302")
    assert [request.path for request in gateway.received] == ["/fim/api"]


@pytest.mark.parametrize(
    "body",
    [b"", b"<html>maintenance</html>", b"\x00\x01garbage", b"<CC5Response>" + b"x" * 70_000 + b"</CC5Response>"],
)
def test_cmi_garbage_is_no_answer(gateway, body):
    gateway.script = lambda _: Reply(200, body)

    assert cmi(gateway).status(ORDER).reason is NoAnswerReason.UNREADABLE


def test_an_answer_larger_than_64_kib_is_not_read_whole(gateway):
    gateway.script = lambda _: Reply(200, b"x" * 200_000)

    answer = cmi(gateway).capture(ORDER, Money(100))

    assert (answer.reason, answer.detail) == (NoAnswerReason.UNREADABLE, "answer too large")


def test_nobody_listening_is_no_answer():
    answer = CmiApiClient("http://127.0.0.1:9/fim/api", CREDENTIALS, timeout=SHORT).status(ORDER)

    assert answer.reason is NoAnswerReason.UNREACHABLE


@pytest.mark.parametrize("url", ["file:///etc/passwd", "ftp://cmi.example/api", "cmi.example/api"])
def test_a_url_that_is_not_http_is_never_opened(url):
    assert CmiApiClient(url, CREDENTIALS).status(ORDER).reason is NoAnswerReason.UNREACHABLE


def test_an_unexpected_transport_error_is_no_answer_too():
    def broken(*_: object) -> object:
        raise RuntimeError("bug")

    answer = CmiApiClient("https://cmi.example/fim/api", CREDENTIALS, transport=broken).status(ORDER)

    assert answer.reason is NoAnswerReason.UNREACHABLE


def test_logs_name_the_order_and_the_outcome_never_the_password_nor_the_body(gateway, logs):
    gateway.script = lambda _: Reply(200, STATUS_A)

    cmi(gateway).status(ORDER)
    gateway.script = lambda _: Reply(503, b"<html>down</html>")
    cmi(gateway).capture(ORDER, Money(125050))

    lines = [json.loads(line) for line in logs.lines() if "gateway API call" in line]
    assert [(line["payment_id"], line["operation"], line["outcome"]) for line in lines] == [
        (ORDER, "ORDERSTATUS", "TRANS_STAT A"),
        (ORDER, "PostAuth", "no answer: unexpected HTTP status"),
    ]
    text = logs.text()
    assert PASSWORD not in text
    assert "portnet-api" not in text
    assert "CC5" not in text
    assert "125050" not in text


def api_settings(**changes):
    """The merchant APIs' settings of tests/conftest.py's environment, with `changes`."""
    variables = {GatewayApiSettings.model_fields[name].alias: value for name, value in changes.items()}
    return GatewayApiSettings.model_validate({**TEST_ENVIRONMENT, **variables})


def test_cmi_client_from_the_settings():
    settings = api_settings(cmi_api_url="https://testpayment.cmi.co.ma/fim/api", cmi_api_user="portnet-api")

    client = CmiApiClient.from_settings(settings, PASSWORD)

    assert (client.url, client.credentials) == ("https://testpayment.cmi.co.ma/fim/api", CREDENTIALS)
    assert PASSWORD not in repr(client)


# -- M2T -----------------------------------------------------------------------------------------------------------

NOW = 1_795_774_500


def m2t(gateway: Gateway, now: int = NOW) -> M2tApiClient:
    return M2tApiClient(f"{gateway.url}/api/", "PORTNET-TEST", SECRET, now=lambda: now, timeout=SHORT)


def signed_reply(status: int, payload: object, *, at: int = NOW, secret: bytes = SECRET) -> Reply:
    body = json.dumps(payload).encode()
    return Reply(status, body, {"Content-Type": "application/json", "X-M2T-Signature": sign_body(secret, body, at)})


PAID = {
    "order_ref": ORDER,
    "transaction_id": "M2T-TX-1",
    "status": "PAID",
    "amount": "1250.50",
    "currency": "MAD",
    "method": "CARD",
    "occurred_at": "2026-11-27T10:15:00Z",
}


def test_m2t_status_posts_a_signed_request_and_reads_the_signed_answer(gateway):
    gateway.script = lambda _: signed_reply(200, PAID)

    status = m2t(gateway).status(ORDER)

    assert isinstance(status, M2tStatus)
    assert (status.status, status.transaction_id, status.amount) == (M2tOrderStatus.PAID, "M2T-TX-1", Money(125050))
    [request] = gateway.received
    assert request.path == "/api/orders/status"
    assert json.loads(request.body) == {"merchant_id": "PORTNET-TEST", "order_ref": ORDER}
    assert request.headers["x-m2t-signature"] == sign_body(SECRET, request.body, NOW)


def test_m2t_signed_404_is_an_unknown_order(gateway):
    gateway.script = lambda _: signed_reply(404, {"status": "UNKNOWN_ORDER"})

    assert m2t(gateway).status(ORDER) == M2tUnknownOrder(ORDER)


def test_m2t_refund_and_its_refusal(gateway):
    gateway.script = lambda received: (
        signed_reply(200, {"status": "REFUNDED", "refund_id": json.loads(received.body)["refund_id"]})
        if json.loads(received.body)["refund_id"] == "PAY-0001-R1"
        else signed_reply(409, {"status": "NOT_REFUNDABLE"})
    )
    client = m2t(gateway)

    assert client.refund(ORDER, "PAY-0001-R1", Money(125050)) == M2tRefunded(ORDER, "PAY-0001-R1")
    assert client.refund(ORDER, "PAY-0001-R2", Money(125050)) == M2tNotRefundable(ORDER, "PAY-0001-R2")
    assert gateway.received[0].path == "/api/orders/refund"
    assert json.loads(gateway.received[0].body) == {
        "merchant_id": "PORTNET-TEST",
        "order_ref": ORDER,
        "refund_id": "PAY-0001-R1",
        "amount": "1250.50",
        "currency": "MAD",
    }


@pytest.mark.parametrize(
    "reply",
    [
        pytest.param(Reply(200, json.dumps(PAID).encode()), id="unsigned-200"),
        pytest.param(Reply(404, b'{"status": "UNKNOWN_ORDER"}'), id="unsigned-404"),
        pytest.param(signed_reply(200, PAID, at=NOW - 301), id="stale"),
        pytest.param(signed_reply(200, PAID, at=NOW + 301), id="from-the-future"),
        pytest.param(signed_reply(200, PAID, secret=b"another-secret"), id="another-secret"),
    ],
)
def test_m2t_unsigned_or_stale_answer_is_no_answer(gateway, reply):
    gateway.script = lambda _: reply

    answer = m2t(gateway).status(ORDER)

    assert isinstance(answer, NoAnswer)
    assert answer.reason is NoAnswerReason.UNSIGNED


def test_m2t_unsigned_refund_answer_is_no_answer(gateway):
    gateway.script = lambda _: Reply(200, b'{"status": "REFUNDED", "refund_id": "PAY-0001-R1"}')

    assert m2t(gateway).refund(ORDER, "PAY-0001-R1", Money(100)).reason is NoAnswerReason.UNSIGNED


def test_m2t_timeout_is_no_answer(gateway):
    gateway.script = lambda _: Reply(200, b"{}", delay=30)

    assert m2t(gateway).status(ORDER).reason is NoAnswerReason.TIMEOUT


@pytest.mark.parametrize("status", [500, 502, 503])
def test_m2t_5xx_is_no_answer_even_signed(gateway, status):
    gateway.script = lambda _: signed_reply(status, {"status": "ERROR"})

    answer = m2t(gateway).status(ORDER)

    assert (answer.reason, answer.detail) == (NoAnswerReason.HTTP_STATUS, f"HTTP {status}")


def test_m2t_signed_garbage_is_no_answer(gateway):
    body = b"\xff not json"
    gateway.script = lambda _: Reply(200, body, {"X-M2T-Signature": sign_body(SECRET, body, NOW)})

    assert m2t(gateway).status(ORDER).reason is NoAnswerReason.UNREADABLE


def test_m2t_client_from_the_settings():
    settings = api_settings(m2t_api_url="https://m2t.example/api", m2t_merchant_id="M2T-42")

    client = M2tApiClient.from_settings(settings, SECRET)

    assert (client.base_url, client.merchant_id, client.secret) == ("https://m2t.example/api", "M2T-42", SECRET)
    assert "test-m2t-secret" not in repr(client)


def test_an_https_url_speaks_tls_and_a_server_without_it_is_unreachable(gateway):
    gateway.script = lambda _: Reply(200, STATUS_A)
    https = gateway.url.replace("http://", "https://")

    answer = CmiApiClient(f"{https}/fim/api", CREDENTIALS, timeout=SHORT).status(ORDER)

    assert answer.reason is NoAnswerReason.UNREACHABLE
