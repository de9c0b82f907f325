"""Faults: DynamoDB fails (throttling, a cancelled transaction, a timeout, a dropped connection) at each store call
of every route and callback. The answer is the right error — API `503` problem+json, CMI `FAILURE`, M2T and
Fatourati `503` — and the stored state is exactly as before; or, when the fault comes after the commit, the answer
is the success itself. The same request sent again afterwards then succeeds, once.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from botocore.exceptions import ClientError, ConnectionClosedError, ReadTimeoutError

from epay import runtime
from tests.conftest import TEST_ENVIRONMENT
from tests.support.factories import an_invoice, response_json
from tests.support.payments import (
    CODE,
    cancel_payment,
    cmi_callback,
    freeze_clock,
    given_invoices,
    m2t_notification,
    payment_request,
    post_cmi,
    post_fatourati,
    post_m2t,
    post_payment,
    read_payment,
    start_payment,
)

pytestmark = pytest.mark.faults
TABLES = [TEST_ENVIRONMENT["EPAY_TABLE"], TEST_ENVIRONMENT["EPAY_IDEMPOTENCY_TABLE"]]


def _client_error(code: str, operation: str, reasons: list[dict[str, str]] | None = None) -> ClientError:
    response: dict[str, Any] = {"Error": {"Code": code, "Message": "injected"}}
    if reasons is not None:
        response["CancellationReasons"] = reasons
    return ClientError(response, operation)


@dataclass(frozen=True)
class Fault:
    build: Callable[[str], Exception]
    only: str | None = None  # the one operation that can fail this way, if any


ENDPOINT = "https://dynamodb.eu-west-3.amazonaws.com"
FAULTS: dict[str, Fault] = {
    "throttling": Fault(lambda operation: _client_error("ThrottlingException", operation)),
    "provisioned-throughput": Fault(
        lambda operation: _client_error("ProvisionedThroughputExceededException", operation)
    ),
    "transaction-cancelled": Fault(
        lambda operation: _client_error("TransactionCanceledException", operation, [{"Code": "TransactionConflict"}]),
        only="TransactWriteItems",
    ),
    "timeout": Fault(lambda operation: ReadTimeoutError(endpoint_url=ENDPOINT)),
    "connection-drop": Fault(lambda operation: ConnectionClosedError(endpoint_url=ENDPOINT)),
}


@dataclass
class Injector:
    """Counts the service's DynamoDB calls that can fail this way, and fails the `fail_at`-th one (0-based)."""

    fault: Fault
    fail_at: int | None = None
    calls: int = 0
    injected: str = ""

    def __call__(self, model: Any, **_: Any) -> None:
        if self.fault.only is not None and model.name != self.fault.only:
            return
        index = self.calls
        self.calls += 1
        if index == self.fail_at:
            self.injected = model.name
            raise self.fault.build(model.name)


@pytest.fixture
def injector(dynamodb: Any) -> Iterator[Callable[[Fault], Injector]]:
    client = runtime.dynamodb()
    installed: list[Injector] = []

    def install(fault: Fault) -> Injector:
        hook = Injector(fault)
        installed.append(hook)
        client.meta.events.register("before-call.dynamodb", hook, unique_id=f"fault-{len(installed)}")
        return hook

    yield install
    for index in range(1, len(installed) + 1):
        client.meta.events.unregister("before-call.dynamodb", unique_id=f"fault-{index}")


def snapshot(dynamodb: Any) -> dict[str, list[str]]:
    """Every item of the main and idempotency tables (rate-limit counters are allowed to move)."""
    state = {}
    for table in TABLES:
        items = dynamodb.scan(TableName=table, ConsistentRead=True)["Items"]
        state[table] = sorted(json.dumps(item, sort_keys=True) for item in items)
    return state


def restore(dynamodb: Any, state: dict[str, list[str]]) -> None:
    for table, items in state.items():
        description = dynamodb.describe_table(TableName=table)["Table"]["KeySchema"]
        key_names = [key["AttributeName"] for key in description]
        for item in dynamodb.scan(TableName=table, ConsistentRead=True)["Items"]:
            dynamodb.delete_item(TableName=table, Key={name: item[name] for name in key_names})
        for item in items:
            dynamodb.put_item(TableName=table, Item=json.loads(item))


@dataclass(frozen=True)
class Scenario:
    """A request, how its failure reads, and how its success reads."""

    send: Callable[[], tuple[int, Any]]
    failed: Callable[[int, Any], bool]
    succeeded: Callable[[int, Any], bool]


def api_failure(status: int, body: Any) -> bool:
    return status == 503 and body["code"] == "SERVICE_UNAVAILABLE" and body["status"] == 503


def _api(response: dict[str, Any]) -> tuple[int, Any]:
    assert response["headers"]["Content-Type"].startswith(
        "application/problem+json" if response["statusCode"] >= 400 else "application/json"
    )
    return response["statusCode"], response_json(response)


def _invoices() -> tuple[Any, ...]:
    return given_invoices(an_invoice(CODE, amount="100.00"), an_invoice(CODE, amount="25.50"))


def _search() -> Scenario:
    _invoices()

    def send() -> tuple[int, Any]:
        event_body = {"subscription_code": CODE}
        import list_invoices_handler
        from tests.support.factories import FakeLambdaContext, http_event

        return _api(
            list_invoices_handler.lambda_handler(
                http_event("POST", "/v1/invoices/search", body=event_body), FakeLambdaContext()
            )
        )

    return Scenario(send, api_failure, lambda status, body: status == 200 and len(body["items"]) == 2)


def _create(idempotency_key: str | None) -> Callable[[], Scenario]:
    def build() -> Scenario:
        body = payment_request(_invoices())

        def send() -> tuple[int, Any]:
            return _api(post_payment(body, idempotency_key=idempotency_key))

        return Scenario(send, api_failure, lambda status, answer: status == 201 and answer["amount"] == "125.50")

    return build


def _read() -> Scenario:
    created = start_payment(_invoices())
    return Scenario(
        lambda: _api(read_payment(created["payment_id"])),
        api_failure,
        lambda status, body: status == 200 and body["status"] == "PENDING",
    )


def _cancel() -> Scenario:
    created = start_payment(_invoices())

    def succeeded(status: int, body: Any) -> bool:
        return status == 200 and body["status"] == "CANCELLED"

    return Scenario(lambda: _api(cancel_payment(created["payment_id"])), api_failure, succeeded)


def _cmi_success() -> Scenario:
    fields = cmi_callback(start_payment(_invoices()))

    def send() -> tuple[int, Any]:
        response = post_cmi(fields)
        return response["statusCode"], response["body"]

    return Scenario(
        send,
        lambda status, text: (status, text) == (500, "FAILURE"),
        lambda status, text: (status, text) == (200, "ACTION=POSTAUTH"),
    )


def _m2t(status_name: str) -> Callable[[], Scenario]:
    def build() -> Scenario:
        created = start_payment(_invoices(), "M2T", "CARD")
        body = m2t_notification(created["payment_id"], status_name, created["amount"])

        def send() -> tuple[int, Any]:
            response = post_m2t(body)
            return response["statusCode"], json.loads(response["body"])

        return Scenario(
            send,
            lambda status, answer: status == 503,
            lambda status, answer: (status, answer) == (200, {"status": "OK"}),
        )

    return build


def _fatourati_confirm() -> Scenario:
    created = start_payment(_invoices(), "CMI", "FATOURATI")
    payload = {
        "reference": created["reference"]["code"],
        "transaction_id": "FT-1",
        "amount": created["amount"],
        "currency": "MAD",
        "channel": "E-BANKING",
        "paid_at": "2026-11-27T10:15:00Z",
    }

    def send() -> tuple[int, Any]:
        response = post_fatourati("confirm", payload)
        return response["statusCode"], json.loads(response["body"])

    return Scenario(
        send,
        lambda status, answer: (status, answer) == (503, {"code": "503"}),
        lambda status, answer: (status, answer) == (200, {"code": "000"}),
    )


SCENARIOS: dict[str, Callable[[], Scenario]] = {
    "search": _search,
    "create payment": _create(None),
    "create payment with Idempotency-Key": _create("key-1"),
    "read payment": _read,
    "cancel payment": _cancel,
    "CMI success callback": _cmi_success,
    "M2T PAID notification": _m2t("PAID"),
    "M2T FAILED notification": _m2t("FAILED"),
    "Fatourati confirmation": _fatourati_confirm,
}


@pytest.mark.parametrize("fault", FAULTS.values(), ids=FAULTS.keys())
@pytest.mark.parametrize("build", SCENARIOS.values(), ids=SCENARIOS.keys())
def test_a_store_failure_at_any_call_is_answered_cleanly_and_the_retry_succeeds_once(
    build, fault, dynamodb, injector, monkeypatch
):
    freeze_clock(monkeypatch)
    scenario = build()
    before = snapshot(dynamodb)
    counter = injector(fault)
    assert scenario.succeeded(*scenario.send()), "the request succeeds without faults"
    calls = counter.calls
    after_success = snapshot(dynamodb)
    if calls == 0:
        pytest.skip("this request makes no call that can fail this way")
    print(f"fault campaign: {calls} injection point(s)")
    for fail_at in range(calls):
        restore(dynamodb, before)
        counter.calls, counter.fail_at, counter.injected = 0, fail_at, ""
        status, answer = scenario.send()
        if scenario.failed(status, answer):
            assert snapshot(dynamodb) == before, f"a failed {counter.injected} left a partial change"
        else:
            # Only a fault after the commit may be answered with the success itself.
            assert scenario.succeeded(status, answer), f"{counter.injected} failure answered {status} {answer}"
        counter.fail_at = None
        retried = scenario.send()
        assert scenario.succeeded(*retried) or (status < 300 and retried[0] in (200, 201, 409)), retried
        if scenario.failed(status, answer):
            assert snapshot(dynamodb) == after_success or _same_shape(snapshot(dynamodb), after_success)


def _same_shape(left: dict[str, list[str]], right: dict[str, list[str]]) -> bool:
    """Equal but for generated values (ids, nonces, instants): as many items of each kind."""

    def kinds(state: dict[str, list[str]]) -> list[tuple[str, str]]:
        found = []
        for table, items in state.items():
            for item in items:
                parsed = json.loads(item)
                kind = parsed.get("sk", {}).get("S") or parsed.get("status", {}).get("S", "")
                found.append((table, kind.rsplit("#", 1)[0] if kind.startswith("CALLBACK#") else kind))
        return sorted(found)

    return kinds(left) == kinds(right)
