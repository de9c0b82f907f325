"""CMI card payments on NestPay's "3D Pay Hosting" page: the signed form, and the callback's check and meaning.

The HASH (version 3) follows gateways.md: every field but HASH and encoding, ordered by name like PHP's
`natcasesort`, values escaped and joined by `|`, then the store key; base64 of the raw SHA-512 digest.

The HASH signs values, never names: whoever holds one genuine callback can post its values under other names and
keep it valid. So a callback is believed only when every name is one CMI sends (`unexpected_names`) and every field
CMI echoes equals what this payment's form carried (`expected_echo`, `echo_mismatches`).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
import string
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import parse_qsl

from epay.error_catalogue import declined_last_error
from epay.gateways import fatourati
from epay.gateways.common import Checkout, Endpoints, Redirect, printable_reason
from epay.gateways.protocol import (
    Answer,
    CallbackRequest,
    CallbackRoute,
    Confirmation,
    GatewaySpec,
    Kind,
    MethodKind,
    MethodSpec,
    Notice,
    Outcome,
    Refusal,
)
from epay.money import InvalidAmount, Money

if TYPE_CHECKING:
    from epay.payments import Payment

NAME = "CMI"
SPEC = GatewaySpec(
    NAME,
    (
        MethodSpec("CARD", MethodKind.REDIRECT),
        MethodSpec("FATOURATI", MethodKind.REFERENCE, fatourati.CHANNELS, issue_reference=fatourati.draw_reference),
    ),
)

CURRENCY_MAD = "504"
STORE_TYPE = "3D_PAY_HOSTING"
TRANSACTION_TYPE = "PreAuth"
HASH_ALGORITHM = "ver3"

# The callback's plain-text answers.
POSTAUTH = "ACTION=POSTAUTH"
APPROVED = "APPROVED"
FAILURE = "FAILURE"

_PROC_ACCEPTED = "00"
# NestPay's hosted session, in seconds: never longer than the hold; at least a minute (EPAY_HOLD_SECONDS is at least
# 60 and a card form is built at creation, with the whole hold left).
_MIN_SESSION_SECONDS = 60
_MAX_RND = 20
_MAX_FIELDS = 256  # a real callback has about fifty; the bound keeps parsing cheap for forged bodies
_PAYMENT_ID = re.compile(r"[A-Za-z0-9-]{1,64}")
_TOKENS = re.compile(r"[0-9]+|.", re.DOTALL)
_LEADING_ZEROS = re.compile(r"^0+(?=[0-9])")
_C_SPACE = " \t\n\v\f\r"
_DIGIT = ord("0")
# PHP folds case with the C library's toupper: ASCII letters only, whatever else the name holds.
_ASCII_UPPER = str.maketrans(string.ascii_lowercase, string.ascii_uppercase)
_NOT_HASHED = frozenset({"HASH", "ENCODING"})
# How many unexpected names a log line or the evidence shows, and which ones it may show at all.
_NAMES_SHOWN = 5
_SHOWABLE_NAME = re.compile(r"[A-Za-z0-9._-]{1,64}")

# Every field `payment_form` sends; CMI posts each of them back.
FORM_FIELDS = (
    "clientid",
    "storetype",
    "TranType",
    "amount",
    "currency",
    "oid",
    "okUrl",
    "failUrl",
    "callbackUrl",
    "shopurl",
    "lang",
    "rnd",
    "hashAlgorithm",
    "encoding",
    "BillToName",
    "email",
    "tel",
    "CallbackResponse",
    "sessionTimeout",
    "HASH",
)
# The sent fields a callback must echo unchanged. Not `amount` and `currency` (a verified success for another
# amount is flagged for review, gateways.md), `rnd` (CMI sends a fresh one), `encoding` and `HASH`.
ECHOED_FIELDS = (
    "clientid",
    "oid",
    "storetype",
    "TranType",
    "okUrl",
    "failUrl",
    "callbackUrl",
    "shopurl",
    "lang",
    "hashAlgorithm",
    "BillToName",
    "email",
    "tel",
    "CallbackResponse",
)
# Sent fields CMI may or may not post back: when a callback carries one, it must equal what the form carried.
# `sessionTimeout` is NestPay's own session field (it was on the list of names NestPay adds before the form sent it).
OPTIONALLY_ECHOED_FIELDS = ("sessionTimeout",)
# CMI's result (gateways.md).
RESULT_FIELDS = (
    "ProcReturnCode",
    "Response",
    "AuthCode",
    "TransId",
    "HostRefNum",
    "ErrMsg",
    "MaskedPan",
    "EXTRA.TRXDATE",
    "callbackCall",
)
# What NestPay's 3D hosting adds on its own: the 3-D Secure outcome (1.0 and 2.x), the card summary, the session
# and the acquirer's extras. Gathered from NestPay integrations and real CMI callbacks; an explicit list, no
# wildcard: a name missing here refuses genuine callbacks, which the evidence and the CallbackRejected alarm show
# (docs/operations.md says how to add one).
NESTPAY_3D_FIELDS = (
    # 3-D Secure
    "mdStatus",
    "mdErrorMsg",
    "txstatus",
    "eci",
    "cavv",
    "cavvAlgorithm",
    "xid",
    "retryXid",
    "md",
    "PAResSyntaxOK",
    "PAResVerified",
    "paresTxStatus",
    "veresEnrolledStatus",
    "version",
    "protocol",
    "dsId",
    "payResults.dsId",
    "sID",
    "iReqCode",
    "iReqDetail",
    "vendorCode",
    "digest",
    "TDS2.acsOperatorID",
    "TDS2.acsReferenceNumber",
    "TDS2.acsTransID",
    "TDS2.authenticationType",
    "TDS2.authTimestamp",
    "TDS2.dsTransID",
    "TDS2.threeDSServerTransID",
    "TDS2.transStatus",
    # merchant, session and NestPay's own signature of the 3-D step
    "merchantID",
    "merchantName",
    "clientIp",
    "refreshtime",
    "failCount",
    "paymentType",
    "ReturnOid",
    "TRANID",
    "orgRnd",
    "orgHash",
    "HASHPARAMS",
    "HASHPARAMSVAL",
    # result details
    "ErrCode",
    "SettleId",
    "acqStan",
    "ACQBIN",
    "EXTRA.CARDBRAND",
    "EXTRA.CARDISSUER",
    "EXTRA.HOSTDATE",
    "EXTRA.CVVVERIFICATION",
    "EXTRA.AVSAPPROVE",
    "EXTRA.AVSERRORCODEDETAIL",
    "EXTRA.ERRORCODE",
    "EXTRA.SETTLEID",
    "EXTRA.NUMCODE",
    "EXTRA.MERCHANTID",
    "EXTRA.TERMINALID",
    # the card, masked
    "maskedCreditCard",
    "Ecom_Payment_Card_ExpDate_Year",
    "Ecom_Payment_Card_ExpDate_Month",
    "cardHolderName",
    "panFirst6",
    "panLast4",
    "ccnHash",
    "CVVPresence",
)

Fields = Sequence[tuple[str, str]] | Mapping[str, str]


class InvalidCallback(ValueError):
    """A callback body that cannot be read without ambiguity."""


@dataclass(frozen=True)
class CmiSettings:
    """The merchant's CMI account."""

    client_id: str
    store_key: str
    gateway_url: str


@dataclass(frozen=True)
class CmiResult:
    """What a verified callback says about the payment; never any card data."""

    oid: str
    approved: bool
    proc_return_code: str
    amount: Money | None
    currency: str
    transaction_id: str
    error_message: str

    @property
    def fingerprint(self) -> str:
        """Identifies this notification, so the same one posted again is recognised and changes nothing."""
        return "|".join(_escape(part) for part in (self.oid, self.transaction_id, self.proc_return_code))


def notice_fingerprint(oid: str, transaction_id: str, proc_return_code: str) -> str:
    """The `Notice.fingerprint` of a CMI report: `CMI|oid|TransId|ProcReturnCode`, each part escaped as in the HASH.

    The callback's notices carry it, and so do the notices made from a status answer (`cmi_api`), so that the
    engine recognises the same approved transaction reported both ways as one report.
    """
    return "|".join(["CMI", *(_escape(part) for part in (oid, transaction_id, proc_return_code))])


def _fold(name: str) -> str:
    return name.translate(_ASCII_UPPER)


_CALLBACK_NAMES = frozenset(_fold(name) for name in (*FORM_FIELDS, *RESULT_FIELDS, *NESTPAY_3D_FIELDS))


def _pairs(fields: Fields) -> list[tuple[str, str]]:
    return list(fields.items()) if isinstance(fields, Mapping) else list(fields)


def _has_duplicate_names(pairs: Sequence[tuple[str, str]]) -> bool:
    return len({_fold(name) for name, _ in pairs}) != len(pairs)


def _drop_trailing_newline(value: str) -> str:
    return value[:-1] if value.endswith("\n") else value


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("|", "\\|")


def natcase_key(name: str) -> tuple[tuple[int, ...], ...]:
    """A sort key ordering field names as PHP's `natcasesort` (`strnatcasecmp`) does.

    Case-insensitive (ASCII, upper-cased as PHP does, so `_` sorts after letters), runs of digits compared as
    numbers (`DIMCRITERIA2` before `DIMCRITERIA10`), a digit run against another character compared by character
    code; a run starting with `0` is compared digit by digit from the left (PHP's "fractional" rule) and zeros
    leading the whole name are skipped. Whitespace is simply ignored: an approximation of PHP that CMI's field
    names, which hold none, never exercise.
    """
    folded = _LEADING_ZEROS.sub("", _fold(name))
    key: list[tuple[int, ...]] = []
    for token in _TOKENS.findall(folded):
        if token[0] in string.digits:
            # Ranked with digits' own character code, so a digit run sorts against letters and punctuation as in PHP.
            if token.startswith("0"):
                key.append((_DIGIT, 0, *(int(digit) for digit in token)))
            else:
                key.append((_DIGIT, 1, int(token)))
        elif token not in _C_SPACE:
            key.append((ord(token),))
    return tuple(key)


def hash_plaintext(fields: Fields, store_key: str) -> str:
    """The string HASH version 3 digests: the values in `natcasesort` order of their names, then the store key."""
    hashed = [(name, value) for name, value in _pairs(fields) if _fold(name) not in _NOT_HASHED]
    # sorted() is stable: names that compare equal keep the order they were posted in, as with PHP 8's stable sort.
    ordered = sorted(hashed, key=lambda pair: natcase_key(pair[0]))
    return "".join(f"{_escape(_drop_trailing_newline(value))}|" for _, value in ordered) + _escape(store_key)


def compute_hash(fields: Fields, store_key: str) -> str:
    """HASH version 3: base64 of the raw SHA-512 digest of `hash_plaintext` (UTF-8)."""
    digest = hashlib.sha512(hash_plaintext(fields, store_key).encode("utf-8")).digest()
    return base64.b64encode(digest).decode("ascii")


def verify(fields: Fields, store_key: str) -> bool:
    """True when the received HASH is exactly the one computed over the other fields (constant-time compare).

    False when HASH is missing, or when a name appears twice (the value CMI signed would be ambiguous).
    """
    pairs = _pairs(fields)
    received = [value for name, value in pairs if _fold(name) == "HASH"]
    if len(received) != 1 or _has_duplicate_names(pairs):
        return False
    expected = compute_hash(pairs, store_key).encode("ascii")
    # The last field of a real callback ends with a newline, and HASH may be that field.
    return hmac.compare_digest(expected, _drop_trailing_newline(received[0]).encode("utf-8"))


def parse_form_body(body: bytes) -> list[tuple[str, str]]:
    """The fields of a form-encoded callback, in posted order, blank values kept (they count in the HASH).

    Raises `InvalidCallback` on anything not strictly form-encoded UTF-8, and on a name posted twice in any case.
    """
    try:
        pairs = parse_qsl(
            body.decode("utf-8"),
            keep_blank_values=True,
            strict_parsing=True,
            encoding="utf-8",
            errors="strict",
            max_num_fields=_MAX_FIELDS,
        )
    except ValueError as error:
        raise InvalidCallback("not a strict UTF-8 form body") from error
    if _has_duplicate_names(pairs):
        raise InvalidCallback("a field name appears twice")
    return pairs


def interpret(fields: Fields) -> CmiResult:
    """The payment result of a callback. Call only after `verify` accepted the same fields."""
    values = {_fold(name): _drop_trailing_newline(value) for name, value in _pairs(fields)}

    def field(name: str) -> str:
        return values.get(_fold(name), "")

    try:
        amount: Money | None = Money.parse_lenient(field("amount"))
    except InvalidAmount:
        amount = None
    return CmiResult(
        oid=field("oid"),
        approved=field("ProcReturnCode") == _PROC_ACCEPTED,
        proc_return_code=field("ProcReturnCode"),
        amount=amount,
        currency=field("currency"),
        transaction_id=field("TransId"),
        error_message=field("ErrMsg"),
    )


def unexpected_names(fields: Fields) -> list[str]:
    """The posted names CMI never sends, in posted order (compared case-insensitively, as the HASH compares them).

    Only the fields the form sends, CMI's result and NestPay's 3D-hosting fields are accepted: any other name is a
    sign the values were moved under other names (the HASH cannot tell).
    """
    return [name for name, _ in _pairs(fields) if _fold(name) not in _CALLBACK_NAMES]


def describe_names(names: Sequence[str]) -> str:
    """Names for a log line or the evidence. Whoever posted them chose them, so only names of `[A-Za-z0-9._-]`
    (at most 64 characters, at most five of them) are written out; the others are only counted."""
    showable = [name for name in names if _SHOWABLE_NAME.fullmatch(name)]
    shown = showable[:_NAMES_SHOWN]
    others = len(names) - len(shown)
    return ", ".join(shown) + (f"{', ' if shown else ''}{others} other(s)" if others else "")


def echo_mismatches(
    fields: Fields, expected: Mapping[str, str], optional: Mapping[str, str] | None = None
) -> list[str]:
    """The names of `expected` whose value the callback does not echo exactly (missing counts as different), and
    those of `optional` it carries with another value (missing is fine).

    Names compare case-insensitively and values after dropping one trailing newline, as the HASH treats them.
    Only names are returned, never values: they hold the payer's name, e-mail and phone.
    """
    received = {_fold(name): _drop_trailing_newline(value) for name, value in _pairs(fields)}
    missing_or_different = [
        name for name, value in expected.items() if received.get(_fold(name)) != _drop_trailing_newline(value)
    ]
    different = [
        name
        for name, value in (optional or {}).items()
        if _fold(name) in received and received[_fold(name)] != _drop_trailing_newline(value)
    ]
    return missing_or_different + different


def _form_fields(checkout: Checkout, client_id: str, endpoints: Endpoints, rnd: str) -> dict[str, str]:
    """Every field of the form but HASH: the one place that says what CMI is sent for a payment."""
    if checkout.method != "CARD":
        raise ValueError(f"CMI's hosted page takes CARD payments, not {checkout.method}")
    if not _PAYMENT_ID.fullmatch(checkout.payment_id):
        raise ValueError("oid must be 1 to 64 characters of [A-Za-z0-9-]")
    if checkout.session_seconds < _MIN_SESSION_SECONDS:
        # Less than a minute left on the hold: no page could be paid in time, so none is opened.
        raise ValueError(f"sessionTimeout must be at least {_MIN_SESSION_SECONDS} seconds")
    return_url = endpoints.return_url(checkout.payment_id)
    return {
        "clientid": client_id,
        "storetype": STORE_TYPE,
        "TranType": TRANSACTION_TYPE,
        "amount": str(checkout.amount),
        "currency": CURRENCY_MAD,
        "oid": checkout.payment_id,
        "okUrl": return_url,
        "failUrl": return_url,
        "callbackUrl": endpoints.callback_url("cmi"),
        "shopurl": endpoints.frontend_url,
        "lang": checkout.lang,
        "rnd": rnd,
        "hashAlgorithm": HASH_ALGORITHM,
        "encoding": "UTF-8",
        "BillToName": checkout.payer_name,
        "email": checkout.payer_email,
        "tel": checkout.payer_phone,
        "CallbackResponse": "true",
        # The hosted session ends no later than the hold: a payer cannot pay on CMI's page after the invoices were
        # freed. Signed by the HASH like every other field.
        "sessionTimeout": str(checkout.session_seconds),
    }


def expected_echo(checkout: Checkout, client_id: str, endpoints: Endpoints) -> dict[str, str]:
    """The `ECHOED_FIELDS` exactly as this payment's form carried them, rebuilt by the code that built the form.

    They depend on the settings (`client_id`, the endpoints) as they are now: changing them while payments are live
    makes those payments' callbacks fail the check (docs/operations.md).
    """
    sent = _form_fields(checkout, client_id, endpoints, rnd="")
    return {name: sent[name] for name in ECHOED_FIELDS}


def optional_echo(checkout: Checkout, client_id: str, endpoints: Endpoints) -> dict[str, str]:
    """The `OPTIONALLY_ECHOED_FIELDS` as this payment's form carried them: a callback that carries one must match."""
    sent = _form_fields(checkout, client_id, endpoints, rnd="")
    return {name: sent[name] for name in OPTIONALLY_ECHOED_FIELDS}


def payment_form(checkout: Checkout, settings: CmiSettings, endpoints: Endpoints, rnd: str) -> Redirect:
    """The HASH-signed form that sends the payer's browser to CMI's hosted card page (method CARD only).

    `rnd` is the caller's random nonce (at most 20 characters).
    """
    fields = _form_fields(checkout, settings.client_id, endpoints, rnd)
    if not 0 < len(rnd) <= _MAX_RND:
        raise ValueError("rnd must be 1 to 20 characters")
    fields["HASH"] = compute_hash(fields, settings.store_key)
    return Redirect("POST", settings.gateway_url, fields)


# -- the adapter ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CmiCallbackRoute:
    """`POST /v1/callbacks/cmi`: the plain-text answers of gateways.md's table, row by row."""

    settings: CmiSettings
    endpoints: Endpoints
    path: str = "cmi"
    gateway: str = NAME
    confirmation: Confirmation = Confirmation.AUTHORISED
    retry_answer: Answer = (500, FAILURE)
    final_answer: Answer = (400, FAILURE)

    def speaks_for(self, payment: Payment) -> bool:
        return (payment.gateway, payment.method) == (NAME, "CARD")

    def read(self, request: CallbackRequest, now: int) -> Notice | Refusal:
        try:
            fields = parse_form_body(request.body)
            verified = verify(fields, self.settings.store_key)
        except InvalidCallback:
            verified = False
        if not verified:
            return Refusal((403, FAILURE), "signature rejected", signature_failed=True)
        unexpected = unexpected_names(fields)
        if unexpected:
            return Refusal((403, FAILURE), "refused, field names CMI never sends", fields=describe_names(unexpected))
        result = interpret(fields)
        return Notice(
            gateway=NAME,
            payment_id=result.oid,
            kind=Kind.SUCCESS if result.approved else Kind.DECLINE,
            amount=result.amount,
            currency=result.currency,
            expected_currency=CURRENCY_MAD,
            transaction_id=result.transaction_id,
            fingerprint=notice_fingerprint(result.oid, result.transaction_id, result.proc_return_code),
            error=None
            if result.approved
            else printable_reason(declined_last_error(NAME, result.proc_return_code, result.error_message)),
            forged=lambda payment: echo_mismatches(
                fields,
                self.expected_echo(payment),
                optional_echo(Checkout.of(payment), self.settings.client_id, self.endpoints),
            ),
        )

    def expected_echo(self, payment: Payment) -> dict[str, str]:
        """What every CMI callback for `payment` must echo: rebuilt as its form was built, with today's settings."""
        return expected_echo(Checkout.of(payment), self.settings.client_id, self.endpoints)

    def answer(self, outcome: Outcome, payment: Payment | None, now: int) -> Answer:
        if outcome is Outcome.UNKNOWN:
            return 404, FAILURE
        if outcome is Outcome.FORGED:
            return 403, FAILURE
        if outcome in (Outcome.SETTLED, Outcome.DUPLICATE):
            return 200, POSTAUTH
        return 200, APPROVED


@dataclass(frozen=True)
class CmiGateway:
    """CMI: cards on its hosted page, and Fatourati references paid from a bank channel."""

    settings: CmiSettings
    endpoints: Endpoints
    fatourati_secret: bytes

    @property
    def spec(self) -> GatewaySpec:
        return SPEC

    @property
    def routes(self) -> tuple[CallbackRoute, ...]:
        return (
            CmiCallbackRoute(self.settings, self.endpoints),
            fatourati.InquiryRoute(self.fatourati_secret),
            fatourati.ConfirmRoute(self.fatourati_secret),
        )

    def redirect(self, checkout: Checkout, created_at: int) -> Redirect:
        return payment_form(checkout, self.settings, self.endpoints, rnd=secrets.token_hex(10))
