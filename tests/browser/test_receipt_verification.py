"""« Vérifier un reçu » (issue 14.9): a receipt's code — typed, or opened from the receipt's QR code as
`?verify=<code>` — checked with the public `GET /v1/receipts/{code}` (operations-api.md §7), and told plainly in
fr/ar/en: genuine and what it proves, genuine but its money returned (REVERSED: it paid nothing), or no receipt of
PORTNET's. The route is built on another branch: its answers are faked here with page.route, as the contract gives them.
"""

from __future__ import annotations

import json
import re

import pytest
from playwright.sync_api import Page, Route, expect

from tests.support.a11y import assert_no_axe_violation
from tests.support.browser import on_screen, shots
from tests.support.receipt_pages import RECEIPT_CODE, REVERSED_CODE, UNKNOWN_CODE, assert_morocco_time, fake_receipts

pytestmark = pytest.mark.browser

TITLE = "Vérifier un reçu"
GROUPED = "7K3M 9Q2D 4XHV 8T1B"
GENUINE = {
    "fr": "Reçu authentique : ce paiement a bien été reçu par PORTNET et a réglé les factures ci-dessous.",
    "ar": "وصل صحيح: توصّلت بورتنت بعملية الأداء هذه، وقد تم بها أداء الفواتير المبيَّنة أدناه.",
    "en": "Genuine receipt: PORTNET received this payment and it paid the invoices below.",
}
RETURNED = {
    "fr": "Reçu authentique, mais ce paiement n'a réglé aucune facture : son montant a été restitué au payeur.",
    "ar": "وصل صحيح، غير أن عملية الأداء هذه لم تُؤدِّ أيّ فاتورة: تم إرجاع مبلغها إلى المؤدي.",
    "en": "Genuine receipt, but this payment paid no invoice: its amount was returned to the payer.",
}


def verify_screen(page: Page):
    return on_screen(page, "verify", TITLE)


def open_from_consultation(page: Page):
    page.goto("/")
    on_screen(page, "search")
    page.get_by_role("link", name="Vérifier un reçu").click()
    screen = verify_screen(page)
    expect(page).to_have_url(re.compile(r"/\?view=verify$"))
    return screen


def check(page: Page, typed: str) -> None:
    page.get_by_label("Code de vérification du reçu").fill(typed)
    page.locator("#screen-verify").get_by_role("button", name="Vérifier", exact=True).click()


def test_the_consultation_links_to_the_verification_whose_form_is_ready(page: Page):
    screen = open_from_consultation(page)
    expect(screen.get_by_role("heading", level=2, name=TITLE)).to_be_focused()
    expect(page.get_by_label("Code de vérification du reçu")).to_be_empty()
    expect(page.locator("#verify-result")).to_be_hidden()
    expect(page).to_have_title(re.compile(r"^Vérifier un reçu — E-Paiement pour un tiers — PORTNET$"))
    assert_no_axe_violation(page, "the verification form")
    shots(page, "verify_form")


def test_a_genuine_paid_receipt_says_so_and_what_it_proves(page: Page):
    asked = fake_receipts(page)
    open_from_consultation(page)
    check(page, " 7k3m 9q2d 4xhv 8t1b ")  # as read off paper: any case, grouped
    message = page.locator("#verify-message")
    expect(message).to_have_text(GENUINE["fr"])
    expect(message).to_have_attribute("data-outcome", "PAID")
    expect(message).to_be_focused()
    assert asked == [RECEIPT_CODE], "the canonical code is asked, once"
    expect(page).to_have_url(re.compile(rf"/\?verify={RECEIPT_CODE}$"))
    expect(page.locator("#verify-proves")).to_have_text(
        "Ce reçu prouve que le montant indiqué a été payé, à la date indiquée, pour ces factures de cet émetteur. "
        "Il n'indique pas qui a payé."
    )
    rows = page.locator("#verify-invoices tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.first).to_contain_text("F-2026-000123")
    expect(page.locator("#verify-total")).to_have_attribute("data-amount", "2230.50")
    expect(page.locator("#verify-issuer")).to_have_text("Agence Nationale des Ports (ANP)")
    assert_morocco_time(page.locator("#verify-paid-at").inner_text())
    expect(page.locator("#verify-code")).to_have_text(GROUPED)
    expect(page.locator("#verify-payment-id")).to_have_text("PAY-RECEIPTTEST000000000000000")
    for lang, label in (("ar", "العربية"), ("en", "English")):
        page.get_by_role("button", name=label).click()
        expect(message).to_have_text(GENUINE[lang])
    assert_no_axe_violation(page, "a genuine receipt")
    shots(page, "verify_paid")


def test_a_reversed_receipt_is_genuine_but_proves_no_invoice_paid(page: Page):
    fake_receipts(page)
    page.goto(f"/?verify={REVERSED_CODE}")  # the receipt's QR code
    message = page.locator("#verify-message")
    expect(message).to_have_text(RETURNED["fr"])
    expect(message).to_have_attribute("data-outcome", "REVERSED")
    expect(page.locator("#verify-proves")).to_contain_text("ne prouve donc pas le paiement des factures ci-dessous")
    expect(page.locator("#verify-details")).to_be_visible()
    for lang in ("ar", "en"):
        page.locator(f"[data-lang={lang}]").click()
        expect(message).to_have_text(RETURNED[lang])
    page.locator("[data-lang=fr]").click()
    assert_no_axe_violation(page, "a reversed receipt")
    shots(page, "verify_reversed")


def test_an_unknown_code_is_no_receipt_of_portnets(page: Page):
    asked = fake_receipts(page)
    open_from_consultation(page)
    check(page, UNKNOWN_CODE)
    message = page.locator("#verify-message")
    expect(message).to_have_attribute("data-outcome", "not-found")
    expect(message).to_have_text(
        "Aucun reçu ne correspond à ce code : ce document n'est pas un reçu émis par PORTNET, ou le code a été mal "
        "saisi. Vérifiez le code, caractère par caractère."
    )
    expect(page.locator("#verify-details")).to_be_hidden()
    expect(page.locator("#verify-proves")).to_be_hidden()
    assert asked == [UNKNOWN_CODE]
    page.locator("[data-lang=ar]").click()
    expect(message).to_contain_text("لا يطابق هذا الرمز أيّ وصل")
    page.locator("[data-lang=fr]").click()
    assert_no_axe_violation(page, "an unknown receipt code")
    shots(page, "verify_not_found")


@pytest.mark.parametrize("typed", ["ABC123", "7K3M9Q2D4XHV8TUB", "7K3M9Q2D4XHV8T1B9"])
def test_a_malformed_code_is_refused_under_the_field_without_asking(page: Page, typed: str):
    asked = fake_receipts(page)
    open_from_consultation(page)
    check(page, typed)
    field = page.get_by_label("Code de vérification du reçu")
    expect(field).to_have_attribute("aria-invalid", "true")
    expect(field).to_be_focused()
    expect(page.locator("#receipt-code-input-error")).to_contain_text("16 caractères")
    expect(page.locator("#verify-result")).to_be_hidden()
    assert asked == []


def test_a_malformed_code_in_the_address_is_shown_with_its_error(page: Page):
    asked = fake_receipts(page)
    page.goto("/?verify=not-a-code")
    verify_screen(page)
    expect(page.locator("#receipt-code-input-error")).to_be_visible()
    expect(page.locator("#verify-result")).to_be_hidden()
    assert asked == []
    assert_no_axe_violation(page, "a malformed code")
    shots(page, "verify_malformed", widths=(360,))


def test_back_forward_and_reload_go_through_the_codes_checked(page: Page):
    asked = fake_receipts(page)
    open_from_consultation(page)
    check(page, RECEIPT_CODE)
    expect(page.locator("#verify-message")).to_have_attribute("data-outcome", "PAID")
    check(page, UNKNOWN_CODE)
    expect(page.locator("#verify-message")).to_have_attribute("data-outcome", "not-found")

    page.go_back()
    expect(page).to_have_url(re.compile(rf"/\?verify={RECEIPT_CODE}$"))
    expect(page.locator("#verify-message")).to_have_attribute("data-outcome", "PAID")
    expect(page.get_by_label("Code de vérification du reçu")).to_have_value(GROUPED)
    page.go_back()
    expect(page).to_have_url(re.compile(r"/\?view=verify$"))
    expect(page.locator("#verify-result")).to_be_hidden()
    page.go_back()
    on_screen(page, "search")
    page.go_forward()
    verify_screen(page)
    page.go_forward()
    expect(page.locator("#verify-message")).to_have_attribute("data-outcome", "PAID")

    page.reload()
    expect(page.locator("#verify-message")).to_have_attribute("data-outcome", "PAID")
    expect(page.locator("#verify-message")).to_have_text(GENUINE["fr"])
    assert asked.count(RECEIPT_CODE) >= 3, "each showing asks again (no answer kept)"


def test_a_receipt_code_in_the_address_wins_over_a_gateway_trip_of_this_tab(page: Page):
    fake_receipts(page)
    page.goto("/")
    page.evaluate("sessionStorage.setItem('epay.gatewayPayment', 'PAY-SOMEPAYMENTOFTHISTAB000000')")
    page.goto(f"/?verify={RECEIPT_CODE}")
    expect(page.locator("#verify-message")).to_have_attribute("data-outcome", "PAID")
    expect(page).to_have_url(re.compile(rf"/\?verify={RECEIPT_CODE}$"))


def test_when_the_service_cannot_answer_the_payer_is_told_in_the_alert(page: Page):
    def busy(route: Route) -> None:
        route.fulfill(
            status=429,
            headers={"Retry-After": "30", "Content-Type": "application/problem+json"},
            body=json.dumps({"status": 429, "code": "RATE_LIMITED", "detail": "Trop de tentatives."}),
        )

    page.route("**/v1/receipts/*", busy)
    page.goto(f"/?verify={RECEIPT_CODE}")
    expect(page.get_by_role("alert")).to_have_text("Trop de tentatives. Veuillez réessayer dans 30 secondes.")
    expect(page.locator("#verify-result")).to_be_hidden()
    expect(page.get_by_role("button", name="Vérifier", exact=True)).to_be_enabled()


def test_the_code_asked_about_is_not_sent_as_a_referrer(page: Page):
    referrers: list[str | None] = []

    def answer(route: Route) -> None:
        referrers.append(route.request.headers.get("referer"))
        route.fulfill(status=404, content_type="application/problem+json", body="{}")

    page.route("**/v1/receipts/*", answer)
    page.goto(f"/?verify={RECEIPT_CODE}")
    expect(page.locator("#verify-message")).to_have_attribute("data-outcome", "not-found")
    assert referrers == [None]
