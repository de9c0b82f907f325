// What the page says, in the payer's language (state.lang): messages, amounts, dates, API problems.
// The node-creating helpers (fill, bdi, amountText) need a document only when called.

import { MESSAGES } from "../i18n.js";
import { HttpError, NetworkError, retryAfterSeconds } from "./api.js";
import { el } from "./dom.js";
import { formatCentimes, toApiAmount, toCentimes } from "./money.js";
import { state } from "./state.js";

/** A message with its {placeholders} filled; a list (array) as it is. French when the language lacks it. */
export function t(key, vars = {}) {
  const value = MESSAGES[state.lang][key] ?? MESSAGES.fr[key] ?? key;
  if (Array.isArray(value)) return value;
  return value.replace(/\{(\w+)\}/g, (match, name) => (name in vars ? String(vars[name]) : match));
}

export const fmt = () => MESSAGES[state.lang].fmt;
export const money = (centimes) => formatCentimes(centimes, fmt());
// <bdi> keeps Latin names and codes readable inside Arabic sentences (and vice versa).
export const bdi = (text) => el("bdi", {}, text);
/** A payment id, transaction id or receipt code: isolated, left to right, never cut across two lines (styles.css). */
export const idText = (text) => el("bdi", { class: "id", dir: "ltr" }, text);
export const issuerText = (issuer) => bdi(`${issuer.name} (${issuer.code})`);

/** Like t(), into a node; a placeholder's value may be a node (e.g. <bdi>). */
export function fill(node, key, vars) {
  const template = String(MESSAGES[state.lang][key] ?? MESSAGES.fr[key]);
  node.replaceChildren(
    ...template.split(/(\{\w+\})/).map((part) => {
      const name = /^\{(\w+)\}$/.exec(part)?.[1];
      return name && name in vars ? vars[name] : part;
    }),
  );
  return node;
}

function intl(options) {
  try {
    return new Intl.DateTimeFormat(fmt().locale, options);
  } catch {
    return new Intl.DateTimeFormat("fr-FR", options);
  }
}

/** "2025-03-01" -> the language's day/month/year (the date as written, whatever the time zone). */
export function formatDate(isoDate) {
  const match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(isoDate || "");
  if (!match) return isoDate || "—";
  const day = new Date(Date.UTC(+match[1], +match[2] - 1, +match[3]));
  return intl({ timeZone: "UTC", day: "2-digit", month: "2-digit", year: "numeric" }).format(day);
}

/** An ISO instant -> {date, time, today} in the payer's time zone, or in `timeZone` (today: the payer's day). */
export function formatInstant(iso, timeZone = undefined) {
  const at = new Date(iso);
  if (!iso || Number.isNaN(at.getTime())) return { date: iso || "—", time: "", today: false };
  return {
    date: intl({ day: "2-digit", month: "2-digit", year: "numeric", timeZone }).format(at),
    time: intl({ hour: "2-digit", minute: "2-digit", hourCycle: "h23", timeZone }).format(at),
    today: at.toDateString() === new Date().toDateString(),
  };
}

/** An API amount into a node, formatted, with data-amount="1250.50"; shown as received when unreadable. */
export function amountText(node, text) {
  let centimes;
  try {
    centimes = toCentimes(text);
  } catch {
    node.textContent = text || "—";
    return node;
  }
  node.dataset.amount = toApiAmount(centimes);
  node.textContent = money(centimes);
  return node;
}

/** A count in words: `${base}.${plural rule of the language}` ("one", "two", "few"…), else `${base}.other`; {n} filled. */
export function plural(base, n) {
  let rule = "other";
  try {
    rule = new Intl.PluralRules(fmt().locale).select(n);
  } catch {
    /* "other" */
  }
  const key = `${base}.${rule}` in MESSAGES[state.lang] ? `${base}.${rule}` : `${base}.other`;
  return t(key, { n });
}

/** A wait in seconds as the payer reads it: "42 secondes", "1 seconde", from a minute on "57 minutes" (rounded up). */
export const duration = (seconds) =>
  seconds < 60 ? plural("duration.second", seconds) : plural("duration.minute", Math.ceil(seconds / 60));

// Codes only a misconfigured page or an API client can meet: the payer is told the request failed, nothing more.
const DEVELOPER_CODES = ["NOT_FOUND", "METHOD_NOT_ALLOWED", "PAYLOAD_TOO_LARGE", "UNSUPPORTED_MEDIA_TYPE"];

/**
 * What to tell the payer about a failed request: the page's own sentence for the error's code, in the payer's
 * language (French included: the API's catalogue, web/js/errors.js), never the API's `detail`; a generic sentence
 * for a code the page does not know. Too many requests says when to try again (Retry-After), in every language.
 */
export function problemText(error) {
  if (error instanceof NetworkError) return t("error.network");
  if (!(error instanceof HttpError)) return t("error.generic");
  const { code } = error.problem;
  if (code === "RATE_LIMITED" || (error.status === 429 && !code)) {
    const seconds = retryAfterSeconds(error.retryAfter);
    return seconds ? t("error.rateLimited", { duration: duration(seconds) }) : t("error.rateLimitedSoon");
  }
  const known = code && !DEVELOPER_CODES.includes(code) && `problem.${code}` in MESSAGES[state.lang];
  if (known) return t(`problem.${code}`);
  return error.status >= 500 ? t("error.server") : t("error.generic");
}
