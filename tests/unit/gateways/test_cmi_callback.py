"""CMI's callback: strict form parsing, HASH verification of a real-looking body, and what the result means."""

from urllib.parse import urlencode

import pytest

from epay.gateways.cmi import InvalidCallback, interpret, parse_form_body, verify
from epay.money import Money

STORE_KEY = "s3cr|t\\key"
RETURN_URL = "https://api.portnet.example/v1/payments/PAY-0001/return"

# What CMI posts back for an approved PreAuth: every field it was sent, its result, a fresh rnd and the HASH.
# The HASH was computed once with hashlib over the hand-ordered values (the last one's newline dropped).
CALLBACK_HASH = "7H5u5H99MMZYaFGnjMDjd56kPZC8Hv7tqf1BuAGW36ZP4KWZS14eZMCHS9himIWxj7yG6bIW7BiHcDs3sB04Ag=="


def callback_fields():
    return [
        ("clientid", "600000000"),
        ("storetype", "3D_PAY_HOSTING"),
        ("TranType", "PreAuth"),
        ("amount", "1250.50"),
        ("currency", "504"),
        ("oid", "PAY-0001"),
        ("okUrl", RETURN_URL),
        ("failUrl", RETURN_URL),
        ("callbackUrl", "https://api.portnet.example/v1/callbacks/cmi"),
        ("shopurl", "https://portal.portnet.example"),
        ("lang", "fr"),
        ("rnd", "f3c9a1b27d4e8a60b1c2"),
        ("hashAlgorithm", "ver3"),
        ("encoding", "UTF-8"),
        ("BillToName", "Société Maritime du Détroit"),
        ("email", "compta@example.ma"),
        ("tel", "0522000000"),
        ("CallbackResponse", "true"),
        ("ProcReturnCode", "00"),
        ("Response", "Approved"),
        ("AuthCode", "P12345"),
        ("TransId", "26015K1Q1234567"),
        ("HostRefNum", "601510123456"),
        ("ErrMsg", ""),
        ("MaskedPan", "454360***4012"),
        ("EXTRA.TRXDATE", "20260115 10:15:30"),
        ("mdStatus", "1"),
        ("HASH", CALLBACK_HASH),
        ("callbackCall", "true\n"),
    ]


def a_callback_body(**changes):
    """The approved callback as CMI form-encodes it, with some values changed (the HASH left as it was)."""
    return urlencode([(name, changes.get(name, value)) for name, value in callback_fields()]).encode("ascii")


def without(name, body):
    return b"&".join(pair for pair in body.split(b"&") if not pair.startswith(name.encode("ascii") + b"="))


def result_fields(**changes):
    fields = {
        "oid": "PAY-0001",
        "amount": "1250.50",
        "currency": "504",
        "ProcReturnCode": "00",
        "Response": "Approved",
        "AuthCode": "P12345",
        "TransId": "26015K1Q1234567",
        "ErrMsg": "",
        "MaskedPan": "454360***4012",
    }
    return fields | changes


def test_form_body_keeps_blank_values_in_posted_order():
    assert parse_form_body(b"a=1&ErrMsg=&b=") == [("a", "1"), ("ErrMsg", ""), ("b", "")]


def test_form_body_decodes_percent_encoded_utf8_and_plus_as_space():
    assert parse_form_body(b"BillToName=Soci%C3%A9t%C3%A9+G%C3%A9n%C3%A9rale") == [("BillToName", "Société Générale")]


@pytest.mark.parametrize("body", [b"amount=1&AMOUNT=2", b"oid=A&oid=A"])
def test_form_body_with_a_name_posted_twice_is_rejected(body):
    with pytest.raises(InvalidCallback):
        parse_form_body(body)


@pytest.mark.parametrize("body", [b"name=%FF", b"name=\xff", b"na%C3me=x"])
def test_form_body_that_is_not_utf8_is_rejected(body):
    with pytest.raises(InvalidCallback):
        parse_form_body(body)


@pytest.mark.parametrize("body", [b"amount", b"a=1&&b=2"])
def test_form_body_with_a_field_that_is_not_name_value_is_rejected(body):
    with pytest.raises(InvalidCallback):
        parse_form_body(body)


def test_real_looking_callback_is_verified():
    fields = parse_form_body(a_callback_body())

    assert verify(fields, STORE_KEY)


def test_callback_with_a_tampered_amount_is_rejected():
    fields = parse_form_body(a_callback_body(amount="1.00"))

    assert not verify(fields, STORE_KEY)


def test_callback_without_hash_is_rejected():
    fields = parse_form_body(without("HASH", a_callback_body()))

    assert not verify(fields, STORE_KEY)


def test_callback_checked_with_another_store_key_is_rejected():
    fields = parse_form_body(a_callback_body())

    assert not verify(fields, "TEST1234")


def test_callback_whose_hash_ends_with_a_newline_is_still_verified():
    fields = [(name, value + "\n" if name == "HASH" else value) for name, value in parse_form_body(a_callback_body())]

    assert verify(fields, STORE_KEY)


def test_callback_with_a_non_ascii_hash_is_rejected_not_crashing():
    fields = parse_form_body(a_callback_body(HASH="é" * 88))

    assert not verify(fields, STORE_KEY)


def test_fields_repeating_a_name_are_never_verified():
    fields = [*parse_form_body(a_callback_body()), ("AMOUNT", "1250.50")]

    assert not verify(fields, STORE_KEY)


def test_approved_callback_is_interpreted_as_approved_with_its_transaction():
    result = interpret(result_fields())

    assert result.approved
    assert (result.oid, result.proc_return_code, result.transaction_id) == ("PAY-0001", "00", "26015K1Q1234567")
    assert (result.amount, result.currency) == (Money.parse("1250.50"), "504")


def test_declined_callback_is_interpreted_as_not_approved_with_its_error():
    result = interpret(result_fields(ProcReturnCode="05", Response="Declined", ErrMsg="Do not honour", AuthCode=""))

    assert not result.approved
    assert (result.proc_return_code, result.error_message) == ("05", "Do not honour")


def test_callback_amount_echoed_without_decimals_reads_as_the_same_amount():
    result = interpret(result_fields(amount="1020"))

    assert result.amount == Money.parse("1020.00")


def test_callback_amount_that_is_not_a_number_reads_as_unknown():
    result = interpret(result_fields(amount="12,50"))

    assert result.amount is None


def test_result_names_are_matched_whatever_their_case():
    result = interpret({"OID": "PAY-0001", "procreturncode": "00", "transid": "T1", "AMOUNT": "10.00"})

    assert (result.oid, result.approved, result.transaction_id, result.amount) == (
        "PAY-0001",
        True,
        "T1",
        Money.parse("10.00"),
    )


def test_a_trailing_newline_does_not_change_the_result():
    result = interpret(result_fields(ProcReturnCode="00\n"))

    assert result.approved


def test_result_keeps_no_card_data():
    result = interpret(result_fields())

    assert "454360***4012" not in repr(result)


def test_same_notification_has_the_same_fingerprint():
    assert interpret(result_fields()).fingerprint == interpret(result_fields(rnd="another")).fingerprint


@pytest.mark.parametrize("change", [{"TransId": "26015K1Q7654321"}, {"ProcReturnCode": "05"}, {"oid": "PAY-0002"}])
def test_another_notification_has_another_fingerprint(change):
    assert interpret(result_fields(**change)).fingerprint != interpret(result_fields()).fingerprint


def test_fingerprint_cannot_be_forged_by_a_separator_inside_a_value():
    shifted = interpret(result_fields(oid="PAY-0001|T", TransId="1"))

    assert shifted.fingerprint != interpret(result_fields(oid="PAY-0001", TransId="T|1")).fingerprint
