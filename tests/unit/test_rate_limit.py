"""Request limits per client address: N a minute, then 429 with Retry-After; and, for lookups, a budget of
searches that find nothing per hour, past which every lookup from that address waits for the next hour."""

import pytest

from epay.errors import DomainError
from epay.ratelimit import RateLimiter
from tests.support.fakes import CountingHits

HOUR_START = 1_795_773_600  # a multiple of 3600


def limiter(limit=3, counter=None, miss_limit=None):
    return RateLimiter(counter or CountingHits(), "lookup", limit, b"key", miss_limit=miss_limit)


def refusal(gate, subject, now):
    with pytest.raises(DomainError) as refused:
        gate.check(subject, now)
    assert refused.value.status == 429
    assert refused.value.code == "RATE_LIMITED"
    return int(refused.value.headers["Retry-After"])


def test_requests_up_to_the_limit_pass():
    gate = limiter()
    for _ in range(3):
        gate.check("192.0.2.1", HOUR_START)


def test_the_next_request_gets_429_with_seconds_until_the_minute_ends():
    gate = limiter()
    for _ in range(3):
        gate.check("192.0.2.1", HOUR_START + 15)
    assert refusal(gate, "192.0.2.1", HOUR_START + 15) == 45


def test_addresses_are_counted_separately():
    gate = limiter(limit=1)
    gate.check("192.0.2.1", HOUR_START)
    gate.check("192.0.2.2", HOUR_START)


def test_a_new_minute_starts_a_new_count():
    gate = limiter(limit=1)
    gate.check("192.0.2.1", HOUR_START)
    gate.check("192.0.2.1", HOUR_START + 60)


def test_counters_never_contain_the_address():
    counter = CountingHits()
    limiter(counter=counter).check("192.0.2.1", HOUR_START)
    assert all("192.0.2.1" not in name for name in counter.counts)


def test_past_the_miss_budget_every_lookup_from_the_address_waits_for_the_next_hour():
    gate = limiter(limit=100, miss_limit=2)
    for _ in range(2):
        gate.check("192.0.2.1", HOUR_START, missed=True)
    assert refusal(gate, "192.0.2.1", HOUR_START + 600) == 3000
    with_miss = refusal_on_miss(gate, "192.0.2.1", HOUR_START + 600)
    assert with_miss == 3000
    gate.check("192.0.2.2", HOUR_START + 600)
    gate.check("192.0.2.1", HOUR_START + 3600)


def refusal_on_miss(gate, subject, now):
    with pytest.raises(DomainError) as refused:
        gate.check(subject, now, missed=True)
    return int(refused.value.headers["Retry-After"])


def test_the_lookup_that_spends_the_budget_is_still_served_like_any_other():
    gate = limiter(limit=100, miss_limit=2)
    gate.check("192.0.2.1", HOUR_START, missed=True)
    gate.check("192.0.2.1", HOUR_START, missed=True)


def test_misses_are_not_counted_when_no_budget_is_set():
    counter = CountingHits()
    gate = limiter(counter=counter)
    gate.check("192.0.2.1", HOUR_START, missed=True)
    assert all("misses" not in fields for fields in counter.counts.values())


# -- payments: a budget of requests naming unknown invoices (issue 9, item 8) ---------------------------------


def payment_gate(counter=None, miss_limit=2):
    return RateLimiter(counter or CountingHits(), "payment", 100, b"key", miss_limit=miss_limit)


def test_a_miss_found_after_the_request_was_let_through_is_counted_without_counting_a_request():
    counter = CountingHits()
    gate = payment_gate(counter)
    gate.check("192.0.2.1", HOUR_START)
    gate.record_miss("192.0.2.1", HOUR_START)


# -- lookups: charged before they read, a miss recorded after (outside review, issue 9, item 8) ------------------


def test_charging_counts_the_request_and_never_a_miss():
    counter = CountingHits()
    limiter(counter=counter, miss_limit=5).charge("192.0.2.1", HOUR_START)
    (counts,) = counter.counts.values()
    assert counts == {"m0": 1}


def test_a_recorded_miss_counts_only_the_miss():
    counter = CountingHits()
    gate = limiter(counter=counter, miss_limit=5)
    gate.charge("192.0.2.1", HOUR_START)
    gate.record_miss("192.0.2.1", HOUR_START)
    (counts,) = counter.counts.values()
    assert counts == {"m0": 1, "misses": 1}


def test_past_the_payment_miss_budget_every_request_from_the_address_waits_for_the_next_hour():
    gate = payment_gate(miss_limit=2)
    for _ in range(2):
        gate.check("192.0.2.1", HOUR_START)
        gate.record_miss("192.0.2.1", HOUR_START)
    assert refusal(gate, "192.0.2.1", HOUR_START + 600) == 3000
    gate.check("192.0.2.2", HOUR_START + 600)
    gate.check("192.0.2.1", HOUR_START + 3600)


def test_no_miss_is_counted_without_a_miss_budget():
    counter = CountingHits()
    RateLimiter(counter, "payment", 100, b"key").record_miss("192.0.2.1", HOUR_START)
    assert counter.counts == {}


def test_no_miss_is_recorded_when_no_budget_is_set():
    counter = CountingHits()
    limiter(counter=counter).record_miss("192.0.2.1", HOUR_START)
    assert counter.counts == {}


def test_a_charge_past_the_minute_limit_is_refused_until_the_minute_ends():
    gate = limiter(limit=2)
    gate.charge("192.0.2.1", HOUR_START + 15)
    gate.charge("192.0.2.1", HOUR_START + 15)
    with pytest.raises(DomainError) as refused:
        gate.charge("192.0.2.1", HOUR_START + 15)
    assert refused.value.headers["Retry-After"] == "45"


def test_past_the_recorded_misses_every_charge_waits_for_the_next_hour():
    gate = limiter(limit=100, miss_limit=2)
    for _ in range(2):
        gate.charge("192.0.2.1", HOUR_START)
        gate.record_miss("192.0.2.1", HOUR_START)
    with pytest.raises(DomainError) as refused:
        gate.charge("192.0.2.1", HOUR_START + 600)
    assert refused.value.code == "RATE_LIMITED"
    assert refused.value.headers["Retry-After"] == "3000"
    gate.charge("192.0.2.2", HOUR_START + 600)
    gate.charge("192.0.2.1", HOUR_START + 3600)


def test_the_charge_that_follows_the_last_allowed_miss_is_the_first_refused():
    gate = limiter(limit=100, miss_limit=2)
    gate.charge("192.0.2.1", HOUR_START)
    gate.record_miss("192.0.2.1", HOUR_START)
    gate.charge("192.0.2.1", HOUR_START)  # one miss recorded: still within the budget, whatever this one finds
    gate.record_miss("192.0.2.1", HOUR_START)
    with pytest.raises(DomainError):
        gate.charge("192.0.2.1", HOUR_START)
