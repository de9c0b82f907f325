"""The log scan that fails the session on a leak can find one: a secret, a card number, a code."""

from tests.support.leaks import LeakWatch, is_distinctive


def watch():
    scan = LeakWatch(secrets={"s3cr3t-key"})
    scan.watch_code("AB12")
    return scan


def test_a_secret_in_a_log_line_is_found():
    assert watch().findings(['{"message": "signing with s3cr3t-key"}'])


def test_a_card_number_is_found():
    assert watch().findings(['{"MaskedPan": "4000000000000002"}'])


def test_a_watched_code_is_found_in_either_case():
    assert watch().findings(['{"code": "AB12"}'])
    assert watch().findings(['{"body": "{\\"subscription_code\\": \\"ab12\\"}"}'])


def test_the_same_characters_inside_an_id_or_a_timestamp_are_not_a_leak():
    assert watch().findings(["PAY-XAB12Z 2026-11-27 01:22:12,868+0000"]) == []


def test_only_codes_no_id_could_contain_are_watched():
    assert is_distinctive("AB12")
    assert not is_distinctive("ABCD")
    assert not is_distinctive("0000")
    assert not is_distinctive("AB23")


def test_a_group_of_a_request_id_that_spells_a_watched_code_is_not_a_leak():
    # A hex-only code (AB12) is one of a UUID's 4-character groups about once in 65,536 groups.
    assert watch().findings(['{"function_request_id": "eb7360f0-33b0-4c2e-ab12-bd0207b25e9f"}']) == []


def test_a_watched_code_next_to_a_request_id_is_still_found():
    assert watch().findings(['{"function_request_id": "eb7360f0-33b0-4c2e-ab12-bd0207b25e9f", "code": "AB12"}'])
