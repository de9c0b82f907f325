// 4. Payment: the selected invoices and their total, the gateway and method, the payer; then off to the gateway.

import { createPayment } from "../backend.js";
import { HttpError, newUuid } from "../api.js";
import { $, el } from "../dom.js";
import { alertError, clearAlert, clearFieldErrors, showFieldErrors, showProblems } from "../feedback.js";
import { sumCentimes, toApiAmount, toCentimes } from "../money.js";
import { attemptFor, methodFor, methodsFor, outcomeUnknown, paymentBody } from "../requests.js";
import { busy, registerScreen, show, showPaymentUrl } from "../router.js";
import { session, state } from "../state.js";
import { afterCreation } from "../status.js";
import { amountText, fill, formatDate, issuerText, money, problemText, t } from "../text.js";
import { submitKey } from "../methods.js";
import { rememberPayer } from "../receipts.js";
import { checkPayer, isPaymentId } from "../validation.js";
import { loadPage } from "./results.js";
import { trackPayment } from "./tracking.js";

const chosenGateway = () => $("input[name=gateway]:checked").value;

function renderPayment() {
  const invoices = [...state.selection.values()];
  const issuer = invoices[0]?.issuer;
  if (issuer) fill($("#payment-issuer"), "payment.issuer", { issuer: issuerText(issuer) });
  $("#payment-invoices tbody").replaceChildren(
    ...invoices.map((invoice) =>
      el(
        "tr",
        { "data-invoice-id": invoice.invoice_id },
        el("td", { "data-label": t("col.number"), dir: "ltr" }, invoice.invoice_number),
        el("td", { "data-label": t("col.due") }, formatDate(invoice.due_date)),
        amountText(el("td", { class: "num", "data-label": t("col.amount") }), invoice.amount),
      ),
    ),
  );
  const centimes = sumCentimes(invoices.map((invoice) => toCentimes(invoice.amount)));
  const total = $("#payment-total");
  total.dataset.amount = toApiAmount(centimes);
  total.textContent = t("payment.total", { amount: money(centimes) });
  renderMethods();
}

/** The button says what it does: "Payer 2 500,00 MAD", or "Obtenir la référence" for Fatourati and TASHILAT. */
function renderSubmit() {
  const total = $("#payment-total").dataset.amount || "0.00";
  const method = $("input[name=method]:checked")?.value;
  $("#pay-submit").textContent = t(submitKey(method), { amount: money(toCentimes(total)) });
}

/** The chosen gateway's methods (the contract's), the method chosen before kept when this gateway offers it. */
function renderMethods() {
  const gateway = chosenGateway();
  const chosen = methodFor(gateway, state.method);
  state.method = chosen;
  $("#method-options").replaceChildren(
    ...methodsFor(gateway).map((method) =>
      el(
        "div",
        { class: "choice" },
        el("input", {
          type: "radio", name: "method", id: `method-${method}`, value: method,
          checked: method === chosen, "aria-describedby": `method-${method}-hint`,
        }),
        el("label", { for: `method-${method}` }, t(`method.${method}`)),
        el("p", { class: "hint", id: `method-${method}-hint` }, t(`hint.${gateway}.${method}`)),
      ),
    ),
  );
  renderSubmit();
}

async function onPaymentSubmit(event) {
  event.preventDefault();
  const form = event.currentTarget;
  clearAlert();
  clearFieldErrors(form);
  if (!state.selection.size) {
    show("results");
    return;
  }
  const { problems, ...payer } = checkPayer({
    name: $("#payer-name").value, email: $("#payer-email").value, phone: $("#payer-phone").value,
  });
  if (showProblems(problems)) return;
  session.savePayer({
    name: $("#payer-name").value, email: $("#payer-email").value, phone: $("#payer-phone").value,
    gateway: chosenGateway(), method: $("input[name=method]:checked").value,
  });

  const body = paymentBody({
    code: state.code,
    invoiceIds: state.selection.keys(),
    gateway: chosenGateway(),
    method: $("input[name=method]:checked").value,
    payer,
    lang: state.lang,
  });
  state.attempt = attemptFor(state.attempt, body, newUuid);
  await busy(form, async (status) => {
    let payment;
    try {
      payment = await createPayment(body, state.attempt.key);
    } catch (error) {
      // Same body re-sent after a lost answer: same key, so the server replays instead of paying twice.
      if (!outcomeUnknown(error)) state.attempt = null;
      onPaymentError(error);
      return;
    }
    state.attempt = null;
    await paymentCreated(payment, status, payer);
  });
}

// A payer's field the API refused: the input, and what the page says of it (not the API's general sentence).
const PAYER_FIELDS = {
  "payer.name": ["payer-name", "payer.nameInvalid"],
  "payer.email": ["payer-email", "payer.emailInvalid"],
  "payer.phone": ["payer-phone", "payer.phoneInvalid"],
};

function onPaymentError(error) {
  const problem = error instanceof HttpError ? error.problem : {};
  const problems = (Array.isArray(problem.errors) ? problem.errors : [])
    .filter((entry) => PAYER_FIELDS[entry?.field])
    .map((entry) => [PAYER_FIELDS[entry.field][0], t(PAYER_FIELDS[entry.field][1])]);
  if (problems.length && showFieldErrors(problems.slice(0, 1))) return;
  if (problem.code === "INVOICE_NOT_PAYABLE") {
    const named = JSON.stringify(problem.errors || []);
    const before = state.selection.size;
    for (const id of [...state.selection.keys()]) if (named.includes(id)) state.selection.delete(id);
    renderPayment();
    if (state.selection.size < before) {
      alertError(`${problemText(error)} ${t("payment.removed")}`);
      return;
    }
  }
  alertError(problemText(error));
}

async function paymentCreated(payment, status, payer) {
  state.payment = payment;
  state.paymentId = payment.payment_id;
  session.set(state.code);
  // Its receipt names the payer, in this tab only: the API gives the payer's details back to nobody.
  if (isPaymentId(payment.payment_id)) session.savePayers(rememberPayer(session.loadPayers(), payment.payment_id, payer.name));
  if (isPaymentId(payment.payment_id)) showPaymentUrl(payment.payment_id);
  const next = afterCreation(payment);
  if (next === "redirect") {
    if (status) status.textContent = t("busy.redirect");
    if (submitRedirect(payment.redirect)) await new Promise(() => {}); // the browser is leaving: stay busy
    alertError(t("error.generic"));
    return;
  }
  if (next === "reference") show("reference");
  else trackPayment(payment.payment_id);
}

/** Posts the gateway's form (its fields signed by the API); false when its address is not http(s). */
function submitRedirect(redirect) {
  let url;
  try {
    url = new URL(redirect.url, location.href);
  } catch {
    return false;
  }
  if (!["https:", "http:"].includes(url.protocol)) return false;
  const form = el("form", {
    method: String(redirect.method || "POST").toUpperCase() === "GET" ? "get" : "post",
    action: url.href, "accept-charset": "UTF-8", hidden: true,
  });
  for (const [name, value] of Object.entries(redirect.fields || {})) {
    form.append(el("input", { type: "hidden", name, value: value === null || value === undefined ? "" : String(value) }));
  }
  document.body.append(form);
  state.redirected = true;
  if (isPaymentId(state.paymentId)) session.setTrip(state.paymentId);
  form.submit();
  return true;
}

/** The payment screen again after an attempt: the payer's details and the means chosen as this tab last sent them. */
export function showPaymentAgain({ replace = false } = {}) {
  const saved = session.loadPayer();
  if (saved && typeof saved === "object") {
    const put = (id, value) => { if (typeof value === "string" && !$(id).value) $(id).value = value; };
    put("#payer-name", saved.name);
    put("#payer-email", saved.email);
    put("#payer-phone", saved.phone);
    const gateway = document.getElementById(`gateway-${saved.gateway}`);
    if (gateway) gateway.checked = true;
    if (typeof saved.method === "string") state.method = saved.method;
  }
  show("payment", { replace });
}

/** "Retour aux factures": the page reloaded first, as statuses may have changed while the payer was here. */
export async function backToResults() {
  await busy($("#payment-form"), async () => {
    try {
      await loadPage(state.page);
    } catch {
      /* keep showing the page we have; the pager recovers from an expired cursor */
    }
  });
  if (state.items.length || state.page > 0) show("results");
  else {
    state.emptyKey = "empty.message";
    show("empty");
  }
}

export function wirePayment() {
  registerScreen("payment", renderPayment);
  $("#gateway-group").addEventListener("change", renderMethods);
  $("#method-options").addEventListener("change", (event) => {
    state.method = event.target.value;
    renderSubmit();
  });
  $("#payment-form").addEventListener("submit", onPaymentSubmit);
}
