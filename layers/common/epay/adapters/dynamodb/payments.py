"""Payments in the main table, with what belongs to them: holds and settlement of their invoices (in the payment's
own transactions), references, applied gateway events, callback evidence and unapplied funds.

Every change that touches several items is one `TransactWriteItems` whose conditions encode the state machine:
a hold is placed only on an unpaid invoice without a live hold, an invoice is settled only by the payment that
holds it (or when it is free), and a payment moves only from the version that was read. The conditions on
invoices are the invoice module's (`epay.adapters.dynamodb.invoices`).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from typing import Any

from botocore.exceptions import ClientError

from epay.adapters.dynamodb.invoices import (
    hold_action,
    hold_change_action,
    scan_items,
    settlement_action,
    unavailable,
)
from epay.adapters.dynamodb.items import (
    LIVE_SLOT_PREFIX,
    OUTBOX_PREFIX,
    RECEIPT_MAIL_PREFIX,
    RECOVERY_INDEX,
    RECOVERY_PARTITION,
    TTL_ATTRIBUTE,
    Attributes,
    event_item,
    evidence_item,
    live_partition,
    live_slot_key,
    mail_item,
    mail_key,
    marshal,
    payment_from_item,
    payment_item,
    payment_key,
    payment_partition,
    receipt_item,
    receipt_key,
    reference_item,
    reference_key,
    unapplied_from_item,
    unapplied_item,
)
from epay.adapters.dynamodb.transactions import Tagged, error_code, transact, translated_failures
from epay.errors import StoreUnavailable
from epay.evidence import CallbackEvidence
from epay.observability import logger
from epay.payments import LIVE, Payment, UnappliedFunds
from epay.ports import (
    MAX_TRANSACTION_ACTIONS,
    EventAlreadyApplied,
    EventAppliedElsewhere,
    FundsAlreadyRecorded,
    PaymentChanged,
    ReceiptCodeTaken,
    ReferenceTaken,
    TooManyLivePayments,
    creation_actions,
)
from epay.receipts import Claim, MailState, ReceiptMail

# Evidence of callbacks that name no payment is kept for the first UNMATCHED_KEPT_PER_SHARD of each shard and day,
# and only counted past that, so unauthenticated traffic cannot grow the table without bound.
UNMATCHED_KEPT_PER_SHARD = 500
# A creation whose slot a concurrent creation claimed first reads the slots again, this many times in all.
_SLOT_ATTEMPTS = 4


@dataclass
class DynamoPaymentStore:
    """`PaymentStore` (`epay.ports`) over the main table, and the migration's read of every payment."""

    client: Any
    table: str

    def create_payment(
        self, payment: Payment, now: int, live_limit: int | None = None, superseded: Sequence[Payment] = ()
    ) -> None:
        """Write the payment and a hold on each of its invoices in one transaction: all or nothing.

        Each hold requires the invoice to be unpaid, of this subscription and issuer, at the amount the payment was
        computed from, and free of any live hold. `InvoicesUnavailable` names the invoices that failed a condition;
        `ReferenceTaken` means the reference drawn is already in use (draw another).

        With `live_limit`, the same transaction claims one of the code's `live_limit` slots (`LIVE#<code>` /
        `SLOT#<n>`): one that is free (never used, or released when its payment ended), or one whose payment a
        consistent read shows no longer live (its hold lapsed, or it ended and the release failed). The claim is
        conditioned on the slot being exactly as read, so two creations never share a slot and a code never has more
        live payments than slots. `TooManyLivePayments` when every slot holds a live payment.

        `superseded` (unpaid references whose holds this payment takes over) are written `CANCELLED` from the version
        read, their other holds released, in the same transaction; their slots count as free for this creation and
        are released after it.
        """
        if creation_actions(payment, superseded) > MAX_TRANSACTION_ACTIONS:
            raise ValueError("a creation that supersedes references must fit in one transaction")
        ending = {old.payment_id for old in superseded}
        if live_limit is None:
            self._create(payment, now, None, superseded)
            self._release_superseded(superseded)
            return
        for _attempt in range(_SLOT_ATTEMPTS):
            slot = self._free_slot(payment.subscription_code, live_limit, now, ending)
            if slot is None:
                raise TooManyLivePayments(payment.subscription_code, live_limit)
            if self._create(replace(payment, live_slot=slot[0]), now, slot, superseded):
                # (the slot this payment claimed from a superseded one is its own now: not released)
                self._release_superseded([old for old in superseded if old.live_slot != slot[0]])
                return
        # Every attempt lost its slot to a concurrent creation: the code is as busy as it gets.
        raise TooManyLivePayments(payment.subscription_code, live_limit)

    def _free_slot(
        self, code: str, live_limit: int, now: int, ending: frozenset[str] | set[str] = frozenset()
    ) -> tuple[int, str | None] | None:
        """A slot this creation may claim, with the payment id it holds as read (None: free); None when all are live.

        Free slots first (no read of a payment); then, in order, each slot whose payment no longer counts.
        """
        with translated_failures():
            response = self.client.query(
                TableName=self.table,
                KeyConditionExpression="pk = :pk AND begins_with(sk, :slot)",
                ExpressionAttributeValues=marshal({":pk": live_partition(code), ":slot": LIVE_SLOT_PREFIX}),
                ConsistentRead=True,
            )
        held: dict[int, str] = {}
        for item in response.get("Items", []):
            stored = Attributes.of(item)
            digits = stored.text("sk").removeprefix(LIVE_SLOT_PREFIX)
            holder = stored.optional_text("payment_id")
            if digits.isdigit() and holder:
                held[int(digits)] = holder
        for number in range(1, live_limit + 1):
            if number not in held:
                return number, None
        for number in range(1, live_limit + 1):
            if held[number] in ending:  # superseded by this very creation
                return number, held[number]
        for number in range(1, live_limit + 1):
            holder_payment = self.get_payment(held[number])
            if holder_payment is None or not holder_payment.is_live(now):
                return number, held[number]
        return None

    def _create(
        self, payment: Payment, now: int, slot: tuple[int, str | None] | None, superseded: Sequence[Payment]
    ) -> bool:
        """One creation transaction; False when only the slot's condition failed (someone claimed it first)."""
        created = {
            "TableName": self.table,
            "Item": payment_item(payment),
            "ConditionExpression": "attribute_not_exists(pk)",
        }
        actions: list[Tagged] = [("payment", {"Put": created})]
        if slot is not None:
            actions.append(("slot", self._slot_claim(payment, *slot)))
        taken = {invoice_id: old.payment_id for old in superseded for invoice_id in old.invoice_ids}
        actions += [hold_action(self.table, payment, line, now, taken.get(line.invoice_id)) for line in payment.lines]
        mine = set(payment.invoice_ids)
        for old in superseded:
            actions.append((f"superseded:{old.payment_id}", self._payment_update(old, old.superseded())[1]))
            for invoice_id in old.invoice_ids:
                if invoice_id not in mine:
                    _, release = hold_change_action(
                        self.table, invoice_id, old.payment_id, "REMOVE hold_payment_id, hold_expires_at"
                    )
                    actions.append((f"release:{invoice_id}", release))
        if payment.reference is not None:
            reference = {
                "TableName": self.table,
                "Item": reference_item(payment, payment.reference),
                "ConditionExpression": "attribute_not_exists(pk)",
            }
            actions.append(("reference", {"Put": reference}))
        failed = transact(self.client, actions)
        if "reference" in failed:
            raise ReferenceTaken(payment.reference.code if payment.reference else "")
        if any(tag.startswith(("superseded:", "release:")) for tag in failed):
            # A superseded reference moved since it was read (paid, cancelled, extended): read again, decide again.
            raise PaymentChanged(payment.payment_id)
        held = {tag: item for tag, item in failed.items() if tag != "slot"}
        if held:
            raise unavailable(held, {line.invoice_id: line.amount for line in payment.lines})
        return not failed

    def _release_superseded(self, superseded: Sequence[Payment]) -> None:
        for old in superseded:
            self._release_slot(old, old.superseded())

    def _slot_claim(self, payment: Payment, number: int, seen: str | None) -> dict[str, Any]:
        """Claim slot `number` for `payment`, only if it still holds what was read (`seen`, or nobody)."""
        put: dict[str, Any] = {
            "TableName": self.table,
            "Item": live_slot_key(payment.subscription_code, number)
            | marshal({"entity": "LIVE_SLOT", "payment_id": payment.payment_id, "expires_at": payment.expires_at}),
        }
        if seen is None:
            put["ConditionExpression"] = "attribute_not_exists(payment_id)"
        else:
            put["ConditionExpression"] = "payment_id = :seen"
            put["ExpressionAttributeValues"] = marshal({":seen": seen})
        return {"Put": put}

    def _release_slot(self, payment: Payment, changed: Payment) -> None:
        """Free the slot of a payment that has just ended. Best effort: a slot whose release fails is reclaimed by the
        next creation that reads its payment as no longer live."""
        if payment.live_slot is None or payment.status not in LIVE or changed.status in LIVE:
            return
        try:
            with translated_failures():
                self.client.update_item(
                    TableName=self.table,
                    Key=live_slot_key(payment.subscription_code, payment.live_slot),
                    UpdateExpression="REMOVE payment_id, expires_at",
                    ConditionExpression="payment_id = :pid",
                    ExpressionAttributeValues=marshal({":pid": payment.payment_id}),
                )
        except (ClientError, StoreUnavailable):
            logger.warning(
                "live slot not released (reclaimed later)",
                extra={"payment_id": payment.payment_id, "slot": payment.live_slot},
            )

    def get_payment(self, payment_id: str) -> Payment | None:
        """One payment, read consistently."""
        with translated_failures():
            response = self.client.get_item(TableName=self.table, Key=payment_key(payment_id), ConsistentRead=True)
        item = response.get("Item")
        return payment_from_item(item) if item else None

    def payment_id_for_reference(self, code: str) -> str | None:
        """Which payment a reference belongs to."""
        with translated_failures():
            response = self.client.get_item(TableName=self.table, Key=reference_key(code), ConsistentRead=True)
        item = response.get("Item")
        return Attributes.of(item).text("payment_id") if item else None

    def payment_id_for_receipt(self, code: str) -> str | None:
        """Which payment a receipt code was given to (one item read: the code's, not the payment's)."""
        with translated_failures():
            response = self.client.get_item(TableName=self.table, Key=receipt_key(code), ConsistentRead=True)
        item = response.get("Item")
        return Attributes.of(item).text("payment_id") if item else None

    def settle(
        self,
        payment: Payment,
        settled: Payment,
        now: int,
        evidence: CallbackEvidence,
        event: tuple[str, str] | None = None,
    ) -> None:
        """Mark the payment and every one of its invoices `PAID`, with the evidence, in one transaction; with its
        receipt code (`settled.receipt_code`), the code's item and the receipt's e-mail in the outbox.

        Conditions: the payment is still the version read (so two callbacks cannot both settle it), and each invoice
        is unpaid, still at the amount the payment was created for, and held by this payment or by nobody live; the
        receipt code is no other payment's. `InvoicesUnavailable` names the invoices that are not (and why);
        `PaymentChanged` means someone else moved the payment first, `EventAlreadyApplied` that a concurrent copy of
        this event did (read again, decide again); `ReceiptCodeTaken`, that only the code was in use (draw another).
        """
        actions = [self._payment_update(payment, settled)]
        actions += [settlement_action(self.table, payment, line, now) for line in payment.lines]
        if settled.receipt_code:
            receipt = {
                "TableName": self.table,
                "Item": receipt_item(payment.payment_id, settled.receipt_code),
                "ConditionExpression": "attribute_not_exists(pk)",
            }
            # Queued once: a payment is settled once (its version), and this key is the payment's.
            queued = {
                "TableName": self.table,
                "Item": mail_item(ReceiptMail.queued(payment.payment_id, now), now),
                "ConditionExpression": "attribute_not_exists(pk)",
            }
            actions += [("receipt", {"Put": receipt}), ("mail", {"Put": queued})]
        self._finish(actions, payment, evidence, event)
        self._release_slot(payment, settled)

    # -- the outbox of receipt e-mails (`epay.ports.ReceiptOutbox`) ----------------------------------------------

    def claim_mail(self, mail: ReceiptMail, now: int, lease_seconds: int) -> Claim:
        """Take the e-mail for sending until `now + lease_seconds`: only if it is queued, or its last sender's lease
        has ended (that sender may have died before or after SES accepted it)."""
        try:
            with translated_failures():
                self.client.update_item(
                    TableName=self.table,
                    Key=mail_key(mail),
                    UpdateExpression="SET #state = :sending, claimed_until = :until ADD attempts :one",
                    ConditionExpression=(
                        "attribute_exists(pk) AND (#state = :pending OR (#state = :sending AND claimed_until <= :now))"
                    ),
                    ExpressionAttributeNames={"#state": "state"},
                    ExpressionAttributeValues=marshal(
                        {
                            ":sending": MailState.SENDING.value,
                            ":pending": MailState.PENDING.value,
                            ":until": now + lease_seconds,
                            ":now": now,
                            ":one": 1,
                        }
                    ),
                    ReturnValuesOnConditionCheckFailure="ALL_OLD",
                )
        except ClientError as error:
            if error_code(error) != "ConditionalCheckFailedException":
                raise
            found = error.response.get("Item")
            if not found:
                return Claim.UNKNOWN
            state = Attributes.of(found).text("state")
            return Claim.BUSY if state == MailState.SENDING.value else Claim.DONE
        return Claim.CLAIMED

    def mail_sent(self, mail: ReceiptMail, now: int, message_id: str) -> None:
        """Record that SES accepted the e-mail: it is never sent again."""
        self._settle_mail(mail, MailState.SENT, now, {"message_id": message_id})

    def mail_failed(self, mail: ReceiptMail, now: int, reason: str) -> None:
        """Record that SES refused this e-mail for good (an operator's; never retried by itself)."""
        self._settle_mail(mail, MailState.FAILED, now, {"failure": reason})

    def release_mail(self, mail: ReceiptMail) -> None:
        """Give a claimed e-mail back (SES did not take it): the next attempt need not wait for the lease."""
        with translated_failures():
            self.client.update_item(
                TableName=self.table,
                Key=mail_key(mail),
                UpdateExpression="SET #state = :pending REMOVE claimed_until",
                ConditionExpression="#state = :sending",
                ExpressionAttributeNames={"#state": "state"},
                ExpressionAttributeValues=marshal(
                    {":pending": MailState.PENDING.value, ":sending": MailState.SENDING.value}
                ),
            )

    def mail_state(self, mail: ReceiptMail) -> MailState | None:
        """Where a receipt's e-mail stands (None: never queued)."""
        with translated_failures():
            response = self.client.get_item(TableName=self.table, Key=mail_key(mail), ConsistentRead=True)
        item = response.get("Item")
        return MailState(Attributes.of(item).text("state")) if item else None

    def unsent_mail(self, day: str) -> list[ReceiptMail]:
        """The receipt e-mails queued on `day` (UTC) that are neither sent nor refused: one Query of that day."""
        found: list[ReceiptMail] = []
        start: dict[str, Any] | None = None
        while True:
            query: dict[str, Any] = {
                "TableName": self.table,
                "KeyConditionExpression": "pk = :day AND begins_with(sk, :mail)",
                "FilterExpression": "#state IN (:pending, :sending)",
                "ExpressionAttributeNames": {"#state": "state"},
                "ExpressionAttributeValues": marshal(
                    {
                        ":day": OUTBOX_PREFIX + day,
                        ":mail": RECEIPT_MAIL_PREFIX,
                        ":pending": MailState.PENDING.value,
                        ":sending": MailState.SENDING.value,
                    }
                ),
                "ConsistentRead": True,
            }
            if start is not None:
                query["ExclusiveStartKey"] = start
            with translated_failures():
                response = self.client.query(**query)
            found += [ReceiptMail(Attributes.of(item).text("payment_id"), day) for item in response.get("Items", [])]
            start = response.get("LastEvaluatedKey")
            if start is None:
                return found

    def _settle_mail(self, mail: ReceiptMail, state: MailState, now: int, values: dict[str, object]) -> None:
        names = ", ".join(f"{name} = :{name}" for name in values)
        with translated_failures():
            self.client.update_item(
                TableName=self.table,
                Key=mail_key(mail),
                UpdateExpression=f"SET #state = :state, finished_at = :now, {names} REMOVE claimed_until",
                ConditionExpression="attribute_exists(pk)",
                ExpressionAttributeNames={"#state": "state"},
                ExpressionAttributeValues=marshal(
                    {":state": state.value, ":now": now, **{f":{name}": value for name, value in values.items()}}
                ),
            )

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
        actions = [self._payment_update(payment, changed)]
        for invoice_id in release or []:
            actions.append(
                hold_change_action(
                    self.table, invoice_id, payment.payment_id, "REMOVE hold_payment_id, hold_expires_at"
                )
            )
        if extend_holds_to is not None:
            for invoice_id in payment.invoice_ids:
                actions.append(
                    hold_change_action(
                        self.table,
                        invoice_id,
                        payment.payment_id,
                        "SET hold_expires_at = :exp",
                        {":exp": extend_holds_to},
                    )
                )
        self._finish(actions, payment, evidence, event)
        self._release_slot(payment, changed)

    def record_unapplied(self, payment: Payment, funds: UnappliedFunds, evidence: CallbackEvidence) -> None:
        """Keep, with the callback's evidence, money a gateway reports taken that does not settle `payment`.

        Once per gateway report (its fingerprint): `FundsAlreadyRecorded` when this report was recorded before.
        The payment item itself is not changed, so a `PAID` payment stays exactly as it settled.
        """
        recorded = {
            "TableName": self.table,
            "Item": unapplied_item(payment.payment_id, funds),
            "ConditionExpression": "attribute_not_exists(pk)",
        }
        actions: list[Tagged] = [
            ("unapplied", {"Put": recorded}),
            ("evidence", {"Put": {"TableName": self.table, "Item": evidence_item(evidence)}}),
        ]
        if transact(self.client, actions):
            raise FundsAlreadyRecorded(payment.payment_id)

    def unapplied_funds(self, payment_id: str) -> list[UnappliedFunds]:
        """The money reports recorded on a payment that did not settle it, oldest first."""
        with translated_failures():
            response = self.client.query(
                TableName=self.table,
                KeyConditionExpression="pk = :pk AND begins_with(sk, :unapplied)",
                ExpressionAttributeValues=marshal({":pk": payment_partition(payment_id), ":unapplied": "UNAPPLIED#"}),
                ConsistentRead=True,
            )
        found = [unapplied_from_item(item) for item in response.get("Items", [])]
        return sorted(found, key=lambda funds: (funds.reported_at, funds.fingerprint))

    def due_for_recovery(self, now: int, limit: int) -> list[str]:
        """The payments due for a recovery check, earliest first, from the sparse recovery index (keys only).

        The index is eventually consistent: an id read here may already be rescheduled or final. The caller reads
        each payment consistently and claims it on its version before acting.
        """
        found: list[str] = []
        start: dict[str, Any] | None = None
        while len(found) < limit:
            query: dict[str, Any] = {
                "TableName": self.table,
                "IndexName": RECOVERY_INDEX,
                "KeyConditionExpression": "recovery_pk = :pk AND recovery_due <= :now",
                "ExpressionAttributeValues": marshal({":pk": RECOVERY_PARTITION, ":now": now}),
                "Limit": limit - len(found),
            }
            if start is not None:
                query["ExclusiveStartKey"] = start
            with translated_failures():
                response = self.client.query(**query)
            for item in response.get("Items", []):
                pk = Attributes.of(item).text("pk")
                if pk.startswith("PAYMENT#"):
                    found.append(pk.removeprefix("PAYMENT#"))
            start = response.get("LastEvaluatedKey")
            if start is None:
                break
        return found[:limit]

    def record_evidence(self, evidence: CallbackEvidence) -> bool:
        """Keep a callback that changed nothing (refused, unknown, duplicate) for audit; False when only counted.

        Evidence about a known payment is always kept with it. Evidence naming no payment is counted per shard and
        day, kept (with a TTL) for the first `UNMATCHED_KEPT_PER_SHARD` of each, and only counted after that, so
        unauthenticated traffic cannot grow the table without bound.
        """
        item = evidence_item(evidence)
        if not evidence.payment_id:
            with translated_failures():
                response = self.client.update_item(
                    TableName=self.table,
                    Key={"pk": item["pk"], **marshal({"sk": "COUNT"})},
                    UpdateExpression="ADD received :one SET #ttl = if_not_exists(#ttl, :ttl)",
                    ExpressionAttributeNames={"#ttl": TTL_ATTRIBUTE},
                    ExpressionAttributeValues={**marshal({":one": 1}), ":ttl": item[TTL_ATTRIBUTE]},
                    ReturnValues="UPDATED_NEW",
                )
            if Attributes.of(response["Attributes"]).whole("received") > UNMATCHED_KEPT_PER_SHARD:
                return False
        with translated_failures():
            self.client.put_item(TableName=self.table, Item=item)
        return True

    def scan_payments(self) -> Iterator[Payment]:
        """Every payment of the table. A `Scan`: for the migration batch only, never for a route."""
        for item in scan_items(self.client, self.table, "PAYMENT"):
            yield payment_from_item(item)

    def _payment_update(self, payment: Payment, changed: Payment) -> Tagged:
        """The payment's new version, written only over the version that was read."""
        put = {
            "TableName": self.table,
            "Item": payment_item(changed),
            "ConditionExpression": "#v = :read",
            "ExpressionAttributeNames": {"#v": "version"},
            "ExpressionAttributeValues": marshal({":read": payment.version}),
        }
        return "payment", {"Put": put}

    def _finish(
        self, actions: list[Tagged], payment: Payment, evidence: CallbackEvidence | None, event: tuple[str, str] | None
    ) -> None:
        """Add the applied event and the evidence to `actions`, run them, and explain a refusal."""
        if event is not None:
            applied = {
                "TableName": self.table,
                "Item": event_item(*event, payment.payment_id),
                "ConditionExpression": "attribute_not_exists(pk)",
                "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
            }
            actions.append(("event", {"Put": applied}))
        if evidence is not None:
            actions.append(("evidence", {"Put": {"TableName": self.table, "Item": evidence_item(evidence)}}))
        failed = transact(self.client, actions)
        if not failed:
            return
        # Whatever else failed, a moved payment or an applied event means: read the payment again, decide again.
        if "event" in failed:
            applied_to = failed["event"].optional_text("payment_id")
            if applied_to is not None and applied_to != payment.payment_id:
                raise EventAppliedElsewhere(payment.payment_id)
            raise EventAlreadyApplied(payment.payment_id)
        if "payment" in failed or "mail" in failed:
            # A mail already queued for this payment means it settled meanwhile, as a moved version does.
            raise PaymentChanged(payment.payment_id)
        refused = unavailable(failed, {line.invoice_id: line.amount for line in payment.lines})
        if "receipt" in failed and not refused.invoice_ids:
            raise ReceiptCodeTaken(payment.payment_id)
        raise refused
