// Money as integer centimes (BigInt): amounts are never floats, anywhere on the page. Pure: no DOM.

import { PATTERNS } from "./contract.js";

const USER_AMOUNT = /^([0-9]{1,12})(?:[.,]([0-9]{1,2}))?$/;

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

/** What a person types ("1 250,5", "1250.50", "1250") -> "1250.50", or null when unreadable. */
export function parseUserAmount(text) {
  const compact = String(text).replace(/[\s\u00a0\u202f']/g, "");
  const match = USER_AMOUNT.exec(compact);
  if (!match) return null;
  return toApiAmount(BigInt(match[1]) * 100n + BigInt((match[2] || "0").padEnd(2, "0")));
}
