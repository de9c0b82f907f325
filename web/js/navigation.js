// Where the payer is, in the address and in this tab's sessionStorage, so that Back, Forward and reload land there.
// Pure: no DOM. The address names the screen (and the results' page); never the subscription code, which stays in
// sessionStorage with the search (its filters, its cursors) and the selection.

import { isPaymentId } from "./validation.js";

/** Screens that have an address of their own; the payment's screens are all `?payment=<id>`. */
const VIEWS = ["empty", "results", "payment", "verify"];
const PAYMENT_SCREENS = ["status", "reference", "receipt", "failure"];

/**
 * The address (path + query) of screen `screen` -> "" for the consultation, "?view=results&page=2", "?payment=<id>",
 * "?verify=<receipt code>" for a receipt verified ("?view=verify" for the verification's empty form).
 */
export function screenQuery(screen, { page = 0, paymentId = null, receiptCode = "" } = {}) {
  if (PAYMENT_SCREENS.includes(screen)) return isPaymentId(paymentId) ? `?payment=${encodeURIComponent(paymentId)}` : null;
  if (screen === "results") return `?view=results&page=${page + 1}`;
  if (screen === "verify" && receiptCode) return `?verify=${encodeURIComponent(receiptCode)}`;
  if (VIEWS.includes(screen)) return `?view=${screen}`;
  return "";
}

/**
 * An address's query -> {view: "search" | "empty" | "results" | "payment" | "verify", page (from 0), code (the
 * receipt code of `?verify=`, as written there: the QR code of a receipt's PDF points to it)}.
 */
export function parseView(query) {
  const params = new URLSearchParams(query);
  if (params.has("verify")) return { view: "verify", page: 0, code: params.get("verify") };
  const view = params.get("view");
  if (!VIEWS.includes(view)) return { view: "search", page: 0, code: "" };
  const number = Number.parseInt(params.get("page") || "1", 10);
  return { view, page: view === "results" && Number.isSafeInteger(number) && number > 1 ? number - 1 : 0, code: "" };
}

/** What sessionStorage keeps of a search: plain JSON (the Maps as arrays). */
export function searchSnapshot(state) {
  return {
    code: state.code,
    invoiceNumber: state.invoiceNumber,
    filters: state.filters,
    cursors: state.cursors,
    page: state.page,
    selection: [...state.selection.values()],
    issuers: [...state.issuers],
    emptyKey: state.emptyKey,
    method: state.method,
  };
}

/** A snapshot read back -> the fields to assign to the state, or null when it is not one (or has no code). */
export function restoreSnapshot(snapshot) {
  if (!snapshot || typeof snapshot !== "object" || typeof snapshot.code !== "string" || !snapshot.code) return null;
  const list = (value) => (Array.isArray(value) ? value : []);
  const raw = list(snapshot.cursors);
  const cursors = raw[0] === null && raw.slice(1).every((cursor) => typeof cursor === "string") ? raw : [null];
  const selection = list(snapshot.selection).filter((invoice) => typeof invoice?.invoice_id === "string" && invoice.issuer);
  return {
    code: snapshot.code,
    invoiceNumber: typeof snapshot.invoiceNumber === "string" ? snapshot.invoiceNumber : "",
    filters: snapshot.filters && typeof snapshot.filters === "object" ? snapshot.filters : {},
    cursors,
    selection: new Map(selection.map((invoice) => [invoice.invoice_id, invoice])),
    issuers: new Map(list(snapshot.issuers).filter((entry) => Array.isArray(entry) && entry.length === 2)),
    emptyKey: snapshot.emptyKey === "empty.messageNumber" ? "empty.messageNumber" : "empty.message",
    method: typeof snapshot.method === "string" ? snapshot.method : "CARD",
  };
}

/** The page to load for results page `page`: itself when its cursor is known, else the first. */
export const reachablePage = (cursors, page) => (page > 0 && page < cursors.length ? page : 0);
