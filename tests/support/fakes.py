"""In-memory stand-ins for the store, with DynamoDB's paging semantics (Limit counts items read, not matched)."""

from __future__ import annotations

from dataclasses import dataclass, field

from epay.invoices import Batch, Invoice, InvoiceStatus, Position, SearchCriteria


@dataclass
class InMemoryInvoices:
    invoices: list[Invoice] = field(default_factory=list)
    reads: list[int] = field(default_factory=list)

    def read_unpaid(self, criteria: SearchCriteria, after: Position | None, limit: int) -> Batch:
        self.reads.append(limit)
        # The sparse index: this code's unpaid invoices in key order (issuer narrows the key range).
        index = sorted(
            (
                invoice
                for invoice in self.invoices
                if invoice.subscription_code == criteria.subscription_code
                and invoice.status is InvoiceStatus.UNPAID
                and (criteria.issuer is None or invoice.issuer.code == criteria.issuer)
            ),
            key=lambda invoice: invoice.position,
        )
        if after is not None:
            index = [invoice for invoice in index if invoice.position > after.list_key]
        evaluated = index[:limit]
        matched = [invoice for invoice in evaluated if criteria.matches(invoice)]
        more = len(index) > limit
        resume = Position(evaluated[-1].position, evaluated[-1].invoice_id) if more and evaluated else None
        return Batch(matched, resume)


@dataclass
class CountingHits:
    counts: dict[str, dict[str, int]] = field(default_factory=dict)

    def count_hit(self, counter: str, fields: list[str], expires_at: int) -> dict[str, int]:
        counts = self.counts.setdefault(counter, {})
        for name in fields:
            counts[name] = counts.get(name, 0) + 1
        return dict(counts)
