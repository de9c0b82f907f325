"""Small factories: invoices, search requests and API Gateway HTTP API (payload 2.0) events."""

from __future__ import annotations

import base64
import itertools
import json
import uuid
from dataclasses import replace
from datetime import date, timedelta
from typing import Any

from epay.invoices import Hold, Invoice, InvoiceStatus, Issuer, invoice_id_for, legacy_invoice_id_for
from epay.money import Money
from epay_local.loader import parse_invoice_records

# The invoice-id key of the test environment (tests/conftest.py sets EPAY_INVOICE_ID_KEY to it), so the ids the
# factories give are the ones the loader computes.
INVOICE_ID_KEY = "test-invoice-id-key-0123456789abcdef"

ISSUERS = {
    "ANP": "Agence Nationale des Ports",
    "MARSA": "Marsa Maroc",
    "TMSA": "Tanger Med Port Authority",
}
_serial = itertools.count(1)


def an_invoice(
    code: str = "AB12",
    *,
    issuer: str = "ANP",
    number: str | None = None,
    issued: date = date(2026, 1, 15),
    amount: str = "1250.50",
    description: str = "Droits de port, escale 2026/1234",
    status: InvoiceStatus = InvoiceStatus.UNPAID,
    hold: Hold | None = None,
) -> Invoice:
    number = number or f"F-2026-{next(_serial):06d}"
    return Invoice(
        invoice_id=invoice_id_for(INVOICE_ID_KEY.encode(), code, issuer, number),
        subscription_code=code,
        invoice_number=number,
        issuer=Issuer(issuer, ISSUERS.get(issuer, issuer.title())),
        issue_date=issued,
        due_date=issued + timedelta(days=30),
        amount=Money.parse(amount),
        description=description,
        status=status,
        hold=hold,
    )


def under_legacy_id(invoice: Invoice) -> Invoice:
    """The same invoice as a release before issue 9 stored it: under the unkeyed SHA-256 id."""
    return replace(
        invoice,
        invoice_id=legacy_invoice_id_for(invoice.subscription_code, invoice.issuer.code, invoice.invoice_number),
    )


def many_invoices(code: str, count: int, issuers: tuple[str, ...] = ("ANP", "MARSA", "TMSA")) -> list[Invoice]:
    """`count` invoices spread over issuers, dates and amounts, deterministic."""
    invoices = []
    for index in range(count):
        invoices.append(
            an_invoice(
                code,
                issuer=issuers[index % len(issuers)],
                number=f"N-{index:05d}",
                issued=date(2026, 1, 1) + timedelta(days=(index * 7) % 300),
                amount=f"{100 + (index * 137) % 9000}.{index % 100:02d}",
                description=f"Escale 2026/{1000 + index} {'conteneurs' if index % 4 == 0 else 'vrac'}",
            )
        )
    return invoices


def invoice_line(**overrides: Any) -> dict[str, Any]:
    """One line of an operator's invoice file, valid unless overridden."""
    line: dict[str, Any] = {
        "subscription_code": "AB12",
        "invoice_number": f"F-2026-{next(_serial):06d}",
        "issuer_code": "ANP",
        "issuer_name": "Agence Nationale des Ports",
        "issue_date": "2026-01-15",
        "due_date": "2026-02-14",
        "amount": "1250.50",
        "currency": "MAD",
        "description": "Droits de port, escale 2026/1234",
    }
    line.update(overrides)
    return {key: value for key, value in line.items() if value is not None}


def parse_invoice_lines(lines: list[bytes], id_key: bytes) -> list[Invoice]:
    """The invoices of a file's lines with their keyed ids, as `epay load-invoices` reads them (or its
    `InvalidInvoiceFile` listing every bad line)."""
    return [record.to_invoice(id_key) for record in parse_invoice_records(lines)]


def http_event(
    method: str,
    path: str,
    *,
    body: Any = None,
    raw_body: bytes | None = None,
    headers: dict[str, str] | None = None,
    source_ip: str = "192.0.2.10",
    path_parameters: dict[str, str] | None = None,
    route_path: str | None = None,
    base64_body: bool = False,
) -> dict[str, Any]:
    """An API Gateway HTTP API payload 2.0 event, as the real service sends it."""
    all_headers = {"content-type": "application/json", "user-agent": "pytest"}
    all_headers.update({name.lower(): value for name, value in (headers or {}).items()})
    if raw_body is None and body is not None:
        raw_body = json.dumps(body).encode("utf-8")
    route_key = f"{method} {route_path or path}"
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": route_key,
        "rawPath": path,
        "rawQueryString": "",
        "headers": all_headers,
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "api",
            "domainName": "api.example.ma",
            "domainPrefix": "api",
            "http": {
                "method": method,
                "path": path,
                "protocol": "HTTP/1.1",
                "sourceIp": source_ip,
                "userAgent": "pytest",
            },
            "requestId": str(uuid.uuid4()),
            "routeKey": route_key,
            "stage": "$default",
            "time": "27/Nov/2026:10:15:00 +0000",
            "timeEpoch": 1795774500000,
        },
        "isBase64Encoded": base64_body,
    }
    if raw_body is not None:
        event["body"] = base64.b64encode(raw_body).decode("ascii") if base64_body else raw_body.decode("utf-8")
    if path_parameters:
        event["pathParameters"] = path_parameters
    return event


class FakeLambdaContext:
    function_name = "test-function"
    memory_limit_in_mb = 512
    invoked_function_arn = "arn:aws:lambda:eu-west-3:123456789012:function:test-function"
    aws_request_id = "00000000-0000-0000-0000-000000000000"

    def get_remaining_time_in_millis(self) -> int:
        return 10_000


def response_json(response: dict[str, Any]) -> Any:
    return json.loads(response["body"])


def put_hold(client: Any, table: str, invoice_id: str, payment_id: str, expires_at: int) -> None:
    """Mark an invoice as held, as a payment's transaction does (for tests that only read holds)."""
    client.update_item(
        TableName=table,
        Key={"pk": {"S": f"INVOICE#{invoice_id}"}, "sk": {"S": "INVOICE"}},
        UpdateExpression="SET hold_payment_id = :p, hold_expires_at = :e",
        ExpressionAttributeValues={":p": {"S": payment_id}, ":e": {"N": str(expires_at)}},
    )
