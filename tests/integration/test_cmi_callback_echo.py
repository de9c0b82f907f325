"""`POST /v1/callbacks/cmi`: a verified HASH is not enough; the callback must be one CMI could have sent for THIS
payment (outside review, issue 9, item 6).

HASH ver3 signs values only: names never enter the string, only their `natcasesort` order. Whoever owns one genuine
signed callback can therefore move its values under other names and keep the HASH valid. The service accepts only
the field names CMI sends, and only a callback whose echoed fields equal what this payment's form carried.
"""

import pytest

from epay import runtime
from epay.evidence import CallbackEvidence
from epay.gateways import cmi
from epay.invoices import InvoiceStatus
from tests.support.factories import an_invoice
from tests.support.payments import (
    CMI_STORE_KEY,
    CODE,
    OTHER_CODE,
    PAYER,
    cmi_answer,
    cmi_callback,
    form,
    given_invoices,
    held_by,
    pay_by_card,
    payment,
    post_cmi,
    search,
    signed,
    start_payment,
    stored_evidence,
    stored_invoice,
)

REFUSED = (403, "FAILURE")
POSTAUTH = (200, "ACTION=POSTAUTH")
# A plausible other value for each echoed field but `oid` (a callback is looked up by its oid, so another oid is
# another payment: see test_a_callback_re_addressed_to_another_live_payment_is_refused).
ALTERED = {
    "clientid": "600000001",
    "storetype": "3D_PAY",
    "TranType": "Auth",
    "okUrl": "https://api.example.ma/v1/payments/PAY-OTHER/return",
    "failUrl": "https://api.example.ma/v1/payments/PAY-OTHER/return",
    "callbackUrl": "https://elsewhere.example/v1/callbacks/cmi",
    "shopurl": "https://www.example.ma/",
    "lang": "ar",
    "hashAlgorithm": "ver2",
    "BillToName": "Quelqu'un d'autre",
    "email": "autre@example.ma",
    "tel": "0600000000",
    "CallbackResponse": "false",
}

# The echoed fields that hold the payer's data: their values must never be logged.
PAYER_DATA = ("BillToName", "email", "tel")


@pytest.fixture
def invoices(dynamodb, frozen):
    return given_invoices(an_invoice(CODE, amount="100.00"), an_invoice(CODE, amount="20.50"))


@pytest.fixture
def created(invoices):
    """A CMI card payment of 120.50 MAD for two invoices, waiting for CMI (the payer gave a phone number)."""
    return start_payment(invoices, "CMI", "CARD")


def assert_untouched(created, invoices):
    """The payment is still waiting for CMI, with no error recorded, and still holds every invoice."""
    view = payment(created["payment_id"])
    assert (view["status"], view["last_error"], view["gateway_transaction_id"]) == ("PENDING", None, None)
    listed = search()
    for invoice in invoices:
        assert listed[invoice.invoice_id]["status"] == "PENDING_PAYMENT"
        assert held_by(invoice.invoice_id) == created["payment_id"]
        assert stored_invoice(invoice.invoice_id).status is InvoiceStatus.UNPAID


def evidence_of(fields):
    """The evidence kept of exactly this body (there must be one)."""
    digest = CallbackEvidence.digest(form(fields))
    kept = [item for item in stored_evidence() if item["body_sha256"] == digest]
    assert len(kept) == 1, kept
    return kept[0]


def shifted_under_other_names(fields, from_name, to_name):
    """The same signed values, in the same `natcasesort` order of their names, under new names: the value posted
    as `from_name` is now posted as `to_name`, and the HASH, which never sees names, still verifies.

    Sorted by name, `from_name` must come before `to_name`. Every name sorted between them is prefixed with
    `to_name` + "x" (so it now sorts just after `to_name`, still in its old order), and the old `to_name` becomes
    `to_name` + "y" (after all of those, before the next original name)."""
    hashed = sorted(
        [(name, value) for name, value in fields if name.upper() not in ("HASH", "ENCODING")],
        key=lambda pair: cmi.natcase_key(pair[0]),
    )
    names = [name for name, _ in hashed]
    start, end = names.index(from_name), names.index(to_name)
    assert start < end
    renamed = {from_name: to_name, to_name: to_name + "y"}
    renamed |= {name: f"{to_name}x{name}" for name in names[start + 1 : end]}
    return [(renamed.get(name, name), value) for name, value in fields]


def test_a_genuine_callback_with_its_values_shifted_onto_another_payment_is_refused(dynamodb, frozen):
    # Given two live CMI card payments: the victim's, and the attacker's, whose payer name is the victim's payment id
    victim_invoices = given_invoices(an_invoice(CODE, amount="100.00"), an_invoice(CODE, amount="20.50"))
    victim = start_payment(victim_invoices, "CMI", "CARD")
    attacker_invoices = given_invoices(an_invoice(OTHER_CODE, amount="1.00"))
    attacker = start_payment(
        attacker_invoices,
        "CMI",
        "CARD",
        code=OTHER_CODE,
        payer={"name": victim["payment_id"], "email": "attacker@example.ma"},
    )
    before = payment(victim["payment_id"])
    # and the attacker's genuine callback, signed by CMI for the attacker's own payment
    genuine = cmi_callback(attacker)
    # When its values are moved under other names so that `oid` now carries the victim's payment id
    forged = shifted_under_other_names(genuine, "BillToName", "oid")
    assert dict(forged)["oid"] == victim["payment_id"]
    assert cmi.verify(forged, CMI_STORE_KEY), "the HASH still verifies: nobody re-signed anything"
    answer = cmi_answer(post_cmi(forged))
    # Then CMI is refused, the victim's payment and holds are untouched, and the refusal is kept as evidence
    # (before the fix: 200 APPROVED, and the victim's payment NEEDS_REVIEW with its holds released)
    assert answer == REFUSED
    assert payment(victim["payment_id"]) == before
    assert payment(victim["payment_id"])["status"] == "PENDING"
    listed = search(CODE)
    for invoice in victim_invoices:
        assert listed[invoice.invoice_id]["status"] == "PENDING_PAYMENT"
        assert held_by(invoice.invoice_id) == victim["payment_id"]
    assert payment(attacker["payment_id"])["status"] == "PENDING"
    kept = evidence_of(forged)
    assert (kept["gateway"], kept["verified"], kept["answer_status"]) == ("CMI", True, 403)
    assert kept["decision"].startswith("refused, field names CMI never sends: ")


# -- field names ----------------------------------------------------------------------------------------------


def test_a_verified_callback_with_a_field_name_cmi_never_sends_is_refused(created, invoices, logs):
    # Given a callback whose HASH verifies but which carries a field CMI never posts back
    fields = cmi_callback(created, Extra1="")
    # When it is posted
    answer = cmi_answer(post_cmi(fields))
    # Then it is refused, nothing changes, and the evidence names the unexpected field
    assert answer == REFUSED
    assert_untouched(created, invoices)
    kept = evidence_of(fields)
    assert kept == {
        "owner": kept["owner"],
        "gateway": "CMI",
        "verified": True,
        "decision": "refused, field names CMI never sends: Extra1",
        "answer_status": 403,
        "body_sha256": kept["body_sha256"],
    }
    assert kept["owner"].startswith("CALLBACK#UNMATCHED#"), "an oid we cannot trust files nothing under a payment"
    assert "callback refused" in logs.text()


def test_field_names_are_accepted_whatever_their_case(created):
    fields = [("OKURL" if name == "okUrl" else name, value) for name, value in cmi_callback(created)]
    assert cmi_answer(post_cmi(signed(fields))) == POSTAUTH


# -- echoed fields --------------------------------------------------------------------------------------------


def test_the_genuine_callback_echoing_every_sent_field_still_settles(created, invoices):
    assert pay_by_card(created) == POSTAUTH
    assert payment(created["payment_id"])["status"] == "PAID"
    assert all(stored_invoice(invoice.invoice_id).paid_by == created["payment_id"] for invoice in invoices)


def test_a_genuine_callback_with_nestpay_3d_secure_fields_still_settles(created):
    extras = {
        "mdErrorMsg": "Authenticated",
        "txstatus": "Y",
        "eci": "05",
        "cavv": "AAABBlBHEgAAAAAgQEcSAAAAAAA=",
        "xid": "0AtrRhcNnJTdep91dgZI1ppktg=",
        "md": "400000:6F1D:3654:##600000000",
        "merchantID": "600000000",
        "clientIp": "196.200.1.10",
        "HASHPARAMS": "clientid:oid:mdStatus:cavv:eci:md:rnd:",
        "HASHPARAMSVAL": "600000000",
        "ErrCode": "",
        "SettleId": "1",
        "ACQBIN": "400000",
        "EXTRA.CARDBRAND": "VISA",
        "EXTRA.CARDISSUER": "CIH BANK",
        "maskedCreditCard": "4000 00** **** 0002",
        "Ecom_Payment_Card_ExpDate_Year": "28",
        "Ecom_Payment_Card_ExpDate_Month": "12",
        "sessionTimeout": "1800",
    }
    assert pay_by_card(created, **extras) == POSTAUTH
    assert payment(created["payment_id"])["status"] == "PAID"


@pytest.mark.parametrize("name", sorted(ALTERED))
def test_a_verified_callback_that_alters_an_echoed_field_is_refused(created, invoices, logs, capsys, name):
    # Given a callback whose HASH verifies but whose `name` is not what this payment's form carried
    sent = created["redirect"]["fields"][name]
    fields = cmi_callback(created, **{name: ALTERED[name]})
    # When it is posted
    answer = cmi_answer(post_cmi(fields))
    # Then it is refused before anything is decided, and the evidence, under the payment, names the field only
    assert answer == REFUSED
    assert_untouched(created, invoices)
    kept = evidence_of(fields)
    assert kept["owner"] == f"PAYMENT#{created['payment_id']}"
    assert (kept["verified"], kept["answer_status"]) == (True, 403)
    assert kept["decision"] == f"refused, fields differ from what this payment sent: {name}"
    refusal = [line for line in logs.lines() if "callback refused" in line]
    assert len(refusal) == 1
    assert f'"fields":"{name}"' in refusal[0]
    if name in PAYER_DATA:
        assert ALTERED[name] not in logs.text(), "payer data never reaches the logs"
        assert sent not in logs.text(), "payer data never reaches the logs"
    assert '"CallbackRejected"' in capsys.readouterr().out


@pytest.mark.parametrize("name", sorted(ALTERED))
def test_a_verified_callback_missing_an_echoed_field_is_refused(created, invoices, name):
    fields = signed([(field, value) for field, value in cmi_callback(created) if field != name])
    assert cmi_answer(post_cmi(fields)) == REFUSED
    assert_untouched(created, invoices)
    assert evidence_of(fields)["decision"] == f"refused, fields differ from what this payment sent: {name}"


def test_a_callback_without_an_oid_names_no_payment(created, invoices):
    fields = signed([(name, value) for name, value in cmi_callback(created) if name != "oid"])
    assert cmi_answer(post_cmi(fields)) == (404, "FAILURE")
    assert_untouched(created, invoices)


def test_a_callback_re_addressed_to_another_live_payment_is_refused(dynamodb, frozen):
    # Given two live card payments by different payers
    first = start_payment(given_invoices(an_invoice(CODE, amount="100.00")), "CMI", "CARD")
    other_payer = {"name": "Marsa Maroc", "email": "tresorerie@example.ma", "phone": PAYER["phone"]}
    second_invoices = given_invoices(an_invoice(OTHER_CODE, amount="100.00"))
    second = start_payment(second_invoices, "CMI", "CARD", code=OTHER_CODE, payer=other_payer)
    # When a verified callback of the first names the second as its oid (same amount, so only the echo differs)
    fields = cmi_callback(first, oid=second["payment_id"])
    answer = cmi_answer(post_cmi(fields))
    # Then it is refused, naming every field that is not the second payment's
    assert answer == REFUSED
    assert payment(second["payment_id"])["status"] == "PENDING"
    assert all(held_by(invoice.invoice_id) == second["payment_id"] for invoice in second_invoices)
    assert evidence_of(fields)["decision"] == (
        "refused, fields differ from what this payment sent: okUrl, failUrl, BillToName, email"
    )


def test_a_declined_attempt_that_alters_an_echoed_field_records_nothing(created, invoices):
    fields = cmi_callback(created, proc_return_code="05", error_message="Do not honour", shopurl="https://x.example/")
    assert cmi_answer(post_cmi(fields)) == REFUSED
    assert_untouched(created, invoices)


def test_another_amount_is_still_a_verified_success_to_review_not_a_refusal(created, invoices):
    # gateways.md: a verified success for another amount is answered APPROVED and flagged for review.
    assert pay_by_card(created, amount="1.00") == (200, "APPROVED")
    assert payment(created["payment_id"])["status"] == "NEEDS_REVIEW"


def test_a_payment_created_before_the_public_api_url_changed_fails_the_echo_check(created, invoices, monkeypatch):
    # docs/operations.md: the echo is rebuilt with today's settings, so changing them strands live card payments.
    monkeypatch.setenv("EPAY_PUBLIC_API_URL", "https://api2.example.ma")
    runtime.reset()
    fields = cmi_callback(created)
    assert cmi_answer(post_cmi(fields)) == REFUSED
    assert evidence_of(fields)["decision"] == (
        "refused, fields differ from what this payment sent: okUrl, failUrl, callbackUrl"
    )
