"""DynamoDB work per API call: requests by operation, items read, request units, counted through botocore's hooks.

Each scenario runs the real handler (payload 2.0 event) against moto's DynamoDB, with `common.Recorder` hooked on the
client `epay.runtime.dynamodb()` built. Request units follow DynamoDB's on-demand rules from the real item sizes
(see `common.Recorder`): reads round each item (GetItem/BatchGetItem) or the whole Query's evaluated items up to
4 KB, eventually consistent reads count half; writes round each item up to 1 KB, transactional writes count
double, and a write that adds, changes or removes an item of a global secondary index adds that index's write.
"""

from __future__ import annotations

from types import ModuleType

from benchmarks.common import INFO, Recorder, Section, Work, moto_tables, progress, summarise, verdict
from benchmarks.scenarios import SCENARIOS, Scenario, prepared_world
from epay import runtime

TITLE = "2. DynamoDB work per API call"


def _idempotent(scenario: Scenario) -> bool:
    return "Idempotency-Key" in scenario.name


def _finds_nothing(scenario: Scenario) -> bool:
    return "finds nothing" in scenario.name


def _target(scenario: Scenario) -> str:
    if scenario.kind == "search" and _finds_nothing(scenario):
        # Charged before the read, the miss recorded after it (a refused lookup reads no invoice).
        return "no Scan; fits one read: 1 Query (+ 2 UpdateItem: rate limit, then the miss)"
    if scenario.kind == "search":
        return "no Scan; fits one read: 1 Query (+ 1 UpdateItem rate limit)"
    if scenario.kind in ("payment", "callback"):
        if _idempotent(scenario):
            # The payments issue requires Powertools idempotency, which keeps its record outside the transaction.
            return "≤ 3 requests, 1 TransactWriteItems (+ 2 idempotency-record writes)"
        if scenario.transaction:
            return "≤ 3 requests, 1 TransactWriteItems"
        return "≤ 3 requests, no transaction (evidence only)"
    return "—"


def _note(scenario: Scenario, work: Work) -> str:
    if scenario.kind == "payment" and work.requests.get("PutItem", 0):
        return "Powertools idempotency: PutItem (in progress) + UpdateItem (completed) on its own table"
    return ""


def _meets(scenario: Scenario, work: Work) -> str:
    if work.requests.get("Scan"):
        return verdict(False)
    if scenario.kind == "search":
        return verdict(dict(work.requests) == {"Query": 1, "UpdateItem": 2 if _finds_nothing(scenario) else 1})
    if scenario.kind in ("payment", "callback"):
        transactions = work.requests.get("TransactWriteItems", 0)
        allowed = 5 if _idempotent(scenario) else 3
        return verdict(work.total <= allowed and transactions == (1 if scenario.transaction else 0))
    return INFO


def measured_text(work: Work) -> str:
    return (
        f"{work.describe()} = {work.total} req; items read {work.items_read} (returned {work.items_returned}); "
        f"{work.rru:g} RRU + {work.wru:g} WRU"
    )


def measure(handlers: dict[str, ModuleType]) -> Section:
    section = Section(TITLE)
    works: dict[str, Work] = {}
    with moto_tables() as plain:
        world = prepared_world(handlers)
        recorder = Recorder(runtime.dynamodb(), side=plain)
        try:
            for scenario in SCENARIOS:
                request = scenario.prepare(world)
                with recorder.recording() as calls:
                    world.check(scenario.function, request)
                work = summarise(calls)
                works[scenario.name] = work
                section.add(
                    scenario.name,
                    _target(scenario),
                    measured_text(work),
                    _meets(scenario, work),
                    _note(scenario, work),
                )
        finally:
            recorder.close()
    scans = sum(work.requests.get("Scan", 0) for work in works.values())
    section.add(
        "every call above: Scan requests", "never a Scan", f"{scans} Scan in {len(works)} calls", verdict(scans == 0)
    )
    section.data["works"] = works
    progress(f"DynamoDB work: {len(works)} calls counted")
    return section
