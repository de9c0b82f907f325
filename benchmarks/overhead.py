"""Per-request overhead: warm in-process latency of each route, next to a minimal handler making the same calls.

For each route the real handler first runs once against moto with `common.Recorder` on, which records the exact
DynamoDB requests and answers. Then botocore's Stubber answers that sequence from memory, and two handlers take
turns on the same stubbed client, the same event and the same process:

- the product's `lambda_handler` (Powertools resolver and validation, domain, store, logging, metrics);
- a minimal hand-written handler: decode the body, make the same DynamoDB calls with the same parameters, write one
  JSON log line, encode the same answer (`json.dumps` of its content; a route without DynamoDB work returns its
  answer's text, as a hand-written handler would keep it).

The stubbed client still validates and serialises every request and parses nothing but the canned answer, so the
ratio is our per-request CPU over the unavoidable part. While the routes run warm, client creations, settings
parses and secret reads are counted: each must happen once per container, never per request.
"""

from __future__ import annotations

import contextlib
import copy
import cProfile
import json
import pstats
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from types import ModuleType
from typing import Any
from urllib.parse import parse_qsl

from botocore import xform_name
from botocore.stub import Stubber

from benchmarks.common import (
    DISCARD,
    INFO,
    Call,
    Recorder,
    Section,
    alternate,
    median,
    moto_tables,
    progress,
    times,
    verdict,
)
from benchmarks.scenarios import Scenario, World, prepared_world, scenario
from epay import runtime
from tests.support.factories import FakeLambdaContext

TITLE = "4. Per-request overhead (warm, DynamoDB answered from memory)"
TARGET_RATIO = 2.0
ROUTES = [
    "search, no filter",
    "search, text",
    "GET /v1/openapi.json",
    "POST /v1/payments (CMI CARD)",
    "GET /v1/payments/{id}",
    "POST /v1/payments/{id}/cancel",
    "callback CMI, approved (settles)",
    "callback M2T, PAID (settles)",
    "callback Fatourati inquiry",
    "callback Fatourati confirm (settles)",
    "GET /v1/payments/{id}/return",
]


@dataclass
class Plan:
    """The DynamoDB calls of one request, in order, with the answers to give back."""

    calls: list[tuple[str, dict[str, Any], dict[str, Any]]]

    @classmethod
    def of(cls, recorded: list[Call]) -> Plan:
        calls = []
        for call in recorded:
            if call.error:
                raise AssertionError(f"{call.operation} failed while recording: {call.error}")
            answer = {name: value for name, value in call.response.items() if name != "ResponseMetadata"}
            calls.append((xform_name(call.operation), call.params, answer))
        return cls(calls)

    def queue(self, stubber: Stubber, requests: int) -> None:
        for _ in range(requests):
            for method, _params, answer in self.calls:
                stubber.add_response(method, copy.deepcopy(answer))


class Minimal:
    """A hand-written handler doing the same DynamoDB calls as the product's route, and nothing else."""

    def __init__(self, client: Any, plan: Plan, answer: dict[str, Any]) -> None:
        self.calls = [(getattr(client, method), params) for method, params, _ in plan.calls]
        self.status = answer["statusCode"]
        self.headers = {"Content-Type": answer["headers"].get("Content-Type", "application/json")}
        self.headers["Cache-Control"] = "no-store"
        body = answer.get("body") or ""
        self.text = body
        self.payload = json.loads(body) if plan.calls and body[:1] in "{[" else None

    def __call__(self, event: dict[str, Any], context: Any) -> dict[str, Any]:
        raw = event.get("body") or ""
        if raw:
            _request = json.loads(raw) if raw[:1] == "{" else dict(parse_qsl(raw))
        for method, params in self.calls:
            method(**params)
        DISCARD.write(json.dumps({"level": "INFO", "message": "handled", "request": context.aws_request_id}) + "\n")
        body = json.dumps(self.payload) if self.payload is not None else self.text
        return {"statusCode": self.status, "headers": self.headers, "body": body}


class Probe:
    """Counts what must happen once per container (client creation, settings parse, secret read) while it runs."""

    def __init__(self) -> None:
        self.counts = {"DynamoDB/any client created": 0, "settings parsed": 0, "secrets read": 0}

    @contextlib.contextmanager
    def watching(self) -> Iterator[None]:
        import botocore.session

        from epay import config

        patched: list[tuple[Any, str, Any]] = []

        def wrap(owner: Any, name: str, label: str, static: bool = False) -> None:
            original = owner.__dict__[name] if static else getattr(owner, name)
            inner = original.__func__ if isinstance(original, classmethod) else original

            def counted(*args: Any, **kwargs: Any) -> Any:
                self.counts[label] += 1
                return inner(*args, **kwargs)

            patched.append((owner, name, original))
            setattr(owner, name, classmethod(counted) if isinstance(original, classmethod) else counted)

        wrap(botocore.session.Session, "create_client", "DynamoDB/any client created")
        wrap(config.EnvironmentSettings, "from_environment", "settings parsed", static=True)
        wrap(config, "secret", "secrets read")
        wrap(runtime, "secret", "secrets read")
        try:
            yield
        finally:
            for owner, name, original in reversed(patched):
                setattr(owner, name, original)


_CATEGORIES = [
    ("/botocore/", "botocore (the calls)"),
    ("/boto3/", "botocore (the calls)"),
    ("/urllib3/", "botocore (the calls)"),
    ("/aws_lambda_powertools/event_handler/", "Powertools resolver + validation"),
    ("/aws_lambda_powertools/logging/", "logging"),
    ("/logging/__init__.py", "logging"),
    ("/aws_lambda_powertools/metrics/", "metrics"),
    ("/aws_lambda_powertools/", "Powertools (other)"),
    ("/pydantic", "pydantic"),
    ("/epay/", "epay (our code)"),
    ("_handler.py", "epay (our code)"),
    ("/json/", "json"),
]


def _category(filename: str) -> str:
    return next((label for marker, label in _CATEGORIES if marker in filename), "other (stdlib)")


def breakdown(profile: cProfile.Profile) -> Counter[str]:
    """Own CPU time by package; time in C built-ins (json encoder, hashing...) goes to the package calling them."""
    found: Counter[str] = Counter()
    raw = pstats.Stats(profile).stats  # type: ignore[attr-defined]
    for (filename, _line, _name), (_cc, _nc, own, _cumulative, callers) in raw.items():
        if filename != "~":
            found[_category(filename)] += own
            continue
        for (caller_file, _l, _n), edge in callers.items():
            found[_category(caller_file) if caller_file != "~" else "other (stdlib)"] += edge[2]
    return found


def _timed(run: Callable[[], object], requests: int) -> tuple[float, float]:
    wall, cpu = time.perf_counter(), time.process_time()
    for _ in range(requests):
        run()
    return (time.perf_counter() - wall) / requests, (time.process_time() - cpu) / requests


def _compare(
    world: World,
    item: Scenario,
    recorder: Recorder,
    probe: Probe,
    rounds: int,
    batch: int,
    profiles: dict[str, str],
) -> dict[str, float]:
    request = item.prepare(world)
    with recorder.recording() as recorded:
        answer = world.check(item.function, request)
    plan = Plan.of(recorded)
    client = runtime.dynamodb()
    minimal = Minimal(client, plan, answer)
    handler = world.handlers[item.function].lambda_handler
    context = FakeLambdaContext()
    event = request.event
    stubber = Stubber(client)
    stubber.activate()
    samples: dict[str, list[tuple[float, float]]] = {"product": [], "minimal": []}

    def block(label: str, run: Callable[[dict[str, Any], Any], dict[str, Any]]) -> Callable[[], float]:
        def measure() -> float:
            plan.queue(stubber, batch)
            last: dict[str, Any] = {}

            def once() -> None:
                nonlocal last
                last = run(event, context)

            with probe.watching() if label == "product" else contextlib.nullcontext():
                wall, cpu = _timed(once, batch)
            stubber.assert_no_pending_responses()
            if last["statusCode"] != request.status:
                raise AssertionError(f"{item.name}: {label} answered {last['statusCode']} under the stub")
            samples[label].append((wall, cpu))
            return cpu

        return measure

    profile = cProfile.Profile()
    try:
        with contextlib.redirect_stdout(DISCARD):
            for label, run in (("product", handler), ("minimal", minimal)):
                block(label, run)()  # warm-up, not kept
                samples[label].clear()
            alternate(block("product", handler), block("minimal", minimal), rounds)
            plan.queue(stubber, batch)
            profile.enable()
            for _ in range(batch):
                handler(event, context)
            profile.disable()
    finally:
        stubber.deactivate()
    shares = breakdown(profile)
    total = sum(shares.values())
    profiles[item.name] = ", ".join(
        f"{label} {100 * seconds / total:.0f} %" for label, seconds in shares.most_common() if seconds / total >= 0.02
    )
    return {
        "product_cpu": median([cpu for _, cpu in samples["product"]]),
        "minimal_cpu": median([cpu for _, cpu in samples["minimal"]]),
        "product_wall": median([wall for wall, _ in samples["product"]]),
        "minimal_wall": median([wall for wall, _ in samples["minimal"]]),
        "calls": float(len(plan.calls)),
    }


def _us(seconds: float) -> str:
    return f"{seconds * 1e6:,.0f} µs"


def measure(handlers: dict[str, ModuleType], rounds: int = 11, batch: int = 25) -> Section:
    section = Section(TITLE)
    probe = Probe()
    results: dict[str, dict[str, float]] = {}
    profiles: dict[str, str] = {}
    with moto_tables():
        world = prepared_world(handlers)
        recorder = Recorder(runtime.dynamodb())
        for name in ROUTES:
            results[name] = _compare(world, scenario(name), recorder, probe, rounds, batch, profiles)
            progress(f"overhead: {name}")
        recorder.close()
    for name, result in results.items():
        ratio = result["product_cpu"] / result["minimal_cpu"]
        calls = int(result["calls"])
        section.add(
            f"{name} ({calls} DynamoDB call{'s' if calls != 1 else ''})",
            f"≤ {TARGET_RATIO:g}x minimal",
            f"{_us(result['product_cpu'])} vs {_us(result['minimal_cpu'])} CPU = {times(ratio)} "
            f"(wall {_us(result['product_wall'])} vs {_us(result['minimal_wall'])})",
            verdict(ratio <= TARGET_RATIO) if calls else INFO,
        )
    warm_requests = len(ROUTES) * (rounds + 1) * batch
    counts = ", ".join(f"{label}: {count}" for label, count in probe.counts.items())
    section.add(
        "clients, settings, secrets built per warm request",
        "once per container (0 while warm)",
        f"{counts} in {warm_requests:,} warm requests",
        verdict(not any(probe.counts.values())),
    )
    section.details.append(
        "Where a warm request's CPU goes (cProfile of the product handler, own time by package; C built-ins "
        "counted with their caller; the minimal handler is essentially the botocore share):"
    )
    section.details += [f"- {name}: {shares}" for name, shares in profiles.items()]
    section.data["results"] = results
    return section
