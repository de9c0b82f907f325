"""axe-core finds no violation on any screen of the page, in French, Arabic and English: the consultation and its
empty result, the results with their filters open and a selection, the payment form, a reference with its cancel
dialog, the status while checking, a failure, a receipt, and the verification of a receipt (tested with each of its
outcomes in test_receipt_verification.py). Payments are faked with page.route where the local stack cannot show them
at will; axe.min.js comes from PyPI's axe-playwright-python, installed by `make install`."""

from __future__ import annotations

import json

import pytest
from playwright.sync_api import Page, expect

from tests.support.a11y import assert_no_axe_violation
from tests.support.browser import LANGS, on_screen, search, shot, shots
from tests.support.receipt_pages import PAYMENT_ID, fake_paid_payment

pytestmark = pytest.mark.browser


def each_language(page: Page, where: str) -> None:
    for lang in LANGS:
        page.locator(f"[data-lang={lang}]").click()
        expect(page.locator("html")).to_have_attribute("lang", lang)
        assert_no_axe_violation(page, f"{where} ({lang})")
    page.locator("[data-lang=fr]").click()


def payment_view(status: str, method: str = "CARD", **extra) -> dict:
    return {
        "payment_id": PAYMENT_ID,
        "status": status,
        "amount": "1250.50",
        "currency": "MAD",
        "gateway": "CMI",
        "method": method,
        "issuer": {"code": "ANP", "name": "Agence Nationale des Ports"},
        "invoices": [{"invoice_id": "inv-1", "invoice_number": "F-2026-000123", "amount": "1250.50"}],
        "created_at": "2026-11-27T10:00:00Z",
        "expires_at": "2099-11-27T10:30:00Z",
        "paid_at": None,
        "gateway_transaction_id": None,
        "reference": None,
        "last_error": None,
        "reversal": None,
        "unapplied_funds": [],
        **extra,
    }


def follow(page: Page, view: dict) -> None:
    body = json.dumps(view)
    page.route(
        f"**/v1/payments/{PAYMENT_ID}",
        lambda route: route.fulfill(status=200, content_type="application/json", body=body),
    )
    page.goto(f"/?payment={PAYMENT_ID}")


def test_the_consultation_its_empty_result_the_results_and_the_payment_form(page: Page):
    page.goto("/")
    on_screen(page, "search")
    each_language(page, "the consultation")
    search(page, "NUL0")
    on_screen(page, "empty")
    each_language(page, "no result")
    search(page, "MAR1")
    results = on_screen(page, "results")
    results.locator("#filters summary").click()
    results.get_by_role("checkbox").first.check()
    each_language(page, "the results")
    shots(page, "results_filters_open", widths=(1280, 320))
    results.get_by_role("button", name="Régler Factures").click()
    payment = on_screen(page, "payment")
    payment.locator("#method-FATOURATI").check()
    each_language(page, "the payment form")
    shots(page, "payment_form")


def test_a_reference_and_its_cancel_dialog(page: Page):
    reference = {"code": "123456789012", "expires_at": "2099-11-30T10:00:00Z", "channels": ["E-BANKING", "M-BANKING"]}
    follow(page, payment_view("AWAITING_SETTLEMENT", "FATOURATI", reference=reference))
    screen = on_screen(page, "reference")
    each_language(page, "the reference")
    shots(page, "reference")
    answers = {
        "fr": ("Non, la conserver", "Oui, annuler la référence"),
        "ar": ("لا، الاحتفاظ به", "نعم، إلغاء المرجع"),
        "en": ("No, keep it", "Yes, cancel the reference"),
    }
    for lang in LANGS:  # the dialog is modal: the language is changed with it closed
        page.locator(f"[data-lang={lang}]").click()
        screen.locator("#reference-cancel").click()
        dialog = page.get_by_role("dialog")
        keep, cancel = answers[lang]
        expect(dialog.get_by_role("button", name=keep)).to_be_focused()  # the safe answer first
        expect(dialog.get_by_role("button", name=cancel)).to_be_visible()
        assert_no_axe_violation(page, f"the cancel dialog ({lang})")
        for width in (1280, 320):
            page.set_viewport_size({"width": width, "height": 900})
            shot(page, f"reference_cancel_dialog_{lang}_{width}", full_page=False)
        page.set_viewport_size({"width": 1280, "height": 900})
        page.keyboard.press("Escape")  # Escape keeps the reference
        expect(dialog).to_be_hidden()
        expect(screen.locator("#reference-cancel")).to_be_focused()
    page.locator("[data-lang=fr]").click()


def test_cancelling_a_reference_asks_with_its_answers_spelled_out(page: Page):
    reference = {"code": "123456789012", "expires_at": "2099-11-30T10:00:00Z", "channels": ["E-BANKING", "M-BANKING"]}
    follow(page, payment_view("AWAITING_SETTLEMENT", "FATOURATI", reference=reference))
    cancels: list[str] = []

    def cancel(route) -> None:
        cancels.append(route.request.method)
        body = json.dumps(payment_view("CANCELLED", "FATOURATI", reference=reference))
        route.fulfill(status=200, content_type="application/json", body=body)

    page.route(f"**/v1/payments/{PAYMENT_ID}/cancel", cancel)
    screen = on_screen(page, "reference")
    screen.get_by_role("button", name="Annuler cette référence").click()
    page.get_by_role("dialog").get_by_role("button", name="Non, la conserver").click()
    expect(page.get_by_role("dialog")).to_be_hidden()
    assert cancels == []
    on_screen(page, "reference")
    screen.get_by_role("button", name="Annuler cette référence").click()
    page.get_by_role("dialog").get_by_role("button", name="Oui, annuler la référence").click()
    on_screen(page, "failure")
    expect(page.locator("#failure-message")).to_have_attribute("data-status", "CANCELLED")
    assert cancels == ["POST"]


def test_the_status_while_the_payment_is_checked(page: Page):
    follow(page, payment_view("PENDING"))
    on_screen(page, "status")
    each_language(page, "the status")


def test_a_failure(page: Page):
    follow(page, payment_view("FAILED", last_error="M2T FAILED"))
    on_screen(page, "failure")
    each_language(page, "a failure")
    shots(page, "failure_failed", widths=(360,))


def test_a_receipt(page: Page):
    fake_paid_payment(page)
    page.goto(f"/?payment={PAYMENT_ID}")
    on_screen(page, "receipt")
    each_language(page, "the receipt")
