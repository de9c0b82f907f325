// A payment that did not go through (failed, declined, cancelled, expired, unknown), that needs review, or whose
// money was returned (reversed).

import { $, el } from "../dom.js";
import { registerScreen } from "../router.js";
import { state } from "../state.js";
import { failureReason, failureView } from "../status.js";
import { bdi, fill, idText, t } from "../text.js";
import { retryPayment } from "./tracking.js";

/** The assistance's contacts, as the page's "Besoin d'aide ?" gives them (one place for the link and the number). */
function assistanceLinks() {
  const claims = $("#help-claims");
  const phone = $("#help-phone");
  return {
    claims: el("a", { href: claims.getAttribute("href"), target: "_blank", rel: "noopener" }, t("help.claims")),
    phone: el("a", { href: phone.getAttribute("href"), dir: "ltr" }, phone.textContent),
  };
}

function renderFailure() {
  const kind = state.failureKind;
  const view = failureView(kind, state.payment?.reversal);
  const message = $("#failure-message");
  message.dataset.status = kind;
  $("#failure-title").textContent = t(view.titleKey);
  $("span", message).textContent = t(view.messageKey);
  $("#failure-returned").hidden = !view.returnedKey;
  $("#failure-returned").textContent = view.returnedKey ? t(view.returnedKey) : "";
  $("#failure-help").hidden = !view.help;
  if (view.help) fill($("#failure-help"), "failure.help", assistanceLinks());
  else $("#failure-help").replaceChildren();
  // Always a plain sentence in the payer's language; the gateway's own code only small, for the support.
  const reason = view.reason ? failureReason(state.payment?.last_error) : null;
  $("#failure-reason").hidden = !reason;
  $("#failure-code").hidden = !reason;
  if (reason) {
    fill($("#failure-reason"), "failure.reason", { reason: t(reason.key, reason.vars) });
    fill($("#failure-code"), "failure.code", { code: bdi(reason.code) });
  } else {
    $("#failure-reason").replaceChildren();
    $("#failure-code").replaceChildren();
  }
  if (state.paymentId) fill($("#failure-payment-id"), "status.paymentId", { id: idText(state.paymentId) });
  else $("#failure-payment-id").replaceChildren();
  $("#failure-retry").hidden = !view.retry;
}

export function wireFailure() {
  registerScreen("failure", renderFailure);
  $("#failure-retry").addEventListener("click", () => retryPayment($("#screen-failure")));
}
