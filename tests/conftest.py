"""Shared fixtures: an isolated environment for every test, a moto DynamoDB built from template.yaml."""

from __future__ import annotations

import functools
import io
import logging
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import boto3
import pytest
import requests
from moto import mock_aws

from epay import runtime
from epay_local.demo import DEMO_CODES
from epay_local.moto_isolation import serialise_moto_dynamodb
from epay_local.tables import ensure_tables, local_table_names
from tests.support.factories import INVOICE_ID_KEY
from tests.support.leaks import LOG_DIR, SERVE_SECRETS, LeakWatch, log_records

if TYPE_CHECKING:
    from tests.support.containers import Containers
    from tests.support.payments import FrozenClock

# This module is also imported outside pytest (benchmarks/common.py reads TEST_ENVIRONMENT), where the handlers are
# not on sys.path: what imports them is imported by the fixtures that need it.

TEST_ENVIRONMENT = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SECURITY_TOKEN": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "eu-west-3",
    "EPAY_TABLE": "epay-test",
    "EPAY_RATE_LIMIT_TABLE": "epay-test-rate-limits",
    "EPAY_IDEMPOTENCY_TABLE": "epay-test-idempotency",
    "EPAY_CURSOR_SECRET": "test-cursor-secret-0123456789abcdef",
    "EPAY_CHALLENGE_SECRET": "test-challenge-secret-0123456789abcdef",
    "EPAY_INVOICE_ID_KEY": INVOICE_ID_KEY,
    "EPAY_CMI_STORE_KEY": "test-cmi-store-key",
    "EPAY_M2T_SECRET": "test-m2t-secret",
    "EPAY_FATOURATI_SECRET": "test-fatourati-secret",
    "EPAY_CMI_API_PASSWORD": "test-cmi-api-password",
    "EPAY_CMI_API_URL": "https://testpayment.cmi.co.ma/fim/api",
    "EPAY_CMI_API_USER": "portnet-api",
    "EPAY_M2T_API_URL": "https://checkout.m2t.example/api",
    "EPAY_CMI_CLIENT_ID": "600000000",
    "EPAY_CMI_GATEWAY_URL": "https://testpayment.cmi.co.ma/fim/est3Dgate",
    "EPAY_M2T_MERCHANT_ID": "PORTNET-TEST",
    "EPAY_M2T_GATEWAY_URL": "https://checkout.m2t.example/checkout",
    "EPAY_PUBLIC_API_URL": "https://api.example.ma",
    "EPAY_FRONTEND_URL": "https://www.example.ma/e-paiement/",
    "EPAY_MAIL_FROM": "e-paiement@portnet.ma",
    "POWERTOOLS_SERVICE_NAME": "epay",
    "POWERTOOLS_METRICS_NAMESPACE": "Epay",
    "POWERTOOLS_DEV": "false",
}


@pytest.fixture(autouse=True)
def test_environment(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Every test starts from the same environment and rebuilt singletons, and no real AWS endpoint."""
    for name in list(__import__("os").environ):
        if name.startswith("EPAY_"):
            monkeypatch.delenv(name)
    # Not deployed (epay.config.is_deployed), whatever machine runs the tests.
    monkeypatch.delenv("AWS_LAMBDA_FUNCTION_NAME", raising=False)
    for name, value in TEST_ENVIRONMENT.items():
        monkeypatch.setenv(name, value)
    runtime.reset()
    yield
    runtime.reset()


@pytest.fixture
def frozen(monkeypatch: pytest.MonkeyPatch) -> FrozenClock:
    """The service's clock stopped at the contract's example instant (`tests.support.payments.NOW`) until the test
    moves it (`frozen.advance(seconds)`)."""
    from tests.support.payments import freeze_clock

    return freeze_clock(monkeypatch)


@functools.cache
def _shared_session() -> boto3.Session:
    return boto3.Session()


@pytest.fixture
def dynamodb() -> Iterator[Any]:
    """A moto DynamoDB with the tables of template.yaml (same keys, indexes and TTLs as deployed)."""
    serialise_moto_dynamodb()
    with mock_aws():
        # moto clears boto3's default session on entry; reusing one keeps botocore's parsed models warm.
        boto3.DEFAULT_SESSION = _shared_session()
        client = boto3.client("dynamodb", region_name="eu-west-3")
        ensure_tables(client, local_table_names(dict(TEST_ENVIRONMENT)))
        runtime.reset()
        yield client


@pytest.fixture
def invoice_store(dynamodb: Any) -> Any:
    """The invoice store of the functions (`epay.runtime`), over the moto tables."""
    return runtime.invoice_store()


@pytest.fixture
def containers(monkeypatch: pytest.MonkeyPatch) -> Iterator[Containers]:
    """`containers(method, path, count)`: that many Lambda containers of the function serving `method path`, each a
    process of its own (tests/support/containers.py), for requests that must really run at once. They and the test
    share a moto server with the template's tables: use this fixture instead of `dynamodb`, not with it."""
    from tests.support.containers import create_tables, lambda_containers, shared_dynamodb

    with shared_dynamodb() as endpoint:
        monkeypatch.setenv("EPAY_DYNAMODB_ENDPOINT", endpoint)
        runtime.reset()
        create_tables(dict(TEST_ENVIRONMENT))
        with lambda_containers() as started:
            yield started


class CapturedLogs:
    """Log lines as CloudWatch would receive them (the functions' own JSON formatter)."""

    def __init__(self) -> None:
        self.sink = io.StringIO()

    def text(self) -> str:
        return self.sink.getvalue()

    def lines(self) -> list[str]:
        return self.text().splitlines()


@pytest.fixture
def logs() -> Iterator[CapturedLogs]:
    """Every log line the functions write during a test."""
    logger = logging.getLogger("epay")
    captured = CapturedLogs()
    capture = logging.StreamHandler(captured.sink)
    capture.setFormatter(logger.handlers[0].formatter)
    logger.addHandler(capture)
    try:
        yield captured
    finally:
        logger.removeHandler(capture)


# -- campaign 5: no secret, card number or subscription code in any log line of the whole session ---------------

LEAKS = LeakWatch(
    secrets={
        *(
            value
            for name, value in TEST_ENVIRONMENT.items()
            if "SECRET" in name or name.endswith(("_KEY", "_PASSWORD"))
        ),
        *SERVE_SECRETS.values(),
    },
)
_SESSION_LOG = io.StringIO()


@pytest.fixture(scope="session", autouse=True)
def every_log_line_is_scanned() -> Iterator[None]:
    """Capture what the functions log in-process, and remember every subscription code the tests send."""
    from epay import lookup, payment_service

    for code in DEMO_CODES:
        LEAKS.watch_code(code)
    logger = logging.getLogger("epay")
    capture = logging.StreamHandler(_SESSION_LOG)
    capture.setFormatter(logger.handlers[0].formatter)
    logger.addHandler(capture)
    original_criteria = lookup.criteria_from
    original_create = payment_service.PaymentService.create

    def criteria_from(request: Any) -> Any:
        LEAKS.watch_code(request.subscription_code)
        return original_criteria(request)

    def create(self: Any, request: Any, *args: Any, **kwargs: Any) -> Any:
        LEAKS.watch_code(request.subscription_code)
        return original_create(self, request, *args, **kwargs)

    original_request = requests.sessions.Session.request

    def request(self: Any, method: str, url: str, *args: Any, **kwargs: Any) -> Any:
        # Codes sent over HTTP to the `epay serve` processes of the end-to-end tests.
        body = kwargs.get("json")
        if isinstance(body, dict) and isinstance(body.get("subscription_code"), str):
            LEAKS.watch_code(body["subscription_code"])
        return original_request(self, method, url, *args, **kwargs)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(requests.sessions.Session, "request", request)
        patch.setattr(lookup, "criteria_from", criteria_from)
        patch.setattr(payment_service.PaymentService, "create", create)
        yield
    logger.removeHandler(capture)


def pytest_sessionstart(session: pytest.Session) -> None:
    for stale in LOG_DIR.glob("process-*.log"):
        stale.unlink()


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    lines = _SESSION_LOG.getvalue().splitlines()
    for log in sorted(LOG_DIR.glob("process-*.log")):
        lines += log_records(log.read_text(encoding="utf-8", errors="replace"))
    findings = LEAKS.findings(lines)
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None:
        reporter.write_line(
            f"log scan: {len(lines)} log lines, {len(LEAKS.secrets)} secrets, {len(LEAKS.codes)} subscription codes "
            f"watched: {len(findings)} leak(s)"
        )
        for finding in findings[:20]:
            reporter.write_line(f"  LEAK {finding}", red=True)
    if findings:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
