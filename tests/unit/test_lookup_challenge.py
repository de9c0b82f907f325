"""api.md §8 (issue 15): past the miss budget a lookup is challenged, not refused for the hour.

Past `EPAY_LOOKUP_MISSES_PER_HOUR` misses an address's lookups answer `429 CHALLENGE_REQUIRED` with an ALTCHA
challenge; a valid, unused, unexpired proof (`proof`, solved here with ALTCHA's own Python library, as an outside
client would) adds `EPAY_LOOKUP_MISSES_PER_PROOF` misses to the address's budget for the hour. Only a lookup that
finds nothing for an unknown code, or for a code with nothing unpaid, is a miss; and those two cases answer alike,
challenge included.
"""

import base64
import json

import pytest

from epay.challenge import LookupChallenge
from epay.cursor import CursorCodec
from epay.errors import DomainError
from epay.http import problem_body
from epay.invoices import InvoiceStatus
from epay.lookup import InvoiceLookup
from epay.ratelimit import RateLimiter
from epay.schemas import SearchRequest
from tests.support.altcha_solver import solve
from tests.support.factories import an_invoice
from tests.support.fakes import CountingHits, InMemoryInvoices, ProofRecords

NOW = 1_795_773_600
ADDRESS = "192.0.2.1"
KEY = b"test-key-0123456789abcdef0123456789"
CHALLENGE_KEY = b"challenge-key-0123456789abcdef"
MISSES = 3
PER_PROOF = 2
TTL = 600


def lookup(invoices=(), limit=1000, max_number=2000):
    reader = InMemoryInvoices(list(invoices))
    limiter = RateLimiter(CountingHits(), "lookup", limit, KEY, miss_limit=MISSES, misses_per_proof=PER_PROOF)
    challenge = LookupChallenge(CHALLENGE_KEY, ProofRecords(), max_number, TTL)
    return InvoiceLookup(reader, CursorCodec(KEY, 1800), limiter, challenge)


def search(service, code="ZZ99", at=NOW, **fields):
    return service.search(SearchRequest(subscription_code=code, **fields), ADDRESS, at)


def challenged(service, code="ZZ99", at=NOW, **fields):
    with pytest.raises(DomainError) as refusal:
        search(service, code, at, **fields)
    assert (refusal.value.status, refusal.value.code) == (429, "CHALLENGE_REQUIRED")
    return refusal.value


def answer(service, code, at=NOW, **fields):
    """What the caller sees: the items' count, or the refusal's code."""
    try:
        return len(search(service, code, at, **fields).items)
    except DomainError as refusal:
        return refusal.code


def spend_the_budget(service, count=MISSES):
    for index in range(count):
        assert search(service, f"ZZ{index:02d}").items == []


# -- the budget and the challenge -----------------------------------------------------------------------------------


def test_the_misses_of_the_budget_are_answered_then_the_next_lookup_is_challenged_whatever_its_code():
    service = lookup([an_invoice("AB12")])
    spend_the_budget(service)
    for code in ("AB12", "ZZ99"):
        challenged(service, code)


def test_the_challenge_is_altcha_s_with_its_expiry_in_the_salt_and_no_retry_after():
    service = lookup(max_number=2000)
    spend_the_budget(service)
    refusal = challenged(service)
    body = problem_body(refusal)
    assert body["code"] == "CHALLENGE_REQUIRED"
    assert body["detail"] == "Trop de recherches sans résultat : une vérification est nécessaire pour continuer."
    challenge = body["challenge"]
    assert set(challenge) == {"algorithm", "challenge", "maxNumber", "salt", "signature"}
    assert (challenge["algorithm"], challenge["maxNumber"]) == ("SHA-256", 2000)
    assert f"expires={NOW + TTL}" in challenge["salt"]
    assert "Retry-After" not in refusal.headers


def test_each_challenge_is_a_new_one():
    service = lookup()
    spend_the_budget(service)
    first, second = (problem_body(challenged(service))["challenge"] for _ in range(2))
    assert first["salt"] != second["salt"]


def test_a_solved_challenge_buys_misses_per_proof_more_misses_then_a_new_challenge():
    service = lookup()
    spend_the_budget(service)
    proof = solve(problem_body(challenged(service))["challenge"])
    assert search(service, "ZZ50", proof=proof).items == []
    assert search(service, "ZZ51").items == []
    challenged(service, "ZZ52")


def test_a_payer_behind_a_shared_address_is_never_locked_out_they_solve_and_go_on():
    service = lookup([an_invoice("AB12")])
    spend_the_budget(service)
    for round_ in range(5):
        proof = solve(problem_body(challenged(service, "AB12"))["challenge"])
        assert len(search(service, "AB12", proof=proof).items) == 1
        for typo in range(PER_PROOF):
            assert search(service, f"ZY{round_}{typo}").items == []


def test_a_lookup_that_finds_invoices_is_never_challenged_within_the_budget_and_spends_none_of_it():
    service = lookup([an_invoice("AB12")])
    for _ in range(10):
        assert len(search(service, "AB12").items) == 1
    spend_the_budget(service)
    challenged(service, "AB12")


def test_a_proof_sent_before_the_budget_is_spent_is_redeemed_all_the_same():
    service = lookup()
    spend_the_budget(service)
    proof = solve(problem_body(challenged(service))["challenge"])
    service = lookup()
    assert search(service, "ZZ01", proof=proof).items == []
    spend_the_budget(service, MISSES + PER_PROOF - 1)
    challenged(service)


def test_the_raw_rate_limit_stays_rate_limited_with_retry_after_proof_or_not():
    service = lookup(limit=MISSES + 1)
    spend_the_budget(service)
    proof = solve(problem_body(challenged(service))["challenge"])
    with pytest.raises(DomainError) as refusal:
        search(service, proof=proof)
    assert (refusal.value.code, refusal.value.headers["Retry-After"]) == ("RATE_LIMITED", "60")


# -- proofs: once, unexpired, ours ----------------------------------------------------------------------------------


def test_a_proof_is_accepted_once_its_reuse_counts_as_no_proof():
    service = lookup()
    spend_the_budget(service)
    proof = solve(problem_body(challenged(service))["challenge"])
    search(service, proof=proof)
    search(service, proof=proof)
    challenged(service, proof=proof)


def test_an_expired_proof_counts_as_no_proof():
    service = lookup()
    spend_the_budget(service)
    proof = solve(problem_body(challenged(service))["challenge"])
    challenged(service, at=NOW + TTL + 1, proof=proof)


def test_a_proof_within_its_challenge_s_life_is_accepted():
    service = lookup()
    spend_the_budget(service)
    proof = solve(problem_body(challenged(service))["challenge"])
    assert search(service, at=NOW + TTL, proof=proof).items == []


def tampered(proof, **changes):
    payload = json.loads(base64.b64decode(proof))
    payload.update(changes)
    return base64.b64encode(json.dumps(payload).encode()).decode()


@pytest.mark.parametrize(
    "forge",
    [
        pytest.param(lambda proof: tampered(proof, signature="0" * 64), id="another signature"),
        pytest.param(
            lambda proof: tampered(proof, number=json.loads(base64.b64decode(proof))["number"] + 1), id="another number"
        ),
        pytest.param(
            lambda proof: tampered(proof, salt=json.loads(base64.b64decode(proof))["salt"].replace("expires=", "e=")),
            id="its expiry removed",
        ),
        pytest.param(lambda proof: tampered(proof, algorithm="SHA-1"), id="another algorithm"),
        pytest.param(lambda proof: tampered(proof, number="12"), id="a number as text"),
        pytest.param(lambda proof: base64.b64encode(b"[1, 2]").decode(), id="not an object"),
        pytest.param(lambda proof: base64.b64encode(b"\xff\xfe").decode(), id="not UTF-8"),
    ],
)
def test_a_forged_or_corrupted_proof_counts_as_no_proof(forge):
    service = lookup()
    spend_the_budget(service)
    proof = solve(problem_body(challenged(service))["challenge"])
    challenged(service, proof=forge(proof))
    assert search(service, proof=proof).items == []


def test_a_proof_of_a_challenge_signed_with_another_key_counts_as_no_proof():
    other = LookupChallenge(b"another-key-0123456789abcdef", ProofRecords(), 2000, TTL)
    service = lookup()
    spend_the_budget(service)
    challenged(service, proof=solve(other.issue(NOW)))


def test_a_proof_that_is_not_base64_is_a_validation_error():
    with pytest.raises(ValueError, match="proof"):
        SearchRequest(subscription_code="AB12", proof="not base64!")


def test_a_proof_used_from_another_address_is_still_used():
    service = lookup()
    spend_the_budget(service)
    proof = solve(problem_body(challenged(service))["challenge"])
    service.search(SearchRequest(subscription_code="ZZ99", proof=proof), "198.51.100.7", NOW)
    challenged(service, proof=proof)


# -- what a miss is (api.md §8) --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "fields",
    [
        {"invoice_number": "F-0000-NOTHING"},
        {"filters": {"issuer": "NOBODY"}},
        {"filters": {"min_amount": "999999.00"}},
        {"filters": {"text": "rien"}},
    ],
    ids=["an invoice number", "an issuer", "an amount", "a text"],
)
def test_a_filter_that_hides_a_code_s_unpaid_invoices_is_not_a_miss(fields):
    service = lookup([an_invoice("AB12")])
    for _ in range(MISSES + 5):
        assert search(service, "AB12", **fields).items == []
    assert len(search(service, "AB12").items) == 1


@pytest.mark.parametrize("fields", [{}, {"filters": {"issuer": "ANP"}}, {"invoice_number": "F-0000-NOTHING"}])
def test_an_unknown_code_is_a_miss_filtered_or_not(fields):
    service = lookup([an_invoice("AB12")])
    for _ in range(MISSES):
        assert search(service, "ZZ99", **fields).items == []
    challenged(service, "AB12")


# -- no oracle ------------------------------------------------------------------------------------------------------

SEQUENCE = [
    {},
    {"filters": {"issuer": "ANP"}},
    {"invoice_number": "F-2026-999999"},
    {"filters": {"text": "escale"}},
    {},
    {"filters": {"issued_from": "2026-01-01"}},
    {},
    {"page_size": 5},
]


def test_the_challenge_is_no_oracle_a_code_with_nothing_unpaid_answers_as_an_unknown_code():
    """The same lookups, some for the code under test, some for other unknown codes, then proofs: the sequence of
    answers (items found or the refusal) is the same whether the code exists with only paid invoices or does not."""
    answers = {}
    for case, invoices in {
        "nothing unpaid": [
            an_invoice("QX70", status=InvoiceStatus.PAID),
            an_invoice("QX70", status=InvoiceStatus.PAID),
        ],
        "unknown": [],
    }.items():
        service = lookup([an_invoice("AB12"), *invoices])
        seen = []
        for round_ in range(3):
            for index, fields in enumerate(SEQUENCE):
                code = "QX70" if index % 2 == 0 else f"ZZ{round_}{index}"
                seen.append(answer(service, code, **fields))
                seen.append(answer(service, "AB12", **fields))
            refusal = None
            try:
                search(service, "QX70")
            except DomainError as error:
                refusal = error
            seen.append(refusal.code if refusal else "answered")
            if refusal is not None:
                seen.append(answer(service, "QX70", proof=solve(problem_body(refusal)["challenge"])))
        answers[case] = seen
    assert answers["nothing unpaid"] == answers["unknown"]
    assert "CHALLENGE_REQUIRED" in answers["unknown"]


@pytest.mark.parametrize("code", ["QX70", "ZZ99"], ids=["nothing unpaid", "unknown"])
def test_a_first_miss_reads_the_same_whether_the_code_exists_or_not(code):
    """The miss accounting reads alike for both: one read for an unfiltered lookup, two for a filtered one."""
    reader = InMemoryInvoices([an_invoice("QX70", status=InvoiceStatus.PAID)])
    limiter = RateLimiter(CountingHits(), "lookup", 1000, KEY, miss_limit=MISSES, misses_per_proof=PER_PROOF)
    service = InvoiceLookup(
        reader, CursorCodec(KEY, 1800), limiter, LookupChallenge(CHALLENGE_KEY, ProofRecords(), 2000)
    )
    search(service, code)
    search(service, code, filters={"issuer": "ANP"})
    assert len(reader.reads) == 3
    (counts,) = limiter.counter.counts.values()
    assert counts["misses"] == 2


# -- difficulty -----------------------------------------------------------------------------------------------------


def test_each_proof_redeemed_this_hour_doubles_the_address_s_next_challenge_up_to_the_ceiling():
    service = lookup(max_number=1000)
    spend_the_budget(service)
    sizes = []
    for _ in range(3):
        challenge = problem_body(challenged(service))["challenge"]
        sizes.append(challenge["maxNumber"])
        search(service, proof=solve(challenge))
        spend_the_budget(service, PER_PROOF - 1)
    assert sizes == [1000, 2000, 4000]
    capped = LookupChallenge(CHALLENGE_KEY, ProofRecords(), 1000, TTL, ceiling=3000)
    assert [capped.size(proofs) for proofs in range(4)] == [1000, 2000, 3000, 3000]


def test_a_new_hour_starts_again_from_the_first_challenge_s_size():
    service = lookup(max_number=1000)
    spend_the_budget(service)
    search(service, proof=solve(problem_body(challenged(service))["challenge"]))
    spend_the_budget(service, PER_PROOF - 1)
    assert problem_body(challenged(service))["challenge"]["maxNumber"] == 2000
    later = NOW + 3600
    for index in range(MISSES):
        assert search(service, f"ZX{index:02d}", at=later).items == []
    assert problem_body(challenged(service, at=later))["challenge"]["maxNumber"] == 1000
