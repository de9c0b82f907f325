"""The API calls the benchmarks measure: a moto world with invoices, and valid requests for every route.

Requests are built the way the gateways build them (tests and the simulators do the same): CMI's form with its
HASH ver3 over the fields and the store key, M2T's and Fatourati's JSON signed `t=…,v1=…` with their secrets.
"""

from __future__ import annotations

import json
import os
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from types import ModuleType
from typing import Any
from urllib.parse import urlencode

from benchmarks.common import moto_table
from epay import clock, runtime
from epay.gateways import cmi, fatourati, m2t
from epay.gateways.common import sign_body
from epay.invoices import Invoice, search_text
from epay.payments import new_payment_id
from tests.support.factories import FakeLambdaContext, http_event, many_invoices

PAYER = {"name": "Société Maritime", "email": "compta@example.ma", "phone": "0522000000"}
SEARCH_CODE = "MAR1"  # 35 unpaid invoices over three issuers, as the demo's busiest code
PAYMENT_CODE = "PAY1"  # a pool of payable invoices, two per payment


@dataclass
class Request:
    """An event for one function and what a correct answer looks like (checked, so no error path is measured)."""

    event: dict[str, Any]
    status: int
    contains: str = ""


# -- events --------------------------------------------------------------------------------------------------


def search_event(body: dict[str, Any]) -> dict[str, Any]:
    return http_event("POST", "/v1/invoices/search", body=body)


def openapi_event() -> dict[str, Any]:
    return http_event("GET", "/v1/openapi.json")


def payment_event(body: dict[str, Any], idempotency_key: str | None = None) -> dict[str, Any]:
    headers = {"Idempotency-Key": idempotency_key} if idempotency_key else None
    return http_event("POST", "/v1/payments", body=body, headers=headers)


def payment_body(invoices: list[Invoice], gateway: str, method: str) -> dict[str, Any]:
    return {
        "subscription_code": invoices[0].subscription_code,
        "invoice_ids": [invoice.invoice_id for invoice in invoices],
        "gateway": gateway,
        "method": method,
        "payer": PAYER,
    }


def _payment_route(method: str, payment_id: str, suffix: str = "") -> dict[str, Any]:
    return http_event(
        method,
        f"/v1/payments/{payment_id}{suffix}",
        path_parameters={"payment_id": payment_id},
        route_path=f"/v1/payments/{{payment_id}}{suffix}",
    )


def payment_read_event(payment_id: str) -> dict[str, Any]:
    return _payment_route("GET", payment_id)


def cancel_event(payment_id: str) -> dict[str, Any]:
    return _payment_route("POST", payment_id, "/cancel")


def return_event(payment_id: str) -> dict[str, Any]:
    return _payment_route("GET", payment_id, "/return")


def cmi_event(created: dict[str, Any], approved: bool = True, forged: bool = False) -> dict[str, Any]:
    """CMI's server-to-server callback: the form it was sent back, with the result fields and a fresh HASH."""
    fields = {name: value for name, value in created["redirect"]["fields"].items() if name.upper() != "HASH"}
    fields.update(
        {
            "ProcReturnCode": "00" if approved else "05",
            "Response": "Approved" if approved else "Declined",
            "AuthCode": "123456" if approved else "",
            "TransId": f"{created['payment_id'][-8:]}{int(time.time())}",
            "HostRefNum": "000000000001",
            "ErrMsg": "" if approved else "Carte refusée par l'émetteur",
            "MaskedPan": "400000***0002",
            "callbackCall": "true",
        }
    )
    fields["HASH"] = cmi.compute_hash(fields, os.environ["EPAY_CMI_STORE_KEY"])
    if forged:
        fields["amount"] = "1.00"
    body = urlencode(fields).encode("utf-8")
    return http_event(
        "POST",
        "/v1/callbacks/cmi",
        raw_body=body,
        headers={"content-type": "application/x-www-form-urlencoded"},
    )


def m2t_event(created: dict[str, Any], status: str, reference: str | None = None) -> dict[str, Any]:
    notification: dict[str, Any] = {
        "event_id": f"evt-{uuid.uuid4().hex[:16]}",
        "order_ref": created["payment_id"],
        "transaction_id": f"m2t-{uuid.uuid4().hex[:12]}",
        "status": status,
        "amount": created["amount"],
        "currency": "MAD",
        "method": created["method"],
        "occurred_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    if reference:
        notification["reference"] = reference
    body = json.dumps(notification).encode("utf-8")
    signature = sign_body(os.environ["EPAY_M2T_SECRET"].encode("utf-8"), body, int(time.time()))
    return http_event("POST", "/v1/callbacks/m2t", raw_body=body, headers={m2t.HEADER_NAME: signature})


def fatourati_event(route: str, payload: dict[str, Any]) -> dict[str, Any]:
    body = json.dumps(payload).encode("utf-8")
    signature = sign_body(os.environ["EPAY_FATOURATI_SECRET"].encode("utf-8"), body, int(time.time()))
    return http_event(
        "POST", f"/v1/callbacks/fatourati/{route}", raw_body=body, headers={fatourati.HEADER_NAME: signature}
    )


def fatourati_confirm_payload(created: dict[str, Any]) -> dict[str, Any]:
    return {
        "reference": created["reference"]["code"],
        "transaction_id": f"FAT-{uuid.uuid4().hex[:12]}",
        "amount": created["amount"],
        "currency": "MAD",
        "channel": "E-BANKING",
        "paid_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }


# -- the world -----------------------------------------------------------------------------------------------


def payment_pool(count: int) -> list[Invoice]:
    """Payable invoices of one issuer, so any two of them make a valid payment."""
    return many_invoices(PAYMENT_CODE, count, issuers=("ANP",))


def invoice_item(invoice: Invoice, now: int) -> dict[str, Any]:
    """The item `Store.upsert_invoice` writes for a new unpaid invoice (checked against it by `World.load`)."""
    item: dict[str, Any] = {
        "pk": {"S": f"INVOICE#{invoice.invoice_id}"},
        "sk": {"S": "INVOICE"},
        "subscription_code": {"S": invoice.subscription_code},
        "invoice_number": {"S": invoice.invoice_number},
        "issuer_code": {"S": invoice.issuer.code},
        "issuer_name": {"S": invoice.issuer.name},
        "issue_date": {"S": invoice.issue_date.isoformat()},
        "amount": {"N": str(invoice.amount.centimes)},
        "currency": {"S": "MAD"},
        "description": {"S": invoice.description},
        "status": {"S": invoice.status.value},
        "search_text": {"S": search_text(invoice)},
        "invoice_id": {"S": invoice.invoice_id},
        "entity": {"S": "INVOICE"},
        "updated_at": {"N": str(now)},
        "list_pk": {"S": f"SUB#{invoice.subscription_code}"},
        "list_sk": {"S": invoice.position},
    }
    if invoice.due_date is not None:
        item["due_date"] = {"S": invoice.due_date.isoformat()}
    return item


def bulk_put(table_name: str, items: list[dict[str, Any]]) -> None:
    """Items into moto's table as its `put_item` stores them, without its per-attribute size re-checks."""
    from moto.dynamodb.models.dynamo_type import DynamoType, Item, LimitedSizeDict

    table = moto_table(table_name)
    for attributes in sorted(items, key=lambda item: (item["pk"]["S"], item["sk"]["S"])):
        item: Any = Item.__new__(Item)
        item.hash_key = DynamoType(attributes["pk"])
        item.range_key = DynamoType(attributes["sk"])
        values = LimitedSizeDict.__new__(LimitedSizeDict)
        dict.__init__(values, {name: DynamoType(value) for name, value in attributes.items()})
        item.attrs = values
        table.items[item.hash_key][item.range_key] = item


class World:
    """The three handlers over a moto DynamoDB (see `common.moto_tables`), with invoices and payments to act on."""

    def __init__(self, handlers: dict[str, ModuleType]) -> None:
        self.handlers = handlers
        self.invoice_store = runtime.invoice_store()
        self.now = clock.now()
        self._pairs: Iterator[list[Invoice]] = iter(())
        self._checked: set[str] = set()

    def load(self, invoices: list[Invoice]) -> None:
        """Unpaid invoices straight into moto's table: moto takes ~80 ms to parse one 16-attribute UpdateItem.

        The first invoice goes through the product's own `upsert_invoice`, and its stored item must equal what
        `invoice_item` builds, so every bulk item is exactly what the product writes. The rest enter moto's table
        as its `put_item` would store them, in key order (moto sorts the whole table on every Query; sorted input
        keeps that sort linear, which changes no answer).
        """
        if not invoices:
            return
        if self.invoice_store.table not in self._checked:
            first, invoices = invoices[0], invoices[1:]
            self.invoice_store.upsert_invoice(first, self.now)
            key = {"pk": {"S": f"INVOICE#{first.invoice_id}"}, "sk": {"S": "INVOICE"}}
            stored = self.invoice_store.client.get_item(TableName=self.invoice_store.table, Key=key)["Item"]
            if stored != invoice_item(first, self.now):
                raise AssertionError(
                    "benchmarks.scenarios.invoice_item no longer matches DynamoInvoiceStore.upsert_invoice"
                )
            self._checked.add(self.invoice_store.table)
        bulk_put(self.invoice_store.table, [invoice_item(invoice, self.now) for invoice in invoices])

    def load_payment_pool(self, count: int = 400) -> None:
        pool = payment_pool(count)
        self.load(pool)
        self._pairs = iter([pool[index : index + 2] for index in range(0, count - 1, 2)])

    def pair(self) -> list[Invoice]:
        return next(self._pairs)

    def call(self, function: str, event: dict[str, Any]) -> dict[str, Any]:
        response: dict[str, Any] = self.handlers[function].lambda_handler(event, FakeLambdaContext())
        return response

    def check(self, function: str, request: Request) -> dict[str, Any]:
        response = self.call(function, request.event)
        body = str(response.get("body") or "")
        if response["statusCode"] != request.status or request.contains not in body:
            raise AssertionError(f"{function}: unexpected answer {response['statusCode']} {body[:300]}")
        return response

    def start(self, gateway: str, method: str) -> dict[str, Any]:
        request = Request(payment_event(payment_body(self.pair(), gateway, method)), 201)
        created: dict[str, Any] = json.loads(self.check("create_payment", request)["body"])
        return created


@dataclass(frozen=True)
class Scenario:
    """One API call measured: the function, how to prepare it, and which target applies."""

    name: str
    function: str
    kind: str  # search | payment | callback | read | static
    prepare: Callable[[World], Request]
    transaction: bool = False  # the call changes state, in one TransactWriteItems


def _search(body: dict[str, Any]) -> Callable[[World], Request]:
    return lambda world: Request(search_event({"subscription_code": SEARCH_CODE, **body}), 200, '"items"')


def _second_page(world: World) -> Request:
    first = json.loads(world.check("list_invoices", _search({})(world))["body"])
    return Request(search_event({"subscription_code": SEARCH_CODE, "cursor": first["next_cursor"]}), 200, '"items"')


def _start(gateway: str, method: str, key: bool = False) -> Callable[[World], Request]:
    def prepare(world: World) -> Request:
        body = payment_body(world.pair(), gateway, method)
        return Request(payment_event(body, str(uuid.uuid4()) if key else None), 201, '"payment_id"')

    return prepare


def _read(world: World) -> Request:
    return Request(payment_read_event(world.start("CMI", "CARD")["payment_id"]), 200, '"PENDING"')


def _cancel(world: World) -> Request:
    return Request(cancel_event(world.start("CMI", "CARD")["payment_id"]), 200, '"CANCELLED"')


def _cmi(approved: bool, duplicate: bool = False, forged: bool = False) -> Callable[[World], Request]:
    def prepare(world: World) -> Request:
        event = cmi_event(world.start("CMI", "CARD"), approved=approved, forged=forged)
        if duplicate:
            world.check("gateway_callback", Request(event, 200, cmi.POSTAUTH))
        if forged:
            return Request(event, 403, cmi.FAILURE)
        return Request(event, 200, cmi.POSTAUTH if approved else cmi.APPROVED)

    return prepare


def _m2t(method: str, status: str, reference: str | None = None) -> Callable[[World], Request]:
    return lambda world: Request(m2t_event(world.start("M2T", method), status, reference), 200, '"OK"')


def _fatourati_inquiry(world: World) -> Request:
    created = world.start("CMI", "FATOURATI")
    return Request(fatourati_event("inquiry", {"reference": created["reference"]["code"]}), 200, '"000"')


def _fatourati_confirm(world: World) -> Request:
    created = world.start("CMI", "FATOURATI")
    return Request(fatourati_event("confirm", fatourati_confirm_payload(created)), 200, '"000"')


DATE_FROM = (date(2026, 1, 1) + timedelta(days=60)).isoformat()
DATE_TO = (date(2026, 1, 1) + timedelta(days=180)).isoformat()

SCENARIOS: list[Scenario] = [
    Scenario("search, no filter", "list_invoices", "search", _search({})),
    Scenario("search, issuer", "list_invoices", "search", _search({"filters": {"issuer": "MARSA"}})),
    Scenario(
        "search, issuer + issue dates",
        "list_invoices",
        "search",
        _search({"filters": {"issuer": "ANP", "issued_from": DATE_FROM, "issued_to": DATE_TO}}),
    ),
    Scenario(
        "search, issue dates (no issuer)",
        "list_invoices",
        "search",
        _search({"filters": {"issued_from": DATE_FROM, "issued_to": DATE_TO}}),
    ),
    Scenario("search, min_amount", "list_invoices", "search", _search({"filters": {"min_amount": "3000.00"}})),
    Scenario("search, max_amount", "list_invoices", "search", _search({"filters": {"max_amount": "3000.00"}})),
    Scenario("search, text", "list_invoices", "search", _search({"filters": {"text": "conteneurs"}})),
    Scenario("search, invoice number", "list_invoices", "search", _search({"invoice_number": "N-00017"})),
    Scenario("search, next page (cursor)", "list_invoices", "search", _second_page),
    Scenario(
        "search, unknown code (finds nothing)",
        "list_invoices",
        "search",
        lambda world: Request(search_event({"subscription_code": "ZZ99"}), 200, '"items":[]'),
    ),
    Scenario("POST /v1/payments (CMI CARD)", "create_payment", "payment", _start("CMI", "CARD"), True),
    Scenario(
        "POST /v1/payments (CMI CARD) + Idempotency-Key",
        "create_payment",
        "payment",
        _start("CMI", "CARD", key=True),
        True,
    ),
    Scenario("POST /v1/payments (CMI FATOURATI)", "create_payment", "payment", _start("CMI", "FATOURATI"), True),
    Scenario("POST /v1/payments (M2T TASHILAT)", "create_payment", "payment", _start("M2T", "TASHILAT"), True),
    Scenario("GET /v1/payments/{id}", "create_payment", "read", _read),
    Scenario("POST /v1/payments/{id}/cancel", "create_payment", "payment", _cancel, True),
    Scenario("callback CMI, approved (settles)", "gateway_callback", "callback", _cmi(True), True),
    Scenario("callback CMI, declined", "gateway_callback", "callback", _cmi(False), True),
    Scenario("callback CMI, same approval again", "gateway_callback", "callback", _cmi(True, duplicate=True)),
    Scenario("callback CMI, bad HASH", "gateway_callback", "callback", _cmi(True, forged=True)),
    Scenario("callback M2T, PAID (settles)", "gateway_callback", "callback", _m2t("CARD", "PAID"), True),
    Scenario(
        "callback M2T, REFERENCE_ISSUED",
        "gateway_callback",
        "callback",
        _m2t("TASHILAT", "REFERENCE_ISSUED", "7300123456"),
        True,
    ),
    Scenario("callback M2T, FAILED (releases)", "gateway_callback", "callback", _m2t("CARD", "FAILED"), True),
    Scenario("callback Fatourati inquiry", "gateway_callback", "callback", _fatourati_inquiry),
    Scenario("callback Fatourati confirm (settles)", "gateway_callback", "callback", _fatourati_confirm, True),
    Scenario(
        "GET /v1/payments/{id}/return",
        "gateway_callback",
        "static",
        lambda world: Request(return_event(new_payment_id()), 303),
    ),
    Scenario("GET /v1/openapi.json", "list_invoices", "static", lambda world: Request(openapi_event(), 200, "openapi")),
]


def scenario(name: str) -> Scenario:
    return next(item for item in SCENARIOS if item.name == name)


def prepared_world(handlers: dict[str, ModuleType]) -> World:
    """The search code's 35 invoices and a pool of payable ones, loaded through the product's own upsert."""
    world = World(handlers)
    world.load(many_invoices(SEARCH_CODE, 35))
    world.load_payment_pool()
    return world
