"""Local gateway simulators under `/_sim/` (gateways.md "Local simulators"): CMI, M2T AmanPay, Fatourati.

Each plays its gateway faithfully: it verifies the incoming signature exactly as the real gateway would (a wrong
HASH shows an error page, not a payment page), lets the payer approve or decline, posts the signed
server-to-server notification to the callback URL it was given, then sends the browser back. They exist for the
demo and the end-to-end tests and are never part of the Lambda functions.
"""

from __future__ import annotations

import html
import json
import os
import secrets
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import requests
from werkzeug.wrappers import Request, Response

from epay.gateways import cmi, fatourati, m2t
from epay.gateways.common import sign_body
from epay.money import Money

CALLBACK_TIMEOUT_SECONDS = 10
TEST_CARD = "4000 0000 0000 0002"


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
    """What each simulated checkout page was opened with, by an unguessable token."""

    entries: dict[str, dict[str, str]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def open(self, fields: dict[str, str]) -> str:
        token = secrets.token_urlsafe(16)
        with self.lock:
            self.entries[token] = fields
        return token

    def get(self, token: str) -> dict[str, str] | None:
        with self.lock:
            return self.entries.get(token)


class Simulators:
    """A WSGI-style callable for `/_sim/...` requests."""

    def __init__(self, public_api_url: str) -> None:
        self.public_api_url = public_api_url.rstrip("/")
        self.sessions = _Sessions()
        self.routes: dict[tuple[str, str], Callable[[Request], Response]] = {
            ("POST", "/_sim/cmi/est3Dgate"): self.cmi_checkout,
            ("POST", "/_sim/cmi/decide"): self.cmi_decide,
            ("POST", "/_sim/m2t/checkout"): self.m2t_checkout,
            ("POST", "/_sim/m2t/decide"): self.m2t_decide,
            ("GET", "/_sim/fatourati"): self.fatourati_home,
            ("POST", "/_sim/fatourati/inquiry"): self.fatourati_inquiry,
            ("POST", "/_sim/fatourati/confirm"): self.fatourati_confirm,
        }

    def __call__(self, request: Request) -> Response:
        handler = self.routes.get((request.method, request.path))
        if handler is None:
            return _page("Page inconnue", "<p>Ce simulateur n'a pas cette page.</p>", 404)
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
        result = {name: value for name, value in values.items() if name.upper() != "HASH"}
        result.update(
            {
                "ProcReturnCode": "00" if approved else "05",
                "Response": "Approved" if approved else "Declined",
                "AuthCode": f"{secrets.randbelow(10**6):06d}" if approved else "",
                "TransId": f"{int(time.time())}{secrets.randbelow(10**6):06d}",
                "HostRefNum": f"{secrets.randbelow(10**12):012d}",
                "ErrMsg": "" if approved else "Carte refusée par l'émetteur",
                "MaskedPan": "400000***0002",
                "EXTRA.TRXDATE": time.strftime("%Y%m%d %H:%M:%S"),
                "callbackCall": "true",
                "rnd": secrets.token_hex(10),
            }
        )
        result["HASH"] = cmi.compute_hash(result, self._cmi_key())
        status, answer = _post(
            values.get("callbackUrl", ""),
            data=urlencode(result).encode("utf-8"),
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
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
<input type="hidden" name="token" value="{token}">{actions}</form>""",
        )

    def _notify(self, fields: dict[str, str], status: str, reference: str | None = None) -> tuple[int, str]:
        notification: dict[str, Any] = {
            "event_id": f"evt-{secrets.token_hex(8)}",
            "order_ref": fields.get("order_ref", ""),
            "transaction_id": fields.setdefault("transaction_id", f"m2t-{secrets.token_hex(6)}"),
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
        if decision == "reference":
            fields["reference"] = f"{secrets.randbelow(10**10):010d}"
            status, answer = self._notify(fields, "REFERENCE_ISSUED", fields["reference"])
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
        self._notify(fields, outcome)
        target = fields.get("cancel_url" if outcome == "CANCELLED" else "return_url", "/")
        return _redirect(target)

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
<select id="channel" name="channel"><option value="E-BANKING">E-banking</option>
<option value="M-BANKING">M-banking</option></select>
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
                        "Facturier": str(answer.get("biller")),
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
