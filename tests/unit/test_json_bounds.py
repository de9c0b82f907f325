"""The scan that runs before any JSON is parsed: nesting and number length are bounded, strings are not structure."""

import json
import time

import pytest

from epay.http import strict_json
from epay.json_bounds import MAX_DEPTH, MAX_NUMBER_CHARS, NUMBER_TOO_LONG, TOO_DEEP, JsonTooComplex, check_json_bounds


def refusal(text):
    with pytest.raises(JsonTooComplex) as refused:
        check_json_bounds(text)
    return str(refused.value)


def test_nesting_up_to_the_bound_passes():
    check_json_bounds("[" * MAX_DEPTH + "]" * MAX_DEPTH)
    check_json_bounds('{"a":' * MAX_DEPTH + "1" + "}" * MAX_DEPTH)


@pytest.mark.parametrize("opener", ["[", '{"a":'])
def test_one_level_deeper_is_refused(opener):
    assert refusal(opener * (MAX_DEPTH + 1)) == TOO_DEEP


@pytest.mark.parametrize("text", ["[" * 8000, '{"a":' * 2000, "[" * 8000 + "]" * 8000])
def test_the_review_s_deep_bodies_are_refused(text):
    assert refusal(text) == TOO_DEEP


def test_brackets_inside_strings_are_not_nesting():
    check_json_bounds(json.dumps({"text": "[" * 500 + "{" * 500}))


def test_escaped_quotes_do_not_end_a_string():
    check_json_bounds(json.dumps({"text": '\\"' + "[" * 500}))


def test_stray_closing_brackets_do_not_buy_depth():
    assert refusal("]" * 100 + "[" * (MAX_DEPTH + 1)) == TOO_DEEP


def test_a_number_of_the_bound_s_length_passes():
    check_json_bounds("1" * MAX_NUMBER_CHARS)
    check_json_bounds("-1.7976931348623157e+308")


@pytest.mark.parametrize("number", ["1" * 5000, "-" + "9" * 5000, "1" * (MAX_NUMBER_CHARS + 1), "0." + "0" * 40 + "1"])
def test_a_longer_number_is_refused(number):
    assert refusal(json.dumps({"page_size": 1}).replace("1", number)) == NUMBER_TOO_LONG


def test_digits_inside_strings_are_not_numbers():
    check_json_bounds(json.dumps({"text": "1" * 5000}))


def test_an_unterminated_string_hides_what_follows_and_the_scan_stays_linear():
    hostile = '"\\"' * 5000 + "["
    started = time.perf_counter()
    check_json_bounds(hostile)
    check_json_bounds("[" + '"\\' * 8000)
    assert time.perf_counter() - started < 1.0


@pytest.mark.parametrize(
    "text",
    ["[" * 8000, "1" * 5000, '{"n": ' + "9" * 4301 + "}", "NaN", '{"page_size": Infinity}', "-Infinity"],
)
def test_the_resolver_s_deserializer_refuses_them_as_json_errors(text):
    with pytest.raises(json.JSONDecodeError):
        strict_json(text)


def test_the_resolver_s_deserializer_still_reads_ordinary_bodies():
    assert strict_json('{"subscription_code": "AB12", "page_size": 10}') == {
        "subscription_code": "AB12",
        "page_size": 10,
    }
