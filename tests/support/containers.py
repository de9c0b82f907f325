"""Lambda containers as processes of their own, for the concurrency specifications.

Lambda runs one request at a time in a container, and Powertools relies on it: the request being resolved is kept
on its `BaseRouter` class, the logger's keys and the metrics buffer on process-wide objects. So threads of one
process are not containers. Each `Container` here is a process: forked from a server that has already imported the
layer (multiprocessing's forkserver: starting one is cheap, and it inherits none of the test process's threads or
mocks), it imports the function's handler as a cold start does, then serves invocations one at a time over a pipe.

The containers and the test share one DynamoDB: a moto server in the test process whose requests are each atomic,
as DynamoDB's are (`epay_local.moto_isolation`), so requests from different containers really interleave, one
DynamoDB request at a time. Each invocation runs at the test's clock (`epay.clock.now()` when it is sent) and
returns the log lines it wrote; everything a container writes also goes to `test-output/logs/process-<pid>.log`,
which the session's secret scan reads (tests/support/leaks.py).
"""

from __future__ import annotations

import io
import itertools
import logging
import multiprocessing
import os
import sys
import threading
import time
import traceback
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager, suppress
from multiprocessing.connection import Connection
from typing import Any

import requests

from epay import clock, runtime
from epay_local.gateway import LocalFunction
from epay_local.moto_isolation import serialise_moto_dynamodb
from epay_local.tables import ensure_tables, local_table_names
from epay_local.template import Route, routes
from tests.support.factories import FakeLambdaContext
from tests.support.leaks import LOG_DIR

# What a container's first request imports, imported once by the forkserver so each container starts warm.
_PRELOAD = [
    "boto3",
    "epay.callbacks",
    "epay.http",
    "epay.idempotency",
    "epay.lookup",
    "epay.payment_service",
    "epay.runtime",
    "epay.schemas",
    "epay.store",
    "epay_local.gateway",
    "aws_lambda_powertools.metrics",
    "aws_lambda_powertools.utilities.idempotency",
    "tests.support.factories",
]


class ContainerFailed(RuntimeError):
    """A container could not start, or its handler raised (Lambda would report an error)."""


def _serve(connection: Connection, route: Route, environment: dict[str, str]) -> None:
    """A container's life: the function's environment, its handler imported, then one invocation at a time."""
    log = (LOG_DIR / f"process-{os.getpid()}.log").open("a", encoding="utf-8")
    os.dup2(log.fileno(), 1)
    os.dup2(log.fileno(), 2)
    os.environ.clear()
    os.environ.update(environment)
    captured = io.StringIO()
    try:
        runtime.reset()
        handler = getattr(LocalFunction(route).load_module(), route.attribute)
        functions = logging.getLogger("epay")
        capture = logging.StreamHandler(captured)
        capture.setFormatter(functions.handlers[0].formatter)
        functions.addHandler(capture)
    except Exception:
        connection.send(("failed", traceback.format_exc()))
        return
    connection.send(("ready", None))
    while (request := connection.recv()) is not None:
        event, now = request
        clock.now = lambda now=now: now  # type: ignore[misc]
        clock.now_ms = lambda now=now: now * 1000  # type: ignore[misc]
        began = time.monotonic()
        try:
            response = handler(event, FakeLambdaContext())
        except Exception:
            connection.send(("failed", traceback.format_exc()))
            continue
        finally:
            sys.stdout.flush()
        ran = (began, time.monotonic())
        connection.send(("answered", (response, captured.getvalue().splitlines(), ran)))
        captured.seek(0)
        captured.truncate()


class Container:
    """One function's container in its own process; call it as its `lambda_handler(event, context)`. Like Lambda's,
    it serves one invocation at a time: concurrent calls to the same container wait their turn."""

    def __init__(self, context: Any, route: Route, environment: dict[str, str]) -> None:
        self._turn = threading.Lock()
        self._connection, theirs = context.Pipe()
        self._process = context.Process(target=_serve, args=(theirs, route, environment), daemon=True)
        self._process.start()
        theirs.close()
        self.log_lines: list[str] = []
        # When each invocation ran, on the machine's monotonic clock (the same in every process).
        self.busy: list[tuple[float, float]] = []

    def _receive(self) -> Any:
        if not self._connection.poll(60):
            raise ContainerFailed("the container did not answer within 60 s")
        state, value = self._connection.recv()
        if state == "failed":
            raise ContainerFailed(value)
        return value

    def wait_until_ready(self) -> None:
        self._receive()

    def __call__(self, event: dict[str, Any], context: Any = None) -> dict[str, Any]:
        with self._turn:
            self._connection.send((event, clock.now()))
            response, lines, ran = self._receive()
            self.log_lines += lines
            self.busy.append(ran)
        result: dict[str, Any] = response
        return result

    def stop(self) -> None:
        with suppress(BrokenPipeError, OSError):
            self._connection.send(None)
        self._process.join(timeout=10)
        if self._process.is_alive():
            self._process.terminate()
            self._process.join()
        self._connection.close()


class Containers:
    """Starts containers for the functions behind routes, and stops every one it started."""

    def __init__(self) -> None:
        self._context = multiprocessing.get_context("forkserver")
        self._context.set_forkserver_preload(_PRELOAD)
        self.started: list[Container] = []

    def __call__(self, method: str, path: str, count: int) -> list[Container]:
        """`count` containers of the function serving `method path`, each with the test's environment as it is."""
        route = next(route for route in routes() if (route.method, route.path) == (method, path))
        LOG_DIR.mkdir(parents=True, exist_ok=True)
        started = [Container(self._context, route, dict(os.environ)) for _ in range(count)]
        self.started += started
        for container in started:
            container.wait_until_ready()
        return started

    def log_lines(self) -> list[str]:
        """Every log line the containers wrote for their invocations."""
        return [line for container in self.started for line in container.log_lines]

    def ran_at_once(self, containers: list[Container]) -> bool:
        """Whether some invocations of these containers were running at the same time."""
        spans = sorted(span for container in containers for span in container.busy)
        return any(later[0] < earlier[1] for earlier, later in itertools.pairwise(spans))

    def stop(self) -> None:
        for container in self.started:
            container.stop()


@contextmanager
def lambda_containers() -> Iterator[Containers]:
    containers = Containers()
    try:
        yield containers
    finally:
        containers.stop()


@contextmanager
def shared_dynamodb() -> Iterator[str]:
    """A DynamoDB the test and its containers share, with the template's tables: a moto server in this process,
    each request atomic. Yields its endpoint; point `EPAY_DYNAMODB_ENDPOINT` at it."""
    from moto.server import ThreadedMotoServer

    serialise_moto_dynamodb()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    try:
        yield endpoint
    finally:
        # moto's server keeps its data in this process's moto backends, which the `dynamodb` fixture also uses.
        requests.post(f"{endpoint}/moto-api/reset", timeout=10)
        server.stop()


def create_tables(environment: dict[str, str]) -> None:
    """The template's tables, under the names `environment` gives them, on the endpoint the runtime uses."""
    ensure_tables(runtime.dynamodb(), local_table_names(environment))


def all_at_once(calls: list[Callable[[], Any]]) -> list[Any]:
    """Run every call on its own thread, released together; return their results in order."""
    start = threading.Barrier(len(calls))

    def run(call: Callable[[], Any]) -> Any:
        start.wait()
        return call()

    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        return list(pool.map(run, calls))
