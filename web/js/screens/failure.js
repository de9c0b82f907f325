// A payment that did not go through (failed, declined, cancelled, expired, unknown) or that needs review.

import { $ } from "../dom.js";
import { registerScreen } from "../router.js";
import { state } from "../state.js";
import { failureView, gatewayReason, lastErrorText } from "../status.js";
import { bdi, fill, t } from "../text.js";
import { startOver } from "./tracking.js";

function renderFailure() {
  const kind = state.failureKind;
  const view = failureView(kind);
  const message = $("#failure-message");
  message.dataset.status = kind;
  $("#failure-title").textContent = t(view.titleKey);
  $("span", message).textContent = t(view.messageKey);
  // The gateway's reason in the payer's language when the page knows it; else as received, isolated (<bdi>).
  const received = lastErrorText(state.payment?.last_error);
  const reason = gatewayReason(state.payment?.last_error);
  const shown = reason ? t(reason.key, reason.vars) : bdi(received);
  $("#failure-reason").hidden = !received;
  if (received) fill($("#failure-reason"), "failure.reason", { reason: shown });
  else $("#failure-reason").replaceChildren();
  if (state.paymentId) fill($("#failure-payment-id"), "status.paymentId", { id: bdi(state.paymentId) });
  else $("#failure-payment-id").replaceChildren();
  $("#failure-retry").hidden = !view.retry;
}

export function wireFailure() {
  registerScreen("failure", renderFailure);
  $("#failure-retry").addEventListener("click", () => startOver($("#screen-failure")));
}
