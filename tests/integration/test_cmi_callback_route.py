"""`POST /v1/callbacks/cmi`: every row of gateways.md's answer table, through the gateway_callback function.

Each test checks both what CMI is answered (status and plain-text body) and what the next reader sees: the payment
through `GET /v1/payments/{id}`, the invoices through the search and the store.
"""

import pytest

from epay.invoices import InvoiceStatus
from tests.support.factories import an_invoice, response_json
from tests.support.payments import (
    CARD_NUMBER,
    CODE,
    SECRETS,
    cancel_payment,
    cmi_answer,
    cmi_callback,
    fail_transactions,
    form,
    given_invoices,
    held_by,
    pay_by_card,
    payment,
    payment_request,
    post_cmi,
    post_payment,
    problem_ids,
    search,
    signed,
    start_payment,
    stored_invoice,
    throttling,
    transaction_conflict,
)

POSTAUTH = (200, "ACTION=POSTAUTH")
APPROVED = (200, "APPROVED")


@pytest.fixture
def invoices(dynamodb, frozen):
    return given_invoices(an_invoice(CODE, amount="100.00"), an_invoice(CODE, amount="20.50"))


@pytest.fixture
def created(invoices):
    """A CMI card payment of 120.50 MAD for two invoices, waiting for CMI."""
    return start_payment(invoices, "CMI", "CARD")


def assert_untouched(created, invoices):
    """The payment is still waiting for CMI and still holds every invoice."""
    assert payment(created["payment_id"])["status"] == "PENDING"
    listed = search()
    for invoice in invoices:
        assert listed[invoice.invoice_id]["status"] == "PENDING_PAYMENT"
        assert held_by(invoice.invoice_id) == created["payment_id"]


def assert_invoices_unpaid(invoices):
    for invoice in invoices:
        assert stored_invoice(invoice.invoice_id).status is InvoiceStatus.UNPAID


# -- HASH -----------------------------------------------------------------------------------------------------


def test_a_wrong_hash_is_refused_with_403_failure_and_changes_nothing(created, invoices):
    fields = [(name, "Zm9yZ2Vk" + value if name == "HASH" else value) for name, value in cmi_callback(created)]
    assert cmi_answer(post_cmi(fields)) == (403, "FAILURE")
    assert_untouched(created, invoices)


def test_a_callback_signed_with_another_store_key_is_refused(created, invoices):
    fields = signed(cmi_callback(created), store_key="not-the-store-key")
    assert cmi_answer(post_cmi(fields)) == (403, "FAILURE")
    assert_untouched(created, invoices)


def test_a_missing_hash_is_refused_with_403_failure_and_changes_nothing(created, invoices):
    fields = [(name, value) for name, value in cmi_callback(created) if name != "HASH"]
    assert cmi_answer(post_cmi(fields)) == (403, "FAILURE")
    assert_untouched(created, invoices)


def test_a_changed_amount_under_the_original_hash_is_refused(created, invoices):
    fields = [(name, "0.01" if name == "amount" else value) for name, value in cmi_callback(created)]
    assert cmi_answer(post_cmi(fields)) == (403, "FAILURE")
    assert_untouched(created, invoices)


def test_a_body_that_is_not_a_form_is_refused_with_403(created, invoices):
    assert cmi_answer(post_cmi(raw_body=b"\xff\xfe not a form", base64_body=True)) == (403, "FAILURE")
    assert_untouched(created, invoices)


def test_a_forged_callback_for_an_unknown_oid_is_refused_before_it_is_looked_up(created):
    fields = signed(cmi_callback(created, oid="PAY-NOSUCHPAYMENT0000000000000"), store_key="forged")
    assert cmi_answer(post_cmi(fields)) == (403, "FAILURE")


# -- unknown oid ----------------------------------------------------------------------------------------------


def test_a_valid_callback_for_an_unknown_oid_is_404_failure(created, invoices):
    fields = cmi_callback(created, oid="PAY-NOSUCHPAYMENT0000000000000")
    assert cmi_answer(post_cmi(fields)) == (404, "FAILURE")
    assert_untouched(created, invoices)


# -- success --------------------------------------------------------------------------------------------------


def test_a_valid_success_is_captured_and_settles_the_payment_and_its_invoices(created, invoices):
    assert pay_by_card(created) == POSTAUTH
    assert payment(created["payment_id"])["status"] == "PAID"
    for invoice in invoices:
        stored = stored_invoice(invoice.invoice_id)
        assert stored.status is InvoiceStatus.PAID
        assert stored.paid_by == created["payment_id"]
        assert stored.hold is None
    assert search() == {}


def test_invoices_settled_by_a_card_payment_cannot_be_paid_again(created, invoices):
    pay_by_card(created)
    response = post_payment(payment_request(invoices, "M2T", "CARD"))
    assert response["statusCode"] == 409
    problem = response_json(response)
    assert problem["code"] == "INVOICE_NOT_PAYABLE"
    assert {invoice.invoice_id for invoice in invoices} <= problem_ids(problem)


def test_the_same_success_again_gets_the_same_answer_and_changes_nothing(created, invoices, frozen):
    fields = cmi_callback(created)
    first = cmi_answer(post_cmi(fields))
    settled = payment(created["payment_id"])
    frozen.advance(30)
    again = cmi_answer(post_cmi(fields))
    assert first == again == POSTAUTH
    assert payment(created["payment_id"]) == settled
    assert all(stored_invoice(invoice.invoice_id).paid_by == created["payment_id"] for invoice in invoices)


def test_a_success_posted_base64_encoded_is_read_like_any_other(created):
    response = post_cmi(cmi_callback(created), base64_body=True)
    assert cmi_answer(response) == POSTAUTH
    assert payment(created["payment_id"])["status"] == "PAID"


def test_blank_values_count_in_the_hash(created):
    fields = cmi_callback(created, ErrMsg="", HostRefNum="", mdErrorMsg="")
    assert ("ErrMsg", "") in fields
    assert cmi_answer(post_cmi(fields)) == POSTAUTH
    assert payment(created["payment_id"])["status"] == "PAID"


def test_the_trailing_newline_of_the_last_value_is_not_hashed(created):
    # Real callbacks end their last value with a newline, which CMI leaves out of the HASH.
    fields = cmi_callback(created)
    unsigned = [(name, value) for name, value in fields if name != "HASH"]
    *head, (last_name, last_value) = signed(unsigned)
    sent = form([*head, (last_name, last_value + "\n")])
    assert cmi_answer(post_cmi(raw_body=sent)) == POSTAUTH
    assert payment(created["payment_id"])["status"] == "PAID"


def test_a_trailing_newline_on_a_field_value_is_not_hashed(created):
    fields = cmi_callback(created, callbackCall="true")
    sent = [(name, value + "\n" if name == "callbackCall" else value) for name, value in fields]
    assert cmi_answer(post_cmi(sent)) == POSTAUTH


@pytest.mark.parametrize(("amounts", "echoed"), [(("100.00", "20.50"), "120.5"), (("1000.00", "20.00"), "1020")])
def test_the_echoed_amount_compares_as_a_decimal(dynamodb, frozen, amounts, echoed):
    invoices = given_invoices(*(an_invoice(CODE, amount=amount) for amount in amounts))
    created = start_payment(invoices, "CMI", "CARD")
    assert pay_by_card(created, amount=echoed) == POSTAUTH
    assert payment(created["payment_id"])["status"] == "PAID"


def test_a_success_after_the_payer_cancelled_still_settles_while_the_invoices_are_free(created, invoices):
    cancel_payment(created["payment_id"])
    assert pay_by_card(created) == POSTAUTH
    assert payment(created["payment_id"])["status"] == "PAID"
    assert all(stored_invoice(invoice.invoice_id).paid_by == created["payment_id"] for invoice in invoices)


def test_another_success_for_a_paid_payment_is_not_captured(created, invoices):
    pay_by_card(created, trans_id="T-FIRST")
    settled = payment(created["payment_id"])
    assert pay_by_card(created, trans_id="T-SECOND") == APPROVED
    after = payment(created["payment_id"])
    # The settled payment is exactly as it was; the second authorisation is listed as money to return (issue 9.5)
    assert {**after, "unapplied_funds": []} == settled
    assert [funds["transaction_id"] for funds in after["unapplied_funds"]] == ["T-SECOND"]
    assert all(stored_invoice(invoice.invoice_id).paid_by == created["payment_id"] for invoice in invoices)


# -- decline --------------------------------------------------------------------------------------------------


def test_a_declined_attempt_is_approved_and_leaves_the_payment_pending_with_the_error(created, invoices):
    answer = pay_by_card(created, proc_return_code="05", error_message="Do not honour")
    assert answer == APPROVED
    view = payment(created["payment_id"])
    assert view["status"] == "PENDING"
    assert view["last_error"]
    assert view["paid_at"] is None
    assert_untouched(created, invoices)


def test_a_success_after_a_declined_attempt_settles(created):
    pay_by_card(created, proc_return_code="51", trans_id="T-DECLINED")
    assert pay_by_card(created, trans_id="T-APPROVED") == POSTAUTH
    view = payment(created["payment_id"])
    assert (view["status"], view["gateway_transaction_id"]) == ("PAID", "T-APPROVED")


def test_a_decline_after_the_payment_is_paid_changes_nothing(created, invoices):
    pay_by_card(created, trans_id="T-APPROVED")
    settled = payment(created["payment_id"])
    assert pay_by_card(created, proc_return_code="05", trans_id="T-DECLINED") == APPROVED
    assert payment(created["payment_id"]) == settled
    assert all(stored_invoice(invoice.invoice_id).paid_by == created["payment_id"] for invoice in invoices)


# -- amount, currency, invoices gone --------------------------------------------------------------------------


@pytest.mark.parametrize("change", [{"amount": "120.49"}, {"amount": "1205.00"}, {"currency": "840"}])
def test_a_success_for_another_amount_or_currency_is_not_captured_and_needs_review(created, invoices, change):
    assert pay_by_card(created, **change) == APPROVED
    view = payment(created["payment_id"])
    assert view["status"] == "NEEDS_REVIEW"
    assert view["paid_at"] is None
    assert_invoices_unpaid(invoices)


def test_a_success_for_invoices_paid_by_another_payment_is_not_captured_and_needs_review(created, invoices):
    # Given the payer cancelled, then paid the same invoices with another payment
    cancel_payment(created["payment_id"])
    other = start_payment(invoices, "CMI", "CARD")
    assert pay_by_card(other, trans_id="T-OTHER") == POSTAUTH
    # When CMI reports the first attempt approved after all
    answer = pay_by_card(created, trans_id="T-LATE")
    # Then it is not captured, and the invoices stay settled by the other payment
    assert answer == APPROVED
    assert payment(created["payment_id"])["status"] == "NEEDS_REVIEW"
    assert payment(other["payment_id"])["status"] == "PAID"
    assert all(stored_invoice(invoice.invoice_id).paid_by == other["payment_id"] for invoice in invoices)


def test_the_same_mismatched_success_again_gets_the_same_answer(created):
    fields = cmi_callback(created, amount="1.00")
    first = cmi_answer(post_cmi(fields))
    again = cmi_answer(post_cmi(fields))
    assert first == again == APPROVED
    assert payment(created["payment_id"])["status"] == "NEEDS_REVIEW"


# -- storage failure ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("error", [throttling(), transaction_conflict()], ids=["throttled", "conflict"])
def test_a_storage_failure_answers_500_failure_and_changes_nothing(created, invoices, monkeypatch, error):
    fail_transactions(monkeypatch, error)
    assert cmi_answer(post_cmi(cmi_callback(created))) == (500, "FAILURE")
    assert_untouched(created, invoices)
    assert_invoices_unpaid(invoices)


def test_the_retry_after_a_storage_failure_settles(created, monkeypatch):
    fields = cmi_callback(created)
    with monkeypatch.context() as failing:
        fail_transactions(failing, throttling())
        post_cmi(fields)
    assert cmi_answer(post_cmi(fields)) == POSTAUTH
    assert payment(created["payment_id"])["status"] == "PAID"


# -- what is never written out --------------------------------------------------------------------------------


def test_logs_never_contain_the_store_key_the_card_number_or_the_code(created, logs, monkeypatch):
    pay_by_card(created, proc_return_code="05")
    post_cmi(signed(cmi_callback(created), store_key="forged"))
    post_cmi(cmi_callback(created, oid="PAY-NOSUCHPAYMENT0000000000000"))
    with monkeypatch.context() as failing:
        fail_transactions(failing, throttling())
        post_cmi(cmi_callback(created))
    pay_by_card(created, amount="1.00")
    assert len(logs.lines()) >= 5
    text = logs.text()
    assert CARD_NUMBER not in text
    assert CODE.lower() not in text.lower()
    for secret in SECRETS:
        assert secret not in text


def test_a_callback_for_a_payment_sent_to_another_gateway_is_unknown_to_cmi(dynamodb, frozen):
    # CMI only knows the orders its hosted page was sent: an M2T payment's id is not one of them.
    invoices = given_invoices(an_invoice(CODE, amount="100.00"))
    card = start_payment(invoices, "CMI", "CARD")
    cancel_payment(card["payment_id"])
    m2t_payment = start_payment(invoices, "M2T", "CARD")
    fields = cmi_callback(card, oid=m2t_payment["payment_id"])
    assert cmi_answer(post_cmi(fields)) == (404, "FAILURE")
    assert payment(m2t_payment["payment_id"])["status"] == "PENDING"
    assert_invoices_unpaid(invoices)


def test_a_card_callback_for_a_fatourati_reference_payment_is_unknown_to_cmi(dynamodb, frozen):
    # A FATOURATI payment never went to CMI's hosted card page, so no card callback can be about it.
    invoices = given_invoices(an_invoice(CODE, amount="100.00"))
    card = start_payment(invoices, "CMI", "CARD")
    cancel_payment(card["payment_id"])
    reference_payment = start_payment(invoices, "CMI", "FATOURATI")
    fields = cmi_callback(card, oid=reference_payment["payment_id"])
    assert cmi_answer(post_cmi(fields)) == (404, "FAILURE")
    assert payment(reference_payment["payment_id"])["status"] == "AWAITING_SETTLEMENT"
    assert_invoices_unpaid(invoices)
