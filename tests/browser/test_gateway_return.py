"""Back from a gateway's page without paying (issue 14.2): "Annuler et choisir un autre moyen" at once.

The payment still PENDING is cancelled (POST /v1/payments/{id}/cancel, its invoices freed) and the payment screen
comes back with the same invoices and the payer's details, to pay with another means.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.support.browser import PAYER, on_screen, pay_button, pay_form, search, shot

pytestmark = pytest.mark.browser


def to_the_gateway(page: Page, number: str) -> None:
    search(page, "AB12")
    results = on_screen(page, "results")
    results.get_by_role("checkbox", name=number, exact=True).check()
    results.get_by_role("button", name="Régler Factures").click()
    pay_form(page, "CMI", "Carte bancaire")
    pay_button(page).click()
    expect(page.get_by_role("heading", name="CMI — Paiement sécurisé")).to_be_visible()


def change_method_and_pay_by_reference(page: Page, number: str) -> None:
    status = on_screen(page, "status")
    change = status.get_by_role("button", name="Annuler et choisir un autre moyen")
    expect(change).to_be_visible(timeout=5_000)  # at once, not after the 30 s of checking
    shot(page, "status_change_method")
    cancels: list[str] = []
    page.on("request", lambda request: cancels.append(request.url) if request.url.endswith("/cancel") else None)
    change.click()

    payment = on_screen(page, "payment")
    assert len(cancels) == 1
    assert re.search(r"/v1/payments/[A-Za-z0-9-]+/cancel$", cancels[0])
    expect(payment.get_by_role("cell", name=number, exact=True)).to_be_visible()
    expect(payment.get_by_label("Nom du payeur")).to_have_value(PAYER["name"])
    expect(payment.get_by_label("E-mail")).to_have_value(PAYER["email"])
    # The invoice is free again: another means of payment takes it.
    payment.get_by_role("radio", name="Fatourati", exact=True).check()
    pay_button(page, reference=True).click()
    on_screen(page, "reference")


def test_browser_back_from_the_gateway_offers_another_means_at_once(page: Page):
    to_the_gateway(page, "F-2026-000123")
    page.go_back()
    change_method_and_pay_by_reference(page, "F-2026-000123")


def test_the_gateway_s_return_link_without_paying_offers_another_means_at_once(page: Page):
    to_the_gateway(page, "F-2026-000187")
    page.get_by_role("button", name="Retour au site marchand").click()
    continue_ = page.get_by_role("button", name="Continuer")
    if continue_.count():
        continue_.click()
    change_method_and_pay_by_reference(page, "F-2026-000187")
