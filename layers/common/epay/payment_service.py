"""Starting, reading and cancelling payments (api.md §2-§4), independent of HTTP."""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass

from epay import errors
from epay.clock import iso_instant
from epay.config import Settings
from epay.gateways import cmi, fatourati, m2t
from epay.gateways.common import Checkout, Endpoints, Redirect
from epay.invoices import Invoice
from epay.money import MAX_PAYMENT_AMOUNT, AmountTooLarge, total
from epay.observability import logger, metrics
from epay.payments import (
    Gateway,
    Payer,
    Payment,
    PaymentEvent,
    PaymentLine,
    PaymentStatus,
    Reference,
    UnappliedFunds,
    is_payment_id,
    is_supported,
    issues_reference_at_creation,
    new_payment_id,
)
from epay.ports import InvoiceStore, InvoicesUnavailable, PaymentChanged, PaymentStore, ReferenceTaken
from epay.ratelimit import RateLimiter
from epay.schemas import (
    IssuerOut,
    PaymentCreated,
    PaymentInvoiceOut,
    PaymentRequest,
    PaymentView,
    RedirectOut,
    ReferenceOut,
    UnappliedFundsOut,
)

FATOURATI_CHANNELS = ["E-BANKING", "M-BANKING"]
TASHILAT_CHANNELS = ["TASHILAT"]
_ATTEMPTS = 5


@dataclass(frozen=True)
class GatewaySecrets:
    """The keys that sign what the gateways see; read once per container, never logged."""

    cmi_store_key: str
    m2t_secret: bytes
    fatourati_secret: bytes


def reference_out(payment: Payment) -> ReferenceOut | None:
    if payment.reference is None:
        return None
    channels = FATOURATI_CHANNELS if payment.method == "FATOURATI" else TASHILAT_CHANNELS
    return ReferenceOut(
        code=payment.reference.code, expires_at=iso_instant(payment.reference.expires_at), channels=channels
    )


def unapplied_out(funds: UnappliedFunds) -> UnappliedFundsOut:
    return UnappliedFundsOut(
        gateway=funds.gateway,
        transaction_id=funds.transaction_id,
        amount=str(funds.amount) if funds.amount is not None else None,
        currency=funds.currency,
        reported_at=iso_instant(funds.reported_at),
        reason=funds.reason.value,
    )


def payment_view(payment: Payment, now: int, unapplied: Sequence[UnappliedFunds] = ()) -> PaymentView:
    """A payment as the payer's page reads it (no subscription code, no payer details)."""
    return PaymentView(
        payment_id=payment.payment_id,
        status=payment.status_at(now).value,
        amount=str(payment.amount),
        gateway=payment.gateway.value,
        method=payment.method,
        issuer=IssuerOut(code=payment.issuer.code, name=payment.issuer.name),
        invoices=[
            PaymentInvoiceOut(invoice_id=line.invoice_id, invoice_number=line.invoice_number, amount=str(line.amount))
            for line in payment.lines
        ],
        created_at=iso_instant(payment.created_at),
        expires_at=iso_instant(payment.expires_at),
        paid_at=iso_instant(payment.paid_at) if payment.paid_at is not None else None,
        gateway_transaction_id=payment.gateway_transaction_id,
        reference=reference_out(payment),
        last_error=payment.last_error,
        unapplied_funds=[unapplied_out(funds) for funds in unapplied],
    )


def endpoints_of(settings: Settings) -> Endpoints:
    """The service's public addresses, as the gateways are told them."""
    return Endpoints(settings.public_api_url, settings.frontend_url)


def checkout_of(payment: Payment) -> Checkout:
    """The payment as its gateway's form is built from it (and, for CMI, as its callbacks must echo it)."""
    return Checkout(
        payment_id=payment.payment_id,
        amount=payment.amount,
        method=payment.method,
        lang=payment.lang,
        payer_name=payment.payer.name,
        payer_email=payment.payer.email,
        payer_phone=payment.payer.phone,
    )


def held_by(invoices: InvoiceStore, payment: Payment) -> list[str]:
    """The payment's invoices that it still holds (the others were freed, or taken after its hold lapsed)."""
    found = invoices.get_invoices(payment.invoice_ids)
    return [
        invoice_id
        for invoice_id, invoice in found.items()
        if invoice.hold is not None and invoice.hold.payment_id == payment.payment_id
    ]


@dataclass(frozen=True)
class PaymentService:
    invoices: InvoiceStore
    payments: PaymentStore
    limiter: RateLimiter
    settings: Settings
    secrets: GatewaySecrets

    @property
    def endpoints(self) -> Endpoints:
        return endpoints_of(self.settings)

    def create(self, request: PaymentRequest, client_address: str, now: int) -> PaymentCreated:
        """Validate the selection, hold every invoice atomically, and say where the payer goes to pay."""
        gateway = Gateway(request.gateway)
        if not is_supported(gateway, request.method):
            raise errors.unsupported_method(request.gateway, request.method)
        # Before any read: an address past its miss budget is refused whatever it asks for (no oracle).
        self.limiter.check(client_address, now)
        invoices = self._selected_invoices(request, client_address, now)
        payment = self._new_payment(request, gateway, invoices, now)
        for _attempt in range(_ATTEMPTS):
            try:
                self.payments.create_payment(payment, now)
                break
            except ReferenceTaken:
                payment = self._new_payment(request, gateway, invoices, now)
            except InvoicesUnavailable as taken:
                raise errors.invoice_not_payable(taken.invoice_ids) from taken
        else:
            raise errors.service_unavailable()
        metrics.add_metric(name="PaymentsCreated", unit="Count", value=1)
        logger.info(
            "payment created",
            extra={
                "payment_id": payment.payment_id,
                "gateway": gateway.value,
                "method": payment.method,
                "invoices": len(payment.lines),
                "amount": str(payment.amount),
            },
        )
        redirect = self._redirect(payment)
        return PaymentCreated(
            payment_id=payment.payment_id,
            status=payment.status.value,
            amount=str(payment.amount),
            gateway=gateway.value,
            method=payment.method,
            issuer=IssuerOut(code=payment.issuer.code, name=payment.issuer.name),
            invoice_ids=payment.invoice_ids,
            created_at=iso_instant(payment.created_at),
            expires_at=iso_instant(payment.expires_at),
            redirect=RedirectOut(method="POST", url=redirect.url, fields=redirect.fields) if redirect else None,
            reference=reference_out(payment),
        )

    def _selected_invoices(self, request: PaymentRequest, client_address: str, now: int) -> list[Invoice]:
        found = self.invoices.get_invoices(request.invoice_ids)
        invoices = [found.get(invoice_id) for invoice_id in request.invoice_ids]
        if any(invoice is None or invoice.subscription_code != request.subscription_code for invoice in invoices):
            # Ids come from a listing: one that is unknown, or of another code, is a guess (a code tried against a
            # known id, or ids against a code). It spends the address's miss budget.
            self.limiter.record_miss(client_address, now)
            raise errors.invoice_not_found()
        selected = [invoice for invoice in invoices if invoice is not None]
        if len({invoice.issuer.code for invoice in selected}) > 1:
            raise errors.mixed_issuers()
        now_unpayable = [invoice.invoice_id for invoice in selected if not invoice.is_payable(now)]
        if now_unpayable:
            raise errors.invoice_not_payable(now_unpayable)
        try:
            total([invoice.amount for invoice in selected], limit=MAX_PAYMENT_AMOUNT)
        except AmountTooLarge as error:
            raise errors.payment_too_large(str(MAX_PAYMENT_AMOUNT)) from error
        return selected

    def _new_payment(self, request: PaymentRequest, gateway: Gateway, invoices: list[Invoice], now: int) -> Payment:
        with_reference = issues_reference_at_creation(gateway, request.method)
        hold = self.settings.reference_hold_seconds if with_reference else self.settings.hold_seconds
        reference = None
        if with_reference:
            random_digits = "".join(secrets.choice("0123456789") for _ in range(11))
            reference = Reference(fatourati.new_reference(random_digits), now + hold)
        payer = request.payer
        return Payment(
            payment_id=new_payment_id(),
            subscription_code=request.subscription_code,
            issuer=invoices[0].issuer,
            gateway=gateway,
            method=request.method,
            lines=tuple(PaymentLine(i.invoice_id, i.invoice_number, i.amount) for i in invoices),
            amount=total([invoice.amount for invoice in invoices]),
            payer=Payer(payer.name, payer.email, payer.phone or ""),
            lang=request.lang,
            status=PaymentStatus.AWAITING_SETTLEMENT if with_reference else PaymentStatus.PENDING,
            created_at=now,
            expires_at=now + hold,
            reference=reference,
        )

    def _redirect(self, payment: Payment) -> Redirect | None:
        if payment.reference is not None:
            return None
        checkout = checkout_of(payment)
        if payment.gateway is Gateway.CMI:
            settings = cmi.CmiSettings(
                self.settings.cmi_client_id, self.secrets.cmi_store_key, self.settings.cmi_gateway_url
            )
            return cmi.payment_form(checkout, settings, self.endpoints, rnd=secrets.token_hex(10))
        m2t_settings = m2t.M2tSettings(
            self.settings.m2t_merchant_id, self.secrets.m2t_secret, self.settings.m2t_gateway_url
        )
        return m2t.payment_form(
            checkout, m2t_settings, self.endpoints, timestamp=payment.created_at, nonce=secrets.token_hex(12)
        )

    def view(self, payment_id: str, now: int) -> PaymentView:
        payment = self.payments.get_payment(payment_id) if is_payment_id(payment_id) else None
        if payment is None:
            raise errors.payment_not_found()
        return payment_view(payment, now, self.payments.unapplied_funds(payment_id))

    def cancel(self, payment_id: str, now: int) -> PaymentView:
        """End a live payment on the payer's request and free its invoices."""
        if not is_payment_id(payment_id):
            raise errors.payment_not_found()
        for _attempt in range(_ATTEMPTS):
            payment = self.payments.get_payment(payment_id)
            if payment is None:
                raise errors.payment_not_found()
            if not payment.is_live(now):
                raise errors.payment_not_cancellable()
            cancelled = payment.advance(PaymentEvent.CANCELLED_BY_PAYER)
            try:
                self.payments.transition(payment, cancelled, evidence=None, release=held_by(self.invoices, payment))
            except (PaymentChanged, InvoicesUnavailable):
                continue
            metrics.add_metric(name="PaymentsCancelled", unit="Count", value=1)
            return payment_view(cancelled, now)
        raise errors.service_unavailable()
