"""Proof of payment end to end (operations-api.md §7): pay on a simulator, then verify the receipt by its code,
download its PDF, and find the e-mail with the PDF attached in the local outbox — the mailer run by `epay serve` on
the local table's stream, sending through its SES stand-in."""

from __future__ import annotations

import re
import time

import pytest
import requests

from tests.support.receipts import folded, pdf_text, qr_codes
from tests.support.servers import epay_serve

pytestmark = pytest.mark.e2e
PAYER = {"name": "Société Maritime", "email": "compta@example.ma", "phone": "0522000000"}


@pytest.fixture(scope="module")
def base():
    with epay_serve("--demo") as url:
        yield url


@pytest.fixture(scope="module")
def paid(base) -> dict:
    """A card payment of AB12's invoices, approved on the CMI simulator."""
    items = requests.post(f"{base}/v1/invoices/search", json={"subscription_code": "AB12"}, timeout=10).json()["items"]
    created = requests.post(
        f"{base}/v1/payments",
        json={
            "subscription_code": "AB12",
            "invoice_ids": [item["invoice_id"] for item in items[:2]],
            "gateway": "CMI",
            "method": "CARD",
            "payer": PAYER,
            "lang": "ar",
        },
        timeout=10,
    ).json()
    page = requests.post(created["redirect"]["url"], data=created["redirect"]["fields"], timeout=10).text
    token = re.search(r'name="token" value="([^"]+)"', page).group(1)
    decided = requests.post(f"{base}/_sim/cmi/decide", data={"token": token, "decision": "approve"}, timeout=20)
    assert "ACTION=POSTAUTH" in decided.text
    view = requests.get(f"{base}/v1/payments/{created['payment_id']}", timeout=10).json()
    assert view["status"] == "PAID"
    return view


def test_the_paid_payment_carries_a_receipt_code(paid):
    assert re.fullmatch(r"[0-9A-HJKMNP-TV-Z]{16}", paid["receipt_code"])


def test_the_receipt_verifies_by_its_code_without_the_payer(base, paid):
    response = requests.get(f"{base}/v1/receipts/{paid['receipt_code']}", timeout=10)
    assert response.status_code == 200
    verified = response.json()
    assert verified["receipt_code"] == paid["receipt_code"]
    assert verified["status"] == "PAID"
    assert verified["payment_id"] == paid["payment_id"]
    assert verified["amount"] == paid["amount"]
    assert [item["invoice_number"] for item in verified["invoices"]] == [
        item["invoice_number"] for item in paid["invoices"]
    ]
    assert "compta@example.ma" not in response.text
    assert "AB12" not in response.text
    unknown = requests.get(f"{base}/v1/receipts/0000000000000000", timeout=10)
    assert unknown.status_code == 404
    assert unknown.json()["code"] == "RECEIPT_NOT_FOUND"


def test_the_receipt_downloads_as_a_pdf_with_its_qr_code(base, paid):
    response = requests.get(f"{base}/v1/payments/{paid['payment_id']}/receipt.pdf?lang=fr", timeout=20)
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/pdf"
    assert "attachment" in response.headers["Content-Disposition"]
    text = folded(pdf_text(response.content))
    assert paid["payment_id"] in text
    assert paid["invoices"][0]["invoice_number"] in text
    assert qr_codes(response.content) == [f"{base}/?verify={paid['receipt_code']}"]


def test_the_payer_receives_the_receipt_by_e_mail_once(base, paid):
    deadline, found = time.monotonic() + 30, []
    while time.monotonic() < deadline:
        messages = requests.get(f"{base}/_sim/mail/messages", timeout=10).json()
        found = [message for message in messages if paid["receipt_code"] in message["subject"]]
        if found:
            break
        time.sleep(0.5)
    assert len(found) == 1, "the receipt's e-mail reached the outbox"
    (message,) = found
    assert {"to", "subject", "sent_at", "attachments"} <= set(message)
    assert message["to"] == [PAYER["email"]]
    (attachment,) = message["attachments"]
    assert attachment["content_type"] == "application/pdf"
    assert attachment["filename"] == f"wasl-portnet-{paid['receipt_code']}.pdf"  # the payment's language: Arabic
    content = requests.get(f"{base}{attachment['url']}", timeout=10).content
    assert folded("وصل الأداء") in folded(pdf_text(content))
    page = requests.get(f"{base}/_sim/mail", timeout=10)
    assert page.status_code == 200
    assert paid["receipt_code"] in page.text
    time.sleep(2)  # a few more polls of the stream: still one e-mail
    again = requests.get(f"{base}/_sim/mail/messages", timeout=10).json()
    assert len([message for message in again if paid["receipt_code"] in message["subject"]]) == 1


def test_a_payment_not_paid_has_no_receipt_to_download(base):
    items = requests.post(f"{base}/v1/invoices/search", json={"subscription_code": "MAR1"}, timeout=10).json()["items"]
    created = requests.post(
        f"{base}/v1/payments",
        json={
            "subscription_code": "MAR1",
            "invoice_ids": [items[-1]["invoice_id"]],
            "gateway": "CMI",
            "method": "FATOURATI",
            "payer": PAYER,
        },
        timeout=10,
    ).json()
    response = requests.get(f"{base}/v1/payments/{created['payment_id']}/receipt.pdf", timeout=10)
    assert response.status_code == 409
    assert response.json()["code"] == "RECEIPT_NOT_AVAILABLE"
