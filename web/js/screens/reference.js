// A Fatourati or TASHILAT reference: the code to pay with (copyable), its amount, until when, and how to pay it.

import { $, el, icon } from "../dom.js";
import { groupReference } from "../methods.js";
import { registerScreen, show } from "../router.js";
import { state } from "../state.js";
import { referenceKind } from "../status.js";
import { amountText, fill, formatInstant, idText, t } from "../text.js";
import { cancelPayment, trackPayment } from "./tracking.js";

function renderReference() {
  const payment = state.payment || {};
  const reference = payment.reference || {};
  const kind = referenceKind(payment);
  $("#reference-label").textContent = t(`reference.label.${kind}`);
  const code = $("#reference-code");
  // Read in groups of 4 ("1234 5678 9012"); typed, and copied, as the digits alone (data-reference).
  code.textContent = groupReference(reference.code || "");
  code.dataset.reference = reference.code || "";
  const amount = $("#reference-amount");
  amountText(amount, payment.amount);
  if (amount.dataset.amount) amount.textContent = t("reference.amount", { amount: amount.textContent });
  $("#reference-expiry span").textContent = t("reference.expires", formatInstant(reference.expires_at || payment.expires_at));
  $("#reference-steps").replaceChildren(...t(`reference.steps.${kind}`).map((step) => el("li", {}, step)));
  // The payment id is not a reference to type: shown apart, as the number to give support.
  fill($("#reference-payment-id"), "reference.support", { id: idText(payment.payment_id || state.paymentId || "") });
  $("#copy-feedback").textContent = "";
}

async function copyReference() {
  const code = $("#reference-code").dataset.reference;
  const feedback = $("#copy-feedback");
  let copied = false;
  try {
    await navigator.clipboard.writeText(code);
    copied = true;
  } catch {
    const area = el("textarea", { readonly: true, class: "offscreen", "aria-hidden": "true" });
    area.value = code;
    document.body.append(area);
    area.select();
    try { copied = document.execCommand("copy"); } catch { copied = false; }
    area.remove();
    $("#reference-copy").focus();
  }
  feedback.classList.toggle("is-error", !copied);
  if (copied) {
    feedback.replaceChildren(icon("i-ok"), el("span", {}, t("reference.copied")));
  } else {
    feedback.textContent = t("reference.copyFailed");
    getSelection().selectAllChildren($("#reference-code"));
  }
}

export function wireReference() {
  registerScreen("reference", renderReference);
  $("#reference-copy").addEventListener("click", copyReference);
  $("#reference-check").addEventListener("click", () => trackPayment(state.paymentId));
  // The question in a dialog whose buttons say what they do: the browser's confirm() would answer it with
  // "OK / Annuler", where « Annuler » means keeping the reference.
  const dialog = $("#cancel-dialog");
  $("#reference-cancel").addEventListener("click", () => {
    dialog.returnValue = "";
    dialog.showModal();
  });
  dialog.addEventListener("close", async () => {
    if (dialog.returnValue !== "cancel") {
      $("#reference-cancel").focus();
      return;
    }
    if (await cancelPayment($("#screen-reference"))) {
      state.failureKind = "CANCELLED";
      show("failure");
    }
  });
}
