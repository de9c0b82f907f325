// Money as integer centimes (BigInt): amounts are never floats, anywhere on the page. Pure: no DOM.

import { PATTERNS } from "./contract.js";
import { asciiDigits } from "./dates.js";

// Whole units, grouped by 3 with "." or "," (as the page writes amounts in ar and en) or not grouped; then the
// decimals after "," or "." (at most 2, so "1.250" can only be grouped: 1250).
const USER_AMOUNT = /^([0-9]{1,3}(?:([.,])[0-9]{3})*|[0-9]{1,12})(?:([.,])([0-9]{1,2}))?$/;

/** "1250.50" (the contract's form) -> 125050n. Throws on anything else. */
export function toCentimes(text) {
  if (!PATTERNS.amount.test(String(text))) throw new Error("Invalid amount");
  const [units, cents] = String(text).split(".");
  return BigInt(units) * 100n + BigInt(cents);
}

/** 125050n -> "1250.50" */
export function toApiAmount(centimes) {
  const digits = centimes.toString().padStart(3, "0");
  return `${digits.slice(0, -2)}.${digits.slice(-2)}`;
}

export function sumCentimes(values) {
  return values.reduce((total, value) => total + value, 0n);
}

/** Formats centimes with a language's separators: fmt = {group, decimal, amount: "{n} MAD"}. */
export function formatCentimes(centimes, fmt) {
  const [units, cents] = toApiAmount(centimes).split(".");
  const grouped = units.replace(/\B(?=(\d{3})+(?!\d))/g, fmt.group);
  return fmt.amount.replace("{n}", grouped + fmt.decimal + cents);
}

/**
 * What a person types ("1 250,5", "1250.50", "1.250,50", "1,250.50", "1250", in any digits) -> "1250.50", or null
 * when unreadable (mixed or misplaced separators, more than 2 decimals, more than 12 digits of units).
 */
export function parseUserAmount(text) {
  const compact = asciiDigits(text).replace(/[\s\u00a0\u202f']/g, "");
  const match = USER_AMOUNT.exec(compact);
  if (!match) return null;
  const [, units, group, decimal, cents] = match;
  if (group && (decimal === group || units.split(group).some((part, i) => i > 0 && part.length !== 3))) return null;
  const digits = group ? units.split(group).join("") : units;
  if (digits.length > 12) return null;
  return toApiAmount(BigInt(digits) * 100n + BigInt((cents || "0").padEnd(2, "0")));
}
