"""Local gateway simulators under `/_sim/` (gateways.md "Local simulators"): CMI, M2T AmanPay, Fatourati.

Each plays its gateway faithfully: it verifies the incoming signature exactly as the real gateway would (a wrong
HASH shows an error page, not a payment page), lets the payer approve or decline, posts the signed
server-to-server notification to the callback URL it was given, then sends the browser back. They exist for the
demo and the end-to-end tests and are never part of the Lambda functions.

The CMI and M2T simulators also serve their merchant APIs (gateways.md, "Server-to-server gateway APIs") from the
state their payers created on the hosted pages (`CmiLedger`, `M2tLedger`): CMI's NestPay XML at `/_sim/cmi/api`,
M2T's signed JSON at `/_sim/m2t/orders/status` and `/_sim/m2t/orders/refund`. Each hosted page has a switch that
loses the callback (the payer pays, no notification is posted: form field `lose_callback=1`), so that recovery
can be seen working.
"""

from __future__ import annotations

import html
import json
import os
import secrets
import threading
import time
import xml.etree.ElementTree as ElementTree
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import requests
from defusedxml import DefusedXmlException
from defusedxml.ElementTree import ParseError, fromstring
from werkzeug.wrappers import Request, Response

from epay.config import GatewayApiSettings, GatewaySettings
from epay.gateways import cmi, cmi_api, fatourati, m2t
from epay.gateways.common import sign_body, verify_signed_body
from epay.money import InvalidAmount, Money
from epay_local.mail_outbox import MailOutbox

CALLBACK_TIMEOUT_SECONDS = 10
TEST_CARD = "4000 0000 0000 0002"
LOSE_CALLBACK = "lose_callback"
_LOSE_SWITCH = (
    f'<label style="font-weight:normal"><input type="checkbox" name="{LOSE_CALLBACK}" value="1" style="width:auto"> '
    "Perdre le rappel serveur (le paiement a lieu, aucune notification n'est envoyée : démonstration de la reprise)"
    "</label>"
)
_LOST_NOTE = "Rappel serveur perdu (simulation) : aucune notification envoyée au marchand."


def _page(title: str, body: str, status: int = 200) -> Response:
    document = f"""<!doctype html>
<html lang="fr"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{html.escape(title)}</title>
<style>
body{{font-family:system-ui,sans-serif;background:#eef1f5;margin:0;color:#1d2733}}
main{{max-width:34rem;margin:2rem auto;background:#fff;border-radius:8px;padding:1.5rem 2rem;
box-shadow:0 2px 8px rgba(0,0,0,.08)}}
h1{{font-size:1.3rem}} .sim{{font-size:.8rem;color:#7a4b00;background:#fff3d6;padding:.3rem .6rem;border-radius:4px}}
button{{font-size:1rem;padding:.6rem 1.2rem;margin:.3rem .3rem 0 0;border-radius:6px;border:1px solid #1b4f9c;
background:#1b4f9c;color:#fff;cursor:pointer}} button.secondary{{background:#fff;color:#1b4f9c}}
dl{{display:grid;grid-template-columns:auto 1fr;gap:.3rem 1rem}} dt{{font-weight:600}}
.error{{color:#a40000;font-weight:600}} label{{display:block;margin-top:.8rem;font-weight:600}}
input,select{{font-size:1rem;padding:.4rem;width:100%;box-sizing:border-box}}
</style></head><body><main>
<p class="sim">Simulateur local — aucun paiement réel</p>
<h1>{html.escape(title)}</h1>
{body}
</main></body></html>"""
    return Response(
        document, status=status, content_type="text/html; charset=utf-8", headers={"Cache-Control": "no-store"}
    )


def _auto_post(url: str, fields: Mapping[str, str], note: str) -> Response:
    inputs = "".join(
        f'<input type="hidden" name="{html.escape(name)}" value="{html.escape(value)}">'
        for name, value in fields.items()
    )
    return _page(
        "Retour au site marchand",
        f"""<p>{html.escape(note)}</p>
<form id="back" method="post" action="{html.escape(url)}">{inputs}<button type="submit">Continuer</button></form>
<script>document.getElementById("back").submit();</script>""",
    )


def _redirect(url: str) -> Response:
    return Response(status=303, headers={"Location": url, "Cache-Control": "no-store"})


def _definition_list(items: Mapping[str, str]) -> str:
    rows = "".join(f"<dt>{html.escape(k)}</dt><dd>{html.escape(v)}</dd>" for k, v in items.items())
    return f"<dl>{rows}</dl>"


def _post(url: str, **kwargs: Any) -> tuple[int, str]:
    """Post a server-to-server notification; the answer is shown to the person running the demo."""
    if not url.startswith(("http://", "https://")):
        return 0, "callback URL refused"
    try:
        answer = requests.post(url, timeout=CALLBACK_TIMEOUT_SECONDS, **kwargs)
    except requests.RequestException as error:
        return 0, f"callback failed: {type(error).__name__}"
    return answer.status_code, answer.text


@dataclass
class _Sessions:
    """What each simulated checkout page was opened with, by an unguessable token, and until when it lasts.

    A page opened with a `sessionTimeout` (CMI's form carries one, never longer than the payment's hold) is unknown
    once that many seconds have passed, as NestPay's session is.
    """

    entries: dict[str, dict[str, str]] = field(default_factory=dict)
    ends: dict[str, float] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def open(self, fields: dict[str, str], now: float | None = None) -> str:
        token = secrets.token_urlsafe(16)
        timeout = fields.get("sessionTimeout", "")
        with self.lock:
            self.entries[token] = fields
            if timeout.isdigit():
                self.ends[token] = (time.time() if now is None else now) + int(timeout)
        return token

    def get(self, token: str, now: float | None = None) -> dict[str, str] | None:
        with self.lock:
            end = self.ends.get(token)
            if end is not None and (time.time() if now is None else now) >= end:
                return None
            return self.entries.get(token)


def _today(now: float | None = None) -> str:
    """The day a transaction belongs to (UTC), as NestPay's end-of-day batch sees it."""
    return time.strftime("%Y%m%d", time.gmtime(time.time() if now is None else now))


@dataclass
class CmiOrder:
    """One order on CMI's side: its last authorisation attempt and what the merchant API did with it."""

    oid: str
    amount: int  # centimes
    trans_id: str
    auth_code: str
    stat: str  # a TRANS_STAT: A, C, V or D here
    day: str  # the day of the authorisation (a void must come the same day)
    captured: int = 0
    credited: bool = False
    error_message: str = ""


class CmiRefusal(ValueError):
    """An operation NestPay's rules refuse; the message is CMI's ErrMsg."""


@dataclass
class CmiLedger:
    """The simulated CMI's orders and NestPay's rules for them (gateways.md, "CMI merchant API").

    An order paid on the hosted page is authorised (`A`); answering the callback with `ACTION=POSTAUTH` captures it
    (`C`), `APPROVED` leaves it `A`. Through the API: capture only an `A` authorisation, for at most its amount; void
    only an `A`, on the day of its authorisation; credit only a captured order, for at most what was captured; each
    once.
    """

    orders: dict[str, CmiOrder] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def get(self, oid: str) -> CmiOrder | None:
        with self.lock:
            return self.orders.get(oid)

    def attempt(self, order: CmiOrder) -> bool:
        """The payer's attempt on the hosted page; False when the order was already authorised (paid once only)."""
        with self.lock:
            known = self.orders.get(order.oid)
            if known is not None and known.stat != "D":
                return False
            self.orders[order.oid] = order
            return True

    def callback_answered(self, oid: str, answer: str) -> None:
        """The merchant's answer to the callback: `ACTION=POSTAUTH` captures the authorisation."""
        with self.lock:
            order = self.orders.get(oid)
            if order is not None and order.stat == "A" and answer.strip() == cmi.POSTAUTH:
                order.stat, order.captured = "C", order.amount

    def capture(self, oid: str, total: int) -> CmiOrder:
        with self.lock:
            order = self._known(oid)
            if order.stat != "A":
                raise CmiRefusal(f"PostAuth refused: the order is {order.stat}, not an authorisation")
            if not 0 < total <= order.amount:
                raise CmiRefusal("PostAuth refused: amount above the authorisation")
            order.stat, order.captured = "C", total
            return order

    def void(self, oid: str, today: str) -> CmiOrder:
        with self.lock:
            order = self._known(oid)
            if order.stat != "A":
                raise CmiRefusal(f"Void refused: the order is {order.stat}, not an uncaptured authorisation")
            if order.day != today:
                raise CmiRefusal("Void refused: only on the day of the authorisation")
            order.stat = "V"
            return order

    def credit(self, oid: str, total: int) -> CmiOrder:
        with self.lock:
            order = self._known(oid)
            if order.stat not in ("C", "S"):
                raise CmiRefusal(f"Credit refused: the order is {order.stat}, not captured")
            if order.credited:
                raise CmiRefusal("Credit refused: already credited")
            if not 0 < total <= order.captured:
                raise CmiRefusal("Credit refused: amount above what was captured")
            order.credited = True
            return order

    def _known(self, oid: str) -> CmiOrder:
        order = self.orders.get(oid)
        if order is None:
            raise KeyError(oid)
        return order


@dataclass
class M2tOrder:
    """One order on M2T's side, as its checkout and its notifications left it."""

    order_ref: str
    amount: str
    currency: str
    method: str
    status: str = "PENDING"
    transaction_id: str | None = None
    reference: str | None = None
    occurred_at: str = ""
    refunded: int = 0  # centimes

    def view(self) -> dict[str, Any]:
        """The status answer: the notification's shape, no event id."""
        answer: dict[str, Any] = {
            "order_ref": self.order_ref,
            "transaction_id": self.transaction_id,
            "status": self.status,
            "amount": self.amount,
            "currency": self.currency,
            "method": self.method,
            "occurred_at": self.occurred_at,
        }
        if self.reference:
            answer["reference"] = self.reference
        return answer


@dataclass
class M2tLedger:
    """The simulated M2T's orders and refunds: an order exists once its checkout was opened with a valid signature;
    a refund is keyed by the merchant's refund_id (the same request again answers the same), only of a PAID order,
    in MAD, for at most what is left of what was paid."""

    orders: dict[str, M2tOrder] = field(default_factory=dict)
    refunds: dict[str, tuple[str, str, str]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def open(self, fields: Mapping[str, str]) -> None:
        with self.lock:
            self.orders.setdefault(
                fields.get("order_ref", ""),
                M2tOrder(
                    fields.get("order_ref", ""),
                    fields.get("amount", ""),
                    fields.get("currency", ""),
                    fields.get("method", ""),
                    occurred_at=_instant(),
                ),
            )

    def record(self, order_ref: str, status: str, transaction_id: str, reference: str | None = None) -> None:
        with self.lock:
            order = self.orders.get(order_ref)
            if order is None or order.status == "PAID":
                return
            order.status, order.transaction_id, order.occurred_at = status, transaction_id, _instant()
            if reference:
                order.reference = reference

    def view(self, order_ref: str) -> dict[str, Any] | None:
        with self.lock:
            order = self.orders.get(order_ref)
            return order.view() if order else None

    def refund(self, order_ref: str, refund_id: str, amount: str, currency: str) -> bool:
        """True when refunded (now, or earlier by the same request); False when not refundable."""
        request = (order_ref, amount, currency)
        with self.lock:
            if refund_id in self.refunds:
                return self.refunds[refund_id] == request
            order = self.orders.get(order_ref)
            try:
                centimes = Money.parse(amount).centimes
            except InvalidAmount:
                return False
            if order is None or order.status != "PAID" or currency != "MAD" or centimes <= 0:
                return False
            if order.refunded + centimes > Money.parse(order.amount).centimes:
                return False
            order.refunded += centimes
            self.refunds[refund_id] = request
            return True


def _instant() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def _cc5_response(values: Mapping[str, str], extra: Mapping[str, str]) -> Response:
    """A `<CC5Response>` as NestPay writes one (HTTP 200 whatever the outcome)."""
    root = ElementTree.Element("CC5Response")
    for name, value in values.items():
        ElementTree.SubElement(root, name).text = value
    extra_element = ElementTree.SubElement(root, "Extra")
    for name, value in extra.items():
        ElementTree.SubElement(extra_element, name).text = value
    body = '<?xml version="1.0" encoding="UTF-8"?>\n' + ElementTree.tostring(root, encoding="unicode")
    return Response(body, status=200, content_type="text/xml; charset=UTF-8")


def _cc5_error(oid: str, message: str, code: str = "") -> Response:
    values = {"OrderId": oid, "GroupId": oid, "Response": "Error", "AuthCode": "", "HostRefNum": ""}
    values |= {"ProcReturnCode": "99", "TransId": "", "ErrMsg": message}
    return _cc5_response(values, {"ERRORCODE": code, "TRXDATE": time.strftime("%Y%m%d %H:%M:%S")})


class Simulators:
    """A WSGI-style callable for `/_sim/...` requests."""

    def __init__(self, public_api_url: str) -> None:
        self.public_api_url = public_api_url.rstrip("/")
        self.sessions = _Sessions()
        self.cmi_orders = CmiLedger()
        self.m2t_orders = M2tLedger()
        # SES's stand-in and the outbox page (epay_local.mail_outbox).
        self.mail = MailOutbox()
        self.routes: dict[tuple[str, str], Callable[[Request], Response]] = {
            ("POST", "/_sim/cmi/est3Dgate"): self.cmi_checkout,
            ("POST", "/_sim/cmi/decide"): self.cmi_decide,
            ("POST", "/_sim/cmi/api"): self.cmi_api,
            ("POST", "/_sim/m2t/checkout"): self.m2t_checkout,
            ("POST", "/_sim/m2t/decide"): self.m2t_decide,
            ("POST", "/_sim/m2t/orders/status"): self.m2t_status,
            ("POST", "/_sim/m2t/orders/refund"): self.m2t_refund,
            ("GET", "/_sim/fatourati"): self.fatourati_home,
            ("POST", "/_sim/fatourati/inquiry"): self.fatourati_inquiry,
            ("POST", "/_sim/fatourati/confirm"): self.fatourati_confirm,
        }

    def __call__(self, request: Request) -> Response:
        if request.path.startswith(("/_sim/mail", "/_sim/ses")):
            return self.mail(request)
        handler = self.routes.get((request.method, request.path))
        if handler is None:
            return _page("Page inconnue", "<p>Cette page n'existe pas dans le simulateur.</p>", 404)
        return handler(request)

    # -- CMI ------------------------------------------------------------------------------------------------

    @staticmethod
    def _cmi_key() -> str:
        return os.environ["EPAY_CMI_STORE_KEY"]

    def cmi_checkout(self, request: Request) -> Response:
        try:
            fields = cmi.parse_form_body(request.get_data())
        except cmi.InvalidCallback:
            return _page("Requête invalide", '<p class="error">Formulaire illisible.</p>', 400)
        if not cmi.verify(fields, self._cmi_key()):
            return _page(
                "Erreur de sécurité",
                '<p class="error" role="alert">HASH invalide : la demande de paiement est refusée.</p>',
                400,
            )
        values = {name: value for name, value in fields}
        token = self.sessions.open(values)
        return self._cmi_page(token, values)

    def _cmi_page(self, token: str, values: dict[str, str], notice: str = "") -> Response:
        summary = _definition_list(
            {
                "Commande": values.get("oid", ""),
                "Montant": f"{values.get('amount', '')} MAD",
                "Payeur": values.get("BillToName", ""),
            }
        )
        return _page(
            "CMI — Paiement sécurisé",
            f"""{notice}{summary}
<form method="post" action="/_sim/cmi/decide">
<input type="hidden" name="token" value="{token}">
<label for="pan">Numéro de carte</label><input id="pan" value="{TEST_CARD}" readonly>
<button type="submit" name="decision" value="approve">Payer</button>
<button type="submit" name="decision" value="decline" class="secondary">Refuser la carte</button>
<button type="submit" name="decision" value="leave" class="secondary">Retour au site marchand</button>
{_LOSE_SWITCH}
</form>""",
        )

    def cmi_decide(self, request: Request) -> Response:
        values = self.sessions.get(request.form.get("token", ""))
        if values is None:
            return _page("Session expirée", '<p class="error">Session de paiement inconnue.</p>', 400)
        decision = request.form.get("decision")
        if decision == "leave":
            return _redirect(values.get("shopurl", "/"))
        approved = decision == "approve"
        oid = values.get("oid", "")
        trans_id = f"{int(time.time())}{secrets.randbelow(10**6):06d}"
        auth_code = f"{secrets.randbelow(10**6):06d}" if approved else ""
        try:
            amount = Money.parse_lenient(values.get("amount", "")).centimes
        except InvalidAmount:
            amount = 0
        attempt = CmiOrder(oid, amount, trans_id, auth_code, "A" if approved else "D", _today())
        if not self.cmi_orders.attempt(attempt):
            return _page(
                "Commande déjà payée", '<p class="error" role="alert">Cette commande a déjà été payée.</p>', 400
            )
        result = {name: value for name, value in values.items() if name.upper() != "HASH"}
        result.update(
            {
                "ProcReturnCode": "00" if approved else "05",
                "Response": "Approved" if approved else "Declined",
                "AuthCode": auth_code,
                "TransId": trans_id,
                "HostRefNum": f"{secrets.randbelow(10**12):012d}",
                "ErrMsg": "" if approved else "Carte refusée par l'émetteur",
                "MaskedPan": "400000***0002",
                "EXTRA.TRXDATE": time.strftime("%Y%m%d %H:%M:%S"),
                "callbackCall": "true",
                "rnd": secrets.token_hex(10),
            }
        )
        result["HASH"] = cmi.compute_hash(result, self._cmi_key())
        if request.form.get(LOSE_CALLBACK) == "1":
            note = _LOST_NOTE
        else:
            status, answer = _post(
                values.get("callbackUrl", ""),
                data=urlencode(result).encode("utf-8"),
                headers={"Content-Type": "application/x-www-form-urlencoded"},
            )
            if status == 200:
                self.cmi_orders.callback_answered(oid, answer)
            note = f"Réponse du marchand au rappel serveur : {status} {answer.strip()}"
        if not approved:
            token = request.form["token"]
            notice = (
                f'<p class="error" role="alert">Paiement refusé : carte refusée par l\'émetteur.</p>'
                f"<p>{html.escape(note)}</p><p>Vous pouvez réessayer avec une autre carte.</p>"
            )
            return self._cmi_page(token, values, notice)
        return _auto_post(values.get("okUrl", "/"), result, note)

    # -- M2T ------------------------------------------------------------------------------------------------

    @staticmethod
    def _m2t_secret() -> bytes:
        return os.environ["EPAY_M2T_SECRET"].encode("utf-8")

    def m2t_checkout(self, request: Request) -> Response:
        fields = {name: value for name, value in request.form.items()}
        if not m2t.verify_fields(fields, self._m2t_secret()):
            return _page(
                "Erreur de sécurité",
                '<p class="error" role="alert">Signature invalide : la demande de paiement est refusée.</p>',
                400,
            )
        token = self.sessions.open(fields)
        self.m2t_orders.open(fields)
        return self._m2t_page(token, fields)

    def _m2t_page(self, token: str, fields: dict[str, str], notice: str = "") -> Response:
        method = fields.get("method", "")
        summary = _definition_list(
            {
                "Commande": fields.get("order_ref", ""),
                "Montant": f"{fields.get('amount', '')} MAD",
                "Moyen": method,
                "Client": fields.get("customer_name", ""),
            }
        )
        if method == "TASHILAT" and "reference" in fields:
            actions = (
                '<button type="submit" name="decision" value="agency_paid">Simuler le paiement en agence</button>'
                '<button type="submit" name="decision" value="back" class="secondary">Retour au site marchand</button>'
            )
        elif method == "TASHILAT":
            actions = (
                '<button type="submit" name="decision" value="reference">Obtenir une référence TASHILAT</button>'
                '<button type="submit" name="decision" value="cancel" class="secondary">Annuler</button>'
            )
        else:
            actions = (
                '<button type="submit" name="decision" value="approve">Payer</button>'
                '<button type="submit" name="decision" value="decline" class="secondary">Refuser</button>'
                '<button type="submit" name="decision" value="cancel" class="secondary">Annuler</button>'
            )
        return _page(
            "M2T AmanPay — Paiement",
            f"""{notice}{summary}<form method="post" action="/_sim/m2t/decide">
<input type="hidden" name="token" value="{token}">{actions}{_LOSE_SWITCH}</form>""",
        )

    def _notify(
        self, fields: dict[str, str], status: str, reference: str | None = None, lose: bool = False
    ) -> tuple[int, str]:
        """Record what happened to the order, then notify the merchant (unless the callback is to be lost)."""
        transaction_id = fields.setdefault("transaction_id", f"m2t-{secrets.token_hex(6)}")
        self.m2t_orders.record(fields.get("order_ref", ""), status, transaction_id, reference)
        if lose:
            return 0, _LOST_NOTE
        notification: dict[str, Any] = {
            "event_id": f"evt-{secrets.token_hex(8)}",
            "order_ref": fields.get("order_ref", ""),
            "transaction_id": transaction_id,
            "status": status,
            "amount": fields.get("amount", ""),
            "currency": fields.get("currency", ""),
            "method": fields.get("method", ""),
            "occurred_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        }
        if reference:
            notification["reference"] = reference
        body = json.dumps(notification).encode("utf-8")
        header = sign_body(self._m2t_secret(), body, int(time.time()))
        return _post(
            fields.get("notify_url", ""),
            data=body,
            headers={"Content-Type": "application/json", m2t.HEADER_NAME: header},
        )

    def m2t_decide(self, request: Request) -> Response:
        token = request.form.get("token", "")
        fields = self.sessions.get(token)
        if fields is None:
            return _page("Session expirée", '<p class="error">Session de paiement inconnue.</p>', 400)
        decision = request.form.get("decision")
        lose = request.form.get(LOSE_CALLBACK) == "1"
        if decision == "reference":
            fields["reference"] = f"{secrets.randbelow(10**10):010d}"
            status, answer = self._notify(fields, "REFERENCE_ISSUED", fields["reference"], lose)
            notice = (
                f'<p role="status">Référence TASHILAT : <strong data-reference>{fields["reference"]}</strong>'
                " — à régler dans une agence TASHILAT.</p>"
                f"<p>Réponse du marchand : {status} {html.escape(answer.strip())}</p>"
            )
            return self._m2t_page(token, fields, notice)
        if decision == "back":
            return _redirect(fields.get("return_url", "/"))
        outcome = {"approve": "PAID", "agency_paid": "PAID", "decline": "FAILED", "cancel": "CANCELLED"}.get(
            decision or "", "CANCELLED"
        )
        self._notify(fields, outcome, lose=lose)
        target = fields.get("cancel_url" if outcome == "CANCELLED" else "return_url", "/")
        return _redirect(target)

    # -- the merchant APIs (gateways.md, "Server-to-server gateway APIs") -----------------------------------

    def cmi_api(self, request: Request) -> Response:
        """NestPay's `CC5Request`: ORDERSTATUS query, PostAuth, Void, Credit, by the rules of `CmiLedger`."""
        try:
            root = fromstring(request.get_data(), forbid_dtd=True, forbid_entities=True, forbid_external=True)
        except (ParseError, DefusedXmlException, ValueError):
            return _cc5_error("", "Invalid XML")
        if root.tag != "CC5Request":
            return _cc5_error("", "Invalid request")
        values = {child.tag: (child.text or "").strip() for child in root}
        extra = {child.tag: (child.text or "").strip() for child in root.iterfind("Extra/*")}
        oid = values.get("OrderId", "")
        settings = GatewayApiSettings.from_environment()
        expected = (settings.cmi_api_user, os.environ.get("EPAY_CMI_API_PASSWORD", ""), settings.cmi_client_id)
        given = (values.get("Name", ""), values.get("Password", ""), values.get("ClientId", ""))
        if not expected[1] or given != expected:
            return _cc5_error(oid, "Insufficient permissions to perform requested operation.", "SIM-AUTH")
        operation = values.get("Type")
        if operation is None and extra.get("ORDERSTATUS") == "QUERY":
            return self._cmi_status(oid)
        try:
            if operation == "PostAuth":
                order = self.cmi_orders.capture(oid, self._cmi_total(values))
            elif operation == "Void":
                order = self.cmi_orders.void(oid, _today())
            elif operation == "Credit":
                order = self.cmi_orders.credit(oid, self._cmi_total(values))
            else:
                return _cc5_error(oid, "Unsupported transaction type")
        except KeyError:
            return _cc5_error(oid, f"No record found for {oid}", cmi_api.UNKNOWN_ORDER_CODE)
        except CmiRefusal as refusal:
            return _cc5_error(oid, str(refusal), "SIM-RULE")
        approved = {"OrderId": oid, "GroupId": oid, "Response": "Approved", "AuthCode": order.auth_code}
        approved |= {"HostRefNum": "", "ProcReturnCode": "00", "TransId": order.trans_id, "ErrMsg": ""}
        return _cc5_response(approved, {"TRXDATE": time.strftime("%Y%m%d %H:%M:%S"), "ERRORCODE": ""})

    @staticmethod
    def _cmi_total(values: Mapping[str, str]) -> int:
        if values.get("Currency") != cmi.CURRENCY_MAD:
            raise CmiRefusal("Currency must be 504")
        try:
            return Money.parse(values.get("Total", "")).centimes
        except InvalidAmount as error:
            raise CmiRefusal("Total must look like 1250.50") from error

    def _cmi_status(self, oid: str) -> Response:
        order = self.cmi_orders.get(oid)
        if order is None:
            return _cc5_error("", f"No record found for {oid}", cmi_api.UNKNOWN_ORDER_CODE)
        values = {"OrderId": oid, "GroupId": oid, "Response": "Approved", "AuthCode": order.auth_code}
        values |= {"HostRefNum": "", "ProcReturnCode": "00", "TransId": order.trans_id, "ErrMsg": order.error_message}
        extra = {
            "TRANS_ID": order.trans_id,
            "ORD_ID": oid,
            "AUTH_CODE": order.auth_code,
            "TRANS_STAT": order.stat,
            "ORIG_TRANS_AMT": str(order.amount),
            "CAPTURE_AMT": str(order.captured),
            "ERRORCODE": "",
        }
        return _cc5_response(values, extra)

    def _m2t_answer(self, status: int, payload: dict[str, Any]) -> Response:
        """A JSON answer signed like M2T's notifications."""
        body = json.dumps(payload).encode("utf-8")
        header = sign_body(self._m2t_secret(), body, int(time.time()))
        return Response(body, status=status, content_type="application/json", headers={m2t.HEADER_NAME: header})

    def _m2t_request(self, request: Request, names: tuple[str, ...]) -> dict[str, str] | Response:
        """The request's fields once its signature and merchant are checked, or the signed refusal."""
        body = request.get_data()
        if not verify_signed_body(request.headers.get(m2t.HEADER_NAME), body, self._m2t_secret(), int(time.time())):
            return self._m2t_answer(401, {"status": "INVALID_SIGNATURE"})
        try:
            payload = json.loads(body)
        except ValueError:
            payload = None
        if not isinstance(payload, dict) or not all(isinstance(payload.get(name), str) for name in names):
            return self._m2t_answer(400, {"status": "INVALID_REQUEST"})
        if payload["merchant_id"] != GatewaySettings.from_environment().m2t_merchant_id:
            return self._m2t_answer(403, {"status": "UNKNOWN_MERCHANT"})
        return {name: payload[name] for name in names}

    def m2t_status(self, request: Request) -> Response:
        fields = self._m2t_request(request, ("merchant_id", "order_ref"))
        if isinstance(fields, Response):
            return fields
        view = self.m2t_orders.view(fields["order_ref"])
        if view is None:
            return self._m2t_answer(404, {"status": "UNKNOWN_ORDER"})
        return self._m2t_answer(200, view)

    def m2t_refund(self, request: Request) -> Response:
        names = ("merchant_id", "order_ref", "refund_id", "amount", "currency")
        fields = self._m2t_request(request, names)
        if isinstance(fields, Response):
            return fields
        if self.m2t_orders.refund(fields["order_ref"], fields["refund_id"], fields["amount"], fields["currency"]):
            return self._m2t_answer(200, {"status": "REFUNDED", "refund_id": fields["refund_id"]})
        return self._m2t_answer(409, {"status": "NOT_REFUNDABLE"})

    # -- Fatourati (the bank channel: e-banking / m-banking) ------------------------------------------------

    @staticmethod
    def _fatourati_secret() -> bytes:
        return os.environ["EPAY_FATOURATI_SECRET"].encode("utf-8")

    def _fatourati_call(self, route: str, payload: dict[str, str]) -> tuple[int, dict[str, Any]]:
        body = json.dumps(payload).encode("utf-8")
        header = sign_body(self._fatourati_secret(), body, int(time.time()))
        status, text = _post(
            f"{self.public_api_url}/v1/callbacks/fatourati/{route}",
            data=body,
            headers={"Content-Type": "application/json", fatourati.HEADER_NAME: header},
        )
        try:
            answer = json.loads(text)
        except ValueError:
            answer = {"code": "???"}
        return status, answer if isinstance(answer, dict) else {"code": "???"}

    def fatourati_home(self, request: Request, notice: str = "") -> Response:
        return _page(
            "Banque — Paiement Fatourati",
            f"""{notice}<p>Payez une facture PORTNET depuis votre espace e-banking ou m-banking.</p>
<form method="post" action="/_sim/fatourati/inquiry">
<label for="reference">Référence Fatourati</label>
<input id="reference" name="reference" inputmode="numeric" autocomplete="off" required>
<label for="channel">Canal</label>
<select id="channel" name="channel"><option value="E-BANKING">E-BANKING</option>
<option value="M-BANKING">M-BANKING</option></select>
<button type="submit">Consulter</button></form>""",
        )

    def fatourati_inquiry(self, request: Request) -> Response:
        reference = request.form.get("reference", "").strip()
        channel = request.form.get("channel", "E-BANKING")
        status, answer = self._fatourati_call("inquiry", {"reference": reference})
        if status != 200 or answer.get("code") != "000":
            return self.fatourati_home(
                request,
                f'<p class="error" role="alert" data-code="{html.escape(str(answer.get("code")))}">'
                "Référence inconnue, expirée ou déjà payée.</p>",
            )
        invoices = "".join(
            f"<li>{html.escape(str(i.get('invoice_number')))} — {html.escape(str(i.get('amount')))} MAD</li>"
            for i in answer.get("invoices", [])
        )
        issuer = answer.get("issuer", {})
        return _page(
            "Banque — Confirmer le paiement",
            f"""{
                _definition_list(
                    {
                        "Créancier": str(answer.get("biller")),
                        "Émetteur": str(issuer.get("name")),
                        "Montant": f"{answer.get('amount')} MAD",
                        "Valable jusqu'au": str(answer.get("expires_at")),
                    }
                )
            }
<ul>{invoices}</ul>
<form method="post" action="/_sim/fatourati/confirm">
<input type="hidden" name="reference" value="{html.escape(reference)}">
<input type="hidden" name="amount" value="{html.escape(str(answer.get("amount")))}">
<input type="hidden" name="channel" value="{html.escape(channel)}">
<button type="submit">Confirmer le paiement</button></form>""",
        )

    def fatourati_confirm(self, request: Request) -> Response:
        amount = request.form.get("amount", "")
        try:
            Money.parse(amount)
        except ValueError:
            return self.fatourati_home(request, '<p class="error" role="alert">Montant invalide.</p>')
        payload = {
            "reference": request.form.get("reference", ""),
            "transaction_id": f"FAT-{secrets.token_hex(6)}",
            "amount": amount,
            "currency": "MAD",
            "channel": request.form.get("channel", "E-BANKING"),
            "paid_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        }
        status, answer = self._fatourati_call("confirm", payload)
        code = str(answer.get("code"))
        if code == "000":
            message = '<p role="status">Paiement effectué. Votre compte a été débité.</p>'
        else:
            message = '<p class="error" role="alert">Paiement refusé : votre compte n\'a pas été débité.</p>'
        return _page(
            "Banque — Résultat",
            f'{message}<p data-code="{html.escape(code)}">Code de réponse : {html.escape(code)} (HTTP {status})</p>',
        )
