"""Payment journeys in a real browser, from the search to the receipt, through the local gateway simulators.

Each journey pays invoices of its own (AB12's three ANP invoices; one MARSA and one TMSA invoice of MAR1, found by
their number as a payer holding the invoice would), so the journeys pass in any order against one server.
"""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from playwright.sync_api import Page, expect

from tests.support.browser import PAYER, data_amount, mad, on_screen, pay_button, pay_form, search, shot

pytestmark = pytest.mark.browser


def choose(page: Page, code: str, numbers: list[str], *, number: str = "") -> Decimal:
    """Search, tick the invoices by their numbers, "Régler Factures"; returns the total the payment screen asks."""
    search(page, code, number)
    screen = on_screen(page, "results")
    for invoice in numbers:
        screen.get_by_role("checkbox", name=invoice, exact=True).check()
    expect(screen.locator("#selection-total")).to_have_attribute("data-count", str(len(numbers)))
    selected = data_amount(screen.locator("#selection-total"))
    screen.get_by_role("button", name="Régler Factures").click()
    payment = on_screen(page, "payment")
    for invoice in numbers:
        expect(payment.get_by_role("cell", name=invoice, exact=True)).to_be_visible()
    total = payment.locator("#payment-total")
    assert data_amount(total) == selected
    assert mad(total.inner_text()) == selected
    return selected


def submit_payment(page: Page) -> None:
    """ "Payer <amount>", or "Obtenir la référence" when the method chosen gives a reference (Fatourati, TASHILAT)."""
    method = page.locator("#screen-payment input[name=method]:checked").get_attribute("value")
    pay_button(page, reference=method in ("FATOURATI", "TASHILAT")).click()


def assert_receipt(page: Page, numbers: list[str], amount: Decimal, method: str) -> str:
    """The receipt lists exactly these invoices and this amount; returns the gateway's transaction id."""
    screen = on_screen(page, "receipt")
    expect(screen.locator("#receipt-invoices tbody tr")).to_have_count(len(numbers))
    for invoice in numbers:
        expect(screen.get_by_role("cell", name=invoice, exact=True)).to_be_visible()
    expect(screen.locator("#receipt-total")).to_have_attribute("data-amount", f"{amount:.2f}")
    assert mad(screen.locator("#receipt-total").inner_text()) == amount
    expect(screen.locator("#receipt-method")).to_have_text(method)
    expect(screen.get_by_role("button", name="Imprimer")).to_be_visible()
    transaction = screen.locator("#receipt-transaction").inner_text().strip()
    assert transaction not in ("", "—"), "the receipt names the gateway's transaction"
    # In Morocco's time, saying so (issue 14.8)
    paid_at = screen.locator("#receipt-paid-at").inner_text()
    assert re.search(r"\d{2}/\d{2}/\d{4} à \d{2}:\d{2} \(heure du Maroc, UTC\+[01]\)", paid_at), paid_at
    expect(screen.locator("#receipt-payment-id")).not_to_be_empty()
    return transaction


def assert_no_longer_listed(page: Page, code: str, numbers: list[str]) -> None:
    """After the receipt, a new search no longer offers the paid invoices."""
    page.locator("#screen-receipt").get_by_role("button", name="Nouvelle recherche de factures").click()
    on_screen(page, "search")
    expect(page.get_by_label("Code d'abonnement")).to_have_value(code)
    page.get_by_role("button", name="Consulter", exact=True).click()
    expect(page.locator("body")).to_have_attribute("data-current-screen", re.compile("^(results|empty)$"))
    for invoice in numbers:
        expect(page.get_by_role("checkbox", name=invoice, exact=True)).to_have_count(0)


def test_cmi_card_payment_approved_shows_the_receipt(page: Page):
    numbers = ["F-2026-000123", "F-2026-000187"]
    amount = choose(page, "AB12", numbers)
    assert amount == Decimal("2230.50")
    pay_form(page, "CMI", "Carte bancaire")
    shot(page, "payment")
    submit_payment(page)

    expect(page).to_have_url(re.compile(r"/_sim/cmi/est3Dgate$"))
    expect(page.get_by_role("heading", name="CMI — Paiement sécurisé")).to_be_visible()
    expect(page.get_by_text("2230.50 MAD")).to_be_visible()
    expect(page.get_by_text(PAYER["name"])).to_be_visible()
    page.get_by_role("button", name="Payer", exact=True).click()

    expect(page).to_have_url(re.compile(r"/\?payment=[A-Za-z0-9-]+$"))
    assert_receipt(page, numbers, amount, "Carte bancaire")
    expect(page.locator("#receipt-gateway")).to_have_text("CMI")
    expect(page.locator("#receipt-issuer")).to_have_text("Agence Nationale des Ports (ANP)")
    shot(page, "receipt")

    page.evaluate("() => { window.print = () => { document.body.dataset.printed = 'yes'; }; }")
    page.get_by_role("button", name="Imprimer").click()
    expect(page.locator("body")).to_have_attribute("data-printed", "yes")
    page.emulate_media(media="print")
    expect(page.get_by_role("button", name="Imprimer")).to_be_hidden()
    expect(page.get_by_role("button", name="Français")).to_be_hidden()
    expect(page.locator("#receipt-invoices")).to_be_visible()
    expect(page.locator("#receipt-transaction")).to_be_visible()
    shot(page, "receipt_print")
    page.emulate_media(media="screen")
    assert_no_longer_listed(page, "AB12", numbers)


def test_cmi_card_declined_then_paid_on_a_retry(page: Page):
    numbers = ["F-2026-000242"]
    amount = choose(page, "AB12", numbers)
    pay_form(page, "CMI", "Carte bancaire")
    submit_payment(page)
    expect(page.get_by_role("heading", name="CMI — Paiement sécurisé")).to_be_visible()
    page.get_by_role("button", name="Refuser la carte").click()
    expect(page.get_by_role("alert")).to_contain_text("Paiement refusé")
    page.get_by_role("button", name="Retour au site marchand").click()

    failure = on_screen(page, "failure")
    expect(failure.locator("#failure-message")).to_have_attribute("data-status", "DECLINED")
    expect(failure.locator("#failure-message")).to_have_text(
        "Le paiement a été refusé par la banque. Vos factures n'ont pas été réglées. Vous pouvez réessayer avec une autre "
        "carte ou un autre moyen de paiement."
    )
    # The page words the stored "CMI 05: Carte refusée par l'émetteur" itself (« émetteur » is not the invoice's).
    expect(failure.locator("#failure-reason")).to_have_text("Motif : Carte refusée par la banque émettrice (code 05).")
    shot(page, "failure")
    failure.get_by_role("button", name="Réessayer").click()

    # Issue 14.4: "Réessayer" keeps the selection, the means of payment and the payer (it no longer starts over
    # from the results with nothing ticked).
    payment = on_screen(page, "payment")
    expect(payment.get_by_role("cell", name=numbers[0], exact=True)).to_be_visible()
    expect(payment.get_by_role("radio", name="CMI", exact=True)).to_be_checked()
    expect(payment.get_by_role("radio", name="Carte bancaire", exact=True)).to_be_checked()
    expect(payment.get_by_label("Nom du payeur")).to_have_value(PAYER["name"])
    expect(payment.get_by_label("E-mail")).to_have_value(PAYER["email"])
    shot(page, "payment_retry")
    payment.get_by_role("button", name="Retour aux factures").click()
    results = on_screen(page, "results")
    row = results.locator("tr.invoice-row", has=page.get_by_role("checkbox", name=numbers[0], exact=True))
    expect(row).to_have_attribute("data-status", "UNPAID")  # the declined payment no longer holds it
    expect(results.get_by_role("checkbox", name=numbers[0], exact=True)).to_be_checked()
    results.get_by_role("button", name="Régler Factures").click()
    on_screen(page, "payment")
    submit_payment(page)
    expect(page.get_by_role("heading", name="CMI — Paiement sécurisé")).to_be_visible()
    page.get_by_role("button", name="Payer", exact=True).click()
    assert_receipt(page, numbers, amount, "Carte bancaire")


def test_m2t_tashilat_reference_paid_in_an_agency(page: Page):
    numbers = ["MA-2026-00002"]
    amount = choose(page, "MAR1", numbers, number=numbers[0])
    pay_form(page, "M2T (AmanPay)", "TASHILAT")
    submit_payment(page)

    expect(page.get_by_role("heading", name="M2T AmanPay — Paiement")).to_be_visible()
    expect(page.get_by_text(f"{amount:.2f} MAD")).to_be_visible()
    page.get_by_role("button", name="Obtenir une référence TASHILAT").click()
    issued = page.locator("[data-reference]")
    expect(issued).to_have_text(re.compile(r"^\d{10}$"))
    reference = issued.inner_text()

    # The payer opens the E-PAIEMENT page of this payment in another tab: the same reference, to pay in an agency.
    pending = page.context.new_page()
    pending.goto(f"/?payment={order_of(page)}")
    screen = on_screen(pending, "reference")
    expect(screen.locator("#reference-label")).to_have_text("Référence TASHILAT")
    # Shown in groups of 4, typed as the digits alone; one spelling of TASHILAT (issue 14.7).
    expect(screen.locator("#reference-code")).to_have_attribute("data-reference", reference)
    expect(screen.locator("#reference-code")).to_have_text(" ".join(re.findall(r"\d{1,4}", reference)))
    expect(screen.locator("#reference-steps li").first).to_contain_text("agence TASHILAT")
    shot(pending, "reference_tashilat")

    page.get_by_role("button", name="Simuler le paiement en agence").click()
    assert_receipt(page, numbers, amount, "TASHILAT")
    expect(page.locator("#receipt-gateway")).to_have_text("M2T (AmanPay)")

    pending.get_by_role("button", name="Vérifier l'état du paiement").click()
    assert_receipt(pending, numbers, amount, "TASHILAT")


def order_of(page: Page) -> str:
    """The payment being paid on a gateway page: its order reference (our payment id), as the gateway shows it."""
    order = page.locator("dt:text-is('Commande') + dd").inner_text().strip()
    assert order, "the gateway page names the order"
    return order


def test_fatourati_reference_paid_from_the_bank(page: Page):
    numbers = ["TM-2026-00003"]
    amount = choose(page, "MAR1", numbers, number=numbers[0])
    pay_form(page, "CMI", "Fatourati")
    submit_payment(page)

    screen = on_screen(page, "reference")
    code = screen.locator("#reference-code")
    # The 12 digits shown 4-4-4 (issue 14.7); typed, and copied, without the spaces.
    expect(code).to_have_text(re.compile(r"^\d{4} \d{4} \d{4}$"))
    reference = code.get_attribute("data-reference") or ""
    assert re.fullmatch(r"\d{12}", reference), reference
    assert code.inner_text().replace(" ", "") == reference
    expect(screen.locator("#reference-label")).to_have_text("Référence Fatourati")
    expect(screen.locator("#reference-amount")).to_have_attribute("data-amount", f"{amount:.2f}")
    assert mad(screen.locator("#reference-amount").inner_text()) == amount
    expect(screen.locator("#reference-expiry")).to_contain_text("Valable jusqu'au")
    expect(screen.locator("#reference-steps li")).to_have_count(4)
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    screen.get_by_role("button", name="Copier").click()
    expect(screen.locator("#copy-feedback")).to_have_text("Référence copiée.")
    assert page.evaluate("() => navigator.clipboard.readText()") == reference
    shot(page, "reference")

    bank = page.context.new_page()
    bank.goto("/_sim/fatourati")
    bank.get_by_label("Référence Fatourati").fill(reference)
    bank.get_by_label("Canal").select_option("M-BANKING")
    bank.get_by_role("button", name="Consulter").click()
    expect(bank.get_by_text(f"{amount:.2f} MAD").first).to_be_visible()
    expect(bank.get_by_text(numbers[0])).to_be_visible()
    bank.get_by_role("button", name="Confirmer le paiement").click()
    expect(bank.get_by_role("status")).to_have_text("Paiement effectué. Votre compte a été débité.")
    bank.close()

    page.bring_to_front()
    screen.get_by_role("button", name="Vérifier l'état du paiement").click()
    transaction = assert_receipt(page, numbers, amount, "Fatourati")
    assert transaction.startswith("FAT-")
    assert_no_longer_listed(page, "MAR1", numbers)
