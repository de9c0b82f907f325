"""Every failure in a plain sentence, in the payer's language, the gateway's code only small for the support
(issue 14.3). The payment read is faked with page.route: the texts are those the API stores as last_error."""

from __future__ import annotations

import json

import pytest
from playwright.sync_api import Page, Route, expect

from tests.support.browser import on_screen, shot

pytestmark = pytest.mark.browser

CASES = {
    "CMI 05: Carte refusée par l'émetteur": (
        "PENDING",
        {
            "Français": ("Motif : Carte refusée par la banque émettrice (code 05).", "CMI 05"),
            "English": ("Reason: Card declined by the issuing bank (code 05).", "CMI 05"),
            "العربية": ("السبب: رُفضت العملية من طرف البنك المُصدِر للبطاقة (الرمز 05).", "CMI 05"),
        },
    ),
    "M2T FAILED": (
        "FAILED",
        {
            "Français": ("Motif : Le paiement a échoué sur la plateforme M2T.", "M2T FAILED"),
            "English": ("Reason: The payment failed on the M2T platform.", "M2T FAILED"),
            "العربية": ("السبب: تعذّرت عملية الأداء على منصة \u2066M2T\u2069.", "M2T FAILED"),
        },
    ),
    "GW 3DS_TIMEOUT_XX": (
        "FAILED",
        {
            "Français": ("Motif : La plateforme de paiement n'a pas accepté le paiement.", "GW 3DS_TIMEOUT_XX"),
            "English": ("Reason: The payment platform did not accept the payment.", "GW 3DS_TIMEOUT_XX"),
            "العربية": ("السبب: لم تقبل منصة الأداء عملية الأداء.", "GW 3DS_TIMEOUT_XX"),
        },
    ),
}


@pytest.mark.parametrize("last_error", list(CASES))
def test_a_failure_is_a_sentence_in_each_language_with_the_code_small(page: Page, last_error: str):
    status, expected = CASES[last_error]
    payment = {"payment_id": "PAY-TEST-1", "status": status, "last_error": last_error, "invoices": []}

    def answer(route: Route) -> None:
        route.fulfill(status=200, content_type="application/json", body=json.dumps(payment))

    page.route("**/v1/payments/PAY-TEST-1", answer)
    page.goto("/?payment=PAY-TEST-1")
    on_screen(page, "failure")
    for language, (sentence, code) in expected.items():
        page.get_by_role("button", name=language).click()
        reason = page.locator("#failure-reason")
        expect(reason).to_have_text(sentence)
        assert "refusée par l'émetteur" not in reason.inner_text()
        expect(page.locator("#failure-code")).to_contain_text(code)
        expect(page.locator("#failure-code bdi")).to_have_text(code)
        size = page.locator("#failure-code").evaluate("node => parseFloat(getComputedStyle(node).fontSize)")
        body = page.locator("#failure-reason").evaluate("node => parseFloat(getComputedStyle(node).fontSize)")
        assert size < body, "the code is small"
    if last_error.startswith("GW"):
        page.get_by_role("button", name="Français").click()
        shot(page, "failure_unknown_reason")
