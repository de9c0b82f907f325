"""The five gateway/method pairs end to end over HTTP: `epay serve`, its simulators, their signed callbacks."""

from __future__ import annotations

import re

import pytest
import requests

from tests.support.servers import epay_serve

pytestmark = pytest.mark.e2e
PAYER = {"name": "Société Maritime", "email": "compta@example.ma", "phone": "0522000000"}


@pytest.fixture(scope="module")
def base():
    # These tests start many payments of one demo code on one server: past EPAY_LIVE_PAYMENTS_PER_CODE's default.
    with epay_serve("--demo", EPAY_LIVE_PAYMENTS_PER_CODE="20") as url:
        yield url


def payable_pair(base: str) -> list[dict]:
    """Two invoices of one issuer that nobody holds right now."""
    cursor, by_issuer = None, {}
    while True:
        page = requests.post(
            f"{base}/v1/invoices/search", json={"subscription_code": "MAR1", "cursor": cursor}, timeout=10
        ).json()
        for item in page["items"]:
            if item["status"] == "UNPAID":
                by_issuer.setdefault(item["issuer"]["code"], []).append(item)
                if len(by_issuer[item["issuer"]["code"]]) == 2:
                    return by_issuer[item["issuer"]["code"]]
        cursor = page["next_cursor"]
        assert cursor, "the demo data ran out of payable invoices"


def start(base: str, gateway: str, method: str) -> tuple[dict, list[dict]]:
    invoices = payable_pair(base)
    response = requests.post(
        f"{base}/v1/payments",
        json={
            "subscription_code": "MAR1",
            "invoice_ids": [i["invoice_id"] for i in invoices],
            "gateway": gateway,
            "method": method,
            "payer": PAYER,
        },
        timeout=10,
    )
    assert response.status_code == 201, response.text
    return response.json(), invoices


def status_of(base: str, payment_id: str) -> dict:
    return requests.get(f"{base}/v1/payments/{payment_id}", timeout=10).json()


def token_of(page: str) -> str:
    match = re.search(r'name="token" value="([^"]+)"', page)
    assert match, page
    return match.group(1)


def assert_settled(base: str, payment: dict, invoices: list[dict]) -> None:
    paid = status_of(base, payment["payment_id"])
    assert paid["status"] == "PAID"
    assert paid["gateway_transaction_id"]
    assert paid["amount"] == payment["amount"]
    listed = set()
    cursor = None
    while True:
        page = requests.post(
            f"{base}/v1/invoices/search", json={"subscription_code": "MAR1", "cursor": cursor}, timeout=10
        ).json()
        listed |= {item["invoice_id"] for item in page["items"]}
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert not listed & {i["invoice_id"] for i in invoices}, "paid invoices no longer appear"
    again = requests.post(
        f"{base}/v1/payments",
        json={
            "subscription_code": "MAR1",
            "invoice_ids": [i["invoice_id"] for i in invoices],
            "gateway": "CMI",
            "method": "CARD",
            "payer": PAYER,
        },
        timeout=10,
    )
    assert again.status_code == 409
    assert again.json()["code"] == "INVOICE_NOT_PAYABLE"


def cmi_checkout(base: str, payment: dict) -> requests.Response:
    redirect = payment["redirect"]
    return requests.post(redirect["url"], data=redirect["fields"], timeout=10)


def test_cmi_card_approved_settles_through_the_signed_callback(base):
    payment, invoices = start(base, "CMI", "CARD")
    page = cmi_checkout(base, payment)
    assert page.status_code == 200
    decided = requests.post(
        f"{base}/_sim/cmi/decide", data={"token": token_of(page.text), "decision": "approve"}, timeout=20
    )
    assert "ACTION=POSTAUTH" in decided.text
    assert f"/v1/payments/{payment['payment_id']}/return" in decided.text
    assert_settled(base, payment, invoices)


def test_cmi_card_declined_then_approved_on_the_gateway_page(base):
    payment, invoices = start(base, "CMI", "CARD")
    token = token_of(cmi_checkout(base, payment).text)
    declined = requests.post(f"{base}/_sim/cmi/decide", data={"token": token, "decision": "decline"}, timeout=20)
    assert "Paiement refusé" in declined.text
    pending = status_of(base, payment["payment_id"])
    assert pending["status"] == "PENDING"
    assert pending["last_error"]
    requests.post(f"{base}/_sim/cmi/decide", data={"token": token, "decision": "approve"}, timeout=20)
    assert_settled(base, payment, invoices)


def test_a_tampered_cmi_form_is_refused_by_the_simulator(base):
    payment, _ = start(base, "CMI", "CARD")
    fields = {**payment["redirect"]["fields"], "amount": "1.00"}
    refused = requests.post(payment["redirect"]["url"], data=fields, timeout=10)
    assert refused.status_code == 400
    assert "HASH invalide" in refused.text


def test_cmi_fatourati_reference_paid_from_the_bank_channel(base):
    payment, invoices = start(base, "CMI", "FATOURATI")
    assert payment["status"] == "AWAITING_SETTLEMENT"
    reference = payment["reference"]["code"]
    inquiry = requests.post(
        f"{base}/_sim/fatourati/inquiry", data={"reference": reference, "channel": "M-BANKING"}, timeout=20
    )
    assert payment["amount"] in inquiry.text
    amount = re.search(r'name="amount" value="([^"]+)"', inquiry.text).group(1)
    confirmed = requests.post(
        f"{base}/_sim/fatourati/confirm",
        data={"reference": reference, "amount": amount, "channel": "M-BANKING"},
        timeout=20,
    )
    assert 'data-code="000"' in confirmed.text
    assert_settled(base, payment, invoices)


@pytest.mark.parametrize("method", ["CARD", "DIRECT_DEBIT"])
def test_m2t_redirect_methods_approved(base, method):
    payment, invoices = start(base, "M2T", method)
    page = requests.post(payment["redirect"]["url"], data=payment["redirect"]["fields"], timeout=10)
    assert page.status_code == 200
    back = requests.post(
        f"{base}/_sim/m2t/decide",
        data={"token": token_of(page.text), "decision": "approve"},
        timeout=20,
        allow_redirects=False,
    )
    assert back.status_code == 303
    assert back.headers["Location"].endswith(f"/v1/payments/{payment['payment_id']}/return")
    returned = requests.get(back.headers["Location"], timeout=10, allow_redirects=False)
    assert returned.status_code == 303
    assert returned.headers["Location"].endswith(f"?payment={payment['payment_id']}")
    assert_settled(base, payment, invoices)


def test_m2t_tashilat_reference_then_agency_payment(base):
    payment, invoices = start(base, "M2T", "TASHILAT")
    token = token_of(requests.post(payment["redirect"]["url"], data=payment["redirect"]["fields"], timeout=10).text)
    issued = requests.post(f"{base}/_sim/m2t/decide", data={"token": token, "decision": "reference"}, timeout=20)
    assert "data-reference" in issued.text
    awaiting = status_of(base, payment["payment_id"])
    assert awaiting["status"] == "AWAITING_SETTLEMENT"
    assert awaiting["reference"]["channels"] == ["TASHILAT"]
    requests.post(f"{base}/_sim/m2t/decide", data={"token": token, "decision": "agency_paid"}, timeout=20)
    assert_settled(base, payment, invoices)


def test_m2t_declined_payment_fails_and_frees_its_invoices(base):
    payment, invoices = start(base, "M2T", "CARD")
    token = token_of(requests.post(payment["redirect"]["url"], data=payment["redirect"]["fields"], timeout=10).text)
    requests.post(f"{base}/_sim/m2t/decide", data={"token": token, "decision": "decline"}, timeout=20)
    assert status_of(base, payment["payment_id"])["status"] == "FAILED"
    retry = requests.post(
        f"{base}/v1/payments",
        json={
            "subscription_code": "MAR1",
            "invoice_ids": [i["invoice_id"] for i in invoices],
            "gateway": "M2T",
            "method": "CARD",
            "payer": PAYER,
        },
        timeout=10,
    )
    assert retry.status_code == 201
