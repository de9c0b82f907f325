"""The use cases on the in-memory stores: a fresh harness per test, and the metrics the use cases emit."""

from __future__ import annotations

import pytest

from epay.observability import metrics
from tests.support.engine import Harness


@pytest.fixture
def h() -> Harness:
    """The use cases on fresh in-memory stores, at `engine.NOW` until the test moves the clock."""
    return Harness()


@pytest.fixture(autouse=True)
def counted(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The names of the metrics emitted during the test, in order; none piles up in Powertools' shared buffer."""
    names: list[str] = []

    def add_metric(*, name: str, unit: str, value: float) -> None:
        names.append(name)

    monkeypatch.setattr(metrics, "add_metric", add_metric)
    return names
