"""FAKEPAY: a fourth gateway that exists only in tests, to show that a gateway is an adapter and a registration.

It is written the way a real fourth gateway would be (docs/architecture.md, "Adding a fourth gateway"): a spec,
a signed redirect form, and one callback route reading a signed JSON notification into a `Notice`. Nothing in the
service's code names it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from epay.gateways.common import Checkout, Endpoints, Redirect, sign_body, verify_signed_body
from epay.gateways.protocol import (
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
from epay.payments import Payment

NAME = "FAKEPAY"
SECRET = b"fakepay-test-secret"
HEADER = "X-Fakepay-Signature"
SPEC = GatewaySpec(NAME, (MethodSpec("CARD", MethodKind.REDIRECT), MethodSpec("WALLET", MethodKind.REDIRECT)))


@dataclass(frozen=True)
class FakepayRoute:
    path: str = "fakepay"
    gateway: str = NAME
    confirmation: Confirmation = Confirmation.TAKEN
    retry_answer: tuple[int, Any] = (503, {"ok": False})
    final_answer: tuple[int, Any] = (422, {"ok": False})

    def speaks_for(self, payment: Payment) -> bool:
        return payment.gateway == NAME

    def read(self, request: CallbackRequest, now: int) -> Notice | Refusal:
        if not verify_signed_body(request.header(HEADER), request.body, SECRET, now):
            return Refusal((401, {"ok": False}), "signature rejected", signature_failed=True)
        try:
            message = json.loads(request.body)
            amount = Money.parse(message["amount"])
        except (ValueError, KeyError, TypeError, InvalidAmount):
            return Refusal((400, {"ok": False}), "invalid notification")
        return Notice(
            gateway=NAME,
            payment_id=str(message["order"]),
            kind=Kind.SUCCESS if message.get("status") == "PAID" else Kind.DECLINE,
            amount=amount,
            currency=str(message.get("currency", "")),
            transaction_id=str(message.get("tx", "")),
            fingerprint=f"{NAME}|{message.get('tx', '')}",
            error=None if message.get("status") == "PAID" else "FAKEPAY declined",
        )

    def answer(self, outcome: Outcome, payment: Payment | None, now: int) -> tuple[int, Any]:
        if outcome is Outcome.UNKNOWN:
            return 404, {"ok": False}
        if outcome is Outcome.MISMATCH:
            return 409, {"ok": False}
        return 200, {"ok": True}


@dataclass(frozen=True)
class FakepayGateway:
    endpoints: Endpoints

    @property
    def spec(self) -> GatewaySpec:
        return SPEC

    @property
    def routes(self) -> tuple[CallbackRoute, ...]:
        return (FakepayRoute(),)

    def redirect(self, checkout: Checkout, created_at: int) -> Redirect:
        fields = {
            "order": checkout.payment_id,
            "amount": str(checkout.amount),
            "method": checkout.method,
            "notify": self.endpoints.callback_url("fakepay"),
            "back": self.endpoints.return_url(checkout.payment_id),
        }
        return Redirect("POST", "https://pay.fakepay.example/checkout", fields)


def notification(payment_id: str, amount: str, *, tx: str = "FP-1", status: str = "PAID") -> bytes:
    return json.dumps({"order": payment_id, "amount": amount, "currency": "MAD", "tx": tx, "status": status}).encode()


def signature(body: bytes, now: int) -> str:
    return sign_body(SECRET, body, now)
