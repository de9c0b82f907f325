"""What the benchmarks share: figures, the environment, timing, the moto tables and the DynamoDB request recorder."""

from __future__ import annotations

import copy
import importlib
import io
import logging
import math
import os
import re
import statistics
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
FUNCTIONS = ("list_invoices", "create_payment", "gateway_callback")
REGION = "eu-west-3"
MET, MISSED, INFO = "met", "MISSED", "info"


@dataclass
class Figure:
    """One row of the table in docs/performance.md."""

    section: str
    name: str
    target: str
    measured: str
    verdict: str
    note: str = ""


def verdict(ok: bool) -> str:
    return MET if ok else MISSED


@dataclass
class Section:
    """What one benchmark module returns: its rows, and free text for the document (findings, breakdowns)."""

    title: str
    figures: list[Figure] = field(default_factory=list)
    details: list[str] = field(default_factory=list)
    data: dict[str, Any] = field(default_factory=dict)

    def add(self, name: str, target: str, measured: str, outcome: str, note: str = "") -> Figure:
        figure = Figure(self.title, name, target, measured, outcome, note)
        self.figures.append(figure)
        return figure


def progress(message: str) -> None:
    """Progress on stderr (stdout is kept for the final table)."""
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# -- environment -------------------------------------------------------------------------------------------------


def bench_environment() -> dict[str, str]:
    """The test suite's environment (fake AWS credentials, all settings and secrets), with limits out of the way.

    The limits only decide when a caller gets 429; raising them changes no request the benchmarks count.
    """
    from tests.conftest import TEST_ENVIRONMENT

    environment = dict(TEST_ENVIRONMENT)
    environment.update(
        {
            "EPAY_LOOKUP_LIMIT_PER_MINUTE": "100000",
            "EPAY_LOOKUP_MISSES_PER_HOUR": "1000000",
            "EPAY_PAYMENT_LIMIT_PER_MINUTE": "100000",
            "EPAY_PAYMENT_MISSES_PER_HOUR": "100000",
            # The benchmarks start many payments on one code; the slots are still claimed and counted (the most).
            "EPAY_LIVE_PAYMENTS_PER_CODE": "20",
            "POWERTOOLS_LOG_LEVEL": "INFO",
        }
    )
    return environment


def apply_environment() -> None:
    for name in list(os.environ):
        if name.startswith("EPAY_"):
            del os.environ[name]
    os.environ.update(bench_environment())


def import_handlers() -> dict[str, ModuleType]:
    """The three handler modules, imported by path as Lambda does (functions/<name>/ on sys.path)."""
    for name in FUNCTIONS:
        path = str(ROOT / "functions" / name)
        if path not in sys.path:
            sys.path.insert(0, path)
    return {name: importlib.import_module(f"{name}_handler") for name in FUNCTIONS}


class _Discard(io.TextIOBase):
    def write(self, text: str) -> int:
        return len(text)


DISCARD = _Discard()


def silence_logs() -> None:
    """The functions' JSON log lines go nowhere (they are still formatted and written, as in Lambda)."""
    for handler in logging.getLogger("epay").handlers:
        if isinstance(handler, logging.StreamHandler):
            handler.setStream(DISCARD)


# -- statistics and formatting -----------------------------------------------------------------------------------


def median(values: list[float]) -> float:
    return statistics.median(values)


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms" if seconds >= 0.01 else f"{seconds * 1000:.2f} ms"


def times(value: float) -> str:
    return f"{value:.2f}x"


# -- moto ------------------------------------------------------------------------------------------------------


class MotoClock:
    """Time spent inside moto (the emulator: parse, compute, respond), not in our code nor in botocore."""

    seconds = 0.0
    installed = False

    @classmethod
    def install(cls) -> None:
        if cls.installed:
            return
        from moto.core.botocore_stubber import BotocoreStubber

        original = BotocoreStubber.process_request

        def process_request(self: Any, request: Any) -> Any:
            started = time.perf_counter()
            try:
                return original(self, request)
            finally:
                cls.seconds += time.perf_counter() - started

        BotocoreStubber.process_request = process_request  # type: ignore[method-assign]
        cls.installed = True


@contextmanager
def moto_tables() -> Iterator[Any]:
    """A moto DynamoDB with template.yaml's tables; yields a plain client (no hooks) for set-up and inspection."""
    import boto3
    from moto import mock_aws

    from epay import runtime
    from epay_local.tables import ensure_tables, local_table_names

    MotoClock.install()
    with mock_aws():
        runtime.reset()
        plain = boto3.client("dynamodb", region_name=REGION)
        ensure_tables(plain, local_table_names(dict(os.environ)))
        try:
            yield plain
        finally:
            runtime.reset()


def moto_table(name: str) -> Any:
    """moto's in-memory table, for loading many items without a request per item."""
    from moto.core.models import DEFAULT_ACCOUNT_ID
    from moto.dynamodb.models import dynamodb_backends

    return dynamodb_backends[DEFAULT_ACCOUNT_ID][REGION].get_table(name)


# -- DynamoDB item sizes and request units -----------------------------------------------------------------------


def _number_size(text: str) -> int:
    digits = text.lstrip("-+").replace(".", "").lstrip("0").rstrip("0")
    return (max(len(digits), 1) + 1) // 2 + 1


def attribute_size(value: dict[str, Any]) -> int:
    """Bytes of one attribute value, by DynamoDB's item-size rules (docs: "Item sizes and formats")."""
    ((kind, data),) = value.items()
    if kind == "S":
        return len(str(data).encode("utf-8"))
    if kind == "N":
        return _number_size(str(data))
    if kind == "B":
        return len(data)
    if kind in ("BOOL", "NULL"):
        return 1
    if kind == "SS":
        return sum(len(item.encode("utf-8")) for item in data)
    if kind == "NS":
        return sum(_number_size(item) for item in data)
    if kind == "BS":
        return sum(len(item) for item in data)
    if kind == "L":
        return 3 + sum(1 + attribute_size(item) for item in data)
    if kind == "M":
        return 3 + sum(len(name.encode("utf-8")) + 1 + attribute_size(item) for name, item in data.items())
    raise ValueError(f"unknown attribute type {kind}")


def item_size(item: dict[str, Any] | None) -> int:
    if not item:
        return 0
    return sum(len(name.encode("utf-8")) + attribute_size(value) for name, value in item.items())


def _read_units(size: int, consistent: bool) -> float:
    units = max(1, math.ceil(size / 4096))
    return float(units) if consistent else units / 2


def _write_units(size: int) -> int:
    return max(1, math.ceil(size / 1024))


@dataclass
class Call:
    """One DynamoDB request as the product made it, with what it read and what it would be billed on demand."""

    operation: str
    params: dict[str, Any]
    response: dict[str, Any]
    error: str | None = None
    items_read: int = 0
    items_returned: int = 0
    rru: float = 0.0
    wru: float = 0.0
    seconds: float = 0.0


_PLACEHOLDER = re.compile(r"[#:][A-Za-z0-9_]+")


class Recorder:
    """Counts a client's DynamoDB requests through botocore's event hooks (`before-parameter-build`, `after-call`).

    With `side` (a second client on the same moto tables, without hooks) it also reads every written item before
    and after the request and re-reads the items a filtered Query evaluated, so request units follow DynamoDB's
    on-demand billing rules from real item sizes (moto's own ConsumedCapacity is a constant, so it is not used).
    """

    def __init__(self, client: Any, side: Any | None = None) -> None:
        self.client = client
        self.side = side
        self.active = False
        self.calls: list[Call] = []
        self._pending: tuple[str, dict[str, Any], list[dict[str, Any]], float] | None = None
        self._schemas: dict[str, tuple[list[str], list[tuple[str, str]]]] = {}
        client.meta.events.register("before-parameter-build.dynamodb", self._before, unique_id="bench-before")
        client.meta.events.register("after-call.dynamodb", self._after, unique_id="bench-after")

    def close(self) -> None:
        self.client.meta.events.unregister("before-parameter-build.dynamodb", unique_id="bench-before")
        self.client.meta.events.unregister("after-call.dynamodb", unique_id="bench-after")

    @contextmanager
    def recording(self) -> Iterator[list[Call]]:
        calls: list[Call] = []
        self.calls, self.active = calls, True
        try:
            yield calls
        finally:
            self.active = False

    # -- hooks ---------------------------------------------------------------------------------------------------

    def _before(self, params: dict[str, Any], model: Any, **_: Any) -> None:
        if not self.active:
            return
        writes = self._writes(model.name, params) if self.side is not None else []
        for write in writes:
            write["before"] = self._get(write["table"], write["key"])
        self._pending = (model.name, copy.deepcopy(params), writes, time.perf_counter())

    def _after(self, http_response: Any, parsed: dict[str, Any], model: Any, **_: Any) -> None:
        if not self.active or self._pending is None:
            return
        operation, params, writes, started = self._pending
        self._pending = None
        call = Call(operation, params, copy.deepcopy(parsed), seconds=time.perf_counter() - started)
        call.error = parsed.get("Error", {}).get("Code") if "Error" in parsed else None
        self._account(call, writes)
        self.calls.append(call)

    # -- accounting ----------------------------------------------------------------------------------------------

    def _schema(self, table: str) -> tuple[list[str], list[tuple[str, str]]]:
        """The table's key attributes and its global indexes' (hash, range) attributes."""
        if table not in self._schemas:
            assert self.side is not None
            described = self.side.describe_table(TableName=table)["Table"]
            keys = [entry["AttributeName"] for entry in described["KeySchema"]]
            indexes = []
            for index in described.get("GlobalSecondaryIndexes", []):
                names = {entry["KeyType"]: entry["AttributeName"] for entry in index["KeySchema"]}
                indexes.append((names["HASH"], names.get("RANGE", names["HASH"])))
            self._schemas[table] = (keys, indexes)
        return self._schemas[table]

    def _get(self, table: str, key: dict[str, Any]) -> dict[str, Any] | None:
        assert self.side is not None
        item: dict[str, Any] | None = self.side.get_item(TableName=table, Key=key, ConsistentRead=True).get("Item")
        return item

    def _writes(self, operation: str, params: dict[str, Any]) -> list[dict[str, Any]]:
        """The items a write request touches: kind, table, key, and (for Put) the new item."""

        def entry(kind: str, body: dict[str, Any], transactional: bool) -> dict[str, Any]:
            table = body["TableName"]
            if "Item" in body:
                keys, _ = self._schema(table)
                key = {name: body["Item"][name] for name in keys}
            else:
                key = body["Key"]
            return {"kind": kind, "table": table, "key": key, "item": body.get("Item"), "transactional": transactional}

        if operation in ("PutItem", "UpdateItem", "DeleteItem"):
            return [entry(operation, params, False)]
        if operation == "TransactWriteItems":
            return [entry(kind, body, True) for element in params["TransactItems"] for kind, body in element.items()]
        if operation == "BatchWriteItem":
            found = []
            for table, requests in params["RequestItems"].items():
                for request in requests:
                    if "PutRequest" in request:
                        found.append(entry("Put", {"TableName": table, **request["PutRequest"]}, False))
                    else:
                        found.append(entry("Delete", {"TableName": table, **request["DeleteRequest"]}, False))
            return found
        return []

    def _account(self, call: Call, writes: list[dict[str, Any]]) -> None:
        response, params = call.response, call.params
        if call.operation == "GetItem":
            item = response.get("Item")
            call.items_read = call.items_returned = 1 if item else 0
            call.rru = _read_units(item_size(item), bool(params.get("ConsistentRead")))
        elif call.operation == "BatchGetItem":
            for table, request in params["RequestItems"].items():
                found = response.get("Responses", {}).get(table, [])
                consistent = bool(request.get("ConsistentRead"))
                call.items_read += len(found)
                call.rru += sum(_read_units(item_size(item), consistent) for item in found)
                call.rru += (len(request["Keys"]) - len(found)) * _read_units(0, consistent)
            call.items_returned = call.items_read
        elif call.operation in ("Query", "Scan"):
            call.items_read = int(response.get("ScannedCount", 0))
            call.items_returned = int(response.get("Count", 0))
            evaluated = self._evaluated_size(call)
            call.rru = _read_units(evaluated, bool(params.get("ConsistentRead")))
        if writes:
            call.wru = sum(self._write_cost(write, call.error is None) for write in writes)
        elif call.operation in ("PutItem", "UpdateItem", "DeleteItem", "TransactWriteItems", "BatchWriteItem"):
            call.wru = 1.0  # no side client (replayed responses): the minimum

    def _evaluated_size(self, call: Call) -> int:
        """Bytes of every item the Query read before its filter (what DynamoDB bills), re-read without the filter."""
        items = call.response.get("Items", [])
        if "FilterExpression" not in call.params or self.side is None:
            return sum(item_size(item) for item in items)
        if call.items_read == 0:
            return 0
        again = {
            name: value
            for name, value in call.params.items()
            if name not in ("FilterExpression", "ExpressionAttributeNames", "ExpressionAttributeValues", "Limit")
        }
        used = set(_PLACEHOLDER.findall(call.params.get("KeyConditionExpression", "")))
        names = {k: v for k, v in call.params.get("ExpressionAttributeNames", {}).items() if k in used}
        values = {k: v for k, v in call.params.get("ExpressionAttributeValues", {}).items() if k in used}
        if names:
            again["ExpressionAttributeNames"] = names
        if values:
            again["ExpressionAttributeValues"] = values
        again["Limit"] = call.items_read
        return sum(item_size(item) for item in self.side.query(**again).get("Items", []))

    def _write_cost(self, write: dict[str, Any], succeeded: bool) -> float:
        before = write.get("before")
        after = self._get(write["table"], write["key"]) if succeeded else before
        size = max(item_size(before), item_size(after), item_size(write.get("item")))
        units = float(_write_units(size) * (2 if write["transactional"] else 1))
        if not succeeded:
            return units
        _, indexes = self._schema(write["table"])
        for hash_name, range_name in indexes:
            was = bool(before) and hash_name in before and range_name in before  # type: ignore[operator]
            now = bool(after) and hash_name in after and range_name in after  # type: ignore[operator]
            if was and now:
                moved = any(before[name] != after[name] for name in (hash_name, range_name))  # type: ignore[index]
                changed = before != after
                units += _write_units(item_size(after)) * (2 if moved else 1 if changed else 0)
            elif was or now:
                units += _write_units(item_size(after or before))
        return units


@dataclass
class Work:
    """The DynamoDB work of one API call."""

    requests: Counter[str]
    items_read: int
    items_returned: int
    rru: float
    wru: float

    @property
    def total(self) -> int:
        return sum(self.requests.values())

    def describe(self) -> str:
        if not self.requests:
            return "none"
        return " + ".join(f"{operation} {count}" for operation, count in sorted(self.requests.items()))


def summarise(calls: list[Call]) -> Work:
    return Work(
        requests=Counter(call.operation for call in calls),
        items_read=sum(call.items_read for call in calls),
        items_returned=sum(call.items_returned for call in calls),
        rru=sum(call.rru for call in calls),
        wru=sum(call.wru for call in calls),
    )


def alternate(first: Callable[[], float], second: Callable[[], float], rounds: int) -> tuple[list[float], list[float]]:
    """Run two measurements side by side, alternating which goes first, so drift hits both alike."""
    a: list[float] = []
    b: list[float] = []
    for index in range(rounds):
        if index % 2:
            b.append(second())
            a.append(first())
        else:
            a.append(first())
            b.append(second())
    return a, b
