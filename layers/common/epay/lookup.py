"""The invoice lookup: validate, rate-limit, page through one subscription's unpaid invoices."""

from __future__ import annotations

from dataclasses import dataclass

from epay import errors
from epay.challenge import LookupChallenge
from epay.clock import iso_instant
from epay.cursor import CursorCodec, InvalidCursor
from epay.invoices import Invoice, SearchCriteria, UnpaidInvoiceReader, find_unpaid
from epay.money import Money
from epay.observability import logger
from epay.ratelimit import MissBudgetSpent, RateLimiter
from epay.schemas import InvoiceOut, IssuerOut, SearchRequest, SearchResponse
from epay.subscription import code_fingerprint


def criteria_from(request: SearchRequest) -> SearchCriteria:
    """The domain's view of a validated search request."""
    filters = request.filters
    return SearchCriteria(
        subscription_code=request.subscription_code,
        invoice_number=request.invoice_number,
        issuer=filters.issuer if filters else None,
        issued_from=filters.issued_from if filters else None,
        issued_to=filters.issued_to if filters else None,
        min_amount=Money.parse(filters.min_amount) if filters and filters.min_amount else None,
        max_amount=Money.parse(filters.max_amount) if filters and filters.max_amount else None,
        text=filters.text if filters else None,
    )


def invoice_out(invoice: Invoice, now: int) -> InvoiceOut:
    """An unpaid invoice as the contract shows it: an expired hold reads as `UNPAID` again."""
    hold = invoice.live_hold(now)
    return InvoiceOut(
        invoice_id=invoice.invoice_id,
        invoice_number=invoice.invoice_number,
        issuer=IssuerOut(code=invoice.issuer.code, name=invoice.issuer.name),
        issue_date=invoice.issue_date,
        due_date=invoice.due_date,
        amount=str(invoice.amount),
        description=invoice.description,
        status="PENDING_PAYMENT" if hold else "UNPAID",
        hold_expires_at=iso_instant(hold.expires_at) if hold else None,
    )


@dataclass(frozen=True)
class InvoiceLookup:
    """`POST /v1/invoices/search` as a use case, independent of HTTP."""

    reader: UnpaidInvoiceReader
    cursors: CursorCodec
    limiter: RateLimiter
    challenge: LookupChallenge | None = None
    """Past the miss budget: `CHALLENGE_REQUIRED` with a challenge (api.md §8); None: `RATE_LIMITED` for the hour."""

    def search(self, request: SearchRequest, client_address: str, now: int) -> SearchResponse:
        """One page of the code's unpaid invoices. The request is charged to the caller's budgets before anything
        is read, so a refused lookup costs no invoice read; a first page that found nothing is then a miss, unless
        its filters or invoice number hid the code's unpaid invoices (api.md §8: only an unknown code, or a code
        with nothing unpaid, is a miss, and those two are one case: no invoice to read)."""
        redeemed = (
            request.proof is not None and self.challenge is not None and self.challenge.redeem(request.proof, now)
        )
        try:
            self.limiter.charge(client_address, now, redeemed_proof=redeemed)
        except MissBudgetSpent as spent:
            assert self.challenge is not None  # the limiter only raises it when misses_per_proof is set
            logger.info("lookup challenged", extra={"proof_sent": request.proof is not None})
            raise errors.challenge_required(self.challenge.issue(now, spent.proofs)) from spent
        criteria = criteria_from(request)
        binding = criteria.binding()
        after = None
        if request.cursor is not None:
            try:
                after = self.cursors.decode(request.cursor, binding, now)
            except InvalidCursor as error:
                raise errors.invalid_cursor() from error
        page = find_unpaid(self.reader, criteria, after, request.page_size)
        if not page.invoices and after is None and not self._has_unpaid(criteria):
            self.limiter.record_miss(client_address, now)
        logger.info(
            "invoices listed",
            extra={
                "code_ref": code_fingerprint(criteria.subscription_code, self.cursors.key),
                "returned": len(page.invoices),
                "more": page.last is not None,
                "next_page": after is not None,
                "filtered": criteria != SearchCriteria(criteria.subscription_code),
            },
        )
        return SearchResponse(
            items=[invoice_out(invoice, now) for invoice in page.invoices],
            next_cursor=self.cursors.encode(page.last, binding, now) if page.last else None,
        )

    def _has_unpaid(self, criteria: SearchCriteria) -> bool:
        """Whether a search that found nothing only did so because of its filters: one more read of one item, and
        only for a filtered search that found nothing (an unfiltered one has read the answer already)."""
        everything = SearchCriteria(criteria.subscription_code)
        if criteria == everything:
            return False
        return bool(find_unpaid(self.reader, everything, None, 1).invoices)
