"""CMI's merchant API (gateways.md, "CMI merchant API"): the CC5Request of each operation as fixed bytes, and what
every kind of CC5Response means: each TRANS_STAT row, an unknown order, an operation's result, and everything that
must not be believed (unreadable, about another order, entity tricks) read as no answer."""

import pytest

from epay.error_catalogue import declined_last_error
from epay.gateways import cmi
from epay.gateways.cmi_api import (
    CmiApiCredentials,
    CmiApiOperation,
    CmiOperationResult,
    CmiOrderStatus,
    CmiResponse,
    CmiUnknownOrder,
    TransStat,
    capture_request,
    parse_operation_answer,
    parse_status_answer,
    refund_request,
    status_request,
    void_request,
)
from epay.gateways.protocol import Confirmation, Kind, NoAnswer, NoAnswerReason
from epay.money import Money

# A password holding every character XML escapes in text, and quotes (which text content may hold as they are).
CREDENTIALS = CmiApiCredentials(name="portnet-api", password="p&ss<w>rd\"'", client_id="600000000")
HEAD = (
    b'<?xml version="1.0" encoding="UTF-8"?><CC5Request><Name>portnet-api</Name>'
    b"<Password>p&amp;ss&lt;w&gt;rd\"'</Password><ClientId>600000000</ClientId><OrderId>PAY-0001</OrderId>"
)
ORDER = "PAY-0001"
TRANS_ID = "26015K1Q0001"


# -- requests: fixed bytes -----------------------------------------------------------------------------------------


def test_status_request_is_the_common_part_and_the_orderstatus_query():
    assert status_request(CREDENTIALS, ORDER) == (
        HEAD + b"<Extra><ORDERSTATUS>QUERY</ORDERSTATUS></Extra></CC5Request>"
    )


def test_capture_request_is_a_postauth_of_the_amount_in_mad():
    assert capture_request(CREDENTIALS, ORDER, Money.parse("1250.50")) == (
        HEAD + b"<Type>PostAuth</Type><Total>1250.50</Total><Currency>504</Currency></CC5Request>"
    )


def test_void_request_is_a_void_without_amount():
    assert void_request(CREDENTIALS, ORDER) == HEAD + b"<Type>Void</Type></CC5Request>"


def test_refund_request_is_a_credit_of_the_amount_in_mad():
    assert refund_request(CREDENTIALS, ORDER, Money(100)) == (
        HEAD + b"<Type>Credit</Type><Total>1.00</Total><Currency>504</Currency></CC5Request>"
    )


def test_a_value_that_looks_like_markup_stays_text():
    credentials = CmiApiCredentials(name="</Name><Type>Credit</Type>", password="x", client_id="1")

    body = status_request(credentials, ORDER)

    assert b"<Name>&lt;/Name&gt;&lt;Type&gt;Credit&lt;/Type&gt;</Name>" in body
    assert body.count(b"<Type>") == 0


@pytest.mark.parametrize("order_id", ["", "PAY 0001", "PAY-0001<", "A" * 65, "PAY-ÉTÉ"])
def test_an_order_id_outside_the_payment_id_alphabet_is_refused(order_id):
    with pytest.raises(ValueError, match="OrderId"):
        status_request(CREDENTIALS, order_id)


@pytest.mark.parametrize("password", ["line\nbreak", "nul\x00", "tab\t", "del\x7f"])
def test_a_credential_with_a_control_character_is_refused_never_sent(password):
    with pytest.raises(ValueError, match="control character"):
        void_request(CmiApiCredentials("portnet-api", password, "600000000"), ORDER)


def test_the_password_never_shows_in_the_credentials_repr():
    assert "p&ss" not in repr(CREDENTIALS)


# -- status answers: every TRANS_STAT row --------------------------------------------------------------------------


def status_answer(stat, orig="125050", capture="0", *, order=ORDER, trans_id=TRANS_ID, err=""):
    """A status answer as NestPay writes it (elements it adds that we do not read included)."""
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n<CC5Response>\n'
        f"<OrderId>{order}</OrderId><GroupId>{order}</GroupId><Response>Approved</Response>"
        f"<AuthCode>P12345</AuthCode><HostRefNum>601510123456</HostRefNum><ProcReturnCode>00</ProcReturnCode>"
        f"<TransId>{trans_id}</TransId><ErrMsg>{err}</ErrMsg>\n"
        f"<Extra><SETTLEID></SETTLEID><TRXDATE>20261127 10:15:30</TRXDATE><ERRORCODE></ERRORCODE>"
        f"<TRANS_ID>{trans_id}</TRANS_ID><ORD_ID>{order}</ORD_ID><AUTH_CODE>P12345</AUTH_CODE>"
        f"<TRANS_STAT>{stat}</TRANS_STAT><ORIG_TRANS_AMT>{orig}</ORIG_TRANS_AMT><CAPTURE_AMT>{capture}</CAPTURE_AMT>"
        "<CHARGE_TYPE_CD>S</CHARGE_TYPE_CD></Extra>\n</CC5Response>\n"
    ).encode()


# stat, ORIG_TRANS_AMT, CAPTURE_AMT → kind of the equivalent callback, what a success means, the notice's amount
ROWS = [
    ("A", "125050", "0", Kind.SUCCESS, Confirmation.AUTHORISED, Money(125050)),
    ("C", "125050", "125050", Kind.SUCCESS, Confirmation.CAPTURED, Money(125050)),
    ("S", "125050", "125050", Kind.SUCCESS, Confirmation.CAPTURED, Money(125050)),
    ("V", "125050", "0", Kind.DECLINE, None, Money(125050)),
    ("CNCL", "125050", "0", Kind.DECLINE, None, Money(125050)),
    ("D", "125050", "", Kind.DECLINE, None, Money(125050)),
    ("ERR", "", "", Kind.DECLINE, None, None),
    ("PN", "125050", "", None, None, None),
    ("R", "125050", "125050", None, None, None),
]


def test_every_trans_stat_of_gateways_md_has_a_row_here():
    assert (
        {row[0] for row in ROWS}
        == {stat.value for stat in TransStat}
        == {
            "A",
            "C",
            "S",
            "V",
            "CNCL",
            "D",
            "ERR",
            "PN",
            "R",
        }
    )


@pytest.mark.parametrize(("stat", "orig", "capture", "kind", "confirmation", "amount"), ROWS)
def test_each_trans_stat_reads_as_its_row(stat, orig, capture, kind, confirmation, amount):
    status = parse_status_answer(status_answer(stat, orig, capture), ORDER)

    assert isinstance(status, CmiOrderStatus)
    assert status.trans_stat is TransStat(stat)
    assert (status.order_id, status.transaction_id, status.auth_code) == (ORDER, TRANS_ID, "P12345")
    assert status.amount == (Money(int(orig)) if orig else None)
    assert status.captured == (Money(int(capture)) if capture else None)
    assert status.trans_stat.notice_kind is kind
    assert status.confirmation is confirmation
    notice = status.as_notice()
    if kind is None:
        assert notice is None
        return
    assert (notice.gateway, notice.payment_id, notice.kind) == ("CMI", ORDER, kind)
    assert notice.amount == amount
    assert (notice.currency, notice.currency_ok) == ("504", True)
    assert notice.transaction_id == TRANS_ID
    assert notice.event is None, "a status answer carries no event id"
    assert notice.forged is None


@pytest.mark.parametrize("stat", ["A", "C", "S"])
def test_a_success_carries_the_fingerprint_of_the_callback_for_the_same_transaction(stat):
    """The approved callback of this transaction (ProcReturnCode 00, this TransId) is the same report."""
    callback = cmi.CmiResult(ORDER, True, "00", Money(125050), "504", TRANS_ID, "")

    notice = parse_status_answer(status_answer(stat, capture="125050"), ORDER).as_notice()

    assert notice.fingerprint == f"CMI|{callback.fingerprint}" == "CMI|PAY-0001|26015K1Q0001|00"
    assert notice.error is None


def test_captured_and_sale_report_what_was_taken_an_authorisation_what_was_authorised():
    assert parse_status_answer(status_answer("A", "125050", "0"), ORDER).as_notice().amount == Money(125050)
    partial = parse_status_answer(status_answer("C", "125050", "100000"), ORDER).as_notice()
    assert partial.amount == Money(100000)


@pytest.mark.parametrize("stat", ["V", "CNCL", "D"])
def test_a_decline_is_worded_as_a_declined_callback_with_the_state_for_code_and_its_own_fingerprint(stat):
    notice = parse_status_answer(status_answer(stat), ORDER).as_notice()

    assert notice.error == declined_last_error("CMI", stat, None) == f"CMI {stat}: refusé"
    assert notice.fingerprint == f"CMI|PAY-0001|26015K1Q0001|{stat}"


def test_a_decline_keeps_cmis_message_when_it_gives_one():
    notice = parse_status_answer(status_answer("ERR", "", "", err="Fraud suspected"), ORDER).as_notice()

    assert notice.error == "CMI ERR: Fraud suspected"


def test_amounts_are_centimes_compared_exactly_not_decimals():
    status = parse_status_answer(status_answer("A", "125051"), ORDER)

    assert status.amount == Money.parse("1250.51") != Money.parse("1250.50")


# -- unknown order -------------------------------------------------------------------------------------------------

UNKNOWN = (
    b"<CC5Response><OrderId></OrderId><GroupId></GroupId><Response>Error</Response><AuthCode></AuthCode>"
    b"<HostRefNum></HostRefNum><ProcReturnCode>99</ProcReturnCode><TransId>26331Q9E1234</TransId>"
    b"<ErrMsg>No record found for PAY-0001</ErrMsg><Extra><ERRORCODE>CORE-2008</ERRORCODE></Extra></CC5Response>"
)


def test_core_2008_is_an_unknown_order():
    assert parse_status_answer(UNKNOWN, ORDER) == CmiUnknownOrder(ORDER)


def test_core_2008_about_another_order_is_not_believed():
    about_another = UNKNOWN.replace(b"<OrderId></OrderId>", b"<OrderId>PAY-0002</OrderId>")

    answer = parse_status_answer(about_another, ORDER)

    assert isinstance(answer, NoAnswer)


def test_another_error_leaves_the_state_unknown_as_a_refusal():
    refused = UNKNOWN.replace(b"CORE-2008", b"CORE-2001")

    answer = parse_status_answer(refused, ORDER)

    assert answer == NoAnswer("CMI", "ORDERSTATUS", ORDER, NoAnswerReason.REFUSED, "Error CORE-2001")


# -- what must not be believed -------------------------------------------------------------------------------------

BILLION_LAUGHS = (
    b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;">]>'
    b"<CC5Response><OrderId>PAY-0001</OrderId><Response>Approved</Response><ErrMsg>&lol2;</ErrMsg></CC5Response>"
)
EXTERNAL = (
    b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
    b"<CC5Response><OrderId>PAY-0001</OrderId><ErrMsg>&x;</ErrMsg></CC5Response>"
)


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(b"", id="empty"),
        pytest.param(b"<html><body>502 Bad Gateway</body></html>", id="html"),
        pytest.param(b"<CC5Response><OrderId>PAY-0001</OrderId>", id="truncated"),
        pytest.param(b"\xff\xfe<CC5Response/>", id="not-utf8"),
        pytest.param(BILLION_LAUGHS, id="entity-expansion"),
        pytest.param(EXTERNAL, id="external-entity"),
        pytest.param(b'<!DOCTYPE CC5Response SYSTEM "http://example.com/x.dtd"><CC5Response/>', id="dtd"),
        pytest.param(status_answer("A") + b"x" * 70_000, id="too-large"),
        pytest.param(status_answer("A", order="PAY-0002"), id="another-order"),
        pytest.param(status_answer("Z"), id="unknown-trans-stat"),
        pytest.param(status_answer(""), id="no-trans-stat"),
        pytest.param(status_answer("a"), id="trans-stat-lower-case"),
        pytest.param(status_answer("A", orig=""), id="authorised-without-amount"),
        pytest.param(status_answer("C", capture=""), id="captured-without-captured-amount"),
        pytest.param(status_answer("A", orig="1250.50"), id="amount-as-decimal"),
        pytest.param(status_answer("A", orig="-125050"), id="negative-amount"),
        pytest.param(status_answer("A", orig="9" * 15), id="amount-out-of-range"),
        pytest.param(status_answer("A", trans_id=""), id="success-without-transid"),
        pytest.param(status_answer("A").replace(b"<Response>Approved", b"<Response>OK"), id="unknown-response"),
        pytest.param(
            status_answer("A").replace(
                b"<TRANS_STAT>A</TRANS_STAT>", b"<TRANS_STAT>A</TRANS_STAT><TRANS_STAT>C</TRANS_STAT>"
            ),
            id="trans-stat-twice",
        ),
        pytest.param(status_answer("A").replace(b"<Extra>", b"<Extra></Extra><Extra>"), id="extra-twice"),
        pytest.param(status_answer("A").replace(b"CC5Response", b"CC5Request"), id="another-root"),
    ],
)
def test_an_answer_that_cannot_be_read_exactly_is_no_answer(body):
    answer = parse_status_answer(body, ORDER)

    assert isinstance(answer, NoAnswer)
    assert (answer.gateway, answer.operation, answer.order_id) == ("CMI", "ORDERSTATUS", ORDER)
    assert answer.reason is NoAnswerReason.UNREADABLE
    assert "lol" not in answer.detail


# -- capture, void, refund -----------------------------------------------------------------------------------------


def operation_answer(response="Approved", code="00", *, order=ORDER, err="", error_code=""):
    return (
        f"<CC5Response><OrderId>{order}</OrderId><GroupId>{order}</GroupId><Response>{response}</Response>"
        f"<AuthCode>P12345</AuthCode><HostRefNum>601510123457</HostRefNum><ProcReturnCode>{code}</ProcReturnCode>"
        f"<TransId>26015K1Q0002</TransId><ErrMsg>{err}</ErrMsg>"
        f"<Extra><SETTLEID></SETTLEID><TRXDATE>20261127 10:20:00</TRXDATE><ERRORCODE>{error_code}</ERRORCODE></Extra>"
        "</CC5Response>"
    ).encode()


@pytest.mark.parametrize("operation", [CmiApiOperation.CAPTURE, CmiApiOperation.VOID, CmiApiOperation.REFUND])
def test_an_approved_operation_is_done(operation):
    result = parse_operation_answer(operation_answer(), operation, ORDER)

    assert result == CmiOperationResult(operation, ORDER, CmiResponse.APPROVED, "00", "26015K1Q0002", "", "")
    assert result.done


@pytest.mark.parametrize(
    ("body", "response", "code"),
    [
        (operation_answer("Declined", "05", err="Do not honour"), CmiResponse.DECLINED, "05"),
        (operation_answer("Error", "99", err="PostAuth amount exceeds"), CmiResponse.ERROR, "99"),
        (operation_answer("Error", "99", order="", error_code="CORE-2008"), CmiResponse.ERROR, "99"),
        (operation_answer("Approved", "99"), CmiResponse.APPROVED, "99"),
    ],
)
def test_anything_but_approved_with_00_is_not_done(body, response, code):
    result = parse_operation_answer(body, CmiApiOperation.CAPTURE, ORDER)

    assert isinstance(result, CmiOperationResult)
    assert (result.response, result.proc_return_code, result.done) == (response, code, False)


def test_an_unknown_order_refusal_keeps_its_error_code():
    result = parse_operation_answer(
        operation_answer("Error", "99", order="", error_code="CORE-2008"), CmiApiOperation.VOID, ORDER
    )

    assert result.error_code == "CORE-2008"


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(operation_answer(order="PAY-0002"), id="approved-for-another-order"),
        pytest.param(operation_answer(order=""), id="approved-without-order"),
        pytest.param(operation_answer("Declined", "05", order="PAY-0002"), id="declined-for-another-order"),
        pytest.param(b"<CC5Response><Response>Maybe</Response></CC5Response>", id="unknown-response"),
        pytest.param(BILLION_LAUGHS, id="entity-expansion"),
        pytest.param(b"Internal Server Error", id="garbage"),
    ],
)
def test_an_operation_answer_that_cannot_be_believed_is_no_answer(body):
    answer = parse_operation_answer(body, CmiApiOperation.REFUND, ORDER)

    assert isinstance(answer, NoAnswer)
    assert (answer.operation, answer.reason) == ("Credit", NoAnswerReason.UNREADABLE)


def test_a_status_answer_is_not_read_as_an_operation():
    with pytest.raises(ValueError, match="parse_status_answer"):
        parse_operation_answer(status_answer("A"), CmiApiOperation.STATUS, ORDER)
