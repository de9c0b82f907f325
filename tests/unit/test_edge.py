"""Behind CloudFront (issue 14, item 11): the client address rate limits count is the viewer's, taken from
`CloudFront-Viewer-Address` only when the request carries CloudFront's origin secret; deployed, a request without it
went around the distribution and is refused. Locally and without the header, `sourceIp` as before."""

from __future__ import annotations

import json

import pytest

from epay import errors
from epay.edge import Edge, origin_secrets, rate_limit_subject, viewer_address
from epay.http import create_api, resolve
from tests.support.factories import FakeLambdaContext, http_event

SECRET = "s3cr3t-origin-value-0123456789abcdef"
THROUGH_CLOUDFRONT = {"X-Origin-Verify": SECRET, "CloudFront-Viewer-Address": "198.51.100.7:46532"}
CLOUDFRONT_EDGE_IP = "130.176.0.10"  # what API Gateway sees behind CloudFront


def behind_cloudfront(enforced=False):
    return Edge((SECRET.encode(),), enforced=enforced)


# -- the address ----------------------------------------------------------------------------------------------------


def test_through_the_distribution_the_viewer_s_address_is_counted():
    assert behind_cloudfront().client_address(THROUGH_CLOUDFRONT, CLOUDFRONT_EDGE_IP) == "198.51.100.7"


def test_a_spoofed_viewer_address_without_the_secret_is_ignored():
    spoofed = {"CloudFront-Viewer-Address": "203.0.113.99:1234"}
    assert behind_cloudfront().client_address(spoofed, "192.0.2.44") == "192.0.2.44"


def test_a_spoofed_viewer_address_with_a_wrong_secret_is_ignored():
    spoofed = {"X-Origin-Verify": SECRET[:-1] + "x", "CloudFront-Viewer-Address": "203.0.113.99:1234"}
    assert behind_cloudfront().client_address(spoofed, "192.0.2.44") == "192.0.2.44"


def test_locally_without_any_origin_secret_the_header_is_never_believed():
    assert Edge().client_address(THROUGH_CLOUDFRONT, "127.0.0.1") == "127.0.0.1"


def test_without_the_header_the_address_api_gateway_saw_is_counted_as_before():
    assert behind_cloudfront().client_address({}, "192.0.2.10") == "192.0.2.10"
    assert behind_cloudfront().client_address({}, None) == "unknown"


def test_header_names_are_matched_whatever_their_case():
    lower = {name.lower(): value for name, value in THROUGH_CLOUDFRONT.items()}
    assert behind_cloudfront().client_address(lower, CLOUDFRONT_EDGE_IP) == "198.51.100.7"


def test_an_ipv6_viewer_address_with_its_port_is_read_and_counted_by_its_64():
    headers = {**THROUGH_CLOUDFRONT, "CloudFront-Viewer-Address": "2001:db8:85a3:0:0:8a2e:370:7334:46532"}
    assert behind_cloudfront().client_address(headers, CLOUDFRONT_EDGE_IP) == "2001:db8:85a3::/64"


@pytest.mark.parametrize(
    ("header", "address"),
    [
        ("198.51.100.7:443", "198.51.100.7"),
        ("2001:0db8:0000:0000:0000:0000:0000:0001:443", "2001:db8::1"),
        ("2001:db8::1:443", "2001:db8::1"),
        ("[2001:db8::1]:443", "2001:db8::1"),
        ("::ffff:198.51.100.7:80", "::ffff:c633:6407"),
    ],
)
def test_viewer_addresses_are_parsed_without_their_port(header, address):
    assert viewer_address(header) == address


@pytest.mark.parametrize("header", [None, "", "198.51.100.7", "198.51.100.7:", "not-an-ip:443", "999.1.1.1:80"])
def test_an_unreadable_viewer_address_is_none(header):
    assert viewer_address(header) is None


def test_an_unreadable_viewer_address_falls_back_to_the_source_address():
    headers = {**THROUGH_CLOUDFRONT, "CloudFront-Viewer-Address": "garbage"}
    assert behind_cloudfront().client_address(headers, CLOUDFRONT_EDGE_IP) == CLOUDFRONT_EDGE_IP


@pytest.mark.parametrize(
    ("address", "subject"),
    [
        ("198.51.100.7", "198.51.100.7"),
        ("2001:db8:1:2:3:4:5:6", "2001:db8:1:2::/64"),
        ("2001:db8:1:2:ffff::1", "2001:db8:1:2::/64"),
        ("::ffff:198.51.100.7", "198.51.100.7"),
        ("unknown", "unknown"),
    ],
)
def test_rate_limits_count_ipv4_addresses_and_ipv6_networks(address, subject):
    assert rate_limit_subject(address) == subject


# -- the secret -----------------------------------------------------------------------------------------------------


def test_the_secret_s_current_and_previous_values_are_both_accepted_during_a_rotation():
    secrets = origin_secrets(json.dumps({"current": "new-value", "previous": "old-value"}).encode())
    assert secrets == (b"new-value", b"old-value")
    edge = Edge(secrets, enforced=True)
    assert edge.came_through({"X-Origin-Verify": "new-value"})
    assert edge.came_through({"X-Origin-Verify": "old-value"})
    assert not edge.came_through({"X-Origin-Verify": "other"})


def test_an_empty_previous_value_is_never_accepted():
    edge = Edge(origin_secrets(b'{"current": "new-value", "previous": ""}'), enforced=True)
    assert edge.secrets == (b"new-value",)
    assert not edge.came_through({"X-Origin-Verify": ""})


def test_a_plain_secret_is_taken_whole():
    assert origin_secrets(b"plain") == (b"plain",)
    assert origin_secrets(b"") == ()


def test_secrets_are_compared_in_constant_time(monkeypatch):
    compared = []

    def compare_digest(given, expected):
        compared.append((given, expected))
        return given == expected

    monkeypatch.setattr("epay.edge.hmac.compare_digest", compare_digest)
    edge = Edge((b"one", b"two"))
    assert edge.came_through({"X-Origin-Verify": "one"})
    # Both values are compared every time, so the time taken says nothing about which one matched.
    assert compared == [(b"one", b"one"), (b"one", b"two")]


# -- deployed: a request that went around the distribution is refused -------------------------------------------

APP = create_api()


@APP.get("/v1/ping")
def ping():
    return {"ok": True}


def call(edge, headers=None):
    event = http_event("GET", "/v1/ping", headers=headers, source_ip="192.0.2.44")
    return resolve(APP, event, FakeLambdaContext(), lambda: edge)


def test_deployed_a_request_without_the_origin_secret_is_refused_with_403():
    answer = call(behind_cloudfront(enforced=True), {"CloudFront-Viewer-Address": "203.0.113.99:1234"})
    assert answer["statusCode"] == 403
    body = json.loads(answer["body"])
    assert body["code"] == "FORBIDDEN" == errors.forbidden().code
    assert answer["headers"]["Content-Type"] == "application/problem+json"


def test_deployed_a_request_with_a_wrong_secret_is_refused():
    assert call(behind_cloudfront(enforced=True), {"X-Origin-Verify": "guess"})["statusCode"] == 403


def test_deployed_a_request_through_the_distribution_is_served():
    assert call(behind_cloudfront(enforced=True), THROUGH_CLOUDFRONT)["statusCode"] == 200


def test_locally_a_request_without_the_secret_is_served_as_before():
    assert call(Edge())["statusCode"] == 200
    assert call(behind_cloudfront(enforced=False))["statusCode"] == 200


def test_the_refusal_never_logs_or_answers_the_secret(capsys):
    answer = call(behind_cloudfront(enforced=True), {"X-Origin-Verify": SECRET + "x"})
    assert SECRET not in json.dumps(answer)
    assert SECRET not in capsys.readouterr().out


def test_when_the_origin_secret_cannot_be_read_nobody_is_served_and_told_to_come_back():
    def unreadable():
        raise RuntimeError("Secrets Manager unreachable")

    event = http_event("GET", "/v1/ping", headers=THROUGH_CLOUDFRONT)
    answer = resolve(APP, event, FakeLambdaContext(), unreadable)
    assert answer["statusCode"] == 503
    assert json.loads(answer["body"])["code"] == "SERVICE_UNAVAILABLE"
