"""The receipt of a PAID payment (issue 14.8 and 14.9): who paid (in the tab that paid) for whom (when the API says),
the gateway's authorisation/transaction no., the time in Morocco's time zone, the payment id on one line, its
verification code and PDF, and in print the complaints platform's address. The payment read is faked with page.route:
`receipt_code` and the PDF come from another branch (operations-api.md §7)."""

from __future__ import annotations

import json

import pytest
from playwright.sync_api import Page, expect

from tests.support.a11y import assert_no_axe_violation
from tests.support.browser import on_screen, shots
from tests.support.receipt_pages import PAYMENT_ID, RECEIPT_CODE, assert_morocco_time, fake_paid_payment, paid_view

pytestmark = pytest.mark.browser

PAYER = "Société Maritime du Détroit"


def paid_by_this_tab(page: Page) -> None:
    """What the payment screen leaves in this tab's sessionStorage when it creates the payment: who pays it."""
    payers = json.dumps([{"paymentId": PAYMENT_ID, "name": PAYER}])
    page.add_init_script(f"sessionStorage.setItem('epay.receiptPayers', {json.dumps(payers)})")


def open_receipt(page: Page, view: dict | None = None):
    fake_paid_payment(page, view)
    page.goto(f"/?payment={PAYMENT_ID}")
    return on_screen(page, "receipt")


def test_the_receipt_names_the_payer_the_transaction_the_time_zone_and_its_code(page: Page):
    paid_by_this_tab(page)
    screen = open_receipt(page)
    expect(screen.locator("#receipt-payer")).to_have_text(PAYER)
    expect(screen.locator("#receipt-operator-row")).to_be_hidden()  # the API names no operator (yet)
    expect(screen.get_by_text("N° d'autorisation / de transaction")).to_be_visible()
    expect(screen.locator("#receipt-transaction")).to_have_text("26331K1Q0042-AUTH-0042")
    assert_morocco_time(screen.locator("#receipt-paid-at").inner_text())
    expect(screen.locator("#receipt-payment-id")).to_have_text(PAYMENT_ID)
    expect(screen.locator("#receipt-code")).to_have_text("7K3M 9Q2D 4XHV 8T1B")
    verify = screen.get_by_role("link", name="vérifier ce reçu")
    expect(verify).to_have_attribute("href", f"?verify={RECEIPT_CODE}")
    assert_no_axe_violation(page, "the receipt")
    shots(page, "receipt")


def test_the_receipt_offers_its_pdf_in_the_pages_language(page: Page):
    screen = open_receipt(page)
    expect(screen.get_by_role("link", name="Télécharger le reçu (PDF)")).to_be_visible()
    pdf = screen.locator("#receipt-pdf")
    expect(pdf).to_have_attribute("href", f"/v1/payments/{PAYMENT_ID}/receipt.pdf?lang=fr")
    page.locator("[data-lang=ar]").click()
    expect(pdf).to_have_attribute("href", f"/v1/payments/{PAYMENT_ID}/receipt.pdf?lang=ar")
    page.locator("[data-lang=en]").click()
    expect(pdf).to_have_attribute("href", f"/v1/payments/{PAYMENT_ID}/receipt.pdf?lang=en")

    # The browser downloads it itself (Chromium does not route downloads: the local stack answers, 404 on this branch).
    with page.expect_download() as download:
        pdf.click()
    assert download.value.url.endswith(f"/v1/payments/{PAYMENT_ID}/receipt.pdf?lang=en")


def test_a_receipt_opened_in_another_tab_names_no_payer(page: Page):
    screen = open_receipt(page)
    expect(screen.locator("#receipt-payer-row")).to_be_hidden()
    expect(screen.locator("#receipt-payer")).to_be_empty()


def test_the_receipt_names_the_operator_when_the_api_does(page: Page):
    view = paid_view()
    view["operator"] = {"name": "Transit Atlas SARL"}
    screen = open_receipt(page, view)
    expect(screen.locator("#receipt-operator")).to_have_text("Transit Atlas SARL")


def test_without_a_receipt_code_there_is_no_code_nor_pdf(page: Page):
    screen = open_receipt(page, paid_view(receipt_code=None))
    expect(screen.locator("#receipt-code-row")).to_be_hidden()
    expect(screen.locator("#receipt-pdf")).to_be_hidden()
    expect(screen.locator("#receipt-verify")).to_be_hidden()


@pytest.mark.parametrize("lang", ["fr", "ar", "en"])
def test_the_payment_id_and_the_code_stay_on_one_line_on_the_narrowest_phone(page: Page, lang: str):
    page.set_viewport_size({"width": 320, "height": 800})
    open_receipt(page)
    page.locator(f"[data-lang={lang}]").click()
    for selector in ("#receipt-payment-id .id", "#receipt-code .id", "#receipt-transaction .id"):
        lines = page.locator(selector).evaluate("(node) => node.getClientRects().length")
        assert lines == 1, f"{selector} in {lang} is cut over {lines} lines"
        inside = page.locator(selector).evaluate(
            "(node) => { const r = node.getBoundingClientRect(); return r.left >= 0 && r.right <= innerWidth; }"
        )
        assert inside, f"{selector} in {lang} runs off the screen"


def test_the_printed_receipt_gives_the_complaints_address(page: Page):
    paid_by_this_tab(page)
    screen = open_receipt(page)
    address = page.locator("#assistance .print-only")
    expect(address).to_be_hidden()  # on screen the link is enough
    page.emulate_media(media="print")
    expect(address).to_be_visible()
    expect(address).to_have_text("http://reclamation.portnet.ma/")
    expect(address).to_have_text(page.locator("#help-claims").get_attribute("href") or "")
    expect(screen.locator("#receipt-payer")).to_be_visible()
    expect(screen.locator("#receipt-code")).to_be_visible()
    expect(screen.get_by_role("button", name="Imprimer")).to_be_hidden()
    expect(screen.locator("#receipt-pdf")).to_be_hidden()
    for lang in ("fr", "ar"):
        page.locator(f"[data-lang={lang}]").evaluate("(button) => button.click()")  # hidden in print
        page.screenshot(path=f"test-output/screenshots/receipt_print_{lang}.png", full_page=True)
