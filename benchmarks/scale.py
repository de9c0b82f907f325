"""How cost grows with data: page depth, the size of other codes' data, and the size of the code itself.

DynamoDB bills a Query for the items it reads (ScannedCount, rounded by size), whatever else the table holds; that
is the cost figure here, counted per request as in `dynamodb_work`. Wall time is measured too, but moto answers a
Query on a global secondary index by walking every item of the table in Python (`moto/dynamodb/models/table.py`,
`Table.query`: `for item in self.all_items()`), so its time grows with the table where DynamoDB's does not. To keep
that artefact apart, the time spent inside moto is clocked separately (`common.MotoClock`) and our own time is the
rest: handler, domain, botocore.
"""

from __future__ import annotations

import gc
import json
import time
from dataclasses import dataclass
from types import ModuleType
from typing import Any

from benchmarks.common import (
    INFO,
    MotoClock,
    Recorder,
    Section,
    Work,
    alternate,
    median,
    moto_table,
    moto_tables,
    ms,
    progress,
    summarise,
    times,
    verdict,
)
from benchmarks.scenarios import World, search_event
from epay import runtime
from epay_local.template import table_definitions
from tests.support.factories import many_invoices

TITLE = "3. How cost grows with data"
BIG_CODE, BIG_COUNT, PAGE_SIZE = "BIG1", 2000, 10
SMALL_CODE, SMALL_COUNT = "MAR1", 35
TIME_TARGET = 1.2


@dataclass
class Sample:
    """One timed search: the whole request, and the part of it spent inside moto."""

    wall: float
    moto: float

    @property
    def ours(self) -> float:
        return self.wall - self.moto


def _count(world: World, recorder: Recorder, body: dict[str, Any]) -> tuple[Work, dict[str, Any]]:
    """The search's DynamoDB work (the recorder also re-reads items to size them, so it is never timed)."""
    with recorder.recording() as calls:
        response = world.call("list_invoices", search_event(body))
    if response["statusCode"] != 200:
        raise AssertionError(f"search answered {response['statusCode']}: {response['body'][:200]}")
    return summarise(calls), json.loads(response["body"])


def _time(world: World, body: dict[str, Any]) -> Sample:
    """The search timed whole and inside moto, with no recorder at work."""
    event = search_event(body)
    moto_before, started = MotoClock.seconds, time.perf_counter()
    response = world.call("list_invoices", event)
    sample = Sample(time.perf_counter() - started, MotoClock.seconds - moto_before)
    if response["statusCode"] != 200:
        raise AssertionError(f"search answered {response['statusCode']}")
    return sample


def _medians(samples: list[Sample]) -> tuple[float, float, float]:
    return median([s.wall for s in samples]), median([s.moto for s in samples]), median([s.ours for s in samples])


def _side_by_side(world: World, bodies: tuple[dict[str, Any], dict[str, Any]], reps: int) -> list[list[Sample]]:
    found: list[list[Sample]] = [[], []]

    def run(index: int) -> float:
        sample = _time(world, bodies[index])
        found[index].append(sample)
        return sample.wall

    run(0), run(1)  # warm-up
    found[0].clear()
    found[1].clear()
    alternate(lambda: run(0), lambda: run(1), reps)
    return found


def _depth(section: Section, world: World, recorder: Recorder, reps: int) -> None:
    """Walk the 2,000-invoice code page by page, then time page 1 and page 200 side by side."""
    cursor: str | None = None
    pages: list[Work] = []
    cursors: list[str | None] = []
    seen = 0
    while True:
        cursors.append(cursor)
        work, page = _count(world, recorder, {"subscription_code": BIG_CODE, "page_size": PAGE_SIZE, "cursor": cursor})
        pages.append(work)
        seen += len(page["items"])
        cursor = page["next_cursor"]
        if cursor is None:
            break
    if seen != BIG_COUNT or len(pages) != BIG_COUNT // PAGE_SIZE:
        raise AssertionError(f"walked {len(pages)} pages and {seen} invoices")
    first, last = pages[0], pages[-1]
    reads = [page.items_read for page in pages]
    queries = [page.requests["Query"] for page in pages]
    section.add(
        f"items read per page, code with {BIG_COUNT:,} unpaid: page 1 vs page {len(pages)}",
        "equal (≤ page_size + 1, whatever the depth)",
        f"{first.items_read} vs {last.items_read} items, {queries[0]} vs {queries[-1]} Query "
        f"({first.rru:g} vs {last.rru:g} RRU); all {len(pages)} pages: {min(reads)}-{max(reads)} items, "
        f"{max(queries)} Query each",
        verdict(max(reads) <= PAGE_SIZE + 1 and max(queries) == 1),
        "the last page reads its 10 invoices and finds no 11th",
    )
    bodies = tuple({"subscription_code": BIG_CODE, "page_size": PAGE_SIZE, "cursor": cursors[i]} for i in (0, -1))
    shallow, deep = _side_by_side(world, bodies, reps)  # type: ignore[arg-type]
    (w1, m1, o1), (w2, m2, o2) = _medians(shallow), _medians(deep)
    section.add(
        f"our time per search (outside moto), page {len(pages)} / page 1",
        f"≤ {TIME_TARGET}x",
        f"{ms(o2)} / {ms(o1)} = {times(o2 / o1)} (whole request {ms(w2)} / {ms(w1)} = {times(w2 / w1)}; "
        f"moto {ms(m2)} / {ms(m1)})",
        verdict(o2 / o1 <= TIME_TARGET),
    )
    section.data["depth"] = {"pages": len(pages), "first": first, "last": last}


def _code_size(section: Section, world: World, recorder: Recorder) -> None:
    """Searches whose filter is not a key condition read the code's unpaid invoices until a page is full."""
    rows: list[tuple[str, dict[str, Any]]] = [
        ("invoice number", {"invoice_number": "N-00017"}),
        ("text matching nothing", {"filters": {"text": "introuvable"}}),
    ]
    for label, extra in rows:
        small, _ = _count(world, recorder, {"subscription_code": SMALL_CODE, **extra})
        big, _ = _count(world, recorder, {"subscription_code": BIG_CODE, **extra})
        is_lookup = label == "invoice number"
        section.add(
            f"search by {label}: code with {SMALL_COUNT} vs {BIG_COUNT:,} unpaid invoices",
            "independent of the code's size (a point lookup)" if is_lookup else "—",
            f"{small.items_read} vs {big.items_read:,} items read, {small.requests['Query']} vs "
            f"{big.requests['Query']} Query ({small.rru:g} vs {big.rru:g} RRU)",
            verdict(big.items_read == small.items_read) if is_lookup else INFO,
            "" if is_lookup else "a substring filter must read what it filters; bounded by the code's own size",
        )
        section.data[f"code size, {label}"] = (small, big)


def _create_table(plain: Any, name: str) -> None:
    definition = table_definitions()["EpayTable"]
    arguments = {key: value for key, value in definition.items() if not key.startswith("_")}
    plain.create_table(TableName=name, **arguments)


def _other_codes(count: int, start: int = 0) -> list[Any]:
    per_code = 100
    invoices = []
    for index in range(start // per_code, (start + count) // per_code):
        invoices += many_invoices(f"O{index:03d}", per_code)
    return invoices


def _neighbours(section: Section, world: World, plain: Any, small: int, large: int, reps: int) -> None:
    """One code's page while the table holds `small` vs `large` invoices of other codes, side by side.

    Both tables live in the same moto; the warm container switches between them by its invoice store's table name (as
    another EPAY_TABLE would), so client, settings and code stay warm and only the data differs.
    """
    tables = {small: "epay-scale-small", large: "epay-scale-large"}
    store = runtime.invoice_store()
    home = store.table
    body = {"subscription_code": SMALL_CODE}
    works: dict[int, Work] = {}
    recorder = Recorder(runtime.dynamodb(), side=plain)
    try:
        for size, name in tables.items():
            _create_table(plain, name)
            store.table = name
            world.load(many_invoices(SMALL_CODE, SMALL_COUNT) + _other_codes(size))
            progress(f"scale: {len(moto_table(name).all_items()):,} items in the table with {size:,} of other codes")
            works[size], _ = _count(world, recorder, body)
        # The emulator's items stay alive all along: keep the garbage collector from walking them in our timings.
        gc.collect()
        gc.freeze()
    finally:
        store.table = home
        recorder.close()
    found: list[list[Sample]] = [[], []]
    names = (tables[small], tables[large])

    def run(index: int) -> float:
        store.table = names[index]
        try:
            sample = _time(world, body)
        finally:
            store.table = home
        found[index].append(sample)
        return sample.wall

    run(0), run(1)  # warm-up
    found[0].clear()
    found[1].clear()
    alternate(lambda: run(0), lambda: run(1), reps)
    a, b = works[small], works[large]
    section.add(
        f"items read for one code's page: table with {small:,} vs {large:,} invoices of other codes",
        "equal",
        f"{a.items_read} vs {b.items_read} items, {a.describe()} vs {b.describe()} "
        f"({a.rru:g} vs {b.rru:g} RRU + {a.wru:g} vs {b.wru:g} WRU)",
        verdict(a.items_read == b.items_read and a.requests == b.requests and a.rru == b.rru),
    )
    (w1, m1, o1), (w2, m2, o2) = _medians(found[0]), _medians(found[1])
    section.add(
        f"wall time of that search, {large:,} / {small:,} (whole request on moto)",
        f"≤ {TIME_TARGET}x",
        f"{ms(w2)} / {ms(w1)} = {times(w2 / w1)}, of which moto {ms(m2)} / {ms(m1)} = {times(m2 / m1)}",
        INFO,
        "moto artefact: its GSI Query walks the whole table in Python; DynamoDB reads the partition only "
        "(items read above are equal)",
    )
    section.add(
        f"our time of that search (outside moto), {large:,} / {small:,}",
        f"≤ {TIME_TARGET}x",
        f"{ms(o2)} / {ms(o1)} = {times(o2 / o1)}",
        verdict(o2 / o1 <= TIME_TARGET),
    )
    section.data["neighbours"] = {"small": found[0], "large": found[1], "works": works}


def measure(
    handlers: dict[str, ModuleType],
    small: int = 1_000,
    large: int = 100_000,
    reps: int = 9,
    neighbour_reps: int = 15,
) -> Section:
    section = Section(TITLE)
    with moto_tables() as plain:
        world = World(handlers)
        world.load(many_invoices(BIG_CODE, BIG_COUNT) + many_invoices(SMALL_CODE, SMALL_COUNT))
        gc.collect()
        gc.freeze()
        recorder = Recorder(runtime.dynamodb(), side=plain)
        try:
            _depth(section, world, recorder, reps)
            progress("scale: 200 pages walked")
            _code_size(section, world, recorder)
        finally:
            recorder.close()
        _neighbours(section, world, plain, small, large, neighbour_reps)
    gc.unfreeze()
    return section
