// 5. Return from the gateway: the payment read (polled while it is PENDING) until a screen can tell its outcome.
// Also cancelling a payment, and starting over after one (shared by the reference, status and failure screens).

import { cancelPayment as cancelOnServer, readPayment } from "../backend.js";
import { HttpError, retryAfterSeconds } from "../api.js";
import { $, sleep } from "../dom.js";
import { alertError } from "../feedback.js";
import { busy, registerScreen, render, show } from "../router.js";
import { POLL_LIMIT_MS, POLL_MS, state } from "../state.js";
import { changeMethodOffered, paymentScreen, readError, selectionOf, statusView } from "../status.js";
import { fill, idText, problemText, t } from "../text.js";
import { showPaymentAgain } from "./payment.js";
import { searchAgain } from "./search.js";

/** Shows payment `id` where it stands: polled every POLL_MS for up to POLL_LIMIT_MS while still at the gateway. */
export async function trackPayment(id, { focus = true } = {}) {
  const token = ++state.pollToken;
  state.paymentId = id;
  state.statusView = "checking";
  show("status", { focus });
  const started = Date.now();
  const stillTime = () => Date.now() - started < POLL_LIMIT_MS;
  for (;;) {
    let payment;
    try {
      payment = await readPayment(id);
    } catch (error) {
      if (token !== state.pollToken) return;
      const next = readError(error);
      if (next === "not-found") {
        state.payment = null;
        state.failureKind = "NOT_FOUND";
        show("failure");
        return;
      }
      if (next === "retry" && stillTime()) {
        await sleep(Math.max(POLL_MS, (retryAfterSeconds(error.retryAfter) || 0) * 1000));
        if (token !== state.pollToken) return;
        continue;
      }
      state.statusView = "error";
      render("status");
      alertError(problemText(error));
      return;
    }
    if (token !== state.pollToken) return;
    state.payment = payment;
    const { screen, poll, kind } = paymentScreen(payment);
    if (poll) {
      if (stillTime()) {
        await sleep(POLL_MS);
        if (token !== state.pollToken) return;
        continue;
      }
      state.statusView = "pending";
      render("status");
      return;
    }
    if (kind) state.failureKind = kind;
    return show(screen);
  }
}

function renderStatus() {
  const view = statusView(state.statusView);
  const message = $("#status-message");
  message.classList.toggle("is-busy", view.busy);
  message.textContent = view.messageKey ? t(view.messageKey) : "";
  fill($("#status-payment-id"), "status.paymentId", { id: idText(state.paymentId || "") });
  const known = selectionOf(state.payment, state.selection.keys()) ? state.selection.size : 0;
  const change = changeMethodOffered(state.statusView, known);
  $("#status-actions").hidden = !view.actions && !change;
  $("#status-refresh").hidden = !view.actions;
  $("#status-cancel").hidden = !view.cancel || change;
  $("#status-change").hidden = !change;
}

/** Cancels the payment followed, busy in `container`: true when cancelled (else its state, or why not, shown). */
export async function cancelPayment(container) {
  const id = state.paymentId;
  return busy(container, async () => {
    try {
      state.payment = await cancelOnServer(id);
      return true;
    } catch (error) {
      if (error instanceof HttpError && error.problem.code === "PAYMENT_NOT_CANCELLABLE") {
        trackPayment(id); // it moved on meanwhile (maybe paid): show where it stands
      } else {
        alertError(problemText(error));
      }
      return false;
    }
  });
}

/** "Réessayer": a payment still PENDING is cancelled first (its invoices freed), then the code is searched again. */
export async function startOver(container) {
  if (state.payment?.status === "PENDING" && !(await cancelPayment(container))) return;
  await searchAgain(container);
}

/**
 * "Réessayer" after a payment that did not go through: a payment still PENDING (declined) is cancelled first, then
 * the payment screen again with the same invoices, means of payment and payer; a new search when this tab does not
 * know the invoices (a payment opened from its link).
 */
export async function retryPayment(container) {
  if (!selectionOf(state.payment, state.selection.keys())) return startOver(container);
  if (state.payment?.status === "PENDING" && !(await cancelPayment(container))) return;
  for (const invoice of state.selection.values()) invoice.status = "UNPAID";
  showPaymentAgain();
}

export function wireTracking() {
  registerScreen("status", renderStatus);
  $("#status-refresh").addEventListener("click", () => trackPayment(state.paymentId));
  $("#status-cancel").addEventListener("click", async () => {
    if (await cancelPayment($("#screen-status"))) startOver($("#screen-failure"));
  });
  // Back from the gateway's page without paying: the payment cancelled (its invoices freed), the same invoices and
  // payer offered again with another means of payment.
  $("#status-change").addEventListener("click", async () => {
    const id = state.paymentId;
    state.pollToken++;
    if (await cancelPayment($("#screen-status"))) {
      for (const invoice of state.selection.values()) invoice.status = "UNPAID";
      showPaymentAgain();
    } else if (state.screen === "status" && state.paymentId === id && state.payment?.status === "PENDING") {
      trackPayment(id, { focus: false });
    }
  });
}
