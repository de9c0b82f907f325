// A payment that did not go through (failed, declined, cancelled, expired, unknown) or that needs review.

import { $ } from "../dom.js";
import { registerScreen } from "../router.js";
import { state } from "../state.js";
import { failureReason, failureView } from "../status.js";
import { bdi, fill, t } from "../text.js";
import { retryPayment } from "./tracking.js";

function renderFailure() {
  const kind = state.failureKind;
  const view = failureView(kind);
  const message = $("#failure-message");
  message.dataset.status = kind;
  $("#failure-title").textContent = t(view.titleKey);
  $("span", message).textContent = t(view.messageKey);
  // Always a plain sentence in the payer's language; the gateway's own code only small, for the support.
  const reason = failureReason(state.payment?.last_error);
  $("#failure-reason").hidden = !reason;
  $("#failure-code").hidden = !reason;
  if (reason) {
    fill($("#failure-reason"), "failure.reason", { reason: t(reason.key, reason.vars) });
    fill($("#failure-code"), "failure.code", { code: bdi(reason.code) });
  } else {
    $("#failure-reason").replaceChildren();
    $("#failure-code").replaceChildren();
  }
  if (state.paymentId) fill($("#failure-payment-id"), "status.paymentId", { id: bdi(state.paymentId) });
  else $("#failure-payment-id").replaceChildren();
  $("#failure-retry").hidden = !view.retry;
}

export function wireFailure() {
  registerScreen("failure", renderFailure);
  $("#failure-retry").addEventListener("click", () => retryPayment($("#screen-failure")));
}
