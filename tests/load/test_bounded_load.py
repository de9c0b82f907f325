"""A bounded load run in `make test`: a few users for a few seconds, searches and payments mixed, zero errors.
The figures of the longer run (`make load`) are in docs/reliability.md; no timing is asserted here."""

from __future__ import annotations

import pytest

from tests.load.run import run

pytestmark = pytest.mark.e2e


def test_a_short_mixed_load_is_served_without_a_single_error():
    figures = run(seconds=8, users=6, invoices=120)
    total = figures["Aggregated"]
    assert total["requests"] > 50
    assert total["failures"] == 0
    assert {"search", "start payment", "cancel payment"} <= figures.keys()
