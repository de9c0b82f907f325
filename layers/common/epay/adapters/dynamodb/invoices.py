"""Invoices in the main table: the unpaid listing, reads by id, the issuers' loads, and moves off legacy ids.

An invoice is `INVOICE#<id>` / `INVOICE`; while unpaid it carries `list_pk`/`list_sk`, which put it in the sparse
indexes the listing reads (docs/data-model.md). A payment holds and settles invoices in its own transactions; the
actions it writes on them, with their conditions, are built here (`hold_action`, `settlement_action`,
`hold_change_action`), and a refusal explained here (`unavailable`): the invoice's rules live in one module while
the payment store owns the transaction.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from botocore.exceptions import ClientError

from epay.adapters.dynamodb.items import (
    Attributes,
    Item,
    invoice_attributes,
    invoice_from_item,
    invoice_key,
    lines_value,
    marshal,
    payment_key,
    subscription_partition,
)
from epay.adapters.dynamodb.transactions import Tagged, error_code, transact, translated_failures
from epay.clock import lapsed_condition
from epay.errors import StoreUnavailable
from epay.invoices import Batch, Invoice, InvoiceStatus, Position, SearchCriteria
from epay.money import Money
from epay.payments import Payment, PaymentLine
from epay.ports import InvoiceRefusal, InvoicesUnavailable, PaymentChanged, UpsertOutcome

UNPAID_INDEX = "unpaid-by-subscription"
NUMBER_INDEX = "unpaid-by-number"
MAX_BATCH_GET = 100
# An invoice may be refreshed (or moved) unless it is paid or a live payment holds it.
_REFRESHABLE = f"(attribute_not_exists(#status) OR #status <> :paid) AND {lapsed_condition('#hold_expires_at')}"
_REFRESHABLE_NAMES = {"#status": "status", "#hold_expires_at": "hold_expires_at"}


def _refreshable_values(now: int) -> dict[str, object]:
    """The values `_REFRESHABLE` compares with."""
    return {":paid": InvoiceStatus.PAID.value, ":now": now}


# Which invoice-id key made the table's invoice ids (`claim_invoice_id_key`).
_ID_KEY_RECORD = marshal({"pk": "CONFIG#INVOICE_ID_KEY", "sk": "CONFIG"})
_ATTEMPTS = 3
# TransactWriteItems takes 100 actions: a move is two (delete, put), a payment's new lines one.
_MOVES_ALONE = 50
_MOVES_WITH_PAYMENT = 49


class MoveOutcome(StrEnum):
    """What `move_invoices` did with one invoice."""

    MOVED = "moved"
    HELD = "held by a live payment"
    GONE = "not stored under its old id"
    TAKEN = "already stored under its new id"


# -- what a payment does to its invoices (actions of the payment store's transactions) -------------------------


def hold_action(table: str, payment: Payment, line: PaymentLine, now: int, take_over: str | None = None) -> Tagged:
    """Hold one invoice for `payment` until it expires: only if unpaid, of the payment's subscription and issuer,
    at the amount the payment was computed from, and free of any live hold (or held by `take_over`, a reference
    payment the same transaction supersedes)."""
    free = lapsed_condition("hold_expires_at")
    values: dict[str, object] = {}
    if take_over is not None:
        free = f"({free} OR hold_payment_id = :taken)"
        values[":taken"] = take_over
    update = {
        "TableName": table,
        "Key": invoice_key(line.invoice_id),
        "UpdateExpression": "SET hold_payment_id = :pid, hold_expires_at = :exp",
        "ConditionExpression": (
            f"#st = :unpaid AND subscription_code = :code AND issuer_code = :issuer AND amount = :amt AND {free}"
        ),
        "ExpressionAttributeNames": {"#st": "status"},
        "ExpressionAttributeValues": marshal(
            {
                ":pid": payment.payment_id,
                ":exp": payment.expires_at,
                ":unpaid": InvoiceStatus.UNPAID.value,
                ":code": payment.subscription_code,
                ":issuer": payment.issuer.code,
                ":amt": line.amount.centimes,
                ":now": now,
                **values,
            }
        ),
        "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
    }
    return f"invoice:{line.invoice_id}", {"Update": update}


def settlement_action(table: str, payment: Payment, line: PaymentLine, now: int) -> Tagged:
    """Mark one invoice paid by `payment`: only if unpaid, still at the payment's amount, and held by this payment
    or by nobody live. It leaves the listing (`list_pk`/`list_sk` removed) and loses its hold."""
    update = {
        "TableName": table,
        "Key": invoice_key(line.invoice_id),
        "UpdateExpression": (
            "SET #st = :paid, paid_payment_id = :pid, paid_at = :now "
            "REMOVE list_pk, list_sk, hold_payment_id, hold_expires_at"
        ),
        "ConditionExpression": (
            f"#st = :unpaid AND amount = :amt AND (hold_payment_id = :pid OR {lapsed_condition('hold_expires_at')})"
        ),
        "ExpressionAttributeNames": {"#st": "status"},
        "ExpressionAttributeValues": marshal(
            {
                ":paid": InvoiceStatus.PAID.value,
                ":unpaid": InvoiceStatus.UNPAID.value,
                ":pid": payment.payment_id,
                ":amt": line.amount.centimes,
                ":now": now,
            }
        ),
        "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
    }
    return f"invoice:{line.invoice_id}", {"Update": update}


def hold_change_action(
    table: str, invoice_id: str, payment_id: str, expression: str, values: dict[str, object] | None = None
) -> Tagged:
    """Release or extend a hold: only on an invoice still held by `payment_id`, never another payment's hold."""
    update = {
        "TableName": table,
        "Key": invoice_key(invoice_id),
        "UpdateExpression": expression,
        "ConditionExpression": "hold_payment_id = :pid",
        "ExpressionAttributeValues": marshal({":pid": payment_id, **(values or {})}),
        "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
    }
    return f"invoice:{invoice_id}", {"Update": update}


def _refusal(old: Attributes, amount: Money) -> InvoiceRefusal:
    status = old.optional_text("status")
    if status == InvoiceStatus.PAID.value:
        return InvoiceRefusal.PAID
    if status != InvoiceStatus.UNPAID.value or old.optional_whole("amount") != amount.centimes:
        return InvoiceRefusal.CHANGED
    return InvoiceRefusal.HELD


def unavailable(failed: dict[str, Attributes], amounts: dict[str, Money]) -> InvoicesUnavailable:
    """The invoices whose condition failed, each with why (judged from the item as it was)."""
    refusals = {
        tag.removeprefix("invoice:"): _refusal(old, amounts[tag.removeprefix("invoice:")])
        for tag, old in failed.items()
        if tag.startswith("invoice:")
    }
    return InvoicesUnavailable(list(refusals), refusals)


def scan_items(client: Any, table: str, entity: str) -> Iterator[Item]:
    """Every item of one kind (`entity`). A `Scan`: for the migration batch only, never for a route."""
    request: dict[str, Any] = {
        "TableName": table,
        "FilterExpression": "#ent = :ent",
        "ExpressionAttributeNames": {"#ent": "entity"},
        "ExpressionAttributeValues": marshal({":ent": entity}),
    }
    while True:
        with translated_failures():
            response = client.scan(**request)
        yield from response.get("Items", [])
        if "LastEvaluatedKey" not in response:
            return
        request["ExclusiveStartKey"] = response["LastEvaluatedKey"]


@dataclass
class DynamoInvoiceStore:
    """`InvoiceStore` (`epay.ports`) over the main table, and what the loader and the migration need besides."""

    client: Any
    table: str

    def read_unpaid(self, criteria: SearchCriteria, after: Position | None, limit: int) -> Batch:
        """One `Query` of the sparse unpaid index: key conditions for code/issuer/dates, filters for the rest."""
        names: dict[str, str] = {"#lpk": "list_pk"}
        values: dict[str, object] = {":lpk": subscription_partition(criteria.subscription_code)}
        key_condition = "#lpk = :lpk"
        by_number = criteria.invoice_number is not None
        if by_number:
            # The sparse number index reads just this code's unpaid invoices with that number (one per issuer).
            names["#num"], values[":num"] = "invoice_number", str(criteria.invoice_number)
            key_condition += " AND #num = :num"
        if criteria.issuer is not None and by_number:
            names["#ic"], values[":ic"] = "issuer_code", criteria.issuer
        elif criteria.issuer is not None:
            names["#lsk"] = "list_sk"
            low = f"{criteria.issuer}#{criteria.issued_from.isoformat() if criteria.issued_from else ''}"
            # '$' sorts right after '#': every key of that issuer (and date, if bounded) sorts before it.
            high = (
                f"{criteria.issuer}#{criteria.issued_to.isoformat()}$" if criteria.issued_to else f"{criteria.issuer}$"
            )
            values[":low"], values[":high"] = low, high
            key_condition += " AND #lsk BETWEEN :low AND :high"
        filters: list[str] = []

        def add_filter(expression: str, name: str, attribute: str, value_name: str, value: object) -> None:
            names[name] = attribute
            values[value_name] = value
            filters.append(expression)

        if by_number and criteria.issuer is not None:
            filters.append("#ic = :ic")
        dates_filtered = criteria.issuer is None or by_number
        if dates_filtered and criteria.issued_from is not None:
            add_filter("#idate >= :from", "#idate", "issue_date", ":from", criteria.issued_from.isoformat())
        if dates_filtered and criteria.issued_to is not None:
            add_filter("#idate <= :to", "#idate", "issue_date", ":to", criteria.issued_to.isoformat())
        if criteria.min_amount is not None:
            add_filter("#amt >= :min", "#amt", "amount", ":min", criteria.min_amount.centimes)
        if criteria.max_amount is not None:
            add_filter("#amt <= :max", "#amt", "amount", ":max", criteria.max_amount.centimes)
        if criteria.text is not None:
            add_filter("contains(#txt, :txt)", "#txt", "search_text", ":txt", criteria.text.lower())
        request: dict[str, Any] = {
            "TableName": self.table,
            "IndexName": NUMBER_INDEX if by_number else UNPAID_INDEX,
            "KeyConditionExpression": key_condition,
            "ExpressionAttributeNames": names,
            "ExpressionAttributeValues": marshal(values),
            "Limit": limit,
        }
        if filters:
            request["FilterExpression"] = " AND ".join(filters)
        if after is not None and not by_number:
            request["ExclusiveStartKey"] = invoice_key(after.invoice_id) | marshal(
                {"list_pk": subscription_partition(criteria.subscription_code), "list_sk": after.list_key}
            )
        with translated_failures():
            response = self.client.query(**request)
        invoices = [invoice_from_item(item) for item in response.get("Items", [])]
        last = response.get("LastEvaluatedKey")
        if by_number and last:
            raise StoreUnavailable("more than one read of invoices with one number")
        resume = None
        if last:
            key = Attributes.of(last)
            resume = Position(key.text("list_sk"), key.text("pk").removeprefix("INVOICE#"))
        return Batch(invoices, resume)

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
            keys = [invoice_key(invoice_id) for invoice_id in invoice_ids[start : start + MAX_BATCH_GET]]
            request: dict[str, Any] = {self.table: {"Keys": keys, "ConsistentRead": True}}
            for _attempt in range(5):
                with translated_failures():
                    response = self.client.batch_get_item(RequestItems=request)
                items += response.get("Responses", {}).get(self.table, [])
                request = response.get("UnprocessedKeys") or {}
                if not request:
                    break
            else:
                raise StoreUnavailable("BatchGetItem left keys unprocessed")
        return items

    # -- the issuers' loads ---------------------------------------------------------------------------------

    def _upsert_request(self, invoice: Invoice, now: int) -> dict[str, Any]:
        """The conditional `UpdateItem` that creates or refreshes an invoice: not if paid or held by a live payment.

        It sets what the file gives (`invoice_attributes`) and leaves a hold or a payment as it is.
        """
        attributes = invoice_attributes(invoice, now)
        sets = [f"#{name} = :{name}" for name, value in attributes.items() if value is not None]
        removes = [f"#{name}" for name, value in attributes.items() if value is None]
        values = {f":{name}": value for name, value in attributes.items()} | _refreshable_values(now)
        return {
            "TableName": self.table,
            "Key": invoice_key(invoice.invoice_id),
            "UpdateExpression": "SET " + ", ".join(sets) + (" REMOVE " + ", ".join(removes) if removes else ""),
            "ConditionExpression": _REFRESHABLE,
            "ExpressionAttributeNames": {f"#{name}": name for name in attributes} | _REFRESHABLE_NAMES,
            "ExpressionAttributeValues": marshal(values),
        }

    def upsert_invoice(self, invoice: Invoice, now: int) -> UpsertOutcome:
        """Create or refresh an invoice from the operator's file; never alters a paid or currently held one."""
        try:
            with translated_failures():
                self.client.update_item(
                    **self._upsert_request(invoice, now), ReturnValuesOnConditionCheckFailure="ALL_OLD"
                )
        except ClientError as error:
            if error_code(error) != "ConditionalCheckFailedException":
                raise
            old = Attributes.of(error.response.get("Item") or {})
            if old.optional_text("status") == InvoiceStatus.PAID.value:
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
        legacy = {
            "TableName": self.table,
            "Key": invoice_key(legacy_id),
            "ConditionExpression": f"attribute_exists(pk) AND {_REFRESHABLE}",
            "ExpressionAttributeNames": _REFRESHABLE_NAMES,
            "ExpressionAttributeValues": marshal(_refreshable_values(now)),
            "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
        }
        keyed = {**self._upsert_request(invoice, now), "ReturnValuesOnConditionCheckFailure": "ALL_OLD"}
        failed = transact(self.client, [("legacy", {"Delete": legacy}), ("keyed", {"Update": keyed})])
        if not failed:
            return UpsertOutcome.MOVED
        blocking = failed.get("legacy", failed.get("keyed", Attributes({})))
        if not blocking:
            return None
        paid = blocking.optional_text("status") == InvoiceStatus.PAID.value
        return UpsertOutcome.KEPT_PAID if paid else UpsertOutcome.KEPT_HELD

    def claim_invoice_id_key(self, fingerprint: str, now: int) -> str | None:
        """Record which invoice-id key made this table's ids, the first time; later, check it is the same key.

        Returns None when `fingerprint` is (now) the table's, else the fingerprint of the key the table was
        loaded with: a loader holding another key would store every invoice a second time, so it must stop.
        """
        for _attempt in range(2):
            with translated_failures():
                stored = self.client.get_item(TableName=self.table, Key=_ID_KEY_RECORD, ConsistentRead=True)
            if "Item" in stored:
                recorded = Attributes.of(stored["Item"]).text("fingerprint")
                return None if recorded == fingerprint else recorded
            record = _ID_KEY_RECORD | marshal({"entity": "CONFIG", "fingerprint": fingerprint, "since": now})
            try:
                with translated_failures():
                    self.client.put_item(
                        TableName=self.table, Item=record, ConditionExpression="attribute_not_exists(pk)"
                    )
                return None
            except ClientError as error:
                if error_code(error) != "ConditionalCheckFailedException":
                    raise
                # Another loader recorded its key first: compare with that one.
        raise StoreUnavailable("the invoice-id key record could not be read")

    # -- moving invoices to keyed ids (`epay migrate-invoice-ids`, an operator's one-off batch) -------------------

    def scan_invoices(self) -> Iterator[Invoice]:
        """Every invoice of the table, paid or not. A `Scan`: for the migration batch only, never for a route."""
        for item in scan_items(self.client, self.table, "INVOICE"):
            yield invoice_from_item(item)

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
            stored = {Attributes.of(item).text("invoice_id"): item for item in self._invoice_items(list(pending))}
            moves: list[tuple[str, list[Tagged]]] = []
            for old, new in pending.items():
                item = stored.get(old)
                held_until = Attributes.of(item).optional_whole("hold_expires_at") if item is not None else None
                if item is None:
                    outcomes[old] = MoveOutcome.GONE
                elif held_until is not None and held_until > now:
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
        batches: list[list[tuple[str, list[Tagged]]]],
        outcomes: dict[str, MoveOutcome],
        payment: tuple[Payment, Payment] | None,
    ) -> bool:
        """Run the batches in order, the payment's lines (if any) with the last; False when one must be read again."""
        for number, batch in enumerate(batches, start=1):
            actions = [tagged for _old, pair in batch for tagged in pair]
            if payment is not None and number == len(batches):
                actions.append(("payment", self._lines_update(*payment)))
            failed = transact(self.client, actions) if actions else {}
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

    def _move_items(self, item: Item, new_id: str) -> list[Tagged]:
        """The tagged delete of the item as read and put of its copy under `new_id` (tags name the old id).

        The copy is the stored item itself, attribute for attribute, with only its key and id changed.
        """
        old = Attributes.of(item).text("invoice_id")
        names = {"#st": "status", "#upd": "updated_at", "#hp": "hold_payment_id", "#he": "hold_expires_at"}
        values: Item = {":st": item["status"]}
        conditions = ["#st = :st"]
        for name, placeholder in (("updated_at", "#upd"), ("hold_payment_id", "#hp"), ("hold_expires_at", "#he")):
            if name in item:
                values[placeholder.replace("#", ":")] = item[name]
                conditions.append(f"{placeholder} = {placeholder.replace('#', ':')}")
            else:
                conditions.append(f"attribute_not_exists({placeholder})")
        copy = {**item, **invoice_key(new_id), **marshal({"invoice_id": new_id})}
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
        """The payment's renamed lines, on the version read (`PaymentChanged` otherwise)."""
        return {
            "Update": {
                "TableName": self.table,
                "Key": payment_key(payment.payment_id),
                "UpdateExpression": "SET #lines = :lines, #v = :next",
                "ConditionExpression": "#v = :read",
                "ExpressionAttributeNames": {"#lines": "lines", "#v": "version"},
                "ExpressionAttributeValues": marshal(
                    {":lines": lines_value(renamed.lines), ":next": renamed.version, ":read": payment.version}
                ),
            }
        }
