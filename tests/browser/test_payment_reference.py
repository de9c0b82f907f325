"""Issue 14, items 6 and 7 in a real browser: the payment button says what it does (the amount, or "get the
reference") in each language; the reference screen shows one reference, grouped 4-4-4, copied as its digits alone,
and the payment id apart as the support number."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from playwright.sync_api import Locator, Page, expect

from tests.support.browser import GET_REFERENCE, data_amount, on_screen, pay_button, pay_form, search, shot

pytestmark = pytest.mark.browser

SPACES = re.compile(r"\s+")


def plain(text: str) -> str:
    """No-break and narrow no-break spaces as plain spaces (the page's money formats use them)."""
    return SPACES.sub(" ", text).strip()


def amount_in(lang: str, amount: Decimal) -> str:
    """The amount as the page writes it in each language (groups and decimals of fr, ar and en)."""
    english = f"{amount:,.2f}"
    if lang == "en":
        return f"{english} MAD"
    if lang == "fr":
        return english.replace(",", " ").replace(".", ",") + " MAD"
    return english.replace(",", "#").replace(".", ",").replace("#", ".") + " درهم"


def to_payment(page: Page, number: str = "F-2026-000123") -> Locator:
    search(page, "AB12")
    results = on_screen(page, "results")
    results.get_by_role("checkbox", name=number, exact=True).check()
    results.get_by_role("button", name="Régler Factures").click()
    return on_screen(page, "payment")


def choose(screen: Locator, gateway: str, method: str) -> None:
    screen.locator(f"#gateway-{gateway}").check()
    screen.locator(f"#method-{method}").check()


LABELS = {
    "fr": ("Payer {amount}", "Obtenir la référence"),
    "en": ("Pay {amount}", "Get the reference"),
    "ar": ("أداء {amount}", "الحصول على المرجع"),
}


@pytest.mark.parametrize("lang", ["fr", "ar", "en"])
def test_the_payment_button_states_the_amount_or_gets_the_reference(page: Page, lang: str):
    screen = to_payment(page)
    amount = data_amount(screen.locator("#payment-total"))
    page.locator(f"[data-lang={lang}]").click()
    expect(page.locator("html")).to_have_attribute("lang", lang)
    button = screen.locator("#pay-submit")
    pay, reference = LABELS[lang]
    expected = {
        ("CMI", "CARD"): pay.format(amount=amount_in(lang, amount)),
        ("CMI", "FATOURATI"): reference,
        ("M2T", "CARD"): pay.format(amount=amount_in(lang, amount)),
        ("M2T", "TASHILAT"): reference,
        ("M2T", "DIRECT_DEBIT"): pay.format(amount=amount_in(lang, amount)),
    }
    for (gateway, method), label in expected.items():
        choose(screen, gateway, method)
        assert plain(button.inner_text()) == label, (gateway, method, button.inner_text())

    # A line for each platform, and what the e-mail is for, in this language.
    hints = {
        "fr": ("Centre Monétique Interbancaire", "AmanPay", "reçu du paiement"),
        "en": ("Centre Monétique Interbancaire", "AmanPay", "payment receipt"),
        "ar": ("المركز النقدي بين البنوك", "AmanPay", "وصل الأداء"),
    }[lang]
    expect(screen.locator("#gateway-CMI-hint")).to_contain_text(hints[0])
    expect(screen.locator("#gateway-M2T-hint")).to_contain_text(hints[1])
    expect(screen.locator("#payer-email-hint")).to_contain_text(hints[2])
    expect(screen.locator("#payer-email")).to_have_attribute("aria-describedby", re.compile(r"\bpayer-email-hint\b"))
    expect(screen.locator("#gateway-M2T")).to_have_attribute("aria-describedby", "gateway-M2T-hint")

    choose(screen, "CMI", "CARD")
    shot(page, f"payment_button_{lang}")
    choose(screen, "M2T", "TASHILAT")
    shot(page, f"payment_button_reference_{lang}")


def test_the_french_button_by_its_accessible_name(page: Page):
    screen = to_payment(page)
    choose(screen, "CMI", "CARD")
    expect(pay_button(page)).to_be_visible()
    choose(screen, "CMI", "FATOURATI")
    expect(pay_button(page, reference=True)).to_have_text(GET_REFERENCE)
    expect(pay_button(page)).to_have_count(0)


def to_reference(page: Page) -> Locator:
    to_payment(page)
    pay_form(page, "CMI", "Fatourati")
    pay_button(page, reference=True).click()
    return on_screen(page, "reference")


def test_one_reference_grouped_copied_as_digits_and_the_support_number_apart(page: Page):
    screen = to_reference(page)
    code = screen.locator("#reference-code")
    expect(code).to_have_text(re.compile(r"^\d{4} \d{4} \d{4}$"))
    digits = code.get_attribute("data-reference") or ""
    assert re.fullmatch(r"\d{12}", digits), digits
    assert code.inner_text() == f"{digits[:4]} {digits[4:8]} {digits[8:]}"

    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    page.evaluate("() => navigator.clipboard.writeText('')")
    screen.get_by_role("button", name="Copier", exact=True).click()
    expect(screen.locator("#copy-feedback")).to_have_text("Référence copiée.")
    assert page.evaluate("() => navigator.clipboard.readText()") == digits  # the digits, without the spaces

    # The payment id is not a second reference: it is shown apart, below the actions, as the support number.
    payment_id = re.search(r"[?&]payment=([A-Za-z0-9-]+)", page.url)
    assert payment_id, page.url
    support = screen.locator("#reference-payment-id")
    expect(support).to_contain_text("N° de suivi du paiement")
    expect(support).to_contain_text(payment_id.group(1))
    expect(support).not_to_contain_text("Référence")
    expect(screen.locator(".actions + #reference-payment-id")).to_have_count(1)
    assert digits not in support.inner_text()
    shot(page, "reference_grouped_fr")

    # In English the reference and the payment id are named apart.
    page.locator("[data-lang=en]").click()
    expect(screen.locator("#reference-label")).to_have_text("Fatourati reference")
    expect(support).to_contain_text("Payment ID")
    expect(support).not_to_contain_text("reference")
    expect(code).to_have_text(f"{digits[:4]} {digits[4:8]} {digits[8:]}")
    shot(page, "reference_grouped_en")

    page.locator("[data-lang=ar]").click()
    expect(screen.locator("#reference-label")).to_have_text("مرجع فاتورتي")
    expect(support).to_contain_text("رقم تتبع الأداء")
    expect(support).not_to_contain_text("مرجع")
    expect(code).to_have_text(f"{digits[:4]} {digits[4:8]} {digits[8:]}")
    shot(page, "reference_grouped_ar")
