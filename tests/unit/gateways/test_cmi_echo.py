"""CMI callbacks beyond the HASH: only the names CMI sends, and the sent fields echoed exactly (issue 9, item 6).

HASH ver3 signs values in the order of their names, never the names themselves, so a genuine callback can be
re-posted with its values under other names. These fixed vectors pin down the two pure checks that close it.
"""

from dataclasses import replace

import pytest

from epay.gateways.cmi import (
    ECHOED_FIELDS,
    FORM_FIELDS,
    OPTIONALLY_ECHOED_FIELDS,
    CmiSettings,
    describe_names,
    echo_mismatches,
    expected_echo,
    optional_echo,
    payment_form,
    unexpected_names,
)
from epay.gateways.common import Checkout, Endpoints
from epay.money import Money

CLIENT_ID = "600000000"
SETTINGS = CmiSettings(CLIENT_ID, "TEST1234", "https://testpayment.cmi.co.ma/fim/est3Dgate")
ENDPOINTS = Endpoints(public_api_url="https://api.portnet.example/", frontend_url="https://portal.portnet.example")
RETURN_URL = "https://api.portnet.example/v1/payments/PAY-0001/return"
CHECKOUT = Checkout(
    payment_id="PAY-0001",
    amount=Money.parse("1250.50"),
    method="CARD",
    lang="fr",
    payer_name="Société Maritime du Détroit",
    payer_email="compta@example.ma",
    payer_phone="",
    session_seconds=1800,
)
# What PAY-0001's form carried, written out by hand.
EXPECTED = {
    "clientid": "600000000",
    "oid": "PAY-0001",
    "storetype": "3D_PAY_HOSTING",
    "TranType": "PreAuth",
    "okUrl": RETURN_URL,
    "failUrl": RETURN_URL,
    "callbackUrl": "https://api.portnet.example/v1/callbacks/cmi",
    "shopurl": "https://portal.portnet.example",
    "lang": "fr",
    "hashAlgorithm": "ver3",
    "BillToName": "Société Maritime du Détroit",
    "email": "compta@example.ma",
    "tel": "",
    "CallbackResponse": "true",
}


def a_callback(**changes):
    """What CMI posts back for PAY-0001 (a 3-D Secure approval), with some values changed or, for None, removed."""
    fields = {
        "clientid": "600000000",
        "storetype": "3D_PAY_HOSTING",
        "TranType": "PreAuth",
        "amount": "1250.50",
        "currency": "504",
        "oid": "PAY-0001",
        "okUrl": RETURN_URL,
        "failUrl": RETURN_URL,
        "callbackUrl": "https://api.portnet.example/v1/callbacks/cmi",
        "shopurl": "https://portal.portnet.example",
        "lang": "fr",
        "rnd": "f3c9a1b27d4e8a60b1c2",
        "hashAlgorithm": "ver3",
        "encoding": "UTF-8",
        "BillToName": "Société Maritime du Détroit",
        "email": "compta@example.ma",
        "tel": "",
        "CallbackResponse": "true",
        "ProcReturnCode": "00",
        "Response": "Approved",
        "AuthCode": "P12345",
        "TransId": "26015K1Q1234567",
        "HostRefNum": "601510123456",
        "ErrMsg": "",
        "MaskedPan": "454360***4012",
        "EXTRA.TRXDATE": "20260115 10:15:30",
        "EXTRA.CARDBRAND": "VISA",
        "EXTRA.CARDISSUER": "CIH BANK",
        "mdStatus": "1",
        "mdErrorMsg": "Authenticated",
        "txstatus": "Y",
        "eci": "05",
        "cavv": "AAABBlBHEgAAAAAgQEcSAAAAAAA=",
        "xid": "0AtrRhcNnJTdep91dgZI1ppktg=",
        "md": "454360:6F1D:3654:##600000000",
        "merchantID": "600000000",
        "clientIp": "196.200.1.10",
        "HASHPARAMS": "clientid:oid:AuthCode:ProcReturnCode:Response:mdStatus:cavv:eci:md:rnd:",
        "HASHPARAMSVAL": "600000000PAY-0001P1234500Approved1",
        "ErrCode": "",
        "SettleId": "1",
        "ACQBIN": "454360",
        "maskedCreditCard": "4543 60** **** 4012",
        "Ecom_Payment_Card_ExpDate_Year": "28",
        "Ecom_Payment_Card_ExpDate_Month": "12",
        "sessionTimeout": "1800",
        "callbackCall": "true",
        "HASH": "a-hash-these-checks-never-read",
    }
    fields |= changes
    return [(name, value) for name, value in fields.items() if value is not None]


# -- field names ----------------------------------------------------------------------------------------------


def test_a_real_looking_callback_has_only_names_cmi_sends():
    assert unexpected_names(a_callback()) == []


def test_every_field_the_form_sends_is_accepted_back():
    form = payment_form(CHECKOUT, SETTINGS, ENDPOINTS, rnd="a1b2c3d4e5f6")

    assert set(form.fields) == set(FORM_FIELDS)
    assert unexpected_names(form.fields) == []


def test_names_are_matched_whatever_their_case_as_the_hash_matches_them():
    fields = [("OID", "PAY-0001"), ("procreturncode", "00"), ("extra.trxdate", ""), ("Hash", "x"), ("MDSTATUS", "1")]

    assert unexpected_names(fields) == []


def test_names_cmi_never_sends_are_returned_in_posted_order():
    fields = [*a_callback(), ("oidxBillToName", "PAY-0002"), ("Extra1", ""), ("oidy", "PAY-0001")]

    assert unexpected_names(fields) == ["oidxBillToName", "Extra1", "oidy"]


@pytest.mark.parametrize(
    "name",
    [
        "EXTRA.ANYTHING",  # no wildcard: only the EXTRA.* names listed
        "TDS2.somethingElse",
        "oid ",  # a trailing space is another name
        "o-id",
        "oıd",  # dotless i: PHP folds ASCII letters only, and so do we
        "ｏｉｄ",  # fullwidth letters
        "",
    ],
)
def test_names_close_to_accepted_ones_are_not_accepted(name):
    assert unexpected_names([*a_callback(), (name, "")]) == [name]


def test_names_are_described_up_to_five_and_only_when_safe_to_write():
    assert describe_names([]) == ""
    assert describe_names(["oidx", "Extra1"]) == "oidx, Extra1"
    assert describe_names([f"N{index}" for index in range(7)]) == "N0, N1, N2, N3, N4, 2 other(s)"
    assert describe_names(["bad name", "x" * 65, "line\nbreak", "ok.NAME-1_"]) == "ok.NAME-1_, 3 other(s)"
    assert describe_names(["4000 0000 0000 0002"]) == "1 other(s)"


# -- echoed fields --------------------------------------------------------------------------------------------


def test_the_expected_echo_is_what_the_form_carried():
    assert expected_echo(CHECKOUT, CLIENT_ID, ENDPOINTS) == EXPECTED
    assert list(expected_echo(CHECKOUT, CLIENT_ID, ENDPOINTS)) == list(ECHOED_FIELDS)


def test_the_expected_echo_is_built_by_the_code_that_builds_the_form():
    checkout = replace(CHECKOUT, payer_phone="0522000000", lang="ar", payer_name="Marsa | \\ Maroc")
    form = payment_form(checkout, SETTINGS, ENDPOINTS, rnd="0123456789")

    assert expected_echo(checkout, CLIENT_ID, ENDPOINTS) == {name: form.fields[name] for name in ECHOED_FIELDS}


def test_amount_currency_and_the_nonces_are_not_echo_checked():
    assert not {"amount", "currency", "rnd", "encoding", "HASH"} & set(ECHOED_FIELDS)


def test_a_genuine_callback_echoes_every_field():
    assert echo_mismatches(a_callback(), EXPECTED) == []


@pytest.mark.parametrize("name", ECHOED_FIELDS)
def test_each_echoed_field_that_differs_is_named(name):
    altered = "PAY-0002" if name != "tel" else "0600000000"

    assert echo_mismatches(a_callback(**{name: altered}), EXPECTED) == [name]


@pytest.mark.parametrize("name", ECHOED_FIELDS)
def test_each_echoed_field_that_is_missing_is_named(name):
    assert echo_mismatches(a_callback(**{name: None}), EXPECTED) == [name]


def test_a_blank_echo_of_a_value_that_was_sent_differs():
    assert echo_mismatches(a_callback(BillToName=""), EXPECTED) == ["BillToName"]


def test_several_differences_are_named_in_the_order_of_the_echoed_fields():
    fields = a_callback(email="attacker@example.ma", oid="PAY-0002", okUrl=RETURN_URL + "?")

    assert echo_mismatches(fields, EXPECTED) == ["oid", "okUrl", "email"]


def test_values_compare_exactly_but_names_whatever_their_case():
    assert echo_mismatches(a_callback(lang="FR"), EXPECTED) == ["lang"]
    renamed = [("OKURL" if name == "okUrl" else name, value) for name, value in a_callback()]
    assert echo_mismatches(renamed, EXPECTED) == []


def test_one_trailing_newline_is_dropped_as_the_hash_drops_it():
    assert echo_mismatches(a_callback(CallbackResponse="true\n"), EXPECTED) == []
    assert echo_mismatches(a_callback(CallbackResponse="true\n\n"), EXPECTED) == ["CallbackResponse"]


def test_another_amount_or_currency_is_left_to_the_amount_check():
    assert echo_mismatches(a_callback(amount="1.00", currency="840"), EXPECTED) == []


def test_the_mismatches_never_carry_a_value():
    fields = a_callback(BillToName="Someone Else", email="someone@example.ma")

    assert "Someone" not in repr(echo_mismatches(fields, EXPECTED))


# -- the session timeout, echoed or not -------------------------------------------------------------------------


def test_the_session_timeout_is_the_forms_and_only_optionally_echoed():
    form = payment_form(CHECKOUT, SETTINGS, ENDPOINTS, rnd="a1b2c3d4e5f6")

    assert optional_echo(CHECKOUT, CLIENT_ID, ENDPOINTS) == {"sessionTimeout": form.fields["sessionTimeout"]}
    assert not set(OPTIONALLY_ECHOED_FIELDS) & set(ECHOED_FIELDS)


def test_a_callback_echoing_the_session_timeout_or_leaving_it_out_is_accepted():
    optional = optional_echo(CHECKOUT, CLIENT_ID, ENDPOINTS)

    assert echo_mismatches(a_callback(), EXPECTED, optional) == []
    assert echo_mismatches(a_callback(sessionTimeout=None), EXPECTED, optional) == []
    assert unexpected_names(a_callback()) == []


def test_a_callback_echoing_another_session_timeout_is_named():
    optional = optional_echo(CHECKOUT, CLIENT_ID, ENDPOINTS)

    assert echo_mismatches(a_callback(SESSIONTIMEOUT="1800"), EXPECTED, optional) == []
    assert echo_mismatches(a_callback(sessionTimeout="86400"), EXPECTED, optional) == ["sessionTimeout"]
