"""Starting, reading and cancelling payments (api.md §2-§4), independent of HTTP."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import assert_never

from epay import errors
from epay.clock import iso_instant
from epay.config import PaymentSettings
from epay.gateways import registry
from epay.gateways.common import Checkout, Redirect
from epay.gateways.protocol import GatewayAdapter, MethodKind, MethodSpec
from epay.gateways.registry import GatewayRegistry
from epay.invoices import Invoice, InvoiceStatus
from epay.money import MAX_PAYMENT_AMOUNT, AmountTooLarge, total
from epay.observability import logger, metrics
from epay.payments import (
    TAKES_OVER_SOFT_HOLDS,
    Payer,
    Payment,
    PaymentEvent,
    PaymentLine,
    PaymentStatus,
    Recovery,
    Reference,
    UnappliedFunds,
    is_payment_id,
    new_payment_id,
)
from epay.ports import (
    MAX_TRANSACTION_ACTIONS,
    InvoiceStore,
    InvoicesUnavailable,
    PaymentChanged,
    PaymentStore,
    ReferenceTaken,
    TooManyLivePayments,
    held_by,
)
from epay.ratelimit import RateLimiter
from epay.schemas import (
    IssuerOut,
    PaymentCreated,
    PaymentInvoiceOut,
    PaymentRequest,
    PaymentView,
    RedirectOut,
    ReferenceOut,
    ReversalOut,
    UnappliedFundsOut,
)

_ATTEMPTS = 5


def reference_out(payment: Payment) -> ReferenceOut | None:
    """The reference the payer pays, with where it can be paid (the method's channels)."""
    if payment.reference is None:
        return None
    method = registry.method(payment.gateway, payment.method)
    return ReferenceOut(
        code=payment.reference.code,
        expires_at=iso_instant(payment.reference.expires_at),
        channels=list(method.channels) if method else [],
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


def reversal_out(payment: Payment) -> ReversalOut | None:
    """How the money of a `REVERSED` payment went back to the payer (void, refund or an operator)."""
    if payment.reversal is None:
        return None
    return ReversalOut(
        action=payment.reversal.action.value,
        at=iso_instant(payment.reversal.at),
        reason=payment.reversal.reason,
    )


def payment_view(payment: Payment, now: int, unapplied: Sequence[UnappliedFunds] = ()) -> PaymentView:
    """A payment as the payer's page reads it (no subscription code, no payer details)."""
    return PaymentView(
        payment_id=payment.payment_id,
        status=payment.status_at(now).value,
        amount=str(payment.amount),
        gateway=payment.gateway,
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
        reversal=reversal_out(payment),
        unapplied_funds=[unapplied_out(funds) for funds in unapplied],
        receipt_code=payment.receipt_code,
    )


@dataclass(frozen=True)
class PaymentService:
    invoices: InvoiceStore
    payments: PaymentStore
    limiter: RateLimiter
    settings: PaymentSettings
    gateways: GatewayRegistry

    def create(self, request: PaymentRequest, client_address: str, now: int) -> PaymentCreated:
        """Validate the selection, hold every invoice atomically, and say where the payer goes to pay."""
        gateway = self.gateways.adapter(request.gateway)
        method = gateway.spec.method(request.method) if gateway else None
        if gateway is None or method is None:
            raise errors.unsupported_method(request.gateway, request.method)
        # Before any read: an address past its miss budget is refused whatever it asks for (no oracle).
        self.limiter.check(client_address, now)
        invoices, superseded = self._selected_invoices(request, method, client_address, now)
        payment = self._new_payment(request, method, invoices, now)
        for _attempt in range(_ATTEMPTS):
            try:
                self.payments.create_payment(payment, now, self.settings.live_payments_per_code, superseded)
                break
            except ReferenceTaken:
                payment = self._new_payment(request, method, invoices, now)
            except PaymentChanged:
                # A reference it takes over moved meanwhile (paid, cancelled): look at the invoices again.
                invoices, superseded = self._selected_invoices(request, method, client_address, now)
                payment = self._new_payment(request, method, invoices, now)
            except InvoicesUnavailable as taken:
                raise errors.invoice_not_payable(taken.invoice_ids) from taken
            except TooManyLivePayments as busy:
                logger.info("payment refused: too many live payments", extra={"live_limit": busy.limit})
                raise errors.too_many_live_payments() from busy
        else:
            raise errors.service_unavailable()
        metrics.add_metric(name="PaymentsCreated", unit="Count", value=1)
        for old in superseded:
            metrics.add_metric(name="ReferencesSuperseded", unit="Count", value=1)
            logger.info(
                "reference superseded",
                extra={"payment_id": old.payment_id, "by": payment.payment_id, "method": old.method},
            )
        logger.info(
            "payment created",
            extra={
                "payment_id": payment.payment_id,
                "gateway": payment.gateway,
                "method": payment.method,
                "invoices": len(payment.lines),
                "amount": str(payment.amount),
            },
        )
        redirect = self._redirect(gateway, method, payment)
        return PaymentCreated(
            payment_id=payment.payment_id,
            status=payment.status.value,
            amount=str(payment.amount),
            gateway=payment.gateway,
            method=payment.method,
            issuer=IssuerOut(code=payment.issuer.code, name=payment.issuer.name),
            invoice_ids=payment.invoice_ids,
            created_at=iso_instant(payment.created_at),
            expires_at=iso_instant(payment.expires_at),
            redirect=RedirectOut(method="POST", url=redirect.url, fields=redirect.fields) if redirect else None,
            reference=reference_out(payment),
        )

    def _selected_invoices(
        self, request: PaymentRequest, method: MethodSpec, client_address: str, now: int
    ) -> tuple[list[Invoice], list[Payment]]:
        """The invoices asked for, checked; and the unpaid references (soft holds, api.md §8) a card or direct-debit
        payment takes them over from."""
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
        superseded = self._soft_holders(selected, method, now)
        now_unpayable = [
            invoice.invoice_id
            for invoice in selected
            if not invoice.is_payable(now) and not _held_by_any(invoice, superseded, now)
        ]
        if now_unpayable:
            raise errors.invoice_not_payable(now_unpayable)
        mine = {invoice.invoice_id for invoice in selected}
        others = sum(1 for old in superseded for invoice_id in old.invoice_ids if invoice_id not in mine)
        if 2 + len(selected) + len(superseded) + others > MAX_TRANSACTION_ACTIONS:
            # One transaction cannot take all of them over: refused as before soft holds, naming the held invoices.
            raise errors.invoice_not_payable(
                [invoice.invoice_id for invoice in selected if _held_by_any(invoice, superseded, now)]
            )
        try:
            total([invoice.amount for invoice in selected], limit=MAX_PAYMENT_AMOUNT)
        except AmountTooLarge as error:
            raise errors.payment_too_large(str(MAX_PAYMENT_AMOUNT)) from error
        return selected, superseded

    def _soft_holders(self, selected: list[Invoice], method: MethodSpec, now: int) -> list[Payment]:
        """The unpaid reference payments holding some of `selected`, when `method` may take over their holds."""
        if method.name not in TAKES_OVER_SOFT_HOLDS:
            return []
        holders: list[Payment] = []
        for payment_id in dict.fromkeys(
            hold.payment_id
            for invoice in selected
            if invoice.status is InvoiceStatus.UNPAID and (hold := invoice.live_hold(now))
        ):
            holder = self.payments.get_payment(payment_id)
            if holder is not None and holder.is_soft_hold(now):
                holders.append(holder)
        return holders

    def _new_payment(self, request: PaymentRequest, method: MethodSpec, invoices: list[Invoice], now: int) -> Payment:
        reference = None
        recovery = Recovery()
        match method.kind:
            case MethodKind.REFERENCE:
                # Paid from a bank channel, which has no status call: a confirm that never comes lets it expire.
                status, hold = PaymentStatus.AWAITING_SETTLEMENT, self.settings.reference_hold_seconds
                reference = Reference(method.draw_reference(), now + hold)
            case MethodKind.REDIRECT | MethodKind.REDIRECT_THEN_REFERENCE:
                # A TASHILAT reference is issued later by the gateway, which then extends the hold. The gateway knows
                # the order: if no callback has ended the payment by then, recovery asks (operations-api.md §1).
                status, hold = PaymentStatus.PENDING, self.settings.hold_seconds
                # (The pass itself waits until the payment is EPAY_RECOVERY_AFTER_SECONDS old.)
                recovery = Recovery(due=now)
            case _:
                assert_never(method.kind)
        payer = request.payer
        return Payment(
            payment_id=new_payment_id(),
            subscription_code=request.subscription_code,
            issuer=invoices[0].issuer,
            gateway=request.gateway,
            method=method.name,
            lines=tuple(PaymentLine(i.invoice_id, i.invoice_number, i.amount) for i in invoices),
            amount=total([invoice.amount for invoice in invoices]),
            payer=Payer(payer.name, payer.email, payer.phone or ""),
            lang=request.lang,
            status=status,
            created_at=now,
            expires_at=now + hold,
            reference=reference,
            recovery=recovery,
        )

    @staticmethod
    def _redirect(gateway: GatewayAdapter, method: MethodSpec, payment: Payment) -> Redirect | None:
        """Where the payer's browser goes: the gateway's page, or nowhere for a reference paid elsewhere."""
        match method.kind:
            case MethodKind.REFERENCE:
                return None
            case MethodKind.REDIRECT | MethodKind.REDIRECT_THEN_REFERENCE:
                return gateway.redirect(Checkout.of(payment), payment.created_at)
            case _:
                assert_never(method.kind)

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


def _held_by_any(invoice: Invoice, payments: list[Payment], now: int) -> bool:
    """True when `invoice` is unpaid and held (live) by one of `payments`."""
    hold = invoice.live_hold(now)
    return (
        invoice.status is InvoiceStatus.UNPAID
        and hold is not None
        and any(hold.payment_id == payment.payment_id for payment in payments)
    )
