// The API calls the page makes (docs/api.md). The base URL is config.js's, read at the first call.

import { createClient } from "./api.js";
import { withChallenge } from "./challenge.js";
import { receiptPath } from "./receipts.js";

let client = null;
const request = (...args) => {
  client ??= createClient(globalThis.EPAY_CONFIG?.apiBaseUrl);
  return client(...args);
};

/** The lookup; a challenge past the miss budget (api.md §8) is solved and the search sent again with its proof. */
export const searchInvoices = (body) =>
  withChallenge((extra) => request("POST", "/v1/invoices/search", { body: { ...body, ...extra } }));

/** The lookup for what the payer did not ask for (the background count): a challenge is not solved for it. */
export const searchInvoicesUnchallenged = (body) => request("POST", "/v1/invoices/search", { body });

export const createPayment = (body, idempotencyKey) =>
  request("POST", "/v1/payments", { body, headers: { "Idempotency-Key": idempotencyKey } });

export const readPayment = (id) => request("GET", `/v1/payments/${encodeURIComponent(id)}`);

export const cancelPayment = (id) => request("POST", `/v1/payments/${encodeURIComponent(id)}/cancel`);

/** The public verification of a receipt code (operations-api.md §7). */
export const readReceipt = (code) => request("GET", receiptPath(code));

/** An address of the API for the browser to open itself (a receipt's PDF): config.js's base URL before `path`. */
export const apiUrl = (path) => `${String(globalThis.EPAY_CONFIG?.apiBaseUrl || "").replace(/\/+$/, "")}${path}`;
