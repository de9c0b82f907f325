"""Back, Forward and reload in a real browser (issue 14): each screen has its address, never the subscription code.

The search, its page cursors and the selection are kept in this tab's sessionStorage, so that a reload lands where
the payer was; the address names only the screen (and the results' page number).
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.support.browser import PAYER, on_screen, pay_button, pay_form, search, shot

pytestmark = pytest.mark.browser


def assert_no_code_in_address(page: Page, code: str) -> None:
    assert code not in page.url, f"the subscription code went into the address: {page.url}"


def test_back_forward_and_reload_land_on_the_payer_s_screen_with_the_selection(page: Page):
    search(page, "MAR1")
    results = on_screen(page, "results")
    expect(page).to_have_url(re.compile(r"/\?view=results&page=1$"))
    results.get_by_role("button", name="Suivant", exact=True).click()
    expect(results.locator("#page-indicator")).to_have_text("Page 2")
    expect(page).to_have_url(re.compile(r"/\?view=results&page=2$"))
    box = results.locator("tr.invoice-row[data-selectable=true] .invoice-check").first
    invoice_id = box.get_attribute("data-invoice-id")
    box.check()
    expect(results.locator("#selection-total")).to_have_attribute("data-count", "1")
    results.get_by_role("button", name="Régler Factures").click()
    payment = on_screen(page, "payment")
    expect(page).to_have_url(re.compile(r"/\?view=payment$"))
    assert_no_code_in_address(page, "MAR1")

    # F5 on the payment screen: the same invoice still to pay.
    page.reload()
    payment = on_screen(page, "payment")
    expect(payment.locator(f"#payment-invoices tr[data-invoice-id='{invoice_id}']")).to_have_count(1)
    shot(page, "history_payment_reloaded")

    # Back: the results' page 2, the invoice still ticked; Back again: page 1; again: the consultation, code kept.
    page.go_back()
    results = on_screen(page, "results")
    expect(results.locator("#page-indicator")).to_have_text("Page 2")
    expect(results.locator(f".invoice-check[data-invoice-id='{invoice_id}']")).to_be_checked()
    page.go_back()
    expect(results.locator("#page-indicator")).to_have_text("Page 1")
    expect(results.locator("#selection-total")).to_have_attribute("data-count", "1")
    page.go_back()
    on_screen(page, "search")
    expect(page.get_by_label("Code d'abonnement")).to_have_value("MAR1")

    # Forward twice, then F5 on the results: page 2, the code and the selection still there.
    page.go_forward()
    expect(on_screen(page, "results").locator("#page-indicator")).to_have_text("Page 1")
    page.go_forward()
    expect(results.locator("#page-indicator")).to_have_text("Page 2")
    page.reload()
    results = on_screen(page, "results")
    expect(results.locator("#page-indicator")).to_have_text("Page 2")
    expect(results.locator("#results-code")).to_contain_text("MAR1")
    expect(results.locator(f".invoice-check[data-invoice-id='{invoice_id}']")).to_be_checked()
    assert_no_code_in_address(page, "MAR1")
    shot(page, "history_results_reloaded")

    # Forward: the payment screen again, payable.
    page.go_forward()
    payment = on_screen(page, "payment")
    expect(payment.locator(f"#payment-invoices tr[data-invoice-id='{invoice_id}']")).to_have_count(1)
    payment.get_by_label("Nom du payeur").fill(PAYER["name"])
    assert_no_code_in_address(page, "MAR1")


def test_reload_and_back_on_the_no_result_screen(page: Page):
    search(page, "NUL0")
    on_screen(page, "empty")
    expect(page).to_have_url(re.compile(r"/\?view=empty$"))
    page.reload()
    on_screen(page, "empty")
    page.go_back()
    on_screen(page, "search")
    expect(page.get_by_label("Code d'abonnement")).to_have_value("NUL0")
    assert_no_code_in_address(page, "NUL0")


def test_a_fresh_tab_at_a_screen_s_address_opens_the_consultation(page: Page):
    # No search in this tab's sessionStorage: nothing to show but the consultation (and no code from anywhere).
    page.goto("/?view=payment")
    on_screen(page, "search")
    expect(page).to_have_url(re.compile(r"/$"))
    expect(page.get_by_label("Code d'abonnement")).to_have_value("")


def test_back_forward_and_reload_around_a_payment_reference(page: Page):
    search(page, "AB12")
    results = on_screen(page, "results")
    results.get_by_role("checkbox", name="F-2026-000123", exact=True).check()
    results.get_by_role("button", name="Régler Factures").click()
    pay_form(page, "CMI", "Fatourati")
    pay_button(page, reference=True).click()
    reference = on_screen(page, "reference")
    code = reference.locator("#reference-code")
    expect(code).to_have_text(re.compile(r"^\d{4} \d{4} \d{4}$"))  # shown grouped 4-4-4 (issue 14.7)
    issued = code.inner_text()
    expect(page).to_have_url(re.compile(r"/\?payment=[A-Za-z0-9-]+$"))
    address = page.url

    page.reload()
    expect(on_screen(page, "reference").locator("#reference-code")).to_have_text(issued)
    # Back: the results, where the invoice is now held by this payment (no longer selectable).
    page.go_back()
    results = on_screen(page, "results")
    row = results.locator("tr.invoice-row", has=page.get_by_role("checkbox", name="F-2026-000123", exact=True))
    expect(row).to_have_attribute("data-status", "PENDING_PAYMENT")
    expect(results.locator("#selection-total")).to_have_attribute("data-count", "0")
    page.go_forward()
    expect(on_screen(page, "reference").locator("#reference-code")).to_have_text(issued)
    assert page.url == address
    assert_no_code_in_address(page, "AB12")
