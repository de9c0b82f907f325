"""The subscription code: exactly four ASCII letters or digits, case-insensitive, never guessed at.

The code is read by the request models' `SubscriptionCode` type (`epay.schemas`), which is what these cases hold.
"""

import pytest
from pydantic import TypeAdapter, ValidationError

from epay.schemas import SubscriptionCode
from epay.subscription import code_fingerprint

CODE = TypeAdapter(SubscriptionCode)


def normalise_subscription_code(raw):
    return CODE.validate_python(raw)


@pytest.mark.parametrize(
    ("raw", "normalised"), [("AB12", "AB12"), ("ab12", "AB12"), ("0000", "0000"), ("zZzZ", "ZZZZ")]
)
def test_valid_codes_are_upper_cased(raw, normalised):
    assert normalise_subscription_code(raw) == normalised


@pytest.mark.parametrize(
    "raw",
    [
        "AB1",
        "AB123",
        "",
        "AB-1",
        "AB 1",
        " AB12",
        "AB12 ",
        "AB12\n",
        "A'--",
        "' OR",
        '{"$ne": null}',
        "$ne",
        "ÀB12",
        "AB١٢",
        "ＡＢ１２",
        "AB\x0012",
    ],
)
def test_anything_else_is_refused_without_trimming(raw):
    with pytest.raises(ValidationError):
        normalise_subscription_code(raw)


@pytest.mark.parametrize("raw", [None, 1234, ["AB12"], {"$ne": None}])
def test_non_strings_are_refused(raw):
    with pytest.raises(ValidationError):
        normalise_subscription_code(raw)


def test_log_fingerprint_hides_the_code_but_is_stable_per_key():
    first = code_fingerprint("AB12", b"key-1")
    assert "AB12" not in first
    assert first == code_fingerprint("AB12", b"key-1")
    assert first != code_fingerprint("AB12", b"key-2")
    assert first != code_fingerprint("AB13", b"key-1")
