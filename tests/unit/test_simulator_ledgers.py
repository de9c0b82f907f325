"""The local simulators' gateway rules (local/epay_local/simulators.py), in process: NestPay's rules for capture,
void and credit, including the one the end-to-end tests cannot reach (a void the day after), and M2T's refunds.

tests/e2e/test_serve_gateway_apis.py drives the same rules over HTTP, through the production API clients."""

import pytest

from epay_local.simulators import CmiLedger, CmiOrder, CmiRefusal, M2tLedger, _Sessions

DAY = "20261127"


@pytest.fixture
def cmi_orders():
    ledger = CmiLedger()
    assert ledger.attempt(CmiOrder("PAY-A", 125050, "T-1", "P1", "A", DAY))
    return ledger


def test_a_callback_answered_postauth_captures_the_authorisation(cmi_orders):
    cmi_orders.callback_answered("PAY-A", "ACTION=POSTAUTH")

    order = cmi_orders.get("PAY-A")
    assert (order.stat, order.captured) == ("C", 125050)


def test_a_callback_answered_approved_leaves_it_authorised(cmi_orders):
    cmi_orders.callback_answered("PAY-A", "APPROVED")

    assert (cmi_orders.get("PAY-A").stat, cmi_orders.get("PAY-A").captured) == ("A", 0)


def test_an_authorised_order_cannot_be_paid_again_a_declined_one_can():
    ledger = CmiLedger()
    assert ledger.attempt(CmiOrder("PAY-D", 100, "T-1", "", "D", DAY))
    assert ledger.attempt(CmiOrder("PAY-D", 100, "T-2", "P2", "A", DAY))
    assert not ledger.attempt(CmiOrder("PAY-D", 100, "T-3", "P3", "A", DAY))
    assert ledger.get("PAY-D").trans_id == "T-2"


def test_capture_an_authorisation_once_for_at_most_its_amount(cmi_orders):
    with pytest.raises(CmiRefusal, match="above the authorisation"):
        cmi_orders.capture("PAY-A", 125051)
    assert cmi_orders.capture("PAY-A", 125050).stat == "C"
    with pytest.raises(CmiRefusal, match="is C"):
        cmi_orders.capture("PAY-A", 125050)


def test_void_an_authorisation_once_on_its_day(cmi_orders):
    with pytest.raises(CmiRefusal, match="day of the authorisation"):
        cmi_orders.void("PAY-A", "20261128")
    assert cmi_orders.void("PAY-A", DAY).stat == "V"
    with pytest.raises(CmiRefusal, match="is V"):
        cmi_orders.void("PAY-A", DAY)
    with pytest.raises(CmiRefusal, match="is V"):
        cmi_orders.capture("PAY-A", 100)


def test_no_void_after_capture_refund_it_instead(cmi_orders):
    cmi_orders.capture("PAY-A", 125050)

    with pytest.raises(CmiRefusal, match="is C"):
        cmi_orders.void("PAY-A", DAY)


def test_credit_only_after_capture_once_for_at_most_what_was_captured(cmi_orders):
    with pytest.raises(CmiRefusal, match="not captured"):
        cmi_orders.credit("PAY-A", 100)
    cmi_orders.capture("PAY-A", 100000)
    with pytest.raises(CmiRefusal, match="above what was captured"):
        cmi_orders.credit("PAY-A", 100001)
    assert cmi_orders.credit("PAY-A", 100000).credited
    with pytest.raises(CmiRefusal, match="already credited"):
        cmi_orders.credit("PAY-A", 100000)


@pytest.mark.parametrize("operation", ["capture", "void", "credit"])
def test_an_unknown_order_is_not_found(cmi_orders, operation):
    call = {
        "capture": lambda: cmi_orders.capture("PAY-X", 100),
        "void": lambda: cmi_orders.void("PAY-X", DAY),
        "credit": lambda: cmi_orders.credit("PAY-X", 100),
    }[operation]
    with pytest.raises(KeyError):
        call()


@pytest.fixture
def m2t_orders():
    ledger = M2tLedger()
    ledger.open({"order_ref": "PAY-M", "amount": "1250.50", "currency": "MAD", "method": "CARD"})
    return ledger


def test_an_opened_checkout_is_pending(m2t_orders):
    view = m2t_orders.view("PAY-M")

    assert (view["status"], view["amount"], view["transaction_id"]) == ("PENDING", "1250.50", None)
    assert "event_id" not in view
    assert m2t_orders.view("PAY-X") is None


def test_a_paid_order_stays_paid(m2t_orders):
    m2t_orders.record("PAY-M", "PAID", "TX-1")
    m2t_orders.record("PAY-M", "FAILED", "TX-2")

    assert (m2t_orders.view("PAY-M")["status"], m2t_orders.view("PAY-M")["transaction_id"]) == ("PAID", "TX-1")


def test_a_refund_only_of_a_paid_order_and_idempotent_by_refund_id(m2t_orders):
    assert not m2t_orders.refund("PAY-M", "R-1", "1250.50", "MAD"), "not paid yet"
    m2t_orders.record("PAY-M", "PAID", "TX-1")

    assert m2t_orders.refund("PAY-M", "R-1", "1250.50", "MAD")
    assert m2t_orders.refund("PAY-M", "R-1", "1250.50", "MAD"), "the same request again answers the same"
    assert not m2t_orders.refund("PAY-M", "R-2", "0.01", "MAD"), "nothing left to refund"
    assert not m2t_orders.refund("PAY-M", "R-1", "1.00", "MAD"), "the same refund_id for another request"


@pytest.mark.parametrize(
    ("order_ref", "amount", "currency"),
    [("PAY-X", "1.00", "MAD"), ("PAY-M", "1250.51", "MAD"), ("PAY-M", "1.00", "EUR"), ("PAY-M", "1", "MAD")],
)
def test_a_refund_not_within_what_was_paid_in_mad_is_refused(m2t_orders, order_ref, amount, currency):
    m2t_orders.record("PAY-M", "PAID", "TX-1")

    assert not m2t_orders.refund(order_ref, "R-1", amount, currency)


def test_partial_refunds_up_to_what_was_paid(m2t_orders):
    m2t_orders.record("PAY-M", "PAID", "TX-1")

    assert m2t_orders.refund("PAY-M", "R-1", "1000.00", "MAD")
    assert not m2t_orders.refund("PAY-M", "R-2", "250.51", "MAD")
    assert m2t_orders.refund("PAY-M", "R-3", "250.50", "MAD")


def test_a_cmi_page_lasts_its_session_timeout_and_no_longer():
    sessions = _Sessions()
    token = sessions.open({"oid": "PAY-A", "sessionTimeout": "900"}, now=1000.0)

    assert sessions.get(token, now=1899.0) == {"oid": "PAY-A", "sessionTimeout": "900"}
    assert sessions.get(token, now=1900.0) is None


def test_a_page_opened_without_a_session_timeout_stays_open():
    sessions = _Sessions()
    token = sessions.open({"oid": "PAY-A"}, now=1000.0)

    assert sessions.get(token, now=1_000_000.0) == {"oid": "PAY-A"}
