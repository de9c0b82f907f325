"""The only module that speaks DynamoDB.

Tables (template.yaml defines them; docs/data-model.md explains them):
- the main table (`EPAY_TABLE`), keys `pk`/`sk`: invoices (`INVOICE#<id>` / `INVOICE`), with the sparse index
  `unpaid-by-subscription` (`list_pk` = `SUB#<code>`, `list_sk` = issuer#date#number) present only while unpaid;
- the rate-limit table (`EPAY_RATE_LIMIT_TABLE`), key `pk`, counters that expire by TTL.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from epay.errors import StoreUnavailable
from epay.invoices import (
    Batch,
    Hold,
    Invoice,
    InvoiceStatus,
    Issuer,
    Position,
    SearchCriteria,
    search_text,
)
from epay.money import Money

UNPAID_INDEX = "unpaid-by-subscription"
INVOICE_SK = "INVOICE"

Item = dict[str, dict[str, Any]]


def _s(value: str) -> dict[str, str]:
    return {"S": value}


def _n(value: int) -> dict[str, str]:
    return {"N": str(value)}


def _subscription_partition(code: str) -> str:
    return f"SUB#{code}"


def _invoice_key(invoice_id: str) -> Item:
    return {"pk": _s(f"INVOICE#{invoice_id}"), "sk": _s(INVOICE_SK)}


def invoice_from_item(item: Item) -> Invoice:
    """Rebuild the domain invoice from its stored attributes."""
    hold = None
    if "hold_payment_id" in item and "hold_expires_at" in item:
        hold = Hold(item["hold_payment_id"]["S"], int(item["hold_expires_at"]["N"]))
    due = item.get("due_date")
    return Invoice(
        invoice_id=item["invoice_id"]["S"],
        subscription_code=item["subscription_code"]["S"],
        invoice_number=item["invoice_number"]["S"],
        issuer=Issuer(item["issuer_code"]["S"], item["issuer_name"]["S"]),
        issue_date=date.fromisoformat(item["issue_date"]["S"]),
        due_date=date.fromisoformat(due["S"]) if due else None,
        amount=Money(int(item["amount"]["N"])),
        description=item.get("description", {"S": ""})["S"],
        status=InvoiceStatus(item["status"]["S"]),
        hold=hold,
        paid_by=item["paid_payment_id"]["S"] if "paid_payment_id" in item else None,
    )


_UNAVAILABLE_CODES = frozenset(
    {
        "ProvisionedThroughputExceededException",
        "ThrottlingException",
        "RequestLimitExceeded",
        "InternalServerError",
        "ServiceUnavailable",
        "TransactionInProgressException",
        "TransactionConflictException",
    }
)


def error_code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


@contextmanager
def _translated_failures() -> Iterator[None]:
    """Turn DynamoDB's transient failures into `StoreUnavailable`; let other client errors through."""
    try:
        yield
    except ClientError as error:
        if error_code(error) in _UNAVAILABLE_CODES:
            raise StoreUnavailable(error_code(error)) from error
        raise
    except BotoCoreError as error:
        raise StoreUnavailable(type(error).__name__) from error


class UpsertOutcome(StrEnum):
    WRITTEN = "written"
    KEPT_PAID = "kept: already paid"
    KEPT_HELD = "kept: held by a payment in progress"


@dataclass
class Store:
    """DynamoDB access for invoices and rate-limit counters."""

    client: Any
    table: str
    rate_limit_table: str

    # -- invoices -------------------------------------------------------------------------------------------

    def read_unpaid(self, criteria: SearchCriteria, after: Position | None, limit: int) -> Batch:
        """One `Query` of the sparse unpaid index: key conditions for code/issuer/dates, filters for the rest."""
        names: dict[str, str] = {"#lpk": "list_pk"}
        values: Item = {":lpk": _s(_subscription_partition(criteria.subscription_code))}
        key_condition = "#lpk = :lpk"
        if criteria.issuer is not None:
            names["#lsk"] = "list_sk"
            low = f"{criteria.issuer}#{criteria.issued_from.isoformat() if criteria.issued_from else ''}"
            # '$' sorts right after '#': every key of that issuer (and date, if bounded) sorts before it.
            high = (
                f"{criteria.issuer}#{criteria.issued_to.isoformat()}$" if criteria.issued_to else f"{criteria.issuer}$"
            )
            values[":low"], values[":high"] = _s(low), _s(high)
            key_condition += " AND #lsk BETWEEN :low AND :high"
        filters: list[str] = []

        def add_filter(expression: str, name: str, attribute: str, value_name: str, value: dict[str, str]) -> None:
            names[name] = attribute
            values[value_name] = value
            filters.append(expression)

        if criteria.invoice_number is not None:
            add_filter("#num = :num", "#num", "invoice_number", ":num", _s(criteria.invoice_number))
        if criteria.issuer is None and criteria.issued_from is not None:
            add_filter("#idate >= :from", "#idate", "issue_date", ":from", _s(criteria.issued_from.isoformat()))
        if criteria.issuer is None and criteria.issued_to is not None:
            add_filter("#idate <= :to", "#idate", "issue_date", ":to", _s(criteria.issued_to.isoformat()))
        if criteria.min_amount is not None:
            add_filter("#amt >= :min", "#amt", "amount", ":min", _n(criteria.min_amount.centimes))
        if criteria.max_amount is not None:
            add_filter("#amt <= :max", "#amt", "amount", ":max", _n(criteria.max_amount.centimes))
        if criteria.text is not None:
            add_filter("contains(#txt, :txt)", "#txt", "search_text", ":txt", _s(criteria.text.lower()))
        request: dict[str, Any] = {
            "TableName": self.table,
            "IndexName": UNPAID_INDEX,
            "KeyConditionExpression": key_condition,
            "ExpressionAttributeNames": names,
            "ExpressionAttributeValues": values,
            "Limit": limit,
        }
        if filters:
            request["FilterExpression"] = " AND ".join(filters)
        if after is not None:
            request["ExclusiveStartKey"] = {
                **_invoice_key(after.invoice_id),
                "list_pk": _s(_subscription_partition(criteria.subscription_code)),
                "list_sk": _s(after.list_key),
            }
        with _translated_failures():
            response = self.client.query(**request)
        invoices = [invoice_from_item(item) for item in response.get("Items", [])]
        last = response.get("LastEvaluatedKey")
        resume = Position(last["list_sk"]["S"], last["pk"]["S"].removeprefix("INVOICE#")) if last else None
        return Batch(invoices, resume)

    def get_invoice(self, invoice_id: str) -> Invoice | None:
        """One invoice by id, read consistently."""
        with _translated_failures():
            response = self.client.get_item(TableName=self.table, Key=_invoice_key(invoice_id), ConsistentRead=True)
        item = response.get("Item")
        return invoice_from_item(item) if item else None

    def upsert_invoice(self, invoice: Invoice, now: int) -> UpsertOutcome:
        """Create or refresh an invoice from the operator's file; never alters a paid or currently held one."""
        names = {
            "#sub": "subscription_code",
            "#num": "invoice_number",
            "#ic": "issuer_code",
            "#in": "issuer_name",
            "#idate": "issue_date",
            "#amt": "amount",
            "#cur": "currency",
            "#desc": "description",
            "#st": "status",
            "#txt": "search_text",
            "#id": "invoice_id",
            "#ent": "entity",
            "#upd": "updated_at",
            "#due": "due_date",
            "#lpk": "list_pk",
            "#lsk": "list_sk",
            "#hold": "hold_expires_at",
        }
        values: Item = {
            ":sub": _s(invoice.subscription_code),
            ":num": _s(invoice.invoice_number),
            ":ic": _s(invoice.issuer.code),
            ":in": _s(invoice.issuer.name),
            ":idate": _s(invoice.issue_date.isoformat()),
            ":amt": _n(invoice.amount.centimes),
            ":cur": _s("MAD"),
            ":desc": _s(invoice.description),
            ":st": _s(invoice.status.value),
            ":txt": _s(search_text(invoice)),
            ":id": _s(invoice.invoice_id),
            ":ent": _s("INVOICE"),
            ":upd": _n(now),
            ":paid": _s(InvoiceStatus.PAID.value),
            ":now": _n(now),
        }
        sets = [f"{n} = {n.replace('#', ':')}" for n in names if n not in ("#due", "#lpk", "#lsk", "#hold")]
        removes: list[str] = []
        if invoice.due_date is not None:
            values[":due"] = _s(invoice.due_date.isoformat())
            sets.append("#due = :due")
        else:
            removes.append("#due")
        if invoice.status is InvoiceStatus.UNPAID:
            values[":lpk"] = _s(_subscription_partition(invoice.subscription_code))
            values[":lsk"] = _s(invoice.position)
            sets += ["#lpk = :lpk", "#lsk = :lsk"]
        else:
            removes += ["#lpk", "#lsk"]
        expression = "SET " + ", ".join(sets) + (" REMOVE " + ", ".join(removes) if removes else "")
        condition = "(attribute_not_exists(#st) OR #st <> :paid) AND (attribute_not_exists(#hold) OR #hold <= :now)"
        try:
            with _translated_failures():
                self.client.update_item(
                    TableName=self.table,
                    Key=_invoice_key(invoice.invoice_id),
                    UpdateExpression=expression,
                    ConditionExpression=condition,
                    ExpressionAttributeNames=names,
                    ExpressionAttributeValues=values,
                    ReturnValuesOnConditionCheckFailure="ALL_OLD",
                )
        except ClientError as error:
            if error_code(error) != "ConditionalCheckFailedException":
                raise
            old = error.response.get("Item") or {}
            if old.get("status", {}).get("S") == InvoiceStatus.PAID.value:
                return UpsertOutcome.KEPT_PAID
            return UpsertOutcome.KEPT_HELD
        return UpsertOutcome.WRITTEN

    # -- rate limits ----------------------------------------------------------------------------------------

    def count_hit(self, counter: str, window_end: int) -> int:
        """Add one hit to a counter that lives until `window_end` (+ slack for TTL); return the new count."""
        with _translated_failures():
            response = self.client.update_item(
                TableName=self.rate_limit_table,
                Key={"pk": _s(counter)},
                UpdateExpression="ADD #hits :one SET #exp = if_not_exists(#exp, :exp)",
                ExpressionAttributeNames={"#hits": "hits", "#exp": "expires_at"},
                ExpressionAttributeValues={":one": _n(1), ":exp": _n(window_end + 60)},
                ReturnValues="UPDATED_NEW",
            )
        return int(response["Attributes"]["hits"]["N"])


def client_factory(endpoint_url: str | None) -> Callable[[], Any]:
    """A factory for the DynamoDB client, with timeouts short enough to answer within API Gateway's limit."""

    def build() -> Any:
        import boto3
        from botocore.config import Config

        config = Config(
            connect_timeout=2,
            read_timeout=5,
            retries={"max_attempts": 3, "mode": "standard"},
            tcp_keepalive=True,
        )
        return boto3.client("dynamodb", endpoint_url=endpoint_url, config=config)

    return build
