"""The lookup rate limit: N requests per client address per minute, then 429 with Retry-After."""

import pytest

from epay.errors import DomainError
from epay.ratelimit import RateLimiter
from tests.support.fakes import CountingHits

MINUTE_START = 1_795_000_020  # a multiple of 60


def limiter(limit=3, counter=None):
    return RateLimiter(counter or CountingHits(), "lookup", limit, b"key")


def test_requests_up_to_the_limit_pass():
    gate = limiter()
    for _ in range(3):
        gate.check("192.0.2.1", MINUTE_START)


def test_the_next_request_gets_429_with_seconds_until_the_window_ends():
    gate = limiter()
    for _ in range(3):
        gate.check("192.0.2.1", MINUTE_START + 15)
    with pytest.raises(DomainError) as refused:
        gate.check("192.0.2.1", MINUTE_START + 15)
    assert refused.value.status == 429
    assert refused.value.code == "RATE_LIMITED"
    assert refused.value.headers["Retry-After"] == "45"


def test_addresses_are_counted_separately():
    gate = limiter(limit=1)
    gate.check("192.0.2.1", MINUTE_START)
    gate.check("192.0.2.2", MINUTE_START)


def test_a_new_minute_starts_a_new_count():
    gate = limiter(limit=1)
    gate.check("192.0.2.1", MINUTE_START)
    gate.check("192.0.2.1", MINUTE_START + 60)


def test_counters_never_contain_the_address():
    counter = CountingHits()
    limiter(counter=counter).check("192.0.2.1", MINUTE_START)
    assert all("192.0.2.1" not in name for name in counter.counts)
