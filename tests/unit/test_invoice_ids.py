"""Invoice ids (issue 9, item 4): keyed, so an id shown beside its issuer and number does not give the code away."""

import re

from epay.invoices import invoice_id_for, invoice_id_key_fingerprint, legacy_invoice_id_for
from epay_local.cli import local_environment
from epay_local.loader import MIN_INVOICE_ID_KEY_BYTES

KEY = b"k" * 32
OTHER_KEY = b"o" * 32
INVOICE_ID = re.compile(r"inv-[a-z2-7]{32}")


def test_an_invoice_id_keeps_its_shape_inv_and_32_base32_characters():
    assert INVOICE_ID.fullmatch(invoice_id_for(KEY, "AB12", "ANP", "F-2026-000123"))


def test_the_keyed_id_is_hmac_sha256_of_code_issuer_and_number_truncated_to_20_bytes():
    # base32(HMAC-SHA256(b"k" * 32, b"AB12|ANP|F-2026-000123")[:20]), lower case.
    assert invoice_id_for(KEY, "AB12", "ANP", "F-2026-000123") == "inv-cixnre7zhhtlennox4cg3emilgn627e6"


def test_the_same_invoice_gets_the_same_id_at_every_load_with_the_same_key():
    assert invoice_id_for(KEY, "AB12", "ANP", "F-1") == invoice_id_for(KEY, "AB12", "ANP", "F-1")


def test_another_key_gives_another_id():
    assert invoice_id_for(KEY, "AB12", "ANP", "F-1") != invoice_id_for(OTHER_KEY, "AB12", "ANP", "F-1")


def test_the_keyed_id_is_not_the_legacy_id():
    assert invoice_id_for(KEY, "AB12", "ANP", "F-1") != legacy_invoice_id_for("AB12", "ANP", "F-1")


def test_the_legacy_id_is_still_what_releases_before_issue_9_stored():
    # The vector the unkeyed formula gave (git show 25b1169:layers/common/epay/invoices.py): the loader and the
    # migration find invoices stored under it only if it never changes.
    assert legacy_invoice_id_for("AB12", "ANP", "F-2026-000123") == "inv-kixysipnhlfu5vpexzhiggj5x4elet6r"


def test_the_key_fingerprint_tells_keys_apart_without_containing_the_key():
    fingerprint = invoice_id_key_fingerprint(KEY)
    assert fingerprint == invoice_id_key_fingerprint(KEY)
    assert fingerprint != invoice_id_key_fingerprint(OTHER_KEY)
    assert KEY.decode() not in fingerprint


def test_epay_serve_draws_a_long_enough_invoice_id_key_at_each_start():
    first = local_environment("127.0.0.1", 8080)["EPAY_INVOICE_ID_KEY"]
    second = local_environment("127.0.0.1", 8080)["EPAY_INVOICE_ID_KEY"]
    assert len(first.encode()) >= MIN_INVOICE_ID_KEY_BYTES
    assert first != second
