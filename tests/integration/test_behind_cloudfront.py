"""The lookup and payment routes behind CloudFront (issue 14, item 11): rate limits count the viewer's address that
CloudFront reports, only when the request carries the origin secret; a forged `CloudFront-Viewer-Address` is ignored."""

import pytest

import list_invoices_handler as handler
from epay import runtime
from tests.support.factories import FakeLambdaContext, an_invoice, http_event

NOW = 1_795_000_000
SECRET = '{"current": "origin-secret-current-value", "previous": ""}'
CLOUDFRONT = "130.176.0.10"  # every request's sourceIp behind the distribution


@pytest.fixture(autouse=True)
def behind_cloudfront(monkeypatch, invoice_store):
    monkeypatch.setenv("EPAY_ORIGIN_SECRET", SECRET)
    monkeypatch.setenv("EPAY_LOOKUP_LIMIT_PER_MINUTE", "2")
    runtime.reset()
    invoice_store.upsert_invoice(an_invoice("AB12"), NOW)


def search(headers):
    event = http_event("POST", "/v1/invoices/search", body={"subscription_code": "AB12"}, headers=headers)
    event["requestContext"]["http"]["sourceIp"] = CLOUDFRONT
    return handler.lambda_handler(event, FakeLambdaContext())["statusCode"]


def through_cloudfront(viewer):
    return {"X-Origin-Verify": "origin-secret-current-value", "CloudFront-Viewer-Address": f"{viewer}:51000"}


def test_viewers_behind_the_same_cloudfront_address_have_their_own_budgets():
    assert [search(through_cloudfront("198.51.100.7")) for _ in range(3)] == [200, 200, 429]
    assert search(through_cloudfront("198.51.100.8")) == 200


def test_a_forged_viewer_address_without_the_secret_counts_against_the_caller_s_own_address():
    forged = [search({"CloudFront-Viewer-Address": f"203.0.113.{n}:51000"}) for n in range(1, 4)]
    assert forged == [200, 200, 429]


def test_ipv6_viewers_of_one_64_share_a_budget():
    first = through_cloudfront("2001:db8:aa:bb::1")
    second = through_cloudfront("2001:db8:aa:bb:ffff::2")
    assert [search(first), search(second), search(first)] == [200, 200, 429]
    assert search(through_cloudfront("2001:db8:aa:cc::1")) == 200
