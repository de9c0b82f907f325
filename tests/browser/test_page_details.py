"""Issue 14.10, the details: a focus ring of 3:1 or more against the background around it, and none around a heading
the page moves focus to; E-BANKING, M-BANKING and the payment id never cut across two lines (in Arabic too);
« N° facture » spelled one way; the date filters in the page's language, whatever the browser's."""

from __future__ import annotations

import json
import re

import pytest
from playwright.sync_api import Page, Request, Route, expect

from tests.support.a11y import focus_ring
from tests.support.browser import on_screen, search, shot

pytestmark = pytest.mark.browser

PAYMENT_ID = "PAY-WWMMWWMMWWMMWWMMWWMMWWMMWW"  # 30 characters, as wide as a payment id can be


def tab_through(page: Page, stops: int) -> list[dict]:
    """Presses Tab `stops` times; the focus ring of each element reached (with what it was measured against)."""
    rings = []
    for _ in range(stops):
        page.keyboard.press("Tab")
        ring = focus_ring(page)
        if ring:
            rings.append(ring)
    return rings


def assert_contrast(rings: list[dict], where: str) -> None:
    assert rings, f"nothing took focus on {where}"
    for ring in rings:
        assert ring["outline"], f"{where}: {ring['element']} shows no focus ring"
        assert ring["backgrounds"], f"{where}: nothing measured around {ring['element']}"
        worst = min(ring["ratios"])
        assert worst >= 3, f"{where}: {ring['element']}'s ring is {worst:.2f}:1 against {ring['backgrounds']}"


def test_the_focus_ring_is_3_to_1_or_more_against_the_background_on_the_header_and_the_forms(page: Page):
    page.goto("/")
    on_screen(page, "search")
    # The skip link (over the header's blue), the language buttons (on the header), the form, the links below.
    rings = tab_through(page, 9)
    assert any(ring["element"].startswith("a.skip-link") for ring in rings)
    assert_contrast(rings, "the consultation")
    page.get_by_label("Code d'abonnement").fill("MAR1")
    page.get_by_role("button", name="Consulter", exact=True).click()
    results = on_screen(page, "results")
    results.get_by_text("Filtrer les résultats").click()
    results.get_by_role("checkbox").first.check()  # a selected row: its light blue behind the next rings
    page.get_by_label("Émetteur (code)").focus()
    assert_contrast(tab_through(page, 32), "the results")  # filters, rows, pager, selection bar
    results.get_by_role("button", name="Régler Factures").click()
    on_screen(page, "payment")
    assert_contrast(tab_through(page, 12), "the payment")  # the chosen gateway's and method's light blue cards
    page.goto("/?view=verify")
    on_screen(page, "verify", "Vérifier un reçu")
    assert_contrast(tab_through(page, 8), "the verification")


def test_no_box_around_a_heading_the_page_focuses_after_a_keyboard_action_or_a_return(page: Page):
    search(page, "AB12")
    results = on_screen(page, "results")
    results.get_by_role("checkbox", name="F-2026-000123", exact=True).check()
    results.get_by_role("button", name="Régler Factures").focus()
    page.keyboard.press("Enter")
    heading = on_screen(page, "payment").get_by_role("heading", level=2, name="Paiement")
    expect(heading).to_be_focused()
    assert heading.evaluate("(node) => getComputedStyle(node).outlineStyle") == "none"
    page.go_back()  # the return to the results
    heading = on_screen(page, "results").get_by_role("heading", level=2, name="Factures impayées")
    expect(heading).to_be_focused()
    assert heading.evaluate("(node) => getComputedStyle(node).outlineStyle") == "none"
    shot(page, "results_heading_after_back")


def lines_of(page: Page, container: str, text: str) -> int:
    """On how many lines the first occurrence of `text` inside `container` is drawn."""
    count: int = page.locator(container).evaluate(
        """(root, text) => {
            const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
            for (let node = walker.nextNode(); node; node = walker.nextNode()) {
                const at = node.data.indexOf(text);
                if (at < 0) continue;
                const range = document.createRange();
                range.setStart(node, at);
                range.setEnd(node, at + text.length);
                return new Set([...range.getClientRects()].map((rect) => Math.round(rect.top))).size;
            }
            return 0;
        }""",
        text,
    )
    return count


@pytest.mark.parametrize("lang", ["fr", "ar", "en"])
def test_e_banking_and_m_banking_are_never_cut_at_their_hyphen(page: Page, lang: str):
    search(page, "AB12")
    results = on_screen(page, "results")
    results.get_by_role("checkbox", name="F-2026-000123", exact=True).check()
    results.get_by_role("button", name="Régler Factures").click()
    payment = on_screen(page, "payment")
    payment.locator("#method-FATOURATI").check()
    page.locator(f"[data-lang={lang}]").click()
    for width in (320, 360, 400, 480):
        page.set_viewport_size({"width": width, "height": 900})
        for term in ("E-\u2060BANKING", "M-\u2060BANKING"):
            for where in ("#gateway-CMI-hint", "#method-FATOURATI-hint"):
                assert lines_of(page, where, term) == 1, f"{term} cut in {where} at {width} px in {lang}"
    page.set_viewport_size({"width": 320, "height": 900})
    shot(page, f"payment_fatourati_{lang}_320")


@pytest.mark.parametrize("screen", ["failure", "status", "reference"])
def test_the_payment_id_stays_on_one_line_in_arabic_on_the_narrowest_phone(page: Page, screen: str):
    view = {
        "payment_id": PAYMENT_ID,
        "status": {"failure": "FAILED", "status": "PENDING", "reference": "AWAITING_SETTLEMENT"}[screen],
        "amount": "1250.50",
        "currency": "MAD",
        "gateway": "CMI",
        "method": "FATOURATI" if screen == "reference" else "CARD",
        "issuer": {"code": "ANP", "name": "Agence Nationale des Ports"},
        "invoices": [{"invoice_id": "inv-1", "invoice_number": "F-2026-000123", "amount": "1250.50"}],
        "created_at": "2026-11-27T10:00:00Z",
        "expires_at": "2099-11-27T10:30:00Z",
        "paid_at": None,
        "gateway_transaction_id": None,
        "last_error": None,
        "reversal": None,
        "unapplied_funds": [],
        "reference": {
            "code": "123456789012",
            "expires_at": "2099-11-30T10:00:00Z",
            "channels": ["E-BANKING", "M-BANKING"],
        }
        if screen == "reference"
        else None,
    }
    page.route(
        f"**/v1/payments/{PAYMENT_ID}",
        lambda route: route.fulfill(status=200, content_type="application/json", body=json.dumps(view)),
    )
    page.set_viewport_size({"width": 320, "height": 800})
    page.add_init_script("localStorage.setItem('epay.lang', 'ar')")
    page.goto(f"/?payment={PAYMENT_ID}")
    expect(page.locator("body")).to_have_attribute("data-current-screen", screen)
    line = page.locator(f"#{screen}-payment-id .id")
    expect(line).to_have_text(PAYMENT_ID)
    assert line.evaluate("(node) => node.getClientRects().length") == 1
    assert line.evaluate(
        "(node) => node.getBoundingClientRect().left >= 0 && node.getBoundingClientRect().right <= innerWidth"
    )
    shot(page, f"{screen}_payment_id_ar_320")


def test_invoice_number_is_spelled_one_way(page: Page):
    search(page, "AB12")
    results = on_screen(page, "results")
    expect(results.get_by_role("columnheader", name="N° facture")).to_be_visible()
    page.get_by_role("button", name="Nouvelle recherche de factures").first.click()
    expect(page.get_by_text("N° Facture", exact=True)).to_have_count(0)
    expect(page.get_by_label("N° facture", exact=True)).to_be_visible()


@pytest.mark.parametrize(
    ("lang", "hint", "typed", "sent"),
    [
        ("en", "Day/month/year, for example: 15/01/2026", ("15/01/2026", "31/3/2026"), ("2026-01-15", "2026-03-31")),
        ("ar", "اليوم/الشهر/السنة", ("١٥/٠١/٢٠٢٦", "٣١/٠٣/٢٠٢٦"), ("2026-01-15", "2026-03-31")),
        ("fr", "Jour/mois/année", ("15.01.2026", "31-03-2026"), ("2026-01-15", "2026-03-31")),
    ],
)
def test_date_filters_are_written_in_the_pages_language_whatever_the_browsers(
    page: Page, lang: str, hint: str, typed: tuple[str, str], sent: tuple[str, str]
):
    bodies: list[dict] = []

    def record(route: Route, request: Request) -> None:
        bodies.append(json.loads(request.post_data or "{}"))
        route.continue_()

    page.route("**/v1/invoices/search", record)
    search(page, "MAR1")  # the browser's language is French (conftest); the page's is switched below
    results = on_screen(page, "results")
    page.locator(f"[data-lang={lang}]").click()
    results.locator("#filters summary").click()
    expect(page.locator("#filter-date-hint")).to_contain_text(hint)
    assert page.locator("#filter-from").get_attribute("type") == "text", "no date picker in the browser's language"
    page.locator("#filter-from").fill(typed[0])
    page.locator("#filter-to").fill(typed[1])
    page.locator("#filters-apply").click()
    expect(results.locator("#filters-active")).to_be_visible()
    filters = [body.get("filters") for body in bodies if body.get("filters")]
    assert filters, bodies
    assert (filters[0]["issued_from"], filters[0]["issued_to"]) == sent, filters
    shot(page, f"results_date_filters_{lang}")


def test_a_date_that_is_none_is_said_under_its_field(page: Page):
    search(page, "MAR1")
    results = on_screen(page, "results")
    results.locator("#filters summary").click()
    page.locator("#filter-from").fill("31/02/2026")
    page.locator("#filters-apply").click()
    expect(page.locator("#filter-from")).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#filter-from-error")).to_contain_text("Date invalide")
    expect(page.get_by_role("alert")).to_contain_text(re.compile("Veuillez corriger le formulaire"))
