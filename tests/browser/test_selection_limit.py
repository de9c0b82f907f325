"""The 50-invoice limit of a payment, enforced and said (issue 14.5); "select all on this page", the result count with
"page x of y", and overdue invoices marked. The search is faked with page.route: 60 unpaid invoices of one issuer
(the demo data has no code with more than 50), half of them overdue."""

from __future__ import annotations

import json

import pytest
from playwright.sync_api import Page, Route, expect

from tests.support.browser import on_screen, search, shot

pytestmark = pytest.mark.browser

INVOICES = [
    {
        "invoice_id": f"inv-{index:03d}",
        "invoice_number": f"ZZ-2026-{index:05d}",
        "issuer": {"code": "ANP", "name": "Agence Nationale des Ports"},
        "issue_date": "2026-01-15",
        "due_date": "2020-02-14" if index % 2 else "2999-02-14",
        "amount": "100.00",
        "currency": "MAD",
        "description": "Droits de port",
        "status": "UNPAID",
        "hold_expires_at": None,
    }
    for index in range(60)
]


def fake_search(route: Route) -> None:
    body = json.loads(route.request.post_data or "{}")
    start = int(body.get("cursor") or 0)
    end = start + int(body.get("page_size", 10))
    answer = {"items": INVOICES[start:end], "next_cursor": str(end) if end < len(INVOICES) else None}
    route.fulfill(status=200, content_type="application/json", body=json.dumps(answer))


def test_fifty_invoices_at_most_said_and_enforced(page: Page):
    page.route("**/v1/invoices/search", fake_search)
    search(page, "ZZ99")
    results = on_screen(page, "results")
    expect(results.locator("#results-count")).to_have_text("Factures impayées : 60 — page 1 sur 6")
    overdue = results.locator("tr.invoice-row[data-overdue=true]")
    expect(overdue).to_have_count(5)
    expect(overdue.first).to_contain_text("Échue")
    expect(results.locator("tr.invoice-row[data-overdue=false]").first).not_to_contain_text("Échue")

    select_page = results.get_by_role("button", name="Sélectionner toute la page")
    for number in range(1, 6):
        select_page.click()
        expect(results.locator("#selection-total")).to_have_attribute("data-count", str(10 * number))
        results.get_by_role("button", name="Suivant", exact=True).click()
        expect(results.locator("#results-count")).to_have_text(f"Factures impayées : 60 — page {number + 1} sur 6")

    # Page 6: 50 selected, nothing more can be.
    limit = results.locator("#selection-limit")
    expect(limit).to_be_visible()
    expect(limit).to_have_text(
        "Un paiement regroupe au plus 50 factures : cette limite est atteinte. "
        "Réglez d'abord ces factures, puis les suivantes."
    )
    expect(select_page).to_be_disabled()
    boxes = results.locator(".invoice-check")
    expect(boxes).to_have_count(10)
    for index in range(10):
        expect(boxes.nth(index)).to_be_disabled()
    expect(results.locator(".row-limit").first).to_have_text("Limite de 50 factures atteinte")
    expect(results.locator("#selection-total")).to_have_attribute("data-count", "50")
    shot(page, "results_selection_limit")

    # One unticked on page 5 frees a place on page 6.
    results.get_by_role("button", name="Précédent", exact=True).click()
    expect(results.locator("#page-indicator")).to_have_text("Page 5")
    results.get_by_role("checkbox", name="ZZ-2026-00049", exact=True).uncheck()
    expect(limit).to_be_hidden()
    results.get_by_role("button", name="Suivant", exact=True).click()
    expect(results.locator("#page-indicator")).to_have_text("Page 6")
    results.get_by_role("checkbox", name="ZZ-2026-00050", exact=True).check()
    expect(results.locator("#selection-total")).to_have_attribute("data-count", "50")
    expect(results.get_by_role("checkbox", name="ZZ-2026-00051", exact=True)).to_be_disabled()

    results.get_by_role("button", name="Régler Factures").click()
    payment = on_screen(page, "payment")
    expect(payment.locator("#payment-invoices tbody tr")).to_have_count(50)


def test_select_all_on_a_page_in_arabic(page: Page):
    page.route("**/v1/invoices/search", fake_search)
    search(page, "ZZ99")
    results = on_screen(page, "results")
    page.get_by_role("button", name="العربية").click()
    expect(results.locator("#results-count")).to_have_text("عدد الفواتير غير المؤداة: 60 — الصفحة 1 من 6")
    results.get_by_role("button", name="تحديد كل فواتير هذه الصفحة").click()
    expect(results.locator("#selection-total")).to_have_attribute("data-count", "10")
    expect(results.locator("tr.invoice-row[data-overdue=true]").first).to_contain_text("تجاوزت تاريخ الاستحقاق")
    shot(page, "results_ar_select_page")
