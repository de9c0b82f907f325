"""Helpers for the payment and callback specifications: start, read and cancel payments through the real handlers,
and build the callbacks the gateways post back, signed exactly as gateways.md says.

Every helper speaks HTTP to the handlers in-process (API Gateway HTTP API payload 2.0 events), so a test reads as
the outside world sees the service: a request, an answer, and the state the next request observes.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import pytest
from botocore.exceptions import ClientError

import create_payment_handler
import gateway_callback_handler
import list_invoices_handler
from epay import clock, runtime
from epay.gateways import cmi
from epay.gateways.common import sign_body
from epay.invoices import Invoice
from tests.support.factories import FakeLambdaContext, http_event, response_json
from tests.support.messages import cmi_result_fields, m2t_notification

# A code made of characters a payment id (base32 upper case) or an invoice id (base32 lower case) never holds,
# so finding it in a body or a log line can only mean it leaked.
CODE = "Q0Z9"
OTHER_CODE = "K8J1"
PAYER = {"name": "Société Maritime", "email": "compta@example.ma", "phone": "0522000000"}
CMI_STORE_KEY = "test-cmi-store-key"
M2T_SECRET = b"test-m2t-secret"
FATOURATI_SECRET = b"test-fatourati-secret"
CARD_NUMBER = "4000000000000002"
SECRETS = (CMI_STORE_KEY, M2T_SECRET.decode(), FATOURATI_SECRET.decode(), "test-cursor-secret-0123456789abcdef")
FRONTEND_URL = "https://www.example.ma/e-paiement/"
# 2026-11-27T10:15:00Z, the instant of the contract's examples.
NOW = 1_795_774_500
PAYMENT_FIELDS = {
    "payment_id",
    "status",
    "amount",
    "currency",
    "gateway",
    "method",
    "issuer",
    "invoices",
    "created_at",
    "expires_at",
    "paid_at",
    "gateway_transaction_id",
    "reference",
    "last_error",
    # operations-api.md §1: how the money of a REVERSED payment was returned (null for any other payment).
    "reversal",
    # Beyond api.md §3: money a gateway reported taken that settles nothing (issue 9, item 5).
    "unapplied_funds",
    # operations-api.md §7: the receipt's code once PAID (null before).
    "receipt_code",
}
_serial = itertools.count(1)


# -- time -----------------------------------------------------------------------------------------------------


@dataclass
class FrozenClock:
    """The service's clock, stopped at `now` until a test moves it."""

    now: int

    def advance(self, seconds: int) -> None:
        self.now += seconds


def freeze_clock(monkeypatch: pytest.MonkeyPatch, at: int = NOW) -> FrozenClock:
    """Stop `epay.clock` (the handlers read it as `clock.now()` / `clock.now_ms()`) at `at`."""
    frozen = FrozenClock(at)
    monkeypatch.setattr(clock, "now", lambda: frozen.now)
    monkeypatch.setattr(clock, "now_ms", lambda: frozen.now * 1000)
    return frozen


def iso(epoch_seconds: int) -> str:
    return clock.iso_instant(epoch_seconds)


# -- invoices -------------------------------------------------------------------------------------------------


def given_invoices(*invoices: Invoice) -> tuple[Invoice, ...]:
    """Load invoices as the operator's file does (the `dynamodb` fixture must be active)."""
    for invoice in invoices:
        runtime.invoice_store().upsert_invoice(invoice, clock.now())
    return invoices


def invoice_if_stored(invoice_id: str) -> Invoice | None:
    """The invoice stored under `invoice_id`, read as the use cases read invoices; None when there is none."""
    return runtime.invoice_store().get_invoices([invoice_id]).get(invoice_id)


def stored_invoice(invoice_id: str) -> Invoice:
    invoice = invoice_if_stored(invoice_id)
    assert invoice is not None, f"invoice {invoice_id} is not stored"
    return invoice


def search(code: str = CODE) -> dict[str, dict[str, Any]]:
    """Every unpaid invoice `POST /v1/invoices/search` lists for `code`, by invoice id."""
    items: dict[str, dict[str, Any]] = {}
    cursor = None
    while True:
        body = {"subscription_code": code, "page_size": 50, "cursor": cursor}
        event = http_event("POST", "/v1/invoices/search", body=body, source_ip="198.51.100.250")
        response = list_invoices_handler.lambda_handler(event, FakeLambdaContext())
        assert response["statusCode"] == 200, response["body"]
        page = response_json(response)
        items.update({item["invoice_id"]: item for item in page["items"]})
        cursor = page["next_cursor"]
        if cursor is None:
            return items


def ids(invoices: Iterable[Invoice]) -> list[str]:
    return [invoice.invoice_id for invoice in invoices]


def held_by(invoice_id: str) -> str | None:
    """The payment that holds the invoice in storage (lapsed or not), if any."""
    hold = stored_invoice(invoice_id).hold
    return hold.payment_id if hold else None


# -- payments -------------------------------------------------------------------------------------------------


def payment_request(
    invoices: Sequence[Invoice] | Sequence[str],
    gateway: str = "CMI",
    method: str = "CARD",
    *,
    code: str = CODE,
    **overrides: Any,
) -> dict[str, Any]:
    """A valid `POST /v1/payments` body for these invoices (ids or invoices), with some fields overridden."""
    invoice_ids = [item if isinstance(item, str) else item.invoice_id for item in invoices]
    body: dict[str, Any] = {
        "subscription_code": code,
        "invoice_ids": invoice_ids,
        "gateway": gateway,
        "method": method,
        "payer": dict(PAYER),
        "lang": "fr",
    }
    body.update(overrides)
    return body


def post_payment(
    body: Any, *, idempotency_key: str | None = None, source_ip: str = "192.0.2.10", handler: Any = None
) -> dict[str, Any]:
    """`POST /v1/payments` through the create_payment function."""
    headers = {"Idempotency-Key": idempotency_key} if idempotency_key is not None else None
    event = http_event("POST", "/v1/payments", body=body, headers=headers, source_ip=source_ip)
    return (handler or create_payment_handler.lambda_handler)(event, FakeLambdaContext())


def start_payment(
    invoices: Sequence[Invoice], gateway: str = "CMI", method: str = "CARD", **overrides: Any
) -> dict[str, Any]:
    """Start a payment that must succeed, and return its `201` body."""
    response = post_payment(payment_request(invoices, gateway, method, **overrides))
    assert response["statusCode"] == 201, response["body"]
    created: dict[str, Any] = response_json(response)
    return created


def read_payment(payment_id: str) -> dict[str, Any]:
    """`GET /v1/payments/{payment_id}`."""
    event = http_event(
        "GET",
        f"/v1/payments/{payment_id}",
        route_path="/v1/payments/{payment_id}",
        path_parameters={"payment_id": payment_id},
    )
    return create_payment_handler.lambda_handler(event, FakeLambdaContext())


def payment(payment_id: str) -> dict[str, Any]:
    """The payment as `GET /v1/payments/{payment_id}` shows it (which must answer 200)."""
    response = read_payment(payment_id)
    assert response["statusCode"] == 200, response["body"]
    body: dict[str, Any] = response_json(response)
    return body


def cancel_payment(payment_id: str, *, handler: Any = None) -> dict[str, Any]:
    """`POST /v1/payments/{payment_id}/cancel`."""
    event = http_event(
        "POST",
        f"/v1/payments/{payment_id}/cancel",
        route_path="/v1/payments/{payment_id}/cancel",
        path_parameters={"payment_id": payment_id},
    )
    return (handler or create_payment_handler.lambda_handler)(event, FakeLambdaContext())


def browser_return(method: str, payment_id: str, **event_options: Any) -> dict[str, Any]:
    """`GET|POST /v1/payments/{payment_id}/return`, where the gateways send the payer's browser back."""
    event = http_event(
        method,
        f"/v1/payments/{payment_id}/return",
        route_path="/v1/payments/{payment_id}/return",
        path_parameters={"payment_id": payment_id},
        **event_options,
    )
    return gateway_callback_handler.lambda_handler(event, FakeLambdaContext())


def problem_ids(problem: Mapping[str, Any]) -> set[str]:
    """Every text a problem's `errors` entries carry (where `INVOICE_NOT_PAYABLE` lists the invoice ids)."""
    return {value for entry in problem.get("errors") or [] for value in entry.values() if isinstance(value, str)}


def stored_payments() -> list[dict[str, Any]]:
    """Every payment item in the main table (to count them; a test-only Scan)."""
    items: list[dict[str, Any]] = []
    for page in runtime.dynamodb().get_paginator("scan").paginate(TableName=runtime.payment_store().table):
        items += [item for item in page["Items"] if item["sk"]["S"] == "PAYMENT"]
    return items


def stored_evidence() -> list[dict[str, Any]]:
    """Every callback evidence item (a test-only Scan), oldest first, as plain values: `owner` is the item's pk
    (`PAYMENT#<id>` or `CALLBACK#UNMATCHED#<day>`), then `gateway`, `verified`, `decision`, `answer_status`,
    `body_sha256`."""
    items: list[dict[str, Any]] = []
    for page in runtime.dynamodb().get_paginator("scan").paginate(TableName=runtime.payment_store().table):
        items += [item for item in page["Items"] if item.get("entity", {}).get("S") == "CALLBACK"]
    items.sort(key=lambda item: item["sk"]["S"])
    return [
        {
            "owner": item["pk"]["S"],
            "gateway": item["gateway"]["S"],
            "verified": item["verified"]["BOOL"],
            "decision": item["decision"]["S"],
            "answer_status": int(item["answer_status"]["N"]),
            "body_sha256": item["body_sha256"]["S"],
        }
        for item in items
    ]


# -- storage failures -----------------------------------------------------------------------------------------


def throttling() -> ClientError:
    return ClientError({"Error": {"Code": "ThrottlingException", "Message": "Rate exceeded"}}, "TransactWriteItems")


def transaction_conflict() -> ClientError:
    return ClientError(
        {
            "Error": {"Code": "TransactionCanceledException", "Message": "Transaction cancelled"},
            "CancellationReasons": [{"Code": "None"}, {"Code": "TransactionConflict"}],
        },
        "TransactWriteItems",
    )


def fail_transactions(monkeypatch: pytest.MonkeyPatch, error: ClientError) -> None:
    """Every `TransactWriteItems` the service sends fails with `error` (DynamoDB writes nothing)."""

    def failing(**_: Any) -> None:
        raise error

    monkeypatch.setattr(runtime.dynamodb(), "transact_write_items", failing)


# -- CMI ------------------------------------------------------------------------------------------------------


def cmi_callback(
    created: Mapping[str, Any],
    *,
    proc_return_code: str = "00",
    trans_id: str = "26015K1Q0001",
    error_message: str = "",
    **changes: str,
) -> list[tuple[str, str]]:
    """What CMI posts back for a payment: every field it was sent, its result, a fresh rnd, and a valid HASH.

    `changes` replace (or add) fields before signing, e.g. `amount="120.5"` or `oid="PAY-UNKNOWN"`.
    """
    fields = cmi_result_fields(
        created["redirect"]["fields"],
        proc_return_code=proc_return_code,
        trans_id=trans_id,
        error_message=error_message,
    )
    fields.update(changes)
    return signed(list(fields.items()))


def signed(fields: Sequence[tuple[str, str]], store_key: str = CMI_STORE_KEY) -> list[tuple[str, str]]:
    """The fields with the HASH CMI computes over them (any previous HASH dropped)."""
    unsigned = [(name, value) for name, value in fields if name.upper() != "HASH"]
    return [*unsigned, ("HASH", cmi.compute_hash(unsigned, store_key))]


def form(fields: Sequence[tuple[str, str]]) -> bytes:
    return urlencode(list(fields)).encode("ascii")


def post_cmi(
    fields: Sequence[tuple[str, str]] | None = None,
    *,
    raw_body: bytes | None = None,
    base64_body: bool = False,
    handler: Any = None,
) -> dict[str, Any]:
    """`POST /v1/callbacks/cmi` with a form-encoded body, as CMI sends it."""
    body = raw_body if raw_body is not None else form(fields or [])
    event = http_event(
        "POST",
        "/v1/callbacks/cmi",
        raw_body=body,
        base64_body=base64_body,
        headers={"content-type": "application/x-www-form-urlencoded"},
        source_ip="203.0.113.5",
    )
    return (handler or gateway_callback_handler.lambda_handler)(event, FakeLambdaContext())


def cmi_answer(response: Mapping[str, Any]) -> tuple[int, str]:
    """The callback's plain-text answer (checking it is plain text)."""
    assert response["headers"]["Content-Type"].startswith("text/plain"), response["headers"]
    return response["statusCode"], response["body"]


def pay_by_card(created: Mapping[str, Any], **changes: str) -> tuple[int, str]:
    """CMI reports the payment approved."""
    return cmi_answer(post_cmi(cmi_callback(created, **changes)))


# -- M2T ------------------------------------------------------------------------------------------------------


def m2t_signature(body: bytes, *, at: int | None = None, secret: bytes = M2T_SECRET) -> str:
    return sign_body(secret, body, clock.now() if at is None else at)


def post_m2t(body: bytes, signature: str | None = "sign", *, handler: Any = None) -> dict[str, Any]:
    """`POST /v1/callbacks/m2t`; by default signed now with the right secret, `None` sends no signature."""
    if signature == "sign":
        signature = m2t_signature(body)
    headers = {"X-M2T-Signature": signature} if signature is not None else {}
    event = http_event("POST", "/v1/callbacks/m2t", raw_body=body, headers=headers, source_ip="203.0.113.6")
    return (handler or gateway_callback_handler.lambda_handler)(event, FakeLambdaContext())


def notify_m2t(created: Mapping[str, Any], status: str, **options: Any) -> dict[str, Any]:
    """M2T notifies `status` for a payment, with its amount unless told otherwise."""
    amount = options.pop("amount", created["amount"])
    return post_m2t(m2t_notification(created["payment_id"], status, amount, **options))


# -- Fatourati ------------------------------------------------------------------------------------------------


def fatourati_signature(body: bytes, *, at: int | None = None, secret: bytes = FATOURATI_SECRET) -> str:
    return sign_body(secret, body, clock.now() if at is None else at)


def post_fatourati(route: str, payload: Any, signature: str | None = "sign", *, handler: Any = None) -> dict[str, Any]:
    """`POST /v1/callbacks/fatourati/{inquiry|confirm}`; by default signed now with the right secret."""
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode("utf-8")
    if signature == "sign":
        signature = fatourati_signature(body)
    headers = {"X-Fatourati-Signature": signature} if signature is not None else {}
    event = http_event(
        "POST", f"/v1/callbacks/fatourati/{route}", raw_body=body, headers=headers, source_ip="203.0.113.7"
    )
    return (handler or gateway_callback_handler.lambda_handler)(event, FakeLambdaContext())


def inquire(reference: str, **options: Any) -> dict[str, Any]:
    return post_fatourati("inquiry", {"reference": reference}, **options)


def confirmation(reference: str, amount: str, *, transaction_id: str = "FTR-0001", currency: str = "MAD") -> dict:
    return {
        "reference": reference,
        "transaction_id": transaction_id,
        "amount": amount,
        "currency": currency,
        "channel": "E-BANKING",
        "paid_at": iso(clock.now()),
    }


def confirm(reference: str, amount: str, **options: Any) -> dict[str, Any]:
    return post_fatourati("confirm", confirmation(reference, amount, **options))


def json_answer(response: Mapping[str, Any]) -> tuple[int, Any]:
    return response["statusCode"], json.loads(response["body"])
