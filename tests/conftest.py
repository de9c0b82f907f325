"""Shared fixtures: an isolated environment for every test, a moto DynamoDB built from template.yaml."""

from __future__ import annotations

import functools
import io
import logging
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from epay import runtime
from epay_local.moto_isolation import serialise_moto_dynamodb
from epay_local.tables import ensure_tables, local_table_names

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
    "EPAY_CMI_STORE_KEY": "test-cmi-store-key",
    "EPAY_M2T_SECRET": "test-m2t-secret",
    "EPAY_FATOURATI_SECRET": "test-fatourati-secret",
    "EPAY_CMI_CLIENT_ID": "600000000",
    "EPAY_CMI_GATEWAY_URL": "https://testpayment.cmi.co.ma/fim/est3Dgate",
    "EPAY_M2T_MERCHANT_ID": "PORTNET-TEST",
    "EPAY_M2T_GATEWAY_URL": "https://checkout.m2t.example/checkout",
    "EPAY_PUBLIC_API_URL": "https://api.example.ma",
    "EPAY_FRONTEND_URL": "https://www.example.ma/e-paiement/",
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
    for name, value in TEST_ENVIRONMENT.items():
        monkeypatch.setenv(name, value)
    runtime.reset()
    yield
    runtime.reset()


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
def store(dynamodb: Any) -> Any:
    return runtime.store()


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
