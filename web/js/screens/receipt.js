// The receipt of a PAID payment: its invoices and total, issuer, gateway, method, transaction, date; printable.

import { $, el } from "../dom.js";
import { registerScreen } from "../router.js";
import { state } from "../state.js";
import { amountText, bdi, formatInstant, issuerText, t } from "../text.js";

function renderReceipt() {
  const payment = state.payment || {};
  $("#receipt-invoices tbody").replaceChildren(
    ...(payment.invoices || []).map((invoice) =>
      el(
        "tr",
        { "data-invoice-id": invoice.invoice_id },
        el("td", { dir: "ltr" }, invoice.invoice_number),
        amountText(el("td", { class: "num" }), invoice.amount),
      ),
    ),
  );
  amountText($("#receipt-total"), payment.amount);
  $("#receipt-issuer").replaceChildren(payment.issuer ? issuerText(payment.issuer) : "—");
  $("#receipt-gateway").replaceChildren(payment.gateway ? bdi(t(`gw.${payment.gateway}`)) : "—");
  $("#receipt-method").textContent = payment.method ? t(`method.${payment.method}`) : "—";
  $("#receipt-transaction").textContent = payment.gateway_transaction_id || "—";
  const paid = formatInstant(payment.paid_at);
  $("#receipt-paid-at").textContent = `${paid.date} ${paid.time}`.trim();
  $("#receipt-paid-at").dataset.paidAt = payment.paid_at || "";
  $("#receipt-payment-id").textContent = payment.payment_id || state.paymentId || "";
}

export function wireReceipt() {
  registerScreen("receipt", renderReceipt);
  $("#receipt-print").addEventListener("click", () => window.print());
}
