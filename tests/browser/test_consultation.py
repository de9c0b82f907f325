"""Consultation in a real browser: the search form, no result, waiting, paging and filters, one issuer at a time,
the running total, errors, Arabic, a phone, the keyboard. Nothing here pays: the counts stay those of the demo data."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest
from playwright.sync_api import Page, Route, expect

from tests.support.browser import data_amount, mad, on_screen, search, shot

pytestmark = pytest.mark.browser

MAR1_UNPAID = 35
PAGE_SIZE = 10


def api_search(page: Page, body: dict[str, Any]) -> list[dict[str, Any]]:
    """Every invoice the API lists for `body`, following the cursors (what the page should show, page by page)."""
    items: list[dict[str, Any]] = []
    cursor = None
    while True:
        answer = page.request.post("/v1/invoices/search", data={**body, "cursor": cursor}).json()
        items += answer["items"]
        cursor = answer["next_cursor"]
        if not cursor:
            return items


def shown_ids(page: Page) -> list[str]:
    ids: list[str] = page.locator("#screen-results tr.invoice-row").evaluate_all(
        "rows => rows.map(r => r.dataset.invoiceId)"
    )
    return ids


def test_the_search_form_is_the_first_screen(page: Page):
    page.goto("/")
    screen = on_screen(page, "search")
    expect(page.get_by_role("heading", level=1)).to_have_text("E-Paiement pour un tiers")
    expect(page.locator("html")).to_have_attribute("lang", "fr")
    expect(page.get_by_role("button", name="Français")).to_have_attribute("aria-pressed", "true")
    expect(screen.get_by_label("Code d'abonnement")).to_be_empty()
    claims = page.get_by_role("link", name="Plateforme d'assistance en ligne (réclamations)")
    expect(claims).to_have_attribute("href", "http://reclamation.portnet.ma/")  # as in PORTNET's manual
    expect(page.get_by_role("link", name="05 20 47 31 00")).to_have_attribute("href", "tel:+212520473100")
    shot(page, "search")


def test_a_code_without_unpaid_invoices_says_so_in_red_and_leads_back_to_the_form(page: Page):
    search(page, "nul0")
    screen = on_screen(page, "empty")
    message = screen.locator("#empty-message")
    expect(message).to_have_text("Aucune facture impayée pour ce code d'abonnement.")
    red, green, blue = message.evaluate("node => getComputedStyle(node).color.match(/\\d+/g).slice(0, 3).map(Number)")
    assert red > 120, f"the message is not red: rgb({red}, {green}, {blue})"
    assert red > 2 * max(green, blue), f"the message is not red: rgb({red}, {green}, {blue})"
    shot(page, "empty")

    screen.get_by_role("button", name="Nouvelle recherche de factures").click()
    form = on_screen(page, "search")
    expect(form.get_by_label("Code d'abonnement")).to_have_value("NUL0")
    expect(page.get_by_role("heading", name="Consulter les factures impayées")).to_be_focused()


def test_an_invalid_code_is_refused_before_any_request(page: Page):
    searched: list[str] = []
    page.on("request", lambda request: searched.append(request.url) if "/v1/invoices" in request.url else None)
    search(page, "AB1")
    field = page.get_by_label("Code d'abonnement")
    expect(field).to_have_attribute("aria-invalid", "true")
    expect(field).to_be_focused()
    expect(page.get_by_role("alert")).to_contain_text("exactement 4 lettres ou chiffres")
    assert searched == []


def test_the_page_says_to_wait_while_it_checks(page: Page):
    held: list[Route] = []

    def hold(route: Route) -> None:
        held.append(route)  # no answer until the test lets the request go on

    page.route("**/v1/invoices/search", hold)
    search(page, "AB12")
    form = page.locator("#screen-search")
    expect(form.get_by_text("Veuillez patienter…")).to_be_visible()
    expect(form.get_by_role("button", name="Consulter", exact=True)).to_be_disabled()
    expect(form).to_have_attribute("aria-busy", "true")
    assert len(held) == 1
    held[0].continue_()
    on_screen(page, "results")
    expect(form.get_by_text("Veuillez patienter…")).to_have_count(0)
    expect(page.locator("#screen-results tr.invoice-row")).to_have_count(3)


def test_thirty_five_invoices_are_paged_ten_by_ten(page: Page):
    expected = [item["invoice_id"] for item in api_search(page, {"subscription_code": "MAR1"})]
    assert len(expected) == MAR1_UNPAID
    search(page, "MAR1")
    screen = on_screen(page, "results")
    previous, following = (screen.get_by_role("button", name=name, exact=True) for name in ("Précédent", "Suivant"))
    rows = screen.locator("tr.invoice-row")
    seen: list[str] = []
    for number in range(1, 5):
        expect(screen.locator("#page-indicator")).to_have_text(f"Page {number}")
        expect(rows).to_have_count(PAGE_SIZE if number < 4 else MAR1_UNPAID - 3 * PAGE_SIZE)
        seen += shown_ids(page)
        if number == 1:
            expect(previous).to_be_disabled()
            shot(page, "results")
        if number < 4:
            following.click()
    expect(following).to_be_disabled()
    assert seen == expected, "every unpaid invoice exactly once, in the API's order"

    previous.click()
    expect(screen.locator("#page-indicator")).to_have_text("Page 3")
    expect(rows).to_have_count(PAGE_SIZE)
    assert shown_ids(page) == expected[20:30]
    for _ in range(2):
        previous.click()
    expect(screen.locator("#page-indicator")).to_have_text("Page 1")
    expect(previous).to_be_disabled()
    assert shown_ids(page) == expected[:10]


def test_filters_by_issuer_and_minimum_amount(page: Page):
    expected = api_search(page, {"subscription_code": "MAR1", "filters": {"issuer": "MARSA", "min_amount": "20000.00"}})
    assert 0 < len(expected) <= PAGE_SIZE, "the demo data should give one page for this filter"
    search(page, "MAR1")
    screen = on_screen(page, "results")
    screen.get_by_text("Filtrer les résultats").click()
    screen.get_by_label("Émetteur (code)").fill("marsa")
    screen.get_by_label("Minimum").fill("20 000")
    screen.get_by_role("button", name="Appliquer les filtres").click()

    rows = screen.locator("tr.invoice-row")
    expect(rows).to_have_count(len(expected))
    assert shown_ids(page) == [item["invoice_id"] for item in expected]
    for row in rows.all():
        expect(row).to_have_attribute("data-issuer", "MARSA")
        assert data_amount(row.locator("td[data-amount]")) >= Decimal("20000.00")
    expect(screen.locator("#filters-active")).to_have_text("2 filtres actifs")
    expect(screen.get_by_role("button", name="Suivant", exact=True)).to_be_disabled()
    shot(page, "results_filtered")

    screen.get_by_label("Minimum").fill("9999999")
    screen.get_by_role("button", name="Appliquer les filtres").click()
    expect(screen.locator("#no-match")).to_have_text("Aucune facture impayée ne correspond à ces filtres.")
    expect(rows).to_have_count(0)

    screen.get_by_role("button", name="Effacer les filtres").click()
    expect(rows).to_have_count(PAGE_SIZE)
    expect(screen.locator("#no-match")).to_be_hidden()
    expect(screen.get_by_label("Émetteur (code)")).to_be_empty()


def test_only_one_issuers_invoices_can_be_selected_and_the_total_adds_up(page: Page):
    search(page, "MAR1")
    screen = on_screen(page, "results")
    first_page = [row for row in screen.locator("tr.invoice-row").all()]
    assert {row.get_attribute("data-issuer") for row in first_page} == {"ANP"}, "ANP sorts first"
    anp = [row.get_by_role("checkbox").get_attribute("data-invoice-id") for row in first_page]
    picked = [screen.locator(f"tr[data-invoice-id='{invoice}']") for invoice in anp[:2]]
    for row in picked:
        row.get_by_role("checkbox").check()
    notice = screen.locator("#issuer-restriction")
    expect(notice).to_be_visible()
    expect(notice).to_contain_text("Un paiement ne peut regrouper que les factures d'un seul émetteur")
    expect(notice).to_contain_text("Agence Nationale des Ports (ANP)")

    screen.get_by_role("button", name="Suivant", exact=True).click()
    expect(screen.locator("#page-indicator")).to_have_text("Page 2")
    others = screen.locator("tr.invoice-row:not([data-issuer=ANP])")
    expect(others.first).to_be_visible()
    assert others.count() > 0
    for row in others.all():
        box = row.get_by_role("checkbox")
        expect(box).to_be_disabled()
        expect(row).to_have_attribute("data-selectable", "false")
        expect(row.locator(".row-reason")).to_have_text("Autre émetteur : non sélectionnable")
        expect(box).to_have_accessible_description(
            "Autre émetteur : non sélectionnable Vous avez sélectionné des factures de Agence Nationale des Ports (ANP). "
            "Un paiement ne peut regrouper que les factures d'un seul émetteur : pour choisir un autre émetteur, "
            "désélectionnez d'abord ces factures."
        )
    third = screen.locator("tr.invoice-row[data-issuer=ANP]").first
    expect(third.get_by_role("checkbox")).to_be_enabled()
    third.get_by_role("checkbox").check()
    picked.append(third)

    total = screen.locator("#selection-total")
    expect(total).to_have_attribute("data-count", "3")
    amounts = {item["invoice_id"]: Decimal(item["amount"]) for item in api_search(page, {"subscription_code": "MAR1"})}
    chosen = [*anp[:2], third.get_attribute("data-invoice-id")]
    expected = sum((amounts[invoice] for invoice in chosen), Decimal("0.00"))
    assert data_amount(total) == expected
    assert mad(total.inner_text()) == expected, total.inner_text()
    expect(total).to_contain_text("Total de la sélection :")
    shot(page, "results_selection", full_page=False)  # the selection bar sticks to the window's bottom

    third.get_by_role("checkbox").uncheck()
    screen.get_by_role("button", name="Précédent", exact=True).click()
    for row in picked[:2]:
        row.get_by_role("checkbox").uncheck()
    expect(notice).to_be_hidden()
    expect(total).to_have_attribute("data-count", "0")
    expect(screen.get_by_role("button", name="Régler Factures")).to_be_disabled()
    screen.get_by_role("button", name="Suivant", exact=True).click()
    expect(screen.locator("#page-indicator")).to_have_text("Page 2")
    expect(others.first.get_by_role("checkbox")).to_be_enabled()


def test_too_many_requests_says_when_to_try_again(page: Page):
    problem = {
        "type": "about:blank",
        "title": "Too Many Requests",
        "status": 429,
        "detail": "Trop de requêtes.",
        "code": "RATE_LIMITED",
    }
    page.route(
        "**/v1/invoices/search",
        lambda route: route.fulfill(
            status=429,
            headers={"Retry-After": "42", "Content-Type": "application/problem+json"},
            body=json.dumps(problem),
        ),
    )
    search(page, "AB12")
    alert = page.get_by_role("alert")
    expect(alert).to_have_text("Trop de tentatives. Veuillez réessayer dans 42 secondes.")
    on_screen(page, "search")
    expect(page.get_by_role("button", name="Consulter", exact=True)).to_be_enabled()


def test_arabic_is_laid_out_right_to_left(page: Page):
    page.goto("/")
    page.get_by_role("button", name="العربية").click()
    html = page.locator("html")
    expect(html).to_have_attribute("dir", "rtl")
    expect(html).to_have_attribute("lang", "ar")
    expect(page.get_by_role("heading", level=1)).to_have_text("الأداء الإلكتروني لفائدة الغير")
    expect(page.get_by_role("heading", level=2, name="الاطلاع على الفواتير غير المؤداة")).to_be_visible()
    expect(page.get_by_role("button", name="العربية")).to_have_attribute("aria-pressed", "true")
    page.get_by_label("رمز الاشتراك").fill("AB12")
    page.get_by_role("button", name="الاطلاع", exact=True).click()
    screen = on_screen(page, "results", "الفواتير غير المؤداة")
    screen.get_by_role("checkbox", name="F-2026-000123").check()
    expect(screen.locator("#selection-total")).to_contain_text("1.250,50\u00a0درهم")
    # Right to left: the table's first column (the invoice number) is on the right.
    number, amount = (screen.locator(f"tbody tr >> nth=0 >> td >> nth={i}").bounding_box() for i in (0, 4))
    assert number is not None
    assert amount is not None
    assert number["x"] > amount["x"]
    shot(page, "arabic")
    page.reload()
    expect(html).to_have_attribute("dir", "rtl")  # the choice is remembered


def assert_no_horizontal_scroll(page: Page, where: str) -> None:
    widths = page.evaluate(
        "() => [document.documentElement.scrollWidth, document.documentElement.clientWidth, window.innerWidth]"
    )
    assert widths[0] <= widths[1] <= widths[2], f"{where}: page {widths[0]} px wide in a {widths[1]} px window"


def test_a_phone_shows_everything_without_horizontal_scrolling(page: Page):
    page.set_viewport_size({"width": 375, "height": 812})
    page.goto("/")
    on_screen(page, "search")
    assert_no_horizontal_scroll(page, "search")
    search(page, "MAR1")
    screen = on_screen(page, "results")
    expect(screen.locator("tr.invoice-row")).to_have_count(PAGE_SIZE)
    assert_no_horizontal_scroll(page, "results")
    screen.get_by_role("checkbox").first.check()
    pay = screen.get_by_role("button", name="Régler Factures")
    pay.scroll_into_view_if_needed()
    expect(pay).to_be_in_viewport()
    shot(page, "phone", full_page=False)
    pay.click()
    on_screen(page, "payment")
    assert_no_horizontal_scroll(page, "payment")
    shot(page, "phone_payment")


def test_a_keyboard_alone_finds_and_selects_invoices(page: Page):
    page.goto("/")
    on_screen(page, "search")
    page.keyboard.press("Tab")
    expect(page.get_by_role("link", name="Aller au contenu principal")).to_be_focused()
    code = page.get_by_label("Code d'abonnement")
    for _ in range(8):
        if code.evaluate("node => node === document.activeElement"):
            break
        page.keyboard.press("Tab")
    expect(code).to_be_focused()
    page.keyboard.type("ab12")
    page.keyboard.press("Tab")
    expect(page.get_by_label("N° Facture")).to_be_focused()
    page.keyboard.press("Tab")
    expect(page.get_by_role("button", name="Consulter", exact=True)).to_be_focused()
    page.keyboard.press("Enter")

    screen = on_screen(page, "results")
    expect(page.get_by_role("heading", name="Factures impayées")).to_be_focused()
    first = screen.get_by_role("checkbox", name="F-2026-000123")
    for _ in range(10):
        if first.evaluate("node => node === document.activeElement"):
            break
        page.keyboard.press("Tab")
    expect(first).to_be_focused()
    page.keyboard.press("Space")
    expect(first).to_be_checked()
    expect(screen.locator("#selection-total")).to_have_attribute("data-amount", "1250.50")
    pay = screen.get_by_role("button", name="Régler Factures")
    for _ in range(15):
        if pay.evaluate("node => node === document.activeElement"):
            break
        page.keyboard.press("Tab")
    expect(pay).to_be_focused()
    page.keyboard.press("Enter")
    on_screen(page, "payment")
    expect(page.locator("#payment-total")).to_have_attribute("data-amount", "1250.50")
