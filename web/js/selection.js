// What can be selected on the results: at most LIMITS.invoicesPerPayment invoices of one issuer, "select all on this
// page", overdue invoices, and how many pages the result has. Pure: no DOM.

import { LIMITS } from "./contract.js";

export const MAX_SELECTED = LIMITS.invoicesPerPayment;

/** Today as the API writes dates ("YYYY-MM-DD"), in the payer's time zone. */
export function isoToday(now = new Date()) {
  const pad = (n) => String(n).padStart(2, "0");
  return `${now.getFullYear()}-${pad(now.getMonth() + 1)}-${pad(now.getDate())}`;
}

/** An invoice whose due date is before today. */
export const isOverdue = (invoice, today) => typeof invoice?.due_date === "string" && invoice.due_date < today;

/** The selection is full: no other invoice can be added. */
export const selectionFull = (size) => size >= MAX_SELECTED;

/**
 * "Select all on this page" -> {add: the invoices to add, in page order, capped: true when the limit left some out}.
 * Only unpaid invoices, of the issuer already selected (else of the page's first selectable invoice).
 */
export function selectPage(items, selectedIds, selectedIssuer = null) {
  const selected = new Set(selectedIds);
  const unpaid = items.filter((invoice) => invoice.status === "UNPAID");
  const issuer = selectedIssuer || unpaid[0]?.issuer?.code;
  const candidates = unpaid.filter((invoice) => invoice.issuer?.code === issuer && !selected.has(invoice.invoice_id));
  const room = Math.max(0, MAX_SELECTED - selected.size);
  return { add: candidates.slice(0, room), capped: candidates.length > room };
}

/** The number of pages of `total` invoices shown `pageSize` at a time (at least 1). */
export const pageCount = (total, pageSize) => Math.max(1, Math.ceil(total / pageSize));
