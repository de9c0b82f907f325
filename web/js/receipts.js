// Receipts: the payer's (its PDF, its verification code, who paid for whom) and their public verification
// (operations-api.md §7). Pure: no DOM, so that node tests it.

import { LANGS, PATTERNS } from "./contract.js";

/** 16 characters of Crockford's base32: digits and capitals without I, L, O and U. */
const RECEIPT_CODE = /^[0-9A-HJKMNP-TV-Z]{16}$/;

/**
 * A receipt code as typed or scanned -> its canonical form, as Crockford's base32 reads it: capitals, the spaces
 * and hyphens of a grouped code dropped, O read as 0 and I or L as 1 (the letters a reader confuses with them).
 */
export function normaliseReceiptCode(text) {
  return String(text ?? "")
    .toUpperCase()
    .replace(/[\s\u00a0\u202f\u2060-]/g, "")
    .replace(/O/g, "0")
    .replace(/[IL]/g, "1");
}

export const isReceiptCode = (code) => RECEIPT_CODE.test(code || "");

/** "7K3M9Q2D4XHV8T1B" -> "7K3M 9Q2D 4XHV 8T1B" (read and typed back in groups of 4). */
export function groupReceiptCode(code) {
  return isReceiptCode(code) ? code.match(/.{4}/g).join(" ") : String(code ?? "");
}

/** The consultation form of the verification: what the payer typed -> {code, problem: i18n key | null}. */
export function checkReceiptCode(typed) {
  const code = normaliseReceiptCode(typed);
  if (!code) return { code, problem: "verify.codeRequired" };
  return { code, problem: isReceiptCode(code) ? null : "verify.codeInvalid" };
}

/** The receipt's PDF (PAID payments only), in the page's language. */
export function receiptPdfPath(paymentId, lang) {
  if (!PATTERNS.paymentId.test(paymentId || "")) return null;
  const language = LANGS.includes(lang) ? lang : "fr";
  return `/v1/payments/${encodeURIComponent(paymentId)}/receipt.pdf?lang=${language}`;
}

/** The public verification of a receipt code (GET /v1/receipts/{receipt_code}). */
export const receiptPath = (code) => `/v1/receipts/${encodeURIComponent(code)}`;

/**
 * What the verification screen says of an outcome -> {messageKey, tone ("ok" | "warning" | "error"), details (the
 * receipt's facts shown), proves (what they prove, or null)}. A receipt is genuine when the API knows its code: PAID
 * proves that the invoices listed were paid; REVERSED that the money was returned, so that the payment paid nothing.
 */
export function verifyView(outcome) {
  if (outcome === "PAID") return { messageKey: "verify.PAID", tone: "ok", details: true, provesKey: "verify.PAID.proves" };
  if (outcome === "REVERSED") {
    return { messageKey: "verify.REVERSED", tone: "warning", details: true, provesKey: "verify.REVERSED.proves" };
  }
  if (outcome === "not-found") return { messageKey: "verify.notFound", tone: "error", details: false, provesKey: null };
  if (outcome === "unknown") return { messageKey: "verify.unknown", tone: "warning", details: false, provesKey: null };
  return { messageKey: null, tone: null, details: false, provesKey: null };
}

/** An answer of GET /v1/receipts/{code} -> its outcome: "PAID", "REVERSED", or "unknown" (a status the page lacks). */
export const receiptOutcome = (receipt) => (["PAID", "REVERSED"].includes(receipt?.status) ? receipt.status : "unknown");

/**
 * Who a receipt names, when the page knows: the operator whose invoices were paid (when the API names it) and the
 * payer (only in the tab that made this payment: the payment view has no payer data). -> {operator, payer}: names or null.
 */
export function receiptParties(payment, payers) {
  const name = (value) => (typeof value === "string" && value.trim() ? value.trim() : null);
  const id = payment?.payment_id;
  const saved = Array.isArray(payers) ? payers.find((entry) => entry?.paymentId === id) : null;
  return { operator: name(payment?.operator?.name), payer: id ? name(saved?.name) : null };
}

/** The payers this tab remembers (newest first, at most `keep`), with `paymentId` paid by `name` added. */
export function rememberPayer(payers, paymentId, name, keep = 5) {
  const others = (Array.isArray(payers) ? payers : []).filter((entry) => entry?.paymentId !== paymentId);
  return [{ paymentId, name }, ...others].slice(0, keep);
}
