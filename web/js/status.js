// Which screen a payment shows, and what the failure and status screens say. Pure: no DOM.

import { HttpError, NetworkError } from "./api.js";
import { REVERSAL_ACTIONS } from "./contract.js";
import { isPaymentId } from "./validation.js";

// Every status of the contract (a test checks this against web/js/contract.js): the screen it shows.
const SCREEN_OF = {
  PENDING: "status", // still at the gateway: polled, then "still pending" with cancel-and-restart
  AWAITING_SETTLEMENT: "reference", // a Fatourati / TASHILAT reference waiting to be paid
  PAID: "receipt",
  FAILED: "failure",
  CANCELLED: "failure",
  EXPIRED: "failure",
  NEEDS_REVIEW: "failure", // money may be held: no retry, the operations team settles it
  REVERSED: "failure", // final: the money was returned (void, refund or by hand); no invoice paid, no retry
};
export const KNOWN_STATUSES = Object.keys(SCREEN_OF);

/**
 * A payment as read -> {screen} | {screen: "status", poll: true} | {screen: "failure", kind}.
 * A PENDING payment with a last_error was declined at the gateway (kind DECLINED); an unknown status is FAILED.
 */
export function paymentScreen(payment) {
  const status = payment?.status;
  if (status === "PENDING") return payment.last_error ? { screen: "failure", kind: "DECLINED" } : { screen: "status", poll: true };
  const screen = SCREEN_OF[status] || "failure";
  return screen === "failure" ? { screen, kind: SCREEN_OF[status] ? status : "FAILED" } : { screen };
}

/** An error reading a payment -> "not-found" (its failure screen), "retry" (poll again while time remains) or "error". */
export function readError(error) {
  if (error instanceof HttpError && error.status === 404) return "not-found";
  if (error instanceof NetworkError || (error instanceof HttpError && error.status === 429)) return "retry";
  return "error";
}

/** A payment just created -> "redirect" (to its gateway's page), "reference" (shown at once) or "track". */
export function afterCreation(payment) {
  if (payment.redirect?.url) return "redirect";
  if (payment.reference?.code) return "reference";
  return "track";
}

/** Which reference a payment has: TASHILAT's, or Fatourati's (any other method). */
export const referenceKind = (payment) => (payment?.method === "TASHILAT" ? "TASHILAT" : "FATOURATI");

/** The status screen: "checking" (polling), "pending" (time is up, still at the gateway) or "error" (reading failed). */
export function statusView(view) {
  const messageKey = { checking: "status.checking", pending: "status.stillPending" }[view] || null;
  return { busy: view === "checking", messageKey, actions: view !== "checking", cancel: view === "pending" };
}

/**
 * "Annuler et choisir un autre moyen" on the status screen: offered at once while the payment is still at its gateway
 * (a payer back from the gateway's page without paying), when this tab knows the invoices to pay again.
 */
export const changeMethodOffered = (view, selectionSize) => selectionSize > 0 && (view === "checking" || view === "pending");

/**
 * Whether the selection this tab kept is what `payment` was for (its invoices, when the answer lists them): only then
 * is it offered again (a payment opened from its link in a tab that selected other invoices is not).
 */
export function selectionOf(payment, selectedIds) {
  const selected = [...selectedIds];
  if (!selected.length) return false;
  const listed = Array.isArray(payment?.invoices) ? payment.invoices.map((invoice) => invoice?.invoice_id) : null;
  if (!listed) return true;
  return listed.length === selected.length && listed.every((id) => selected.includes(id));
}

/** The `reversal.reason` the API records when a payment's invoices had been paid by another payment. */
export const PAID_ELSEWHERE = "INVOICES_PAID_ELSEWHERE";

/**
 * The failure screen of a kind (a payment status, DECLINED or NOT_FOUND) -> {titleKey, messageKey, returnedKey (how
 * the money went back, or null), help (the assistance's contacts in the screen), reason (the last_error's line), retry}.
 * A REVERSED payment is told by its `reversal`: why it paid nothing (its invoices paid by another payment, when the
 * API says so), then how the money came back (each action of the contract; a sentence that fits any, otherwise).
 */
export function failureView(kind, reversal = null) {
  if (kind === "REVERSED") {
    const action = REVERSAL_ACTIONS.includes(reversal?.action) ? reversal.action : null;
    return {
      titleKey: "failure.titleReversed",
      messageKey: reversal?.reason === PAID_ELSEWHERE ? "failure.REVERSED.paidElsewhere" : "failure.REVERSED",
      returnedKey: action ? `failure.returned.${action}` : "failure.returned",
      help: true,
      // A decline the payer met before paying says nothing of what happened to the money since.
      reason: false,
      retry: false, // final: the invoices are paid by another payment, or a new search shows what is left
    };
  }
  return {
    titleKey: kind === "NEEDS_REVIEW" ? "failure.titleReview" : "failure.title",
    messageKey: `failure.${kind}`,
    returnedKey: null,
    help: false,
    reason: true,
    // Paying again while the platform holds money for these invoices would charge the payer twice.
    retry: kind !== "NEEDS_REVIEW" && kind !== "NOT_FOUND",
  };
}

/** A payment's last_error as one line (the API sends a string; older shapes were objects). */
export function lastErrorText(lastError) {
  if (!lastError) return "";
  if (typeof lastError === "string") return lastError;
  return lastError.message || lastError.detail || lastError.reason || lastError.code || "";
}

/**
 * A payment's last_error as a reason the page words in the payer's language -> {key, vars} (a `reason.*` message),
 * or null for a text it does not recognise (shown as received). The API stores what the gateway reported
 * (layers/common/epay/error_catalogue.py): "CMI 05: <the gateway's own message>" for a declined card, "M2T FAILED"
 * (CANCELLED, EXPIRED) for a payment the gateway ended.
 */
export function gatewayReason(lastError) {
  const text = lastErrorText(lastError);
  const declined = /^[A-Z][A-Z0-9]* ([A-Za-z0-9]+):/.exec(text);
  if (declined) return { key: "reason.CARD_DECLINED", vars: { code: declined[1] } };
  const ended = /^([A-Z][A-Z0-9]*) (FAILED|CANCELLED|EXPIRED)$/.exec(text);
  if (ended) return { key: `reason.${ended[2]}`, vars: { gateway: ended[1] } };
  return null;
}

/**
 * What the failure screen says of a payment's last_error -> null (none), or {key, vars} of a plain sentence in the
 * payer's language (the gateway's reason when the page knows it, else a general one) and `code`: the gateway's
 * code as stored ("CMI 05", "M2T FAILED"; an unknown text as received, cut short), shown small for the support.
 */
export function failureReason(lastError) {
  const text = lastErrorText(lastError).trim();
  if (!text) return null;
  const known = gatewayReason(text);
  const declined = /^([A-Z][A-Z0-9]* [A-Za-z0-9]+):/.exec(text);
  const code = declined ? declined[1] : text.length > 60 ? `${text.slice(0, 59)}…` : text;
  return known ? { ...known, code } : { key: "failure.reasonUnknown", vars: {}, code };
}

/**
 * Where the page opens: the payment of `?payment=<id>`, else the one this tab left to pay at its gateway (back by
 * the gateway's "return to the merchant" link, CMI's shopurl, which names no payment), else the consultation; a
 * receipt's verification (`?verify=<code>`) is opened as it is.
 * -> {paymentId (null: consultation), url: "keep" | "set" (to ?payment=<id>) | "clear"}.
 */
export function landing(query, trip) {
  const params = new URLSearchParams(query);
  if (params.has("verify")) return { paymentId: null, url: "keep" }; // a receipt's QR code: never taken over by a trip
  const named = params.get("payment");
  if (named === null && isPaymentId(trip)) return { paymentId: trip, url: "set" };
  if (named !== null && isPaymentId(named)) return { paymentId: named, url: "keep" };
  return { paymentId: null, url: named === null ? "keep" : "clear" };
}
