// The receipt of a PAID payment: its invoices and total, who paid for whom (when known), issuer, gateway, method,
// the gateway's transaction, the date in Morocco's time, the payment id, the code that verifies it; its PDF; printable.

import { apiUrl } from "../backend.js";
import { $, el } from "../dom.js";
import { MOROCCO, utcOffset } from "../dates.js";
import { groupReceiptCode, isReceiptCode, normaliseReceiptCode, receiptParties, receiptPdfPath } from "../receipts.js";
import { registerScreen } from "../router.js";
import { session, state } from "../state.js";
import { amountText, bdi, fill, formatInstant, idText, issuerText, t } from "../text.js";

/** An instant as a receipt states it: the date and time in Morocco, saying so ("… (heure du Maroc, UTC+1)"). */
export function paidAtText(node, iso) {
  const paid = formatInstant(iso, MOROCCO);
  const offset = utcOffset(iso);
  if (!paid.time || !offset) {
    node.textContent = paid.date;
    return node;
  }
  return fill(node, "receipt.paidAtValue", {
    date: paid.date, time: paid.time, zone: fill(el("span"), "receipt.zone", { offset: bdi(offset) }),
  });
}

/** A line of the receipt's details: shown with its value, or hidden when the value is not known. */
function detail(rowId, valueId, value) {
  $(rowId).hidden = !value;
  $(valueId).replaceChildren(value || "");
}

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
  const { operator, payer } = receiptParties(payment, session.loadPayers());
  detail("#receipt-operator-row", "#receipt-operator", operator && bdi(operator));
  detail("#receipt-payer-row", "#receipt-payer", payer && bdi(payer));
  $("#receipt-issuer").replaceChildren(payment.issuer ? issuerText(payment.issuer) : "—");
  $("#receipt-gateway").replaceChildren(payment.gateway ? bdi(t(`gw.${payment.gateway}`)) : "—");
  $("#receipt-method").textContent = payment.method ? t(`method.${payment.method}`) : "—";
  $("#receipt-transaction").replaceChildren(payment.gateway_transaction_id ? idText(payment.gateway_transaction_id) : "—");
  paidAtText($("#receipt-paid-at"), payment.paid_at);
  $("#receipt-paid-at").dataset.paidAt = payment.paid_at || "";
  $("#receipt-payment-id").replaceChildren(idText(payment.payment_id || state.paymentId || ""));

  // The code that proves the receipt (null until PAID, or from an API without receipts): with it, the PDF.
  const code = normaliseReceiptCode(payment.receipt_code);
  const known = isReceiptCode(code);
  $("#receipt-code-row").hidden = !known;
  $("#receipt-code").dataset.code = known ? code : "";
  $("#receipt-code").replaceChildren(known ? idText(groupReceiptCode(code)) : "");
  $("#receipt-verify").hidden = !known;
  if (known) {
    const link = el("a", { href: `?verify=${encodeURIComponent(code)}` }, t("receipt.verifyLink"));
    fill($("#receipt-verify"), "receipt.verify", { link });
  } else {
    $("#receipt-verify").replaceChildren();
  }
  const pdf = known ? receiptPdfPath(payment.payment_id || state.paymentId, state.lang) : null;
  $("#receipt-pdf").hidden = !pdf;
  $("#receipt-pdf").setAttribute("href", pdf ? apiUrl(pdf) : "#");
}

export function wireReceipt() {
  registerScreen("receipt", renderReceipt);
  $("#receipt-print").addEventListener("click", () => window.print());
}
