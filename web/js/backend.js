// The API calls the page makes (docs/api.md). The base URL is config.js's, read at the first call.

import { createClient } from "./api.js";

let client = null;
const request = (...args) => {
  client ??= createClient(globalThis.EPAY_CONFIG?.apiBaseUrl);
  return client(...args);
};

export const searchInvoices = (body) => request("POST", "/v1/invoices/search", { body });

export const createPayment = (body, idempotencyKey) =>
  request("POST", "/v1/payments", { body, headers: { "Idempotency-Key": idempotencyKey } });

export const readPayment = (id) => request("GET", `/v1/payments/${encodeURIComponent(id)}`);

export const cancelPayment = (id) => request("POST", `/v1/payments/${encodeURIComponent(id)}/cancel`);
