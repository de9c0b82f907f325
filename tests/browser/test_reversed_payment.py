"""A payment whose money was returned (REVERSED, operations-api.md §1) is told plainly, in the payer's language: it
paid none of the invoices, how the money comes back (voided or refunded), and whom to ask; a final state, with no
retry and no waiting. The payment read is faked with page.route, its body the API's own view of a reversed payment.
"""

from __future__ import annotations

import json
import re
from dataclasses import replace

import pytest
from playwright.sync_api import Page, Route, expect

from epay.callbacks import PAID_ELSEWHERE
from epay.invoices import Issuer
from epay.money import Money
from epay.payment_service import payment_view
from epay.payments import Payer, Payment, PaymentLine, PaymentStatus, Reversal, ReversalAction
from tests.support.browser import on_screen, shot

pytestmark = pytest.mark.browser

PAYMENT_ID = "PAY-REVERSEDTEST0000000000000"
NOW = 1_795_774_500
TITLES = {
    "Français": "Paiement non abouti\u00a0: montant restitué",
    "العربية": "لم تكتمل عملية الأداء وتم إرجاع المبلغ",
}
NOT_PAID_HERE = {
    "Français": "Ce paiement n'a réglé aucune de vos factures\u00a0: elles avaient déjà été réglées par un autre paiement.",
    "العربية": "لم تُؤدَّ أيّ فاتورة من فواتيركم بعملية الأداء هذه، إذ سبق أداؤها بعملية أداء أخرى.",
}
RETURNED = {
    "VOID": {
        "Français": "L'autorisation de paiement a été annulée\u00a0: aucun montant ne sera débité. Si votre banque a "
        "réservé le montant, elle le libérera d'ici quelques jours.",
        "العربية": "تم إلغاء الترخيص بالأداء، ولن يُقتطع أيّ مبلغ من حسابكم. وإذا كان البنك قد حجز المبلغ، فسيُفرَج عنه "
        "في غضون بضعة أيام.",
    },
    "REFUND": {
        "Français": "Le montant vous est remboursé sur la carte ou le compte utilisé pour ce paiement. Selon votre "
        "banque, il peut s'écouler quelques jours avant qu'il apparaisse sur votre relevé.",
        "العربية": "يجري إرجاع المبلغ إلى البطاقة أو الحساب المستعمَل في عملية الأداء هذه، وقد يستغرق ظهوره في كشف "
        "حسابكم بضعة أيام حسب البنك.",
    },
}
HELP = {
    "Français": "Pour toute question, contactez le centre de relation clients PORTNET (Plateforme d'assistance en ligne "
    "(réclamations) ou 05 20 47 31 00) en indiquant le n° de suivi du paiement ci-dessous.",
    "العربية": "لأي استفسار، يرجى الاتصال بمركز العلاقة مع الزبناء التابع لبورتنت (منصة المساعدة عبر الإنترنت (الشكايات) أو "
    "05 20 47 31 00) مع ذكر رقم تتبع الأداء المبيَّن أدناه.",
}
NEW_SEARCH = {"Français": "Nouvelle recherche de factures", "العربية": "بحث جديد عن الفواتير"}
RETRY = {"Français": "Réessayer", "العربية": "إعادة المحاولة"}


def reversed_view(action: ReversalAction) -> dict:
    """What `GET /v1/payments/{id}` answers for a card payment that was approved after another payment had paid its
    invoice, once recovery returned the money: the API's own view (epay.payment_service.payment_view)."""
    pending = Payment(
        payment_id=PAYMENT_ID,
        subscription_code="AB12",
        issuer=Issuer("ANP", "Agence Nationale des Ports"),
        gateway="CMI",
        method="CARD",
        lines=(PaymentLine("inv-reversed-1", "F-2026-000123", Money(125_050)),),
        amount=Money(125_050),
        payer=Payer("Société Maritime", "compta@example.ma"),
        lang="fr",
        status=PaymentStatus.PENDING,
        created_at=NOW,
        expires_at=NOW + 1800,
    )
    returned = replace(
        pending,
        status=PaymentStatus.REVERSED,
        gateway_transaction_id="26015K1Q0001",
        # A decline the payer met before the approval: it must not be shown as why the payment ended.
        last_error="CMI 05: Carte refusée par l'émetteur",
        review_reason=PAID_ELSEWHERE,
        reversal=Reversal(action, NOW + 600, PAID_ELSEWHERE),
    )
    return payment_view(returned, NOW + 900).model_dump(mode="json")


def follow(page: Page, view: dict) -> list[str]:
    """The page opened on the payment (as after a gateway's return), its read answered with `view`; the reads made."""
    reads: list[str] = []

    def answer(route: Route) -> None:
        reads.append(route.request.url)
        route.fulfill(status=200, content_type="application/json", body=json.dumps(view))

    page.route(f"**/v1/payments/{PAYMENT_ID}", answer)
    page.goto(f"/?payment={PAYMENT_ID}")
    return reads


@pytest.mark.parametrize("action", [ReversalAction.VOID, ReversalAction.REFUND])
def test_a_reversed_payment_says_in_french_and_arabic_that_nothing_was_paid_and_the_money_comes_back(
    page: Page, action: ReversalAction
):
    view = reversed_view(action)
    assert (view["status"], view["reversal"]["action"]) == ("REVERSED", action.value)
    follow(page, view)
    on_screen(page, "failure", TITLES["Français"])
    screen = page.locator("#screen-failure")
    for language in ("Français", "العربية"):
        page.get_by_role("button", name=language).click()
        expect(screen.get_by_role("heading", level=2)).to_have_text(TITLES[language])
        expect(page.locator("#failure-message")).to_have_text(NOT_PAID_HERE[language])
        expect(page.locator("#failure-message")).to_have_attribute("data-status", "REVERSED")
        expect(page.locator("#failure-returned")).to_have_text(RETURNED[action.value][language])
        expect(page.locator("#failure-help")).to_have_text(HELP[language])
        expect(page.locator("#failure-payment-id")).to_contain_text(PAYMENT_ID)
        # Final: no retry, no gateway reason from before, a new search offered
        expect(screen.get_by_role("button", name=RETRY[language])).to_have_count(0)
        expect(page.locator("#failure-reason")).to_be_hidden()
        expect(page.locator("#failure-code")).to_be_hidden()
        expect(screen.get_by_role("button", name=NEW_SEARCH[language])).to_be_visible()
        shot(page, f"failure_reversed_{action.value.lower()}_{'ar' if language == 'العربية' else 'fr'}")


def test_the_reversed_screen_gives_the_assistance_contacts_of_the_page(page: Page):
    follow(page, reversed_view(ReversalAction.REFUND))
    on_screen(page, "failure", TITLES["Français"])
    help_line = page.locator("#failure-help")
    claims = help_line.get_by_role("link", name="Plateforme d'assistance en ligne (réclamations)")
    expect(claims).to_have_attribute("href", page.locator("#help-claims").get_attribute("href") or "")
    phone = help_line.get_by_role("link", name="05 20 47 31 00")
    expect(phone).to_have_attribute("href", "tel:+212520473100")
    page.get_by_role("button", name="العربية").click()
    expect(page.locator("html")).to_have_attribute("dir", "rtl")
    expect(help_line.get_by_role("link", name="05 20 47 31 00")).to_have_attribute("dir", "ltr")


def test_a_reversed_payment_is_final_no_spinner_and_no_further_reads(page: Page):
    reads = follow(page, reversed_view(ReversalAction.VOID))
    on_screen(page, "failure", TITLES["Français"])
    page.wait_for_timeout(2500)  # longer than the page's poll interval (web/js/state.js POLL_MS)
    assert len(reads) == 1, "a final status is read once, never polled"
    expect(page.locator("body")).to_have_attribute("data-current-screen", "failure")
    expect(page.locator("#screen-status")).to_be_hidden()
    expect(page.locator("#screen-failure [data-busy]")).to_have_text("")
    expect(page).to_have_url(re.compile(rf"/\?payment={PAYMENT_ID}$"))


def test_a_new_search_after_a_reversed_payment_goes_back_to_the_consultation(page: Page):
    follow(page, reversed_view(ReversalAction.REFUND))
    screen = on_screen(page, "failure", TITLES["Français"])
    screen.get_by_role("button", name="Nouvelle recherche de factures").click()
    on_screen(page, "search")
