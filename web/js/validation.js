// What the payer typed, checked as the API will check it (the patterns are the contract's, web/js/contract.js).
// Pure: no DOM. A problem is [input id, i18n key]; the screens put the message under that input.

import { PATTERNS } from "./contract.js";
import { asciiDigits, parseUserDate } from "./dates.js";
import { parseUserAmount, toCentimes } from "./money.js";

/** Subscription codes are case-insensitive: the page shows and sends them upper-cased. */
export const normaliseCode = (text) => asciiDigits(text).trim().toUpperCase();

export const isPaymentId = (text) => PATTERNS.paymentId.test(text || "");

/** The consultation form: {code, number} as typed -> {code, number, problems}. */
export function checkSearch({ code, number }) {
  const values = { code: normaliseCode(code), number: asciiDigits(number).trim() };
  const problems = [];
  if (!values.code) problems.push(["subscription-code", "search.codeRequired"]);
  else if (!PATTERNS.subscriptionCode.test(values.code)) problems.push(["subscription-code", "search.codeInvalid"]);
  if (values.number && !PATTERNS.invoiceNumber.test(values.number)) {
    problems.push(["invoice-number", "search.numberInvalid"]);
  }
  return { ...values, problems };
}

/** The results' filters as typed -> {filters (the request's), problems}. Empty fields filter nothing. */
export function checkFilters({ issuer = "", from = "", to = "", min = "", max = "", text = "" }) {
  const value = (typed) => asciiDigits(typed).trim();
  const filters = {};
  const problems = [];
  const code = value(issuer).toUpperCase();
  if (code && !PATTERNS.issuerCode.test(code)) problems.push(["filter-issuer", "filters.badIssuer"]);
  else if (code) filters.issuer = code;
  for (const [id, typed, key] of [["filter-from", from, "issued_from"], ["filter-to", to, "issued_to"]]) {
    const day = parseUserDate(typed);
    if (day === null) problems.push([id, "filters.badDate"]);
    else if (day) filters[key] = day;
  }
  if (filters.issued_from && filters.issued_to && filters.issued_from > filters.issued_to) {
    problems.push(["filter-to", "filters.badDates"]);
  }
  for (const [id, typed, key] of [["filter-min", min, "min_amount"], ["filter-max", max, "max_amount"]]) {
    if (!value(typed)) continue;
    const amount = parseUserAmount(value(typed));
    if (amount === null) problems.push([id, "filters.badAmount"]);
    else filters[key] = amount;
  }
  if (filters.min_amount && filters.max_amount && toCentimes(filters.min_amount) > toCentimes(filters.max_amount)) {
    problems.push(["filter-max", "filters.badAmounts"]);
  }
  if (value(text)) filters.text = value(text);
  return { filters, problems };
}

/** The payer's details as typed -> {name, email, phone (trimmed), problems}. */
export function checkPayer({ name, email, phone }) {
  const values = { name: String(name).trim(), email: String(email).trim(), phone: asciiDigits(phone).trim() };
  const problems = [];
  if (!values.name) problems.push(["payer-name", "payer.nameRequired"]);
  if (!values.email) problems.push(["payer-email", "payer.emailRequired"]);
  else if (!PATTERNS.email.test(values.email)) problems.push(["payer-email", "payer.emailInvalid"]);
  if (values.phone && !PATTERNS.phone.test(values.phone)) problems.push(["payer-phone", "payer.phoneInvalid"]);
  return { ...values, problems };
}
