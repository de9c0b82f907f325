"""The gateways' merchant APIs end to end: `epay serve`'s simulators answer the production clients
(`epay.gateways.clients`) from the state the payers left on the hosted pages, by NestPay's and M2T's rules; and a
callback can be lost (the payer pays, nothing is posted), leaving the payment for recovery to find."""

from __future__ import annotations

import pytest
import requests

from epay.gateways.clients import CmiApiClient, M2tApiClient
from epay.gateways.cmi_api import CmiApiCredentials, CmiOrderStatus, CmiResponse, CmiUnknownOrder, TransStat
from epay.gateways.m2t_api import M2tNotRefundable, M2tOrderStatus, M2tRefunded, M2tStatus, M2tUnknownOrder
from epay.gateways.protocol import Kind, NoAnswer, NoAnswerReason
from epay.money import Money
from tests.e2e.test_serve_payments import start, status_of, token_of
from tests.support.leaks import SERVE_SECRETS
from tests.support.servers import epay_serve

pytestmark = pytest.mark.e2e
CMI_USER = "epay-local-api"  # `epay serve`'s local default
CMI_PASSWORD = SERVE_SECRETS["EPAY_CMI_API_PASSWORD"]
M2T_SECRET = SERVE_SECRETS["EPAY_M2T_SECRET"].encode()


@pytest.fixture(scope="module")
def base():
    # These tests start many payments of one demo code on one server: past EPAY_LIVE_PAYMENTS_PER_CODE's default.
    with epay_serve("--demo", EPAY_LIVE_PAYMENTS_PER_CODE="20") as url:
        yield url


@pytest.fixture
def cmi_api(base):
    return CmiApiClient(f"{base}/_sim/cmi/api", CmiApiCredentials(CMI_USER, CMI_PASSWORD, "600000000"))


@pytest.fixture
def m2t_api(base):
    return M2tApiClient(f"{base}/_sim/m2t", "PORTNET-TEST", M2T_SECRET)


def pay_on_cmi(base: str, payment: dict, *, lose_callback: bool) -> requests.Response:
    redirect = payment["redirect"]
    page = requests.post(redirect["url"], data=redirect["fields"], timeout=10)
    assert 'name="lose_callback"' in page.text, "the hosted page has the switch"
    form = {"token": token_of(page.text), "decision": "approve"}
    if lose_callback:
        form["lose_callback"] = "1"
    return requests.post(f"{base}/_sim/cmi/decide", data=form, timeout=20)


def amount_of(payment: dict) -> Money:
    return Money.parse(payment["amount"])


# -- CMI -----------------------------------------------------------------------------------------------------------


def test_a_lost_cmi_callback_leaves_the_payment_pending_and_cmi_knows_it_authorised(base, cmi_api):
    payment, _ = start(base, "CMI", "CARD")

    paid = pay_on_cmi(base, payment, lose_callback=True)

    assert "Rappel serveur perdu" in paid.text
    assert status_of(base, payment["payment_id"])["status"] == "PENDING"
    status = cmi_api.status(payment["payment_id"])
    assert isinstance(status, CmiOrderStatus)
    assert (status.trans_stat, status.amount, status.captured) == (TransStat.AUTHORISED, amount_of(payment), Money(0))
    notice = status.as_notice()
    assert (notice.kind, notice.amount, notice.payment_id) == (Kind.SUCCESS, amount_of(payment), payment["payment_id"])


def test_a_callback_answered_postauth_is_captured_at_cmi(base, cmi_api):
    payment, _ = start(base, "CMI", "CARD")

    assert "ACTION=POSTAUTH" in pay_on_cmi(base, payment, lose_callback=False).text

    status = cmi_api.status(payment["payment_id"])
    assert (status.trans_stat, status.captured) == (TransStat.CAPTURED, amount_of(payment))
    assert status.transaction_id == status_of(base, payment["payment_id"])["gateway_transaction_id"]


def test_capture_once_for_at_most_the_authorised_amount_then_credit_once(base, cmi_api):
    payment, _ = start(base, "CMI", "CARD")
    pay_on_cmi(base, payment, lose_callback=True)
    order, amount = payment["payment_id"], amount_of(payment)

    too_much = cmi_api.capture(order, Money(amount.centimes + 1))
    assert (too_much.done, too_much.response) == (False, CmiResponse.ERROR)
    assert cmi_api.capture(order, amount).done
    assert cmi_api.status(order).trans_stat is TransStat.CAPTURED
    assert not cmi_api.capture(order, amount).done, "captured once"
    assert not cmi_api.void(order).done, "captured: refund it, no void"
    assert cmi_api.refund(order, amount).done
    assert not cmi_api.refund(order, amount).done, "credited once"


def test_void_an_authorisation_once_then_nothing_can_be_captured_or_credited(base, cmi_api):
    payment, _ = start(base, "CMI", "CARD")
    pay_on_cmi(base, payment, lose_callback=True)
    order = payment["payment_id"]

    assert not cmi_api.refund(order, amount_of(payment)).done, "nothing captured to credit"
    assert cmi_api.void(order).done
    status = cmi_api.status(order)
    assert status.trans_stat is TransStat.VOIDED
    assert status.as_notice().kind is Kind.DECLINE
    assert not cmi_api.void(order).done
    assert not cmi_api.capture(order, amount_of(payment)).done


def test_an_order_never_paid_is_unknown_to_cmi(base, cmi_api):
    payment, _ = start(base, "CMI", "CARD")

    assert cmi_api.status(payment["payment_id"]) == CmiUnknownOrder(payment["payment_id"])
    unknown = cmi_api.capture(payment["payment_id"], amount_of(payment))
    assert (unknown.done, unknown.error_code) == (False, "CORE-2008")


def test_a_declined_card_is_declined_at_cmi(base, cmi_api):
    payment, _ = start(base, "CMI", "CARD")
    redirect = payment["redirect"]
    token = token_of(requests.post(redirect["url"], data=redirect["fields"], timeout=10).text)
    requests.post(f"{base}/_sim/cmi/decide", data={"token": token, "decision": "decline"}, timeout=20)

    assert cmi_api.status(payment["payment_id"]).trans_stat is TransStat.DECLINED


def test_the_cmi_api_refuses_wrong_credentials(base):
    payment, _ = start(base, "CMI", "CARD")
    pay_on_cmi(base, payment, lose_callback=True)
    intruder = CmiApiClient(f"{base}/_sim/cmi/api", CmiApiCredentials(CMI_USER, "not-the-password", "600000000"))

    refused = intruder.status(payment["payment_id"])

    assert isinstance(refused, NoAnswer)
    assert refused.reason is NoAnswerReason.REFUSED
    assert not intruder.void(payment["payment_id"]).done


# -- M2T -----------------------------------------------------------------------------------------------------------


def pay_on_m2t(base: str, payment: dict, decision: str, *, lose_callback: bool) -> None:
    redirect = payment["redirect"]
    page = requests.post(redirect["url"], data=redirect["fields"], timeout=10)
    assert 'name="lose_callback"' in page.text, "the hosted page has the switch"
    form = {"token": token_of(page.text), "decision": decision}
    if lose_callback:
        form["lose_callback"] = "1"
    requests.post(f"{base}/_sim/m2t/decide", data=form, timeout=20, allow_redirects=False)


def test_a_lost_m2t_notification_leaves_the_payment_pending_and_m2t_knows_it_paid(base, m2t_api):
    payment, _ = start(base, "M2T", "CARD")

    pay_on_m2t(base, payment, "approve", lose_callback=True)

    assert status_of(base, payment["payment_id"])["status"] == "PENDING"
    status = m2t_api.status(payment["payment_id"])
    assert isinstance(status, M2tStatus)
    assert (status.status, status.amount, status.currency) == (M2tOrderStatus.PAID, amount_of(payment), "MAD")
    assert status.transaction_id
    assert status.as_notice().fingerprint == f"M2T|{status.transaction_id}"


def test_m2t_reports_what_the_notifications_said(base, m2t_api):
    payment, _ = start(base, "M2T", "CARD")
    pay_on_m2t(base, payment, "approve", lose_callback=False)

    status = m2t_api.status(payment["payment_id"])

    assert status.status is M2tOrderStatus.PAID
    assert status.transaction_id == status_of(base, payment["payment_id"])["gateway_transaction_id"]


def test_an_opened_checkout_is_pending_a_declined_one_failed(base, m2t_api):
    opened, _ = start(base, "M2T", "DIRECT_DEBIT")
    requests.post(opened["redirect"]["url"], data=opened["redirect"]["fields"], timeout=10)
    declined, _ = start(base, "M2T", "CARD")
    pay_on_m2t(base, declined, "decline", lose_callback=True)

    assert m2t_api.status(opened["payment_id"]).status is M2tOrderStatus.PENDING
    assert m2t_api.status(declined["payment_id"]).status is M2tOrderStatus.FAILED


def test_an_order_m2t_never_saw_is_unknown(base, m2t_api):
    payment, _ = start(base, "M2T", "CARD")

    assert m2t_api.status(payment["payment_id"]) == M2tUnknownOrder(payment["payment_id"])


def test_m2t_refunds_once_by_refund_id(base, m2t_api):
    payment, _ = start(base, "M2T", "CARD")
    order, amount = payment["payment_id"], amount_of(payment)
    assert m2t_api.refund(order, f"{order}-R1", amount) == M2tNotRefundable(order, f"{order}-R1"), "not paid yet"
    pay_on_m2t(base, payment, "approve", lose_callback=True)

    assert m2t_api.refund(order, f"{order}-R2", amount) == M2tRefunded(order, f"{order}-R2")
    assert m2t_api.refund(order, f"{order}-R2", amount) == M2tRefunded(order, f"{order}-R2"), "idempotent"
    assert m2t_api.refund(order, f"{order}-R3", amount) == M2tNotRefundable(order, f"{order}-R3")


def test_an_m2t_answer_signed_with_another_secret_is_no_answer(base):
    payment, _ = start(base, "M2T", "CARD")
    pay_on_m2t(base, payment, "approve", lose_callback=True)
    client = M2tApiClient(f"{base}/_sim/m2t", "PORTNET-TEST", b"not-the-secret")

    answer = client.status(payment["payment_id"])

    assert (answer.reason, status_of(base, payment["payment_id"])["status"]) == (NoAnswerReason.UNSIGNED, "PENDING")


def test_the_local_defaults_point_the_api_urls_at_the_simulators():
    from epay_local.cli import local_environment

    environment = local_environment("127.0.0.1", 8080)

    assert environment["EPAY_CMI_API_URL"] == "http://127.0.0.1:8080/_sim/cmi/api"
    assert environment["EPAY_M2T_API_URL"] == "http://127.0.0.1:8080/_sim/m2t"
    assert environment["EPAY_CMI_API_USER"]
    assert environment["EPAY_CMI_API_PASSWORD"] != local_environment("127.0.0.1", 8080)["EPAY_CMI_API_PASSWORD"]
