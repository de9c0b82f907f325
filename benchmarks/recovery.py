"""Recovery: what one pass costs DynamoDB as the due payments and the table grow, and how long a pass takes.

A pass (`epay.recovery.RecoveryService.run_pass`) reads the payments due for a check from the sparse recovery index
(`RecoveryIndex`, keys only), then visits each: a consistent read, a claim, the gateway's status answer applied
through the callback engine, the next check scheduled. Its DynamoDB work must grow with the payments due and with
nothing else: settled payments and invoices are not in the index, and a pass never Scans.

The pass is wired as `epay.runtime.recovery_service` wires it (the DynamoDB stores, a callback engine with no
route), with the in-process gateway ledgers of tests/support/merchant_apis.py as merchant APIs: they answer at once,
so what is measured is our side (requests, CPU, moto). Requests are counted as in `dynamodb_work` (`common.Recorder`
on the client; one worker, since the recorder follows one request at a time); the pass is timed with the deployed
settings (`EPAY_RECOVERY_WORKERS`, 8) and moto's share clocked apart (`common.MotoClock`), as in `scale`.

Every due payment is put in the table as the product writes it: the first through `DynamoPaymentStore.create_payment`,
checked against the items the rest are loaded as (`bulk_put`, no request per item).
"""

from __future__ import annotations

import copy
import gc
import math
import time
import types
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import Any

from benchmarks.common import (
    INFO,
    MotoClock,
    Recorder,
    Section,
    Work,
    moto_tables,
    ms,
    progress,
    summarise,
    verdict,
)
from benchmarks.scenarios import bulk_put, invoice_item
from epay import runtime
from epay.adapters.dynamodb.invoices import DynamoInvoiceStore
from epay.adapters.dynamodb.items import payment_item
from epay.adapters.dynamodb.payments import DynamoPaymentStore
from epay.callbacks import PAID_ELSEWHERE, CallbackService
from epay.config import RecoverySettings, load
from epay.gateways.cmi import notice_fingerprint
from epay.gateways.registry import GatewayRegistry
from epay.invoices import Invoice, InvoiceStatus
from epay.payments import LEASE_SECONDS, Capture, Payer, Payment, PaymentLine, PaymentStatus, Recovery
from epay.recovery import VISIT_SECONDS, PassReport, RecoveryService, Visit
from epay_local.moto_isolation import serialise_moto_dynamodb
from epay_local.template import table_definitions
from tests.support.factories import many_invoices
from tests.support.merchant_apis import FakeCmi, FakeM2t

TITLE = "8. Recovery pass (DynamoDB work and time per pass)"
DUE_COUNTS = (10, 100, 1_000)
NEIGHBOURS_DUE = 100
HOLD = 1800
AFTER = 600
LAMBDA_TIMEOUT = 300
LAMBDA_MEMORY_MB = 512
FULL_VCPU_MB = 1769
DYNAMODB_ROUND_TRIP_MS = 5.0
TRANSACTION = "26015K1Q0001"  # CMI's TransId of each authorisation
CODES = {10: "RDA1", 100: "RDB1", 1_000: "RDC1"}
GATEWAY_ANSWER_SECONDS = (0.3, 1.0, 5.0)  # a typical merchant API answer, a slow one, the client's timeout


@dataclass
class Due:
    """The payments of one table whose check is due, and the gateways' side of them."""

    payments: list[Payment]
    invoices: list[Invoice]
    cmi: FakeCmi
    m2t: FakeM2t


# -- the payments ---------------------------------------------------------------------------------------------


def _card_payment(invoice: Invoice, index: int, now: int, **changes: Any) -> Payment:
    """A CMI card payment for one invoice, created `AFTER` + `index` seconds ago: its first check is due."""
    created = now - AFTER - index
    payment = Payment(
        payment_id=f"PAY-BENCH{index:08d}{invoice.subscription_code}",
        subscription_code=invoice.subscription_code,
        issuer=invoice.issuer,
        gateway="CMI",
        method="CARD",
        lines=(PaymentLine(invoice.invoice_id, invoice.invoice_number, invoice.amount),),
        amount=invoice.amount,
        payer=Payer("Société Maritime", "compta@example.ma"),
        lang="fr",
        status=PaymentStatus.PENDING,
        created_at=created,
        expires_at=created + HOLD,
        recovery=Recovery(due=created + AFTER),
    )
    return replace(payment, **changes)


def _held_invoice_item(invoice: Invoice, payment: Payment, now: int) -> dict[str, Any]:
    """The invoice's item once the payment holds it (what `create_payment`'s hold writes)."""
    item = invoice_item(invoice, now)
    item["hold_payment_id"] = {"S": payment.payment_id}
    item["hold_expires_at"] = {"N": str(payment.expires_at)}
    return item


def _create_table(plain: Any, name: str) -> None:
    definition = table_definitions()["EpayTable"]
    plain.create_table(TableName=name, **{key: value for key, value in definition.items() if not key.startswith("_")})


def _load_due(plain: Any, table: str, code: str, count: int, now: int) -> Due:
    """`count` card payments due for their first check, each holding one invoice; CMI never saw them (the payer
    left its page): the commonest visit, asked and rescheduled. The first is written by the product itself and the
    bulk items must equal what it wrote."""
    invoices = many_invoices(code, count, issuers=("ANP",))
    payments = [_card_payment(invoice, index, now) for index, invoice in enumerate(invoices)]
    bulk_put(table, [invoice_item(invoice, now) for invoice in invoices])
    store = DynamoPaymentStore(runtime.dynamodb(), table)
    store.create_payment(payments[0], now)
    first = payments[0]
    stored_payment = plain.get_item(
        TableName=table, Key={"pk": {"S": f"PAYMENT#{first.payment_id}"}, "sk": {"S": "PAYMENT"}}
    )
    stored_invoice = plain.get_item(
        TableName=table, Key={"pk": {"S": f"INVOICE#{invoices[0].invoice_id}"}, "sk": {"S": "INVOICE"}}
    )
    if stored_payment["Item"] != payment_item(first) or stored_invoice["Item"] != _held_invoice_item(
        invoices[0], first, now
    ):
        raise AssertionError("benchmarks.recovery's items no longer match DynamoPaymentStore.create_payment")
    bulk_put(table, [payment_item(payment) for payment in payments[1:]])
    bulk_put(table, [_held_invoice_item(i, p, now) for i, p in zip(invoices[1:], payments[1:], strict=True)])
    return Due(payments, invoices, FakeCmi(), FakeM2t())


def _load_settled(table: str, count: int, now: int) -> int:
    """`count` settled card payments and their paid invoices (2 x `count` items), none due for a check."""
    items: list[dict[str, Any]] = []
    per_code = 1000
    for block in range(math.ceil(count / per_code)):
        invoices = many_invoices(f"S{block:03d}", min(per_code, count - block * per_code), issuers=("ANP",))
        for index, invoice in enumerate(invoices):
            paid = _card_payment(
                invoice,
                index,
                now - 86_400,
                status=PaymentStatus.PAID,
                paid_at=now - 86_400,
                capture=Capture.DONE,
                settled_by=f"CMI|{invoice.invoice_id}|T|00",
                recovery=Recovery(),
            )
            settled = invoice_item(replace(invoice, status=InvoiceStatus.PAID), now - 86_400)
            del settled["list_pk"], settled["list_sk"]
            settled["paid_payment_id"] = {"S": paid.payment_id}
            settled["paid_at"] = {"N": str(now - 86_400)}
            items += [payment_item(paid), settled]
    bulk_put(table, items)
    return len(items)


def _service(
    table: str, due: Due, now: int, workers: int | None = None, monotonic: Callable[[], float] = lambda: 0.0
) -> RecoveryService:
    """As `epay.runtime.recovery_service` builds it, on `table`, with the ledgers as merchant APIs. Its pass clock
    (`monotonic`) is stopped unless told otherwise: the counted passes visit every due payment, whatever moto's
    time."""
    config = load(RecoverySettings)
    if workers is not None:
        config = config.model_copy(update={"workers": workers})
    client = runtime.dynamodb()
    invoices, payments = DynamoInvoiceStore(client, table), DynamoPaymentStore(client, table)
    engine = CallbackService(invoices=invoices, payments=payments, settings=config, gateways=GatewayRegistry({}))
    return RecoveryService(
        invoices=invoices,
        payments=payments,
        callbacks=engine,
        apis={"CMI": due.cmi, "M2T": due.m2t},
        settings=config,
        now_ms=lambda: now * 1000,
        monotonic=monotonic,
    )


def _counted(recorder: Recorder, service: RecoveryService) -> tuple[Work, PassReport]:
    with recorder.recording() as calls:
        report = service.run_pass()
    if not report.completed:
        raise AssertionError(f"the pass failed: {report.as_dict()}")
    return summarise(calls), report


def _text(work: Work) -> str:
    return f"{work.describe()} = {work.total} req; items read {work.items_read:,}; {work.rru:g} RRU + {work.wru:g} WRU"


def _per_payment(work: Work, due: int) -> dict[str, float]:
    """Requests per due payment, by operation, the index Query left out."""
    return {operation: count / due for operation, count in work.requests.items() if operation != "Query"}


@contextmanager
def transaction_backups_of_touched_items() -> Iterator[None]:
    """moto's `TransactWriteItems` first deep-copies the whole table (once per item of the transaction), to restore it
    if the transaction fails: a visit's cost grows with the table, a pass's with its square (a pass over 1,000 due
    payments took about 9 minutes here, 98 % of it inside moto). While this is on, the backup copies the table's
    index of items and deep-copies only the items the transaction names, which is all a failed transaction can have
    changed: the same rollback, at a cost that no longer depends on the table. Requests must be serialised
    (`epay_local.moto_isolation`), as they are here."""
    from moto.dynamodb import models
    from moto.dynamodb.models.dynamo_type import DynamoType
    from moto.dynamodb.models.table import Table

    touched: dict[str, list[dict[str, Any]]] = {}

    def backup(table: Any, memo: Any = None) -> Any:
        if not isinstance(table, Table):
            return copy.deepcopy(table, memo)
        clone = copy.copy(table)
        clone.items = defaultdict(dict, {key: dict(ranges) for key, ranges in table.items.items()})
        for key in touched.get(table.name, []):
            hash_key = DynamoType(key[table.hash_key_attr])
            range_key = DynamoType(key[table.range_key_attr]) if table.range_key_attr else None
            found = table.items.get(hash_key, {}).get(range_key)
            if found is not None:
                clone.items[hash_key][range_key] = copy.deepcopy(found)
        return clone

    original = models.DynamoDBBackend.transact_write_items

    def transact_write_items(self: Any, transact_items: list[dict[str, Any]]) -> None:
        touched.clear()
        for element in transact_items:
            _, operation = next(iter(element.items()))
            table = self.tables.get(operation.get("TableName"))
            if table is not None:
                source = operation.get("Key") or operation.get("Item") or {}
                names = [name for name in (table.hash_key_attr, table.range_key_attr) if name]
                touched.setdefault(table.name, []).append({name: source[name] for name in names})
        original(self, transact_items)

    models.copy = types.SimpleNamespace(**{**vars(copy), "deepcopy": backup})  # type: ignore[attr-defined]
    models.DynamoDBBackend.transact_write_items = transact_write_items  # type: ignore[method-assign]
    try:
        yield
    finally:
        models.copy = copy  # type: ignore[attr-defined]
        models.DynamoDBBackend.transact_write_items = original  # type: ignore[method-assign]


# -- the figures ----------------------------------------------------------------------------------------------


def _growth(section: Section, plain: Any, recorder: Recorder, now: int) -> None:
    works: dict[int, Work] = {}
    for count in DUE_COUNTS:
        table = f"epay-recovery-due-{count}"
        _create_table(plain, table)
        due = _load_due(plain, table, CODES[count], count, now)
        works[count], report = _counted(recorder, _service(table, due, now, workers=1))
        if report.due != count or report.visits[Visit.WAITING] != count:
            raise AssertionError(f"expected {count} waiting visits: {report.as_dict()}")
        progress(f"recovery: a pass over {count:,} due payments counted")
    shapes = {count: _per_payment(work, count) for count, work in works.items()}
    queries = {count: work.requests.get("Query", 0) for count, work in works.items()}
    scans = sum(work.requests.get("Scan", 0) for work in works.values())
    for count, work in works.items():
        per = ", ".join(f"{operation} {value:g}" for operation, value in sorted(shapes[count].items()))
        section.add(
            f"one pass, {count:,} due payments (abandoned card payments, asked and rescheduled)",
            "no Scan; 1 index Query per 1,000 due; the same requests per due payment",
            f"{_text(work)}; per due payment: {per}; {work.rru / count:.2f} RRU + {work.wru / count:.2f} WRU",
            verdict(
                not work.requests.get("Scan")
                and queries[count] == math.ceil(count / 1000)
                and shapes[count] == shapes[DUE_COUNTS[0]]
            ),
        )
    largest = works[DUE_COUNTS[-1]]
    section.add(
        "every pass above: Scan requests",
        "never a Scan",
        f"{scans} Scan in {len(works)} passes",
        verdict(scans == 0),
    )
    section.data["growth"] = works
    section.data["per_visit"] = _per_payment(largest, DUE_COUNTS[-1])
    per = _per_payment(largest, DUE_COUNTS[-1])
    section.details += [
        f"A pass reads the due payments' keys from the recovery index in one Query (keys only: "
        f"{largest.requests.get('Query', 0)} Query for {DUE_COUNTS[-1]:,} due), then each payment with a consistent "
        f"GetItem. The commonest visit, an abandoned payment, then writes it twice: the claim (its check moved "
        f"{LEASE_SECONDS} s ahead) and the next check; {per.get('TransactWriteItems', 0):g} one-item "
        f"TransactWriteItems per visit. A transactional write costs twice a plain one, and each of these moves the "
        "payment in the recovery index (one more write): a conditional `PutItem` for a one-item change would halve "
        "the table's part of those units. Not changed here (production code); noted for the next cost review.",
        "",
    ]


def _neighbours(section: Section, plain: Any, recorder: Recorder, now: int, extra: int) -> None:
    """The same due payments, alone in their table and beside `extra` items of settled payments and invoices."""
    works: dict[int, Work] = {}
    for size in (0, extra):
        table = f"epay-recovery-beside-{size}"
        _create_table(plain, table)
        loaded = _load_settled(table, extra // 2, now) if size else 0
        due = _load_due(plain, table, "NB01", NEIGHBOURS_DUE, now)
        works[size], _ = _counted(recorder, _service(table, due, now, workers=1))
        progress(f"recovery: {NEIGHBOURS_DUE} due beside {loaded:,} settled items counted")
    alone, beside = works[0], works[extra]
    section.add(
        f"one pass, {NEIGHBOURS_DUE} due payments: table without vs with {extra:,} settled payments and invoices",
        "equal (the index is sparse: settled items are not in it)",
        f"{alone.total} vs {beside.total} req ({alone.describe()} vs {beside.describe()}); items read "
        f"{alone.items_read} vs {beside.items_read}; {alone.rru:g} vs {beside.rru:g} RRU + "
        f"{alone.wru:g} vs {beside.wru:g} WRU",
        verdict(
            alone.requests == beside.requests
            and alone.items_read == beside.items_read
            and alone.rru == beside.rru
            and alone.wru == beside.wru
        ),
    )


def _visit_kinds(section: Section, plain: Any, recorder: Recorder, now: int) -> None:
    """What one visit costs by what it finds: the other visits recovery makes, 10 of each."""
    kinds: list[tuple[str, Callable[[Due], None], Visit]] = [
        ("CMI authorised, callback lost: settled, then captured", _authorised, Visit.CAPTURED),
        ("paid, capture asked in our callback answer: checked", _captured_by_answer, Visit.CAPTURED),
        ("invoices paid by another payment, CMI authorised: voided", _paid_elsewhere, Visit.REVERSED),
        ("hold lapsed, CMI never saw it: recorded EXPIRED, hold released", _lapsed, Visit.EXPIRED),
    ]
    lines = [
        "| visit | requests per visit | items read per visit | RRU + WRU per visit |",
        "| --- | --- | --- | --- |",
    ]
    count = 10
    for index, (label, arrange, expected) in enumerate(kinds):
        table = f"epay-recovery-kind-{index}"
        _create_table(plain, table)
        due = _load_due(plain, table, f"K{index:03d}", count, now)
        arrange(due)
        for payment in due.payments:  # the arranged state, written as the product writes it
            bulk_put(table, [payment_item(payment)])
        work, report = _counted(recorder, _service(table, due, now, workers=1))
        if report.visits[expected] != count:
            raise AssertionError(f"{label}: {report.as_dict()}")
        visits = {operation: n for operation, n in work.requests.items() if operation != "Query"}
        per = " + ".join(f"{operation} {n / count:g}" for operation, n in sorted(visits.items()))
        index = work.requests.get("Query", 0)
        lines.append(
            f"| {label} | {per} | {(work.items_read - count) / count:g} | {work.rru / count:.2f} + "
            f"{work.wru / count:g} |"
        )
        if index != 1:
            raise AssertionError(f"{label}: {index} index Query for {count} due payments")
    section.details += [
        "What one visit costs by what it finds, 10 visits of each kind in one pass (the pass's one index Query, "
        "which reads each due payment's key, left out of requests and items read; the rows of the table above are "
        "the commonest visit, an abandoned payment asked and rescheduled: GetItem 2 + TransactWriteItems 2):",
        "",
        *lines,
        "",
    ]


def _authorised(due: Due) -> None:
    for payment in due.payments:
        due.cmi.authorise(payment.payment_id, payment.amount, TRANSACTION)


def _captured_by_answer(due: Due) -> None:
    for index, payment in enumerate(due.payments):
        due.cmi.authorise(payment.payment_id, payment.amount, TRANSACTION)
        due.cmi.postauth_from_callback(payment.payment_id)
        due.payments[index] = replace(
            payment,
            status=PaymentStatus.PAID,
            # Settled by its callback as soon as it was created: the capture check is due once the settlement is
            # EPAY_RECOVERY_AFTER_SECONDS old (recovery gives CMI that long to capture on our answer).
            paid_at=payment.created_at,
            capture=Capture.DUE,
            settled_by=notice_fingerprint(payment.payment_id, TRANSACTION, "00"),
        )


def _paid_elsewhere(due: Due) -> None:
    for index, payment in enumerate(due.payments):
        due.cmi.authorise(payment.payment_id, payment.amount, TRANSACTION)
        due.payments[index] = replace(
            payment,
            status=PaymentStatus.NEEDS_REVIEW,
            review_reason=PAID_ELSEWHERE,
            settled_by=notice_fingerprint(payment.payment_id, TRANSACTION, "00"),
        )


def _lapsed(due: Due) -> None:
    for index, payment in enumerate(due.payments):
        due.payments[index] = replace(payment, expires_at=payment.created_at + AFTER)


def _timed(section: Section, plain: Any, now: int) -> None:
    """One pass over 1,000 due payments, timed with one worker (moto's share clocked apart) and as deployed."""
    count = DUE_COUNTS[-1]
    runs: dict[int, tuple[float, float, PassReport, RecoverySettings]] = {}
    for workers, code in ((1, "TIM1"), (load(RecoverySettings).workers, "TIM8")):
        table = f"epay-recovery-timed-{workers}"
        _create_table(plain, table)
        due = _load_due(plain, table, code, count, now)
        service = _service(table, due, now, workers=workers, monotonic=time.monotonic)  # the pass's own budget
        gc.collect()
        moto_before, started = MotoClock.seconds, time.perf_counter()
        report = service.run_pass()
        wall, moto = time.perf_counter() - started, MotoClock.seconds - moto_before
        if not report.completed or report.visits[Visit.WAITING] + report.out_of_time != count:
            raise AssertionError(f"the timed pass: {report.as_dict()}")
        runs[workers] = (wall, moto, report, service.settings)
        progress(f"recovery: a pass over {count:,} due payments timed, {workers} worker(s): {wall:.1f} s")
    (one, moto, _, _), (deployed, _, report, settings) = runs[1], runs[max(runs)]
    ours = one - moto
    section.add(
        f"wall time of one pass over {count:,} due payments, gateways answering at once (moto), as deployed "
        f"({settings.workers} workers)",
        f"< EPAY_RECOVERY_PASS_SECONDS ({settings.pass_seconds} s), nothing left for the next pass",
        f"{deployed:.1f} s; left for the next pass: {report.out_of_time}",
        verdict(deployed < settings.pass_seconds and report.out_of_time == 0),
        "moto serialises requests (epay_local.moto_isolation): the workers overlap nothing here",
    )
    section.add(
        f"the same pass with one worker: moto's share and ours ({count:,} visits)",
        "-",
        f"{one:.1f} s, of which moto {moto:.1f} s and ours {ours:.1f} s ({ms(ours / count)} per visit)",
        INFO,
        "ours: our code, botocore and the in-process gateways, on this machine's core",
    )
    section.data["timed"] = {
        "deployed": deployed,
        "one": one,
        "moto": moto,
        "ours": ours,
        "count": count,
        "workers": settings.workers,
    }
    _lambda_estimate(section, settings, count, ours)


def _lambda_estimate(section: Section, settings: RecoverySettings, count: int, ours: float) -> None:
    """What the figure means for the deployed function: a 300 s timeout, a 240 s pass, 8 workers."""
    per_visit = section.data.get("per_visit", {})
    requests = sum(per_visit.values())
    cpu = ours / count * FULL_VCPU_MB / LAMBDA_MEMORY_MB  # our time here, at a 512 MB share of one vCPU
    rows = [
        "| gateway answer | one visit | 1,000 visits, 8 workers | visits a 240 s pass starts |",
        "| --- | --- | --- | --- |",
    ]
    for gateway in (0.0, *GATEWAY_ANSWER_SECONDS):
        visit = gateway + requests * DYNAMODB_ROUND_TRIP_MS / 1000 + cpu
        # The workers wait on the network side by side; our CPU (a share of one vCPU) does not parallelise.
        each = max(visit / settings.workers, cpu)
        whole = count * each
        budget = settings.pass_seconds - VISIT_SECONDS  # a visit starts only with VISIT_SECONDS left
        started = min(count, int(budget / each))
        rows.append(
            f"| {'at once' if not gateway else f'{gateway:g} s'} | {visit * 1000:.0f} ms | {whole:.0f} s | "
            f"{started:,} of {count:,} |"
        )
    section.details += [
        f"What the timed pass means for the deployed function (timeout {LAMBDA_TIMEOUT} s, "
        f"EPAY_RECOVERY_PASS_SECONDS={settings.pass_seconds}, EPAY_RECOVERY_WORKERS={settings.workers}, "
        f"{LAMBDA_MEMORY_MB} MB): a visit costs our CPU ({ms(ours / count)} here, about {ms(cpu)} at a "
        f"{LAMBDA_MEMORY_MB}/{FULL_VCPU_MB} share of a vCPU), {requests:g} DynamoDB requests of about "
        f"{DYNAMODB_ROUND_TRIP_MS:g} ms each, and the gateway's answer (one status call for these visits; up to "
        f"three calls of at most 5 s for one that captures or returns money). A pass starts no visit with less than "
        f"{VISIT_SECONDS} s left, so it ends by about the pass budget plus one visit, inside the timeout; what it "
        "could not start is left for the next pass (`left_for_next_pass`), 5 minutes later. Estimated from the "
        "figures above, not measured on Lambda:",
        "",
        *rows,
        "",
    ]


def measure(extra: int = 10_000) -> Section:
    section = Section(TITLE)
    serialise_moto_dynamodb()  # the timed pass runs 8 workers; moto's transactions are not isolated otherwise
    now = int(time.time())
    with moto_tables() as plain, transaction_backups_of_touched_items():
        recorder = Recorder(runtime.dynamodb(), side=plain)
        try:
            _growth(section, plain, recorder, now)
            _neighbours(section, plain, recorder, now, extra)
            _visit_kinds(section, plain, recorder, now)
        finally:
            recorder.close()
        _timed(section, plain, now)
    gc.collect()
    return section
