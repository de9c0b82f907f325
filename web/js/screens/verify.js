// "Vérifier un reçu": a receipt code (typed, or from the address ?verify=<code> that a receipt's QR code opens)
// checked with the API's public GET /v1/receipts/{code}: genuine (PAID, or REVERSED: its money went back, so it paid
// nothing) or unknown, and what the receipt proves. The code is no secret, but it is never logged or stored.

import { HttpError } from "../api.js";
import { readReceipt } from "../backend.js";
import { $, el, icon } from "../dom.js";
import { alertError, clearAlert, clearFieldErrors, showFieldErrors } from "../feedback.js";
import { checkReceiptCode, groupReceiptCode, receiptOutcome, verifyView } from "../receipts.js";
import { busy, registerScreen, show } from "../router.js";
import { state } from "../state.js";
import { amountText, bdi, fill, idText, issuerText, problemText, t } from "../text.js";
import { paidAtText } from "./receipt.js";

const input = () => $("#receipt-code-input");
let asking = 0;

/**
 * Opens the verification: its empty form (code ""), or the outcome for `code` (asked of the API unless malformed).
 * `replace`: the address is replaced rather than pushed (a reload, Back or Forward).
 */
export async function openVerify(code, { focus = true, replace = false } = {}) {
  const ask = ++asking;
  clearFieldErrors($("#verify-form"));
  const checked = checkReceiptCode(code);
  state.verify = { code: code ? checked.code : "", outcome: "form", receipt: null };
  input().value = code ? groupReceiptCode(checked.code) : "";
  if (!code) return show("verify", { focus, replace });
  if (checked.problem) {
    state.verify = { code: String(code), outcome: "invalid", receipt: null };
    show("verify", { focus: false, replace });
    showFieldErrors([[input().id, t(checked.problem)]]);
    return undefined;
  }
  show("verify", { focus: false, replace });
  await busy($("#verify-form"), async () => {
    let receipt = null;
    let outcome;
    try {
      receipt = await readReceipt(checked.code);
      outcome = receiptOutcome(receipt);
    } catch (error) {
      if (ask !== asking) return;
      if (error instanceof HttpError && error.status === 404) outcome = "not-found";
      else {
        state.verify = { code: checked.code, outcome: "error", receipt: null };
        renderVerify();
        alertError(problemText(error));
        return;
      }
    }
    if (ask !== asking) return;
    state.verify = { code: checked.code, outcome, receipt };
    renderVerify();
  });
  if (focus && ask === asking && !$("#verify-result").hidden) $("#verify-message").focus();
  return undefined;
}

function message(view) {
  const node = $("#verify-message");
  const tone = { ok: "msg-success", warning: "msg-warning", error: "msg-error" }[view.tone];
  node.className = `msg ${tone || ""}`.trim();
  node.dataset.outcome = state.verify.outcome;
  const mark = { ok: "i-ok", warning: "i-info", error: "i-error" }[view.tone];
  node.replaceChildren(...(mark ? [icon(mark)] : []), el("span", {}, t(view.messageKey)));
}

function renderVerify() {
  const { outcome, receipt } = state.verify;
  const view = verifyView(outcome);
  $("#verify-result").hidden = !view.messageKey;
  if (!view.messageKey) return;
  message(view);
  $("#verify-proves").hidden = !view.provesKey;
  $("#verify-proves").textContent = view.provesKey ? t(view.provesKey) : "";
  $("#verify-details").hidden = !view.details;
  if (!view.details) return;
  $("#verify-invoices tbody").replaceChildren(
    ...(Array.isArray(receipt.invoices) ? receipt.invoices : []).map((invoice) =>
      el("tr", {}, el("td", { dir: "ltr" }, invoice.invoice_number), amountText(el("td", { class: "num" }), invoice.amount)),
    ),
  );
  amountText($("#verify-total"), receipt.amount);
  $("#verify-issuer").replaceChildren(receipt.issuer?.name ? issuerText(receipt.issuer) : "—");
  paidAtText($("#verify-paid-at"), receipt.paid_at);
  $("#verify-gateway").replaceChildren(receipt.gateway ? bdi(t(`gw.${receipt.gateway}`)) : "—");
  $("#verify-method").textContent = receipt.method ? t(`method.${receipt.method}`) : "—";
  $("#verify-payment-id").replaceChildren(idText(receipt.payment_id || "—"));
  $("#verify-code").replaceChildren(idText(groupReceiptCode(receipt.receipt_code || state.verify.code)));
}

async function onVerifySubmit(event) {
  event.preventDefault();
  clearAlert();
  const typed = input().value;
  const { problem } = checkReceiptCode(typed);
  if (problem) {
    clearFieldErrors($("#verify-form"));
    state.verify = { code: "", outcome: "form", receipt: null };
    renderVerify();
    showFieldErrors([[input().id, t(problem)]]);
    return;
  }
  await openVerify(typed);
}

/** A plain click on a link to the verification (?view=verify, ?verify=<code>) opens it here, in this page. */
function onVerifyLink(event) {
  const link = event.target.closest("a[href]");
  if (!link || event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
  const params = new URLSearchParams(link.getAttribute("href").replace(/^[^?]*/, ""));
  if (!link.getAttribute("href").startsWith("?") || !(params.has("verify") || params.get("view") === "verify")) return;
  event.preventDefault();
  openVerify(params.get("verify") || "");
}

export function wireVerify() {
  registerScreen("verify", renderVerify);
  $("#verify-form").addEventListener("submit", onVerifySubmit);
  document.addEventListener("click", onVerifyLink);
}
