// The bodies the page sends (docs/api.md), built from what the payer chose. Pure: no DOM.

import { HttpError, NetworkError } from "./api.js";
import { METHODS } from "./contract.js";

/** Invoices per results page: the page's choice, within the contract's page_size bounds. */
export const PAGE_SIZE = 10;

/** POST /v1/invoices/search: optional parts only when set; the filters copied, never shared with the caller. */
export function searchBody({ code, invoiceNumber = "", filters = {}, cursor = null, pageSize = PAGE_SIZE }) {
  const body = { subscription_code: code, page_size: pageSize };
  if (invoiceNumber) body.invoice_number = invoiceNumber;
  if (Object.keys(filters).length) body.filters = { ...filters };
  if (cursor) body.cursor = cursor;
  return body;
}

/** POST /v1/payments: never an amount (the server computes it); no phone unless one was given. */
export function paymentBody({ code, invoiceIds, gateway, method, payer, lang }) {
  const { name, email, phone } = payer;
  return {
    subscription_code: code,
    invoice_ids: [...invoiceIds],
    gateway,
    method,
    payer: phone ? { name, email, phone } : { name, email },
    lang,
  };
}

/** The methods a gateway offers, in the contract's order. */
export const methodsFor = (gateway) => METHODS[gateway] || [];

/** The method to keep selected when the gateway changes: the same if the new gateway offers it, else its first. */
export function methodFor(gateway, current) {
  const methods = methodsFor(gateway);
  return methods.includes(current) ? current : methods[0];
}

/**
 * The Idempotency-Key of a payment request: the previous attempt's when the same body is sent again (its answer
 * was lost, so the server replays it instead of paying twice); a new key for any other body.
 */
export function attemptFor(previous, body, newKey) {
  const text = JSON.stringify(body);
  return previous && previous.body === text ? previous : { key: newKey(), body: text };
}

/** After this error the payment may or may not exist: keep the attempt, so that a retry reuses its key. */
export const outcomeUnknown = (error) =>
  error instanceof NetworkError || (error instanceof HttpError && error.status >= 500);
