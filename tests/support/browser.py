"""What the browser tests do as a payer would: find things by their accessible names, read what is shown."""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path

from playwright.sync_api import Locator, Page, expect

from tests.support.servers import ROOT

SCREENSHOTS = ROOT / "test-output" / "screenshots"
PAYER = {"name": "Société Maritime du Détroit", "email": "compta@example.ma", "phone": "0522 00 00 00"}
HEADINGS = {
    "search": "Consulter les factures impayées",
    "empty": "Résultat de la recherche",
    "results": "Factures impayées",
    "payment": "Paiement",
    "reference": "Référence de paiement",
    "status": "Suivi du paiement",
    "receipt": "Reçu de paiement",
    "failure": "Le paiement n'a pas abouti",
}


def shot(page: Page, name: str, *, full_page: bool = True) -> Path:
    """A screenshot of what the payer sees, as test-output/screenshots/<name>.png at the repository root."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{re.sub(r'[^A-Za-z0-9_-]', '_', name)}.png"
    page.screenshot(path=str(path), full_page=full_page, animations="disabled", caret="hide")
    return path


def on_screen(page: Page, name: str, heading: str | None = None) -> Locator:
    """Waits for screen `name` (its heading shown and focused); returns its section."""
    expect(page.locator("body")).to_have_attribute("data-current-screen", name)
    section = page.locator(f"section[data-screen={name}]")
    expect(section).to_be_visible()
    title = section.get_by_role("heading", level=2, name=heading or HEADINGS[name], exact=True)
    expect(title).to_be_visible()
    return section


def search(page: Page, code: str, number: str = "") -> None:
    """Consultation from the page's address: the code, optionally one invoice number, then "Consulter"."""
    page.goto("/")
    on_screen(page, "search")
    page.get_by_label("Code d'abonnement").fill(code)
    if number:
        page.get_by_label("N° facture").fill(number)
    page.get_by_role("button", name="Consulter", exact=True).click()


def mad(text: str) -> Decimal:
    """ "1 250,50 MAD" as the French page writes it (narrow no-break space groups) -> Decimal("1250.50")."""
    match = re.search(r"([0-9][0-9\s\u00a0\u202f]*,[0-9]{2})\s*MAD", text)
    assert match, f"no amount in MAD in {text!r}"
    return Decimal(re.sub(r"[\s\u00a0\u202f]", "", match.group(1)).replace(",", "."))


def data_amount(locator: Locator) -> Decimal:
    """The exact amount an element carries in its data-amount attribute ("1250.50", as the API writes it)."""
    value = locator.get_attribute("data-amount")
    assert value, "no data-amount"
    return Decimal(value)


# The payment screen's button says what it does: the amount to pay ("Payer 2 230,50 MAD"), or, for Fatourati and
# TASHILAT, "Obtenir la référence" (issue 14.6).
PAY_AMOUNT = re.compile(r"^Payer \d{1,3}(?:\s\d{3})*,\d{2}\sMAD$")
GET_REFERENCE = "Obtenir la référence"


def pay_button(page: Page, *, reference: bool = False) -> Locator:
    """The payment screen's button, by the name it must have: the amount to pay, or "Obtenir la référence"."""
    screen = page.locator("#screen-payment")
    if reference:
        return screen.get_by_role("button", name=GET_REFERENCE, exact=True)
    return screen.get_by_role("button", name=PAY_AMOUNT)


def pay_form(page: Page, gateway: str, method: str) -> None:
    """On the payment screen: the platform and the means of payment by their labels, the payer, then "Payer"."""
    screen = on_screen(page, "payment")
    screen.get_by_role("radio", name=gateway, exact=True).check()
    screen.get_by_role("radio", name=method, exact=True).check()
    screen.get_by_label("Nom du payeur").fill(PAYER["name"])
    screen.get_by_label("E-mail").fill(PAYER["email"])
    screen.get_by_label("Téléphone").fill(PAYER["phone"])


# The widths the screenshots are taken at: a desktop, a common phone, the narrowest phone the page supports.
WIDTHS = (1280, 360, 320)
LANGS = ("fr", "ar", "en")


def shots(page: Page, name: str, *, langs: tuple[str, ...] = LANGS, widths: tuple[int, ...] = WIDTHS) -> None:
    """test-output/screenshots/<name>_<lang>_<width>.png for each language and width; the page left in French, as wide
    as it was. Each shot also checks that nothing is wider than the screen (no sideways scrolling)."""
    size = page.viewport_size or {"width": 1280, "height": 900}
    for lang in langs:
        page.locator(f"[data-lang={lang}]").click()
        expect(page.locator("html")).to_have_attribute("lang", lang)
        for width in widths:
            page.set_viewport_size({"width": width, "height": 900})
            overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
            assert overflow <= 0, f"{name} in {lang} at {width} px is {overflow} px wider than the screen"
            shot(page, f"{name}_{lang}_{width}")
    page.locator("[data-lang=fr]").click()
    page.set_viewport_size(size)
