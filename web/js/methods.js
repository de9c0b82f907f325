// What each means of payment gives the payer, and how the page writes it: pure, so that node tests it.

import { METHODS } from "./contract.js";

/**
 * The methods that give a reference to pay elsewhere (a bank's Fatourati, a TASHILAT agency) instead of a gateway page.
 * The generated contract lists the methods but does not say which give a reference: their names do.
 */
export const REFERENCE_METHODS = Object.freeze(
  [...new Set(Object.values(METHODS).flat())].filter((method) => ["FATOURATI", "TASHILAT"].includes(method)),
);

export const givesReference = (method) => REFERENCE_METHODS.includes(method);

/** The payment button: "Obtenir la référence" for a reference, else "Payer" with the amount ({amount} in the text). */
export const submitKey = (method) => (givesReference(method) ? "pay.reference" : "pay.amount");

/** A reference as the payer reads it: its digits in groups of 4 ("1234 5678 9012"); any other code as it is. */
export function groupReference(code) {
  const text = String(code ?? "");
  return /^\d{5,}$/.test(text) ? text.match(/\d{1,4}/g).join(" ") : text;
}
