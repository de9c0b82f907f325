// Amounts as integer centimes, never floats (web/js/money.js), and as each language writes them.
import assert from "node:assert/strict";
import { describe, it } from "node:test";

import { MESSAGES } from "../../web/i18n.js";
import { formatCentimes, parseUserAmount, sumCentimes, toApiAmount, toCentimes } from "../../web/js/money.js";

describe("API amounts", () => {
  it("are read exactly, as centimes", () => {
    assert.equal(toCentimes("1250.50"), 125050n);
    assert.equal(toCentimes("0.05"), 5n);
    assert.equal(toCentimes("999999999999.99"), 99999999999999n);
  });

  it("are refused in any other form (the page then shows nothing it cannot add up)", () => {
    for (const text of ["1250.5", "1250", "01.00", "1,250.50", "-1.00", "1e3", " 1.00", "1000000000000.00", "", null]) {
      assert.throws(() => toCentimes(text), /Invalid amount/, String(text));
    }
  });

  it("are written back in the contract's form", () => {
    assert.equal(toApiAmount(125050n), "1250.50");
    assert.equal(toApiAmount(5n), "0.05");
    assert.equal(toApiAmount(0n), "0.00");
  });

  it("add up without rounding", () => {
    const values = ["0.10", "0.20", "1250.50", "0.01"].map(toCentimes);
    assert.equal(toApiAmount(sumCentimes(values)), "1250.81");
    assert.equal(sumCentimes([]), 0n);
  });
});

describe("amounts people type", () => {
  it("may use a comma or a point, spaces between thousands, one or two decimals", () => {
    assert.equal(parseUserAmount("1 250,5"), "1250.50");
    assert.equal(parseUserAmount("1\u202f250,50"), "1250.50");
    assert.equal(parseUserAmount("1250.50"), "1250.50");
    assert.equal(parseUserAmount("1250"), "1250.00");
    assert.equal(parseUserAmount("0,05"), "0.05");
    assert.equal(parseUserAmount("1'250"), "1250.00");
  });

  it("may be written as the page writes them in Arabic and English: thousands grouped by the other sign", () => {
    assert.equal(parseUserAmount("1.250,50"), "1250.50"); // ar: as the selection's total shows it
    assert.equal(parseUserAmount("1,250.50"), "1250.50"); // en
    assert.equal(parseUserAmount("1.250.000,00"), "1250000.00");
    assert.equal(parseUserAmount("1,234"), "1234.00"); // three digits after the sign are never decimals
  });

  it("may be typed with Arabic-Indic digits and the Arabic decimal sign", () => {
    assert.equal(parseUserAmount("١٢٥٠٫٥"), "1250.50");
    assert.equal(parseUserAmount("۱۲۵۰,۵۰"), "1250.50");
  });

  it("are unreadable otherwise", () => {
    for (const text of ["", "abc", "1.2.3", "1.250.50", "1,250,50", "1,25.00", "1.2345", "-5", "12,", "1 250,505", "1".repeat(13), "1.000.000.000.000"]) {
      assert.equal(parseUserAmount(text), null, text);
    }
  });
});

describe("amounts shown", () => {
  const shown = (lang, centimes) => formatCentimes(centimes, MESSAGES[lang].fmt);

  it("in French: narrow no-break spaces between thousands, a decimal comma", () => {
    assert.equal(shown("fr", 125050n), "1\u202f250,50\u00a0MAD");
    assert.equal(shown("fr", 123456789n), "1\u202f234\u202f567,89\u00a0MAD");
    assert.equal(shown("fr", 5n), "0,05\u00a0MAD");
  });

  it("in English: commas between thousands, a decimal point", () => {
    assert.equal(shown("en", 125050n), "1,250.50\u00a0MAD");
  });

  it("in Arabic: Latin digits, dirhams", () => {
    assert.equal(shown("ar", 125050n), "1.250,50\u00a0درهم");
  });
});
