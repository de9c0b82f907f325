"""The only module that speaks DynamoDB.

Tables (template.yaml defines them; docs/data-model.md explains them):
- the main table (`EPAY_TABLE`), keys `pk`/`sk`: invoices (`INVOICE#<id>` / `INVOICE`), with the sparse index
  `unpaid-by-subscription` (`list_pk` = `SUB#<code>`, `list_sk` = issuer#date#number) present only while unpaid;
  payments (`PAYMENT#<id>` / `PAYMENT`) with their callback evidence (`PAYMENT#<id>` / `CALLBACK#...`);
  references (`REFERENCE#<code>`) and applied gateway events (`EVENT#<gateway>#<id>`), which keep both unique;
- the rate-limit table (`EPAY_RATE_LIMIT_TABLE`), key `pk`, counters that expire by TTL.

Every change that touches several items is one `TransactWriteItems` whose conditions encode the state machine:
a hold is placed only on an unpaid invoice without a live hold, an invoice is settled only by the payment that
holds it (or when it is free), and a payment moves only from the version that was read.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from epay.errors import StoreUnavailable
from epay.evidence import CallbackEvidence
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
from epay.payments import (
    Gateway,
    Payer,
    Payment,
    PaymentLine,
    PaymentStatus,
    Reference,
)

UNPAID_INDEX = "unpaid-by-subscription"
NUMBER_INDEX = "unpaid-by-number"
INVOICE_SK = "INVOICE"
PAYMENT_SK = "PAYMENT"
MAX_BATCH_GET = 100

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


def _event_key(gateway: str, event_id: str) -> Item:
    return {"pk": _s(f"EVENT#{gateway}#{event_id}"), "sk": _s("EVENT")}


def _invoice_id_of(item: dict[str, Any]) -> str:
    key: Item = item["Update"]["Key"]
    return str(key["pk"]["S"]).removeprefix("INVOICE#")


def _payment_item(payment: Payment) -> Item:
    item: Item = {
        "pk": _s(f"PAYMENT#{payment.payment_id}"),
        "sk": _s(PAYMENT_SK),
        "entity": _s("PAYMENT"),
        "payment_id": _s(payment.payment_id),
        "subscription_code": _s(payment.subscription_code),
        "issuer_code": _s(payment.issuer.code),
        "issuer_name": _s(payment.issuer.name),
        "gateway": _s(payment.gateway.value),
        "method": _s(payment.method),
        "lines": {
            "L": [
                {
                    "M": {
                        "invoice_id": _s(line.invoice_id),
                        "invoice_number": _s(line.invoice_number),
                        "amount": _n(line.amount.centimes),
                    }
                }
                for line in payment.lines
            ]
        },
        "amount": _n(payment.amount.centimes),
        "currency": _s("MAD"),
        "payer": {
            "M": {"name": _s(payment.payer.name), "email": _s(payment.payer.email), "phone": _s(payment.payer.phone)}
        },
        "lang": _s(payment.lang),
        "status": _s(payment.status.value),
        "created_at": _n(payment.created_at),
        "expires_at": _n(payment.expires_at),
        "version": _n(payment.version),
    }
    optional: dict[str, dict[str, str] | None] = {
        "paid_at": _n(payment.paid_at) if payment.paid_at is not None else None,
        "gateway_transaction_id": _s(payment.gateway_transaction_id) if payment.gateway_transaction_id else None,
        "reference_code": _s(payment.reference.code) if payment.reference else None,
        "reference_expires_at": _n(payment.reference.expires_at) if payment.reference else None,
        "last_error": _s(payment.last_error) if payment.last_error else None,
        "review_reason": _s(payment.review_reason) if payment.review_reason else None,
        "settled_by": _s(payment.settled_by) if payment.settled_by else None,
    }
    item.update({name: value for name, value in optional.items() if value is not None})
    return item


def _payment_from_item(item: Item) -> Payment:
    def text(name: str) -> str | None:
        return item[name]["S"] if name in item else None

    def number(name: str) -> int | None:
        return int(item[name]["N"]) if name in item else None

    reference = None
    if "reference_code" in item:
        reference = Reference(item["reference_code"]["S"], int(item["reference_expires_at"]["N"]))
    payer = item["payer"]["M"]
    return Payment(
        payment_id=item["payment_id"]["S"],
        subscription_code=item["subscription_code"]["S"],
        issuer=Issuer(item["issuer_code"]["S"], item["issuer_name"]["S"]),
        gateway=Gateway(item["gateway"]["S"]),
        method=item["method"]["S"],
        lines=tuple(
            PaymentLine(
                line["M"]["invoice_id"]["S"], line["M"]["invoice_number"]["S"], Money(int(line["M"]["amount"]["N"]))
            )
            for line in item["lines"]["L"]
        ),
        amount=Money(int(item["amount"]["N"])),
        payer=Payer(payer["name"]["S"], payer["email"]["S"], payer["phone"]["S"]),
        lang=item["lang"]["S"],
        status=PaymentStatus(item["status"]["S"]),
        created_at=int(item["created_at"]["N"]),
        expires_at=int(item["expires_at"]["N"]),
        paid_at=number("paid_at"),
        gateway_transaction_id=text("gateway_transaction_id"),
        reference=reference,
        last_error=text("last_error"),
        review_reason=text("review_reason"),
        version=int(item["version"]["N"]),
        settled_by=text("settled_by"),
    )


def _evidence_item(evidence: CallbackEvidence) -> Item:
    day = time.strftime("%Y-%m-%d", time.gmtime(evidence.received_at_ms // 1000))
    owner = f"PAYMENT#{evidence.payment_id}" if evidence.payment_id else f"CALLBACK#UNMATCHED#{day}"
    item: Item = {
        "pk": _s(owner),
        "sk": _s(f"CALLBACK#{evidence.received_at_ms:015d}#{secrets.token_hex(4)}"),
        "entity": _s("CALLBACK"),
        "gateway": _s(evidence.gateway),
        "received_at_ms": _n(evidence.received_at_ms),
        "body_sha256": _s(evidence.body_sha256),
        "verified": {"BOOL": evidence.verified},
        "decision": _s(evidence.decision),
        "answer_status": _n(evidence.answer_status),
    }
    if evidence.notification:
        item["notification"] = _s(evidence.notification)
    return item


class InvoicesUnavailable(Exception):
    """Some invoices failed a hold or settlement condition (paid, held by another payment, changed)."""

    def __init__(self, invoice_ids: list[str]) -> None:
        super().__init__(f"{len(invoice_ids)} invoice(s) unavailable")
        self.invoice_ids = invoice_ids


class ReferenceTaken(Exception):
    """The payment reference drawn at random is already used."""


class PaymentChanged(Exception):
    """The payment moved since it was read (a concurrent callback or cancel): read again, decide again."""


class EventAlreadyApplied(Exception):
    """This gateway event (M2T event, Fatourati transaction) was already applied, perhaps to another payment."""


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
        by_number = criteria.invoice_number is not None
        if by_number:
            # The sparse number index reads just this code's unpaid invoices with that number (one per issuer).
            names["#num"], values[":num"] = "invoice_number", _s(str(criteria.invoice_number))
            key_condition += " AND #num = :num"
        if criteria.issuer is not None and by_number:
            names["#ic"], values[":ic"] = "issuer_code", _s(criteria.issuer)
        elif criteria.issuer is not None:
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

        if by_number and criteria.issuer is not None:
            filters.append("#ic = :ic")
        dates_filtered = criteria.issuer is None or by_number
        if dates_filtered and criteria.issued_from is not None:
            add_filter("#idate >= :from", "#idate", "issue_date", ":from", _s(criteria.issued_from.isoformat()))
        if dates_filtered and criteria.issued_to is not None:
            add_filter("#idate <= :to", "#idate", "issue_date", ":to", _s(criteria.issued_to.isoformat()))
        if criteria.min_amount is not None:
            add_filter("#amt >= :min", "#amt", "amount", ":min", _n(criteria.min_amount.centimes))
        if criteria.max_amount is not None:
            add_filter("#amt <= :max", "#amt", "amount", ":max", _n(criteria.max_amount.centimes))
        if criteria.text is not None:
            add_filter("contains(#txt, :txt)", "#txt", "search_text", ":txt", _s(criteria.text.lower()))
        request: dict[str, Any] = {
            "TableName": self.table,
            "IndexName": NUMBER_INDEX if by_number else UNPAID_INDEX,
            "KeyConditionExpression": key_condition,
            "ExpressionAttributeNames": names,
            "ExpressionAttributeValues": values,
            "Limit": limit,
        }
        if filters:
            request["FilterExpression"] = " AND ".join(filters)
        if after is not None and not by_number:
            request["ExclusiveStartKey"] = {
                **_invoice_key(after.invoice_id),
                "list_pk": _s(_subscription_partition(criteria.subscription_code)),
                "list_sk": _s(after.list_key),
            }
        with _translated_failures():
            response = self.client.query(**request)
        invoices = [invoice_from_item(item) for item in response.get("Items", [])]
        last = response.get("LastEvaluatedKey")
        if by_number and last:
            raise StoreUnavailable("more than one read of invoices with one number")
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

    def get_invoices(self, invoice_ids: list[str]) -> dict[str, Invoice]:
        """The invoices that exist among `invoice_ids`, read consistently (one `BatchGetItem` per 100)."""
        found: dict[str, Invoice] = {}
        for start in range(0, len(invoice_ids), MAX_BATCH_GET):
            keys = [_invoice_key(invoice_id) for invoice_id in invoice_ids[start : start + MAX_BATCH_GET]]
            request: dict[str, Any] = {self.table: {"Keys": keys, "ConsistentRead": True}}
            for _attempt in range(5):
                with _translated_failures():
                    response = self.client.batch_get_item(RequestItems=request)
                for item in response.get("Responses", {}).get(self.table, []):
                    invoice = invoice_from_item(item)
                    found[invoice.invoice_id] = invoice
                request = response.get("UnprocessedKeys") or {}
                if not request:
                    break
            else:
                raise StoreUnavailable("BatchGetItem left keys unprocessed")
        return found

    # -- payments -------------------------------------------------------------------------------------------

    def create_payment(self, payment: Payment, now: int) -> None:
        """Write the payment and a hold on each of its invoices in one transaction: all or nothing.

        Each hold requires the invoice to be unpaid, of this subscription and issuer, at the amount the payment was
        computed from, and free of any live hold. `InvoicesUnavailable` names the invoices that failed a condition;
        `ReferenceTaken` means the reference drawn is already in use (draw another).
        """
        items: list[dict[str, Any]] = [
            {
                "Put": {
                    "TableName": self.table,
                    "Item": _payment_item(payment),
                    "ConditionExpression": "attribute_not_exists(pk)",
                }
            }
        ]
        for line in payment.lines:
            items.append(
                {
                    "Update": {
                        "TableName": self.table,
                        "Key": _invoice_key(line.invoice_id),
                        "UpdateExpression": "SET hold_payment_id = :pid, hold_expires_at = :exp",
                        "ConditionExpression": (
                            "#st = :unpaid AND subscription_code = :code AND issuer_code = :issuer AND amount = :amt"
                            " AND (attribute_not_exists(hold_expires_at) OR hold_expires_at <= :now)"
                        ),
                        "ExpressionAttributeNames": {"#st": "status"},
                        "ExpressionAttributeValues": {
                            ":pid": _s(payment.payment_id),
                            ":exp": _n(payment.expires_at),
                            ":unpaid": _s(InvoiceStatus.UNPAID.value),
                            ":code": _s(payment.subscription_code),
                            ":issuer": _s(payment.issuer.code),
                            ":amt": _n(line.amount.centimes),
                            ":now": _n(now),
                        },
                        "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
                    }
                }
            )
        if payment.reference is not None:
            items.append(
                {
                    "Put": {
                        "TableName": self.table,
                        "Item": {
                            "pk": _s(f"REFERENCE#{payment.reference.code}"),
                            "sk": _s("REFERENCE"),
                            "payment_id": _s(payment.payment_id),
                            "expires_at": _n(payment.reference.expires_at),
                        },
                        "ConditionExpression": "attribute_not_exists(pk)",
                    }
                }
            )
        failed = self._transact(items)
        if failed:
            if payment.reference is not None and len(items) - 1 in failed:
                raise ReferenceTaken(payment.reference.code)
            raise InvoicesUnavailable([payment.lines[index - 1].invoice_id for index in failed if index > 0])

    def get_payment(self, payment_id: str) -> Payment | None:
        """One payment, read consistently."""
        with _translated_failures():
            response = self.client.get_item(
                TableName=self.table,
                Key={"pk": _s(f"PAYMENT#{payment_id}"), "sk": _s(PAYMENT_SK)},
                ConsistentRead=True,
            )
        item = response.get("Item")
        return _payment_from_item(item) if item else None

    def payment_id_for_reference(self, code: str) -> str | None:
        """Which payment a reference belongs to."""
        with _translated_failures():
            response = self.client.get_item(
                TableName=self.table,
                Key={"pk": _s(f"REFERENCE#{code}"), "sk": _s("REFERENCE")},
                ConsistentRead=True,
            )
        item = response.get("Item")
        return item["payment_id"]["S"] if item else None

    def settle(
        self,
        payment: Payment,
        settled: Payment,
        now: int,
        evidence: CallbackEvidence,
        event: tuple[str, str] | None = None,
    ) -> None:
        """Mark the payment and every one of its invoices `PAID`, with the evidence, in one transaction.

        Conditions: the payment is still the version read (so two callbacks cannot both settle it), and each invoice
        is unpaid and held by this payment or by nobody live. `InvoicesUnavailable` names invoices that are not;
        `PaymentChanged` means someone else moved the payment first (read it again and decide again).
        """
        items = [self._payment_update(payment, settled)]
        for invoice_id in payment.invoice_ids:
            items.append(
                {
                    "Update": {
                        "TableName": self.table,
                        "Key": _invoice_key(invoice_id),
                        "UpdateExpression": (
                            "SET #st = :paid, paid_payment_id = :pid, paid_at = :now "
                            "REMOVE list_pk, list_sk, hold_payment_id, hold_expires_at"
                        ),
                        "ConditionExpression": (
                            "#st = :unpaid AND (hold_payment_id = :pid OR attribute_not_exists(hold_expires_at)"
                            " OR hold_expires_at <= :now)"
                        ),
                        "ExpressionAttributeNames": {"#st": "status"},
                        "ExpressionAttributeValues": {
                            ":paid": _s(InvoiceStatus.PAID.value),
                            ":unpaid": _s(InvoiceStatus.UNPAID.value),
                            ":pid": _s(payment.payment_id),
                            ":now": _n(now),
                        },
                    }
                }
            )
        self._finish(items, payment, evidence, event)

    def transition(
        self,
        payment: Payment,
        changed: Payment,
        evidence: CallbackEvidence | None,
        release: list[str] | None = None,
        extend_holds_to: int | None = None,
        event: tuple[str, str] | None = None,
    ) -> None:
        """Move a payment to `changed` (from the version read), releasing or extending its holds, atomically.

        `release` lists invoices to free and `extend_holds_to` moves their hold expiry; either only touches
        invoices still held by this payment (a condition), so another payment's hold is never disturbed.
        """
        items = [self._payment_update(payment, changed)]
        for invoice_id in release or []:
            items.append(self._hold_change(invoice_id, payment.payment_id, "REMOVE hold_payment_id, hold_expires_at"))
        if extend_holds_to is not None:
            for invoice_id in payment.invoice_ids:
                items.append(
                    self._hold_change(
                        invoice_id, payment.payment_id, "SET hold_expires_at = :exp", {":exp": _n(extend_holds_to)}
                    )
                )
        self._finish(items, payment, evidence, event)

    def record_evidence(self, evidence: CallbackEvidence) -> None:
        """Keep a callback that changed nothing (refused, unknown, duplicate) for audit."""
        with _translated_failures():
            self.client.put_item(TableName=self.table, Item=_evidence_item(evidence))

    def _hold_change(
        self, invoice_id: str, payment_id: str, expression: str, extra_values: Item | None = None
    ) -> dict[str, Any]:
        return {
            "Update": {
                "TableName": self.table,
                "Key": _invoice_key(invoice_id),
                "UpdateExpression": expression,
                "ConditionExpression": "hold_payment_id = :pid",
                "ExpressionAttributeValues": {":pid": _s(payment_id), **(extra_values or {})},
            }
        }

    def _payment_update(self, payment: Payment, changed: Payment) -> dict[str, Any]:
        item = _payment_item(changed)
        return {
            "Put": {
                "TableName": self.table,
                "Item": item,
                "ConditionExpression": "#v = :read",
                "ExpressionAttributeNames": {"#v": "version"},
                "ExpressionAttributeValues": {":read": _n(payment.version)},
            }
        }

    def _finish(
        self,
        items: list[dict[str, Any]],
        payment: Payment,
        evidence: CallbackEvidence | None,
        event: tuple[str, str] | None,
    ) -> None:
        invoice_slots = len(items)
        if event is not None:
            items.append(
                {
                    "Put": {
                        "TableName": self.table,
                        "Item": {**_event_key(*event), "payment_id": _s(payment.payment_id)},
                        "ConditionExpression": "attribute_not_exists(pk)",
                    }
                }
            )
        if evidence is not None:
            items.append({"Put": {"TableName": self.table, "Item": _evidence_item(evidence)}})
        failed = self._transact(items)
        if not failed:
            return
        if event is not None and invoice_slots in failed:
            raise EventAlreadyApplied(payment.payment_id)
        if 0 in failed:
            raise PaymentChanged(payment.payment_id)
        raise InvoicesUnavailable([_invoice_id_of(items[index]) for index in failed if 0 < index < invoice_slots])

    def _transact(self, items: list[dict[str, Any]]) -> list[int]:
        """Run one transaction; return the indexes of the items whose condition failed (empty: it committed)."""
        try:
            with _translated_failures():
                self.client.transact_write_items(TransactItems=items)
        except ClientError as error:
            if error_code(error) != "TransactionCanceledException":
                raise
            reasons = error.response.get("CancellationReasons", [])
            codes = [reason.get("Code", "None") for reason in reasons]
            if any(code not in ("None", "ConditionalCheckFailed") for code in codes):
                # Conflicts with a concurrent transaction, throttling: nothing was written; the caller may retry.
                raise StoreUnavailable("TransactionCanceled: " + ",".join(sorted(set(codes)))) from error
            return [index for index, code in enumerate(codes) if code == "ConditionalCheckFailed"]
        return []

    # -- rate limits ----------------------------------------------------------------------------------------

    def count_hit(self, counter: str, fields: list[str], expires_at: int) -> dict[str, int]:
        """Add one to each of `fields` of a counter item that expires by TTL; return every count it holds."""
        names = {f"#f{index}": name for index, name in enumerate(fields)}
        additions = ", ".join(f"{alias} :one" for alias in names)
        with _translated_failures():
            response = self.client.update_item(
                TableName=self.rate_limit_table,
                Key={"pk": _s(counter)},
                UpdateExpression=f"ADD {additions} SET #exp = if_not_exists(#exp, :exp)",
                ExpressionAttributeNames={**names, "#exp": "expires_at"},
                ExpressionAttributeValues={":one": _n(1), ":exp": _n(expires_at)},
                ReturnValues="ALL_NEW",
            )
        attributes = response.get("Attributes", {})
        return {name: int(value["N"]) for name, value in attributes.items() if name != "pk" and "N" in value}


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
