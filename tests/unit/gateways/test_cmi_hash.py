"""CMI HASH version 3 (ordering, escaping, digest) and the signed payment form, against fixed vectors.

Besides gateways.md's vector, expected plaintexts were written by hand and their digests computed once with
hashlib directly, independently of the adapter.
"""

from dataclasses import replace

import pytest

from epay.gateways.cmi import CmiSettings, compute_hash, hash_plaintext, natcase_key, payment_form, verify
from epay.gateways.common import Checkout, Endpoints
from epay.money import Money

KEY = "TEST1234"


def gateways_md_vector_fields():
    return [
        ("clientid", "600000000"),
        ("storetype", "3D_PAY_HOSTING"),
        ("trantype", "PreAuth"),
        ("amount", "1250.50"),
        ("currency", "504"),
        ("oid", "PN4A7X-000123"),
        ("okUrl", "https://pay.example.ma/cmi/ok"),
        ("failUrl", "https://pay.example.ma/cmi/fail"),
        ("callbackUrl", "https://api.example.ma/cmi/callback"),
        ("shopurl", "https://pay.example.ma/"),
        ("lang", "fr"),
        ("rnd", "0.12345600 1700000000"),
        ("hashAlgorithm", "ver3"),
        ("encoding", "UTF-8"),
        ("BillToName", "Societe Maritime|Test"),
        ("email", "payer@example.ma"),
        ("tel", "0600000000"),
        ("AutoRedirect", "true"),
        ("CallbackResponse", "true"),
    ]


def test_gateways_md_vector_gives_the_documented_plaintext():
    plaintext = hash_plaintext(gateways_md_vector_fields(), KEY)

    assert plaintext == (
        "1250.50|true|Societe Maritime\\|Test|true|https://api.example.ma/cmi/callback|600000000|504|payer@example.ma|"
        "https://pay.example.ma/cmi/fail|ver3|fr|PN4A7X-000123|https://pay.example.ma/cmi/ok|0.12345600 1700000000|"
        "https://pay.example.ma/|3D_PAY_HOSTING|0600000000|PreAuth|TEST1234"
    )


def test_gateways_md_vector_gives_the_documented_hash():
    assert compute_hash(gateways_md_vector_fields(), KEY) == (
        "JK4kk/RsfKeUDr/t6mDeF7SV9+mMulRILOHfvew44pVVpmVgeASjb/Ack7ERulbGa3yuaJuJa9Rly4GKG3ajnA=="
    )


def test_fields_given_as_a_mapping_hash_like_the_same_pairs():
    fields = gateways_md_vector_fields()

    assert compute_hash(dict(fields), KEY) == compute_hash(fields, KEY)


def test_backslashes_then_pipes_are_escaped_in_values_and_store_key():
    fields = {"a": "x|y", "b": "C:\\dir\\", "c": "pipe\\|both"}

    plaintext = hash_plaintext(fields, "k|e\\y")

    assert plaintext == "x\\|y|C:\\\\dir\\\\|pipe\\\\\\|both|k\\|e\\\\y"


def test_only_one_trailing_newline_is_dropped_and_inner_newlines_are_kept():
    fields = {"a": "end\n\n", "b": "mid\nline\n"}

    assert hash_plaintext(fields, KEY) == "end\n|mid\nline|TEST1234"


def test_blank_values_count():
    fields = {"a": "", "b": "x", "c": ""}

    assert hash_plaintext(fields, KEY) == "|x||TEST1234"


def test_names_are_ordered_case_insensitively():
    fields = {"zeta": "1", "Alpha": "2", "beta": "3", "ALPHA2": "4"}

    assert hash_plaintext(fields, KEY) == "2|4|3|1|TEST1234"


def test_digit_runs_in_names_are_ordered_as_numbers():
    fields = {"DIMCRITERIA10": "ten", "DIMCRITERIA2": "two", "DIMCRITERIA1": "one"}

    assert hash_plaintext(fields, KEY) == "one|two|ten|TEST1234"


def test_non_ascii_values_are_kept_and_non_ascii_names_sort_after_ascii_ones():
    fields = {"BillToName": "Société Générale", "adresse": "شارع محمد الخامس", "émetteur": "ANP", "zone": "Z1"}

    assert hash_plaintext(fields, KEY) == "شارع محمد الخامس|Société Générale|Z1|ANP|TEST1234"


def test_unknown_extra_fields_count():
    fields = {"amount": "1.00", "x-custom": "v"}

    assert hash_plaintext(fields, KEY) == "1.00|v|TEST1234"


@pytest.mark.parametrize(
    ("hash_name", "encoding_name"), [("HASH", "encoding"), ("hash", "ENCODING"), ("HaSh", "Encoding")]
)
def test_hash_and_encoding_are_left_out_whatever_their_case(hash_name, encoding_name):
    fields = {"amount": "1.00", hash_name: "abc", encoding_name: "UTF-8", "x-custom": "v"}

    assert hash_plaintext(fields, KEY) == "1.00|v|TEST1234"


@pytest.mark.parametrize(
    ("fields", "store_key", "expected"),
    [
        pytest.param(
            {"a": "x|y", "b": "C:\\dir\\", "c": "pipe\\|both"},
            "k|e\\y",
            "p1UadenafmVBLsz/e1daW3t784N+ApCARchH+pLxB7AARchl4XJPmjPoMY5pnOBpjfbbgNjwCS4nTdKVHK7Gjg==",
            id="escaping",
        ),
        pytest.param(
            {"a": "end\n\n", "b": "mid\nline\n"},
            KEY,
            "54YAy2FU0//2ICl5ORIgdOt9gX/Eat35QKw5CLQu8WSiaujKXlR8X9JCNYqpJVzx7bpCs1apYyPrUbsc1Be9Zw==",
            id="trailing-newline",
        ),
        pytest.param(
            {"a": "", "b": "x", "c": ""},
            KEY,
            "UMhkH+PXTLslPCHljGgXxGosmOVGhHNC/1pcoCeSZy8KO07lTxSgsAMNb07DNOEFZhkKTFAprYrgfCqB28VxnQ==",
            id="blanks",
        ),
        pytest.param(
            {"zeta": "1", "Alpha": "2", "beta": "3", "ALPHA2": "4"},
            KEY,
            "U1EjhPX5bHnyVmYdOjG/grOJAWirgiT4aAEe3n15bFGh1iOPhojiFgjE10gZrEgXjp38sbNSzn9AkMhQCKOaGA==",
            id="mixed-case",
        ),
        pytest.param(
            {"DIMCRITERIA10": "ten", "DIMCRITERIA2": "two", "DIMCRITERIA1": "one"},
            KEY,
            "xyrcUruNuFUWxZebDu4Vm91LnIKUT+5ILWyT2/VeDPFBgycsVWBFZN2wwP3m5bbOvW2+g+SZNlTQth4xjcMgBw==",
            id="digit-runs",
        ),
        pytest.param(
            {"BillToName": "Société Générale", "adresse": "شارع محمد الخامس", "émetteur": "ANP", "zone": "Z1"},
            KEY,
            "u2D7UiwoOiDG+v4Wn87gzAocqbsLh7V0oc0U3SHsgA3XgQjBFWLnuqKRgp8eax0NbhTtnRYmgm/jbByKLJq1uw==",
            id="non-ascii",
        ),
        pytest.param(
            {"amount": "1.00", "Hash": "abc", "ENCODING": "UTF-8", "x-custom": "v"},
            KEY,
            "7VSjAHIIeehEZGN/LgVgE8Y0gdqMvMfdOOED8q03md1xtNsrOTvWh++m3oL+c0rvlBz7FWegYv6MeTEGvQVpqg==",
            id="excluded-and-extra",
        ),
    ],
)
def test_fixed_vectors_give_their_hash(fields, store_key, expected):
    assert compute_hash(fields, store_key) == expected


def test_names_equal_but_for_case_keep_their_posted_order():
    assert hash_plaintext([("b", "first"), ("B", "second")], KEY) == "first|second|TEST1234"


@pytest.mark.parametrize(
    ("before", "after"),
    [
        ("DIMCRITERIA2", "DIMCRITERIA10"),
        ("amount", "AutoRedirect"),
        ("CallbackResponse", "callbackUrl"),
        ("AB", "A_"),  # PHP upper-cases: "_" (0x5F) sorts after every letter
        ("EXTRA.TRXDATE", "EXTRA1"),  # "." sorts before digits
        ("x9", "x:"),  # ":" sorts after digits
        ("a01", "a1"),  # a run starting with 0 compares digit by digit from the left
        ("007b", "8b"),  # zeros leading the name are skipped
        ("zone", "émetteur"),  # non-ASCII after ASCII, by UTF-8 bytes
        ("tel", "tel2"),  # a prefix first
    ],
)
def test_natcase_key_orders_names_like_php_natcasesort(before, after):
    assert natcase_key(before) < natcase_key(after)


def test_natcase_key_ignores_case():
    assert natcase_key("ProcReturnCode") == natcase_key("PROCRETURNCODE")


def a_checkout(**changes):
    checkout = Checkout(
        payment_id="PAY-0001",
        amount=Money.parse("1250.50"),
        method="CARD",
        lang="fr",
        payer_name="Société Maritime du Détroit",
        payer_email="compta@example.ma",
        payer_phone="0522000000",
        session_seconds=1800,
    )
    return replace(checkout, **changes)


SETTINGS = CmiSettings(
    client_id="600000000", store_key="s3cr|t\\key", gateway_url="https://testpayment.cmi.co.ma/fim/est3Dgate"
)
ENDPOINTS = Endpoints(public_api_url="https://api.portnet.example/", frontend_url="https://portal.portnet.example")
RETURN_URL = "https://api.portnet.example/v1/payments/PAY-0001/return"


def test_payment_form_posts_exactly_the_documented_fields_to_the_gateway():
    form = payment_form(a_checkout(), SETTINGS, ENDPOINTS, rnd="a1b2c3d4e5f6")

    assert (form.method, form.url) == ("POST", "https://testpayment.cmi.co.ma/fim/est3Dgate")
    assert form.fields == {
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
        "rnd": "a1b2c3d4e5f6",
        "hashAlgorithm": "ver3",
        "encoding": "UTF-8",
        "BillToName": "Société Maritime du Détroit",
        "email": "compta@example.ma",
        "tel": "0522000000",
        "CallbackResponse": "true",
        "sessionTimeout": "1800",
        "HASH": "EQJneInVqYmQOguj6uz45cTD34cTlNkqWgyKRuJNOnvMFmrQ4FIysVvkURtRIZOZ3n6GETArS+yWZ6pnPJ6MnQ==",
    }


def test_payment_form_passes_its_own_verification():
    form = payment_form(a_checkout(), SETTINGS, ENDPOINTS, rnd="a1b2c3d4e5f6")

    assert verify(form.fields, SETTINGS.store_key)


def test_payment_form_sends_a_blank_phone_when_the_payer_gave_none():
    form = payment_form(a_checkout(payer_phone=""), SETTINGS, ENDPOINTS, rnd="a1b2c3d4e5f6")

    assert form.fields["tel"] == ""


def test_payment_form_signs_the_session_timeout():
    form = payment_form(a_checkout(session_seconds=600), SETTINGS, ENDPOINTS, rnd="a1b2c3d4e5f6")
    tampered = {**form.fields, "sessionTimeout": "86400"}

    assert form.fields["sessionTimeout"] == "600"
    assert not verify(tampered, SETTINGS.store_key)


@pytest.mark.parametrize("seconds", [0, 59])
def test_payment_form_opens_no_session_shorter_than_a_minute(seconds):
    with pytest.raises(ValueError, match="sessionTimeout"):
        payment_form(a_checkout(session_seconds=seconds), SETTINGS, ENDPOINTS, rnd="a1b2c3d4e5f6")


@pytest.mark.parametrize("method", ["FATOURATI", "TASHILAT", "DIRECT_DEBIT"])
def test_payment_form_refuses_methods_other_than_card(method):
    with pytest.raises(ValueError, match="CARD"):
        payment_form(a_checkout(method=method), SETTINGS, ENDPOINTS, rnd="a1b2c3d4e5f6")


@pytest.mark.parametrize("rnd", ["", "x" * 21])
def test_payment_form_refuses_a_nonce_cmi_would_reject(rnd):
    with pytest.raises(ValueError, match="rnd"):
        payment_form(a_checkout(), SETTINGS, ENDPOINTS, rnd=rnd)


@pytest.mark.parametrize("payment_id", ["", "PAY_0001", "P" * 65, "PAY 0001"])
def test_payment_form_refuses_an_order_id_outside_the_documented_alphabet(payment_id):
    with pytest.raises(ValueError, match="oid"):
        payment_form(a_checkout(payment_id=payment_id), SETTINGS, ENDPOINTS, rnd="a1b2c3d4e5f6")
