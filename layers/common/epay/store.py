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

import hashlib
import secrets
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from epay.clock import lapsed_condition
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
    Payer,
    Payment,
    PaymentLine,
    PaymentStatus,
    Reference,
    UnappliedFunds,
    UnappliedReason,
)
from epay.ports import (
    EventAlreadyApplied,
    EventAppliedElsewhere,
    FundsAlreadyRecorded,
    InvoiceRefusal,
    InvoicesUnavailable,
    PaymentChanged,
    ReferenceTaken,
    UpsertOutcome,
)

UNPAID_INDEX = "unpaid-by-subscription"
NUMBER_INDEX = "unpaid-by-number"
INVOICE_SK = "INVOICE"
PAYMENT_SK = "PAYMENT"
MAX_BATCH_GET = 100
# An invoice may be refreshed (or moved) unless it is paid or a live payment holds it.
_REFRESHABLE = f"(attribute_not_exists(#st) OR #st <> :paid) AND {lapsed_condition('#hold')}"
# Which invoice-id key made the table's invoice ids (`claim_invoice_id_key`).
_ID_KEY_RECORD = {"pk": {"S": "CONFIG#INVOICE_ID_KEY"}, "sk": {"S": "CONFIG"}}

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
    """An applied gateway event. Its id's scope is the gateway's: the caller qualifies ids unique only per order."""
    return {"pk": _s(f"EVENT#{gateway}#{event_id}"), "sk": _s("EVENT")}


def _lines_attribute(lines: tuple[PaymentLine, ...]) -> dict[str, Any]:
    return {
        "L": [
            {
                "M": {
                    "invoice_id": _s(line.invoice_id),
                    "invoice_number": _s(line.invoice_number),
                    "amount": _n(line.amount.centimes),
                }
            }
            for line in lines
        ]
    }


def _payment_item(payment: Payment) -> Item:
    item: Item = {
        "pk": _s(f"PAYMENT#{payment.payment_id}"),
        "sk": _s(PAYMENT_SK),
        "entity": _s("PAYMENT"),
        "payment_id": _s(payment.payment_id),
        "subscription_code": _s(payment.subscription_code),
        "issuer_code": _s(payment.issuer.code),
        "issuer_name": _s(payment.issuer.name),
        "gateway": _s(payment.gateway),
        "method": _s(payment.method),
        "lines": _lines_attribute(payment.lines),
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
        gateway=item["gateway"]["S"],
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


# Evidence of callbacks that name no known payment (forged, mistyped, probes) is bounded: spread over shards so no
# partition runs hot, kept for EVIDENCE_TTL_SECONDS, and past UNMATCHED_KEPT_PER_SHARD a day only counted.
EVIDENCE_TTL_SECONDS = 90 * 86_400
UNMATCHED_SHARDS = 16
UNMATCHED_KEPT_PER_SHARD = 500
TTL_ATTRIBUTE = "purge_at"


def _unmatched_partition(evidence: CallbackEvidence) -> str:
    day = time.strftime("%Y-%m-%d", time.gmtime(evidence.received_at_ms // 1000))
    shard = int(evidence.body_sha256[:8], 16) % UNMATCHED_SHARDS
    return f"CALLBACK#UNMATCHED#{day}#{shard:02d}"


def _evidence_item(evidence: CallbackEvidence) -> Item:
    owner = f"PAYMENT#{evidence.payment_id}" if evidence.payment_id else _unmatched_partition(evidence)
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
    if not evidence.payment_id:
        item[TTL_ATTRIBUTE] = _n(evidence.received_at_ms // 1000 + EVIDENCE_TTL_SECONDS)
    if evidence.notification:
        item["notification"] = _s(evidence.notification)
    return item


def _unapplied_sort_key(fingerprint: str) -> str:
    return "UNAPPLIED#" + hashlib.sha256(fingerprint.encode("utf-8")).hexdigest()[:32]


def _unapplied_item(payment_id: str, funds: UnappliedFunds) -> Item:
    item: Item = {
        "pk": _s(f"PAYMENT#{payment_id}"),
        "sk": _s(_unapplied_sort_key(funds.fingerprint)),
        "entity": _s("UNAPPLIED"),
        "gateway": _s(funds.gateway),
        "transaction_id": _s(funds.transaction_id),
        "currency": _s(funds.currency),
        "reported_at": _n(funds.reported_at),
        "reason": _s(funds.reason.value),
        "fingerprint": _s(funds.fingerprint),
    }
    if funds.amount is not None:
        item["amount"] = _n(funds.amount.centimes)
    return item


def _unapplied_from_item(item: Item) -> UnappliedFunds:
    return UnappliedFunds(
        gateway=item["gateway"]["S"],
        transaction_id=item["transaction_id"]["S"],
        amount=Money(int(item["amount"]["N"])) if "amount" in item else None,
        currency=item["currency"]["S"],
        reported_at=int(item["reported_at"]["N"]),
        reason=UnappliedReason(item["reason"]["S"]),
        fingerprint=item["fingerprint"]["S"],
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


def _refusal(old: Item, amount: Money) -> InvoiceRefusal:
    status = old.get("status", {}).get("S")
    if status == InvoiceStatus.PAID.value:
        return InvoiceRefusal.PAID
    if status != InvoiceStatus.UNPAID.value or int(old.get("amount", {}).get("N", "-1")) != amount.centimes:
        return InvoiceRefusal.CHANGED
    return InvoiceRefusal.HELD


def _unavailable(failed: dict[str, Item], amounts: dict[str, Money]) -> InvoicesUnavailable:
    """The invoices whose condition failed, each with why (judged from the item as it was)."""
    refusals = {
        tag.removeprefix("invoice:"): _refusal(old, amounts[tag.removeprefix("invoice:")])
        for tag, old in failed.items()
        if tag.startswith("invoice:")
    }
    return InvoicesUnavailable(list(refusals), refusals)


class MoveOutcome(StrEnum):
    MOVED = "moved"
    HELD = "held by a live payment"
    GONE = "not stored under its old id"
    TAKEN = "already stored under its new id"


_ATTEMPTS = 3
# TransactWriteItems takes 100 actions: a move is two (delete, put), a payment's new lines one.
_MOVES_ALONE = 50
_MOVES_WITH_PAYMENT = 49


@dataclass
class Store:
    """DynamoDB access for invoices, payments (with their evidence) and rate-limit counters.

    Implements the ports `InvoiceStore`, `PaymentStore` and `HitCounter` (`epay.ports`).
    """

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

    def _upsert_request(self, invoice: Invoice, now: int) -> dict[str, Any]:
        """The conditional `UpdateItem` that creates or refreshes an invoice: not if paid or held by a live payment."""
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
        return {
            "TableName": self.table,
            "Key": _invoice_key(invoice.invoice_id),
            "UpdateExpression": expression,
            "ConditionExpression": _REFRESHABLE,
            "ExpressionAttributeNames": names,
            "ExpressionAttributeValues": values,
        }

    def upsert_invoice(self, invoice: Invoice, now: int) -> UpsertOutcome:
        """Create or refresh an invoice from the operator's file; never alters a paid or currently held one."""
        try:
            with _translated_failures():
                self.client.update_item(
                    **self._upsert_request(invoice, now), ReturnValuesOnConditionCheckFailure="ALL_OLD"
                )
        except ClientError as error:
            if error_code(error) != "ConditionalCheckFailedException":
                raise
            old = error.response.get("Item") or {}
            if old.get("status", {}).get("S") == InvoiceStatus.PAID.value:
                return UpsertOutcome.KEPT_PAID
            return UpsertOutcome.KEPT_HELD
        return UpsertOutcome.WRITTEN

    def replace_legacy_invoice(self, invoice: Invoice, legacy_id: str, now: int) -> UpsertOutcome | None:
        """Move an invoice stored under its legacy id to its keyed id (`invoice.invoice_id`) with the file's values.

        One transaction deletes the legacy item and upserts the keyed one, each under the upsert's rule (not paid,
        not held by a live payment), so a payer never sees the invoice twice, or not at all, and a paid or held
        invoice stays exactly as it is (`KEPT_PAID`, `KEPT_HELD`). None when no legacy item is left (moved
        meanwhile): upsert the keyed id as usual.
        """
        keyed_update = {**self._upsert_request(invoice, now), "ReturnValuesOnConditionCheckFailure": "ALL_OLD"}
        failed = self._transact(
            [
                (
                    "legacy",
                    {
                        "Delete": {
                            "TableName": self.table,
                            "Key": _invoice_key(legacy_id),
                            "ConditionExpression": f"attribute_exists(pk) AND {_REFRESHABLE}",
                            "ExpressionAttributeNames": {"#st": "status", "#hold": "hold_expires_at"},
                            "ExpressionAttributeValues": {":paid": _s(InvoiceStatus.PAID.value), ":now": _n(now)},
                            "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
                        }
                    },
                ),
                ("keyed", {"Update": keyed_update}),
            ]
        )
        if not failed:
            return UpsertOutcome.MOVED
        blocking = failed.get("legacy", failed.get("keyed", {}))
        if not blocking:
            return None
        paid = blocking.get("status", {}).get("S") == InvoiceStatus.PAID.value
        return UpsertOutcome.KEPT_PAID if paid else UpsertOutcome.KEPT_HELD

    def claim_invoice_id_key(self, fingerprint: str, now: int) -> str | None:
        """Record which invoice-id key made this table's ids, the first time; later, check it is the same key.

        Returns None when `fingerprint` is (now) the table's, else the fingerprint of the key the table was
        loaded with: a loader holding another key would store every invoice a second time, so it must stop.
        """
        for _attempt in range(2):
            with _translated_failures():
                stored = self.client.get_item(TableName=self.table, Key=_ID_KEY_RECORD, ConsistentRead=True)
            if "Item" in stored:
                recorded = str(stored["Item"]["fingerprint"]["S"])
                return None if recorded == fingerprint else recorded
            try:
                with _translated_failures():
                    self.client.put_item(
                        TableName=self.table,
                        Item={
                            **_ID_KEY_RECORD,
                            "entity": _s("CONFIG"),
                            "fingerprint": _s(fingerprint),
                            "since": _n(now),
                        },
                        ConditionExpression="attribute_not_exists(pk)",
                    )
                return None
            except ClientError as error:
                if error_code(error) != "ConditionalCheckFailedException":
                    raise
                # Another loader recorded its key first: compare with that one.
        raise StoreUnavailable("the invoice-id key record could not be read")

    def get_invoices(self, invoice_ids: list[str]) -> dict[str, Invoice]:
        """The invoices that exist among `invoice_ids`, read consistently (one `BatchGetItem` per 100)."""
        found: dict[str, Invoice] = {}
        for item in self._invoice_items(invoice_ids):
            invoice = invoice_from_item(item)
            found[invoice.invoice_id] = invoice
        return found

    def _invoice_items(self, invoice_ids: list[str]) -> list[Item]:
        items: list[Item] = []
        for start in range(0, len(invoice_ids), MAX_BATCH_GET):
            keys = [_invoice_key(invoice_id) for invoice_id in invoice_ids[start : start + MAX_BATCH_GET]]
            request: dict[str, Any] = {self.table: {"Keys": keys, "ConsistentRead": True}}
            for _attempt in range(5):
                with _translated_failures():
                    response = self.client.batch_get_item(RequestItems=request)
                items += response.get("Responses", {}).get(self.table, [])
                request = response.get("UnprocessedKeys") or {}
                if not request:
                    break
            else:
                raise StoreUnavailable("BatchGetItem left keys unprocessed")
        return items

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
                            f" AND {lapsed_condition('hold_expires_at')}"
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
        tags = ["payment", *(f"invoice:{line.invoice_id}" for line in payment.lines)]
        if payment.reference is not None:
            tags.append("reference")
        failed = self._transact(list(zip(tags, items, strict=True)))
        if "reference" in failed:
            raise ReferenceTaken(payment.reference.code if payment.reference else "")
        if failed:
            raise _unavailable(failed, {line.invoice_id: line.amount for line in payment.lines})

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
        is unpaid, still at the amount the payment was created for, and held by this payment or by nobody live.
        `InvoicesUnavailable` names the invoices that are not (and why); `PaymentChanged` means someone else moved
        the payment first, `EventAlreadyApplied` that a concurrent copy of this event did (read again, decide again).
        """
        items = [("payment", self._payment_update(payment, settled))]
        for line in payment.lines:
            update = {
                "TableName": self.table,
                "Key": _invoice_key(line.invoice_id),
                "UpdateExpression": (
                    "SET #st = :paid, paid_payment_id = :pid, paid_at = :now "
                    "REMOVE list_pk, list_sk, hold_payment_id, hold_expires_at"
                ),
                "ConditionExpression": (
                    "#st = :unpaid AND amount = :amt"
                    f" AND (hold_payment_id = :pid OR {lapsed_condition('hold_expires_at')})"
                ),
                "ExpressionAttributeNames": {"#st": "status"},
                "ExpressionAttributeValues": {
                    ":paid": _s(InvoiceStatus.PAID.value),
                    ":unpaid": _s(InvoiceStatus.UNPAID.value),
                    ":pid": _s(payment.payment_id),
                    ":amt": _n(line.amount.centimes),
                    ":now": _n(now),
                },
                "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
            }
            items.append((f"invoice:{line.invoice_id}", {"Update": update}))
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
        items = [("payment", self._payment_update(payment, changed))]
        for invoice_id in release or []:
            items.append(
                (
                    f"invoice:{invoice_id}",
                    self._hold_change(invoice_id, payment.payment_id, "REMOVE hold_payment_id, hold_expires_at"),
                )
            )
        if extend_holds_to is not None:
            for invoice_id in payment.invoice_ids:
                change = self._hold_change(
                    invoice_id, payment.payment_id, "SET hold_expires_at = :exp", {":exp": _n(extend_holds_to)}
                )
                items.append((f"invoice:{invoice_id}", change))
        self._finish(items, payment, evidence, event)

    def record_unapplied(self, payment: Payment, funds: UnappliedFunds, evidence: CallbackEvidence) -> None:
        """Keep, with the callback's evidence, money a gateway reports taken that does not settle `payment`.

        Once per gateway report (its fingerprint): `FundsAlreadyRecorded` when this report was recorded before.
        The payment item itself is not changed, so a `PAID` payment stays exactly as it settled.
        """
        items = [
            (
                "unapplied",
                {
                    "Put": {
                        "TableName": self.table,
                        "Item": _unapplied_item(payment.payment_id, funds),
                        "ConditionExpression": "attribute_not_exists(pk)",
                    }
                },
            ),
            ("evidence", {"Put": {"TableName": self.table, "Item": _evidence_item(evidence)}}),
        ]
        if self._transact(items):
            raise FundsAlreadyRecorded(payment.payment_id)

    def unapplied_funds(self, payment_id: str) -> list[UnappliedFunds]:
        """The money reports recorded on a payment that did not settle it, oldest first."""
        with _translated_failures():
            response = self.client.query(
                TableName=self.table,
                KeyConditionExpression="pk = :pk AND begins_with(sk, :unapplied)",
                ExpressionAttributeValues={":pk": _s(f"PAYMENT#{payment_id}"), ":unapplied": _s("UNAPPLIED#")},
                ConsistentRead=True,
            )
        found = [_unapplied_from_item(item) for item in response.get("Items", [])]
        return sorted(found, key=lambda funds: (funds.reported_at, funds.fingerprint))

    def record_evidence(self, evidence: CallbackEvidence) -> bool:
        """Keep a callback that changed nothing (refused, unknown, duplicate) for audit; False when only counted.

        Evidence about a known payment is always kept with it. Evidence naming no payment is counted per shard and
        day, kept (with a TTL) for the first `UNMATCHED_KEPT_PER_SHARD` of each, and only counted after that, so
        unauthenticated traffic cannot grow the table without bound.
        """
        item = _evidence_item(evidence)
        if not evidence.payment_id:
            with _translated_failures():
                response = self.client.update_item(
                    TableName=self.table,
                    Key={"pk": item["pk"], "sk": _s("COUNT")},
                    UpdateExpression="ADD received :one SET #ttl = if_not_exists(#ttl, :ttl)",
                    ExpressionAttributeNames={"#ttl": TTL_ATTRIBUTE},
                    ExpressionAttributeValues={":one": _n(1), ":ttl": item[TTL_ATTRIBUTE]},
                    ReturnValues="UPDATED_NEW",
                )
            if int(response["Attributes"]["received"]["N"]) > UNMATCHED_KEPT_PER_SHARD:
                return False
        with _translated_failures():
            self.client.put_item(TableName=self.table, Item=item)
        return True

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
                "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
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
        items: list[tuple[str, dict[str, Any]]],
        payment: Payment,
        evidence: CallbackEvidence | None,
        event: tuple[str, str] | None,
    ) -> None:
        if event is not None:
            put = {
                "TableName": self.table,
                "Item": {**_event_key(*event), "payment_id": _s(payment.payment_id)},
                "ConditionExpression": "attribute_not_exists(pk)",
                "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
            }
            items.append(("event", {"Put": put}))
        if evidence is not None:
            items.append(("evidence", {"Put": {"TableName": self.table, "Item": _evidence_item(evidence)}}))
        failed = self._transact(items)
        if not failed:
            return
        # Whatever else failed, a moved payment or an applied event means: read the payment again, decide again.
        if "event" in failed:
            if failed["event"].get("payment_id", {}).get("S", payment.payment_id) != payment.payment_id:
                raise EventAppliedElsewhere(payment.payment_id)
            raise EventAlreadyApplied(payment.payment_id)
        if "payment" in failed:
            raise PaymentChanged(payment.payment_id)
        raise _unavailable(failed, {line.invoice_id: line.amount for line in payment.lines})

    def _transact(self, items: list[tuple[str, dict[str, Any]]]) -> dict[str, Item]:
        """Run one transaction of tagged items; return the tags whose condition failed, with the item as it was
        when the item asked for it (`ReturnValuesOnConditionCheckFailure`). Empty: it committed."""
        try:
            with _translated_failures():
                self.client.transact_write_items(TransactItems=[item for _, item in items])
        except ClientError as error:
            if error_code(error) != "TransactionCanceledException":
                raise
            reasons = error.response.get("CancellationReasons", [])
            codes = [reason.get("Code", "None") for reason in reasons]
            if len(codes) != len(items) or any(code not in ("None", "ConditionalCheckFailed") for code in codes):
                # Conflicts with a concurrent transaction, throttling: nothing was written; the caller may retry.
                raise StoreUnavailable("TransactionCanceled: " + ",".join(sorted(set(codes)))) from error
            return {
                tag: reason.get("Item", {})
                for (tag, _), reason in zip(items, reasons, strict=True)
                if reason.get("Code") == "ConditionalCheckFailed"
            }
        return {}

    # -- moving invoices to keyed ids (`epay migrate-invoice-ids`, an operator's one-off batch) -------------------

    def scan_invoices(self) -> Iterator[Invoice]:
        """Every invoice of the table, paid or not. A `Scan`: for the migration batch only, never for a route."""
        for item in self._scan("INVOICE"):
            yield invoice_from_item(item)

    def scan_payments(self) -> Iterator[Payment]:
        """Every payment of the table. A `Scan`: for the migration batch only, never for a route."""
        for item in self._scan("PAYMENT"):
            yield _payment_from_item(item)

    def _scan(self, entity: str) -> Iterator[Item]:
        request: dict[str, Any] = {
            "TableName": self.table,
            "FilterExpression": "#ent = :ent",
            "ExpressionAttributeNames": {"#ent": "entity"},
            "ExpressionAttributeValues": {":ent": _s(entity)},
        }
        while True:
            with _translated_failures():
                response = self.client.scan(**request)
            yield from response.get("Items", [])
            if "LastEvaluatedKey" not in response:
                return
            request["ExclusiveStartKey"] = response["LastEvaluatedKey"]

    def move_invoices(
        self, renamed: dict[str, str], now: int, payment: tuple[Payment, Payment] | None = None
    ) -> dict[str, MoveOutcome]:
        """Move invoices from their old id to their new one (`renamed`), each item copied as it is stored.

        Each move deletes the old item — on condition that it is exactly as read (status, hold, last load), which
        was neither held by a live payment nor changed — and puts the copy under the new id if nothing is there.
        With `payment` (as read, and with its lines renamed), the payment's new lines are written in the same
        transaction, on its version, so its invoices and its lines never disagree. Paid invoices move too, still
        paid, with their payment and date. Up to 49 moves share a transaction with the payment; more (a payment
        has at most 50 invoices) go first, in transactions of their own.
        """
        outcomes: dict[str, MoveOutcome] = {}
        for _attempt in range(_ATTEMPTS):
            pending = {old: new for old, new in renamed.items() if old not in outcomes}
            stored = {item["invoice_id"]["S"]: item for item in self._invoice_items(list(pending))}
            moves: list[tuple[str, list[tuple[str, dict[str, Any]]]]] = []
            for old, new in pending.items():
                item = stored.get(old)
                if item is None:
                    outcomes[old] = MoveOutcome.GONE
                elif "hold_expires_at" in item and int(item["hold_expires_at"]["N"]) > now:
                    outcomes[old] = MoveOutcome.HELD
                else:
                    moves.append((old, self._move_items(item, new)))
            alone = moves[:-_MOVES_WITH_PAYMENT] if payment else moves
            batches = [alone[i : i + _MOVES_ALONE] for i in range(0, len(alone), _MOVES_ALONE)]
            if payment is not None:
                batches.append(moves[-_MOVES_WITH_PAYMENT:])
            if self._run_moves(batches, outcomes, payment):
                return outcomes
        raise StoreUnavailable("invoices kept changing while being moved")

    def _run_moves(
        self,
        batches: list[list[tuple[str, list[tuple[str, dict[str, Any]]]]]],
        outcomes: dict[str, MoveOutcome],
        payment: tuple[Payment, Payment] | None,
    ) -> bool:
        """Run the batches in order, the payment's lines (if any) with the last; False when one must be read again."""
        for number, batch in enumerate(batches, start=1):
            items = [tagged for _old, pair in batch for tagged in pair]
            if payment is not None and number == len(batches):
                items.append(("payment", self._lines_update(*payment)))
            failed = self._transact(items) if items else {}
            if payment is not None and "payment" in failed:
                raise PaymentChanged(payment[0].payment_id)
            for old, _pair in batch:
                if f"put:{old}" in failed:
                    outcomes[old] = MoveOutcome.TAKEN
                elif not failed:
                    outcomes[old] = MoveOutcome.MOVED
            if failed:
                # Nothing of this transaction was written: read again, retry what was neither moved nor taken.
                return False
        return True

    def _move_items(self, item: Item, new_id: str) -> list[tuple[str, dict[str, Any]]]:
        """The tagged delete of the item as read and put of its copy under `new_id` (tags name the old id)."""
        old = item["invoice_id"]["S"]
        names = {"#st": "status", "#upd": "updated_at", "#hp": "hold_payment_id", "#he": "hold_expires_at"}
        values: Item = {":st": item["status"]}
        conditions = ["#st = :st"]
        for name, placeholder in (("updated_at", "#upd"), ("hold_payment_id", "#hp"), ("hold_expires_at", "#he")):
            if name in item:
                values[placeholder.replace("#", ":")] = item[name]
                conditions.append(f"{placeholder} = {placeholder.replace('#', ':')}")
            else:
                conditions.append(f"attribute_not_exists({placeholder})")
        copy = {**item, **_invoice_key(new_id), "invoice_id": _s(new_id)}
        delete = {
            "TableName": self.table,
            "Key": {"pk": item["pk"], "sk": item["sk"]},
            "ConditionExpression": " AND ".join(conditions),
            "ExpressionAttributeNames": names,
            "ExpressionAttributeValues": values,
        }
        put = {"TableName": self.table, "Item": copy, "ConditionExpression": "attribute_not_exists(pk)"}
        return [(f"delete:{old}", {"Delete": delete}), (f"put:{old}", {"Put": put})]

    def _lines_update(self, payment: Payment, renamed: Payment) -> dict[str, Any]:
        return {
            "Update": {
                "TableName": self.table,
                "Key": {"pk": _s(f"PAYMENT#{payment.payment_id}"), "sk": _s(PAYMENT_SK)},
                "UpdateExpression": "SET #lines = :lines, #v = :next",
                "ConditionExpression": "#v = :read",
                "ExpressionAttributeNames": {"#lines": "lines", "#v": "version"},
                "ExpressionAttributeValues": {
                    ":lines": _lines_attribute(renamed.lines),
                    ":next": _n(renamed.version),
                    ":read": _n(payment.version),
                },
            }
        }

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
