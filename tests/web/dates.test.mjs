// Dates and digits as the payer types them (web/js/dates.js): the filters' dates in the page's language, not the
// browser's; a receipt's time in Morocco's.
import assert from "node:assert/strict";
import { describe, it } from "node:test";

import { asciiDigits, parseUserDate, userDate, utcOffset } from "../../web/js/dates.js";

describe("digits", () => {
  it("of an Arabic or Persian keyboard are read as ASCII digits, the Arabic decimal sign as a comma", () => {
    assert.equal(asciiDigits("٠١٢٣٤٥٦٧٨٩"), "0123456789");
    assert.equal(asciiDigits("۰۱۲۳۴۵۶۷۸۹"), "0123456789");
    assert.equal(asciiDigits("١٢٥٠٫٥٠"), "1250,50");
    assert.equal(asciiDigits("AB12"), "AB12");
    assert.equal(asciiDigits(null), "");
  });
});

describe("a date the payer types", () => {
  it("is day/month/year with /, . , - or spaces, in any digits", () => {
    for (const typed of ["15/01/2026", "15/1/2026", "15.01.2026", "15-01-2026", "15 01 2026", " 15 / 01 / 2026 ", "١٥/٠١/٢٠٢٦"]) {
      assert.equal(parseUserDate(typed), "2026-01-15", typed);
    }
  });

  it("may be the API's own form", () => {
    assert.equal(parseUserDate("2026-01-15"), "2026-01-15");
  });

  it("is empty when nothing is typed", () => {
    assert.equal(parseUserDate("  "), "");
  });

  it("is no date when the day does not exist or the year is not whole", () => {
    for (const typed of ["31/02/2026", "29/02/2027", "00/01/2026", "15/13/2026", "15/01/26", "01/15/2026x", "aujourd'hui", "2026-1-32"]) {
      assert.equal(parseUserDate(typed), null, typed);
    }
    assert.equal(parseUserDate("29/02/2028"), "2028-02-29");
  });

  it("is shown back day/month/year", () => {
    assert.equal(userDate("2026-01-05"), "05/01/2026");
    assert.equal(userDate("x"), "");
  });
});

describe("Morocco's offset from UTC", () => {
  it("is said as the receipt writes it", () => {
    assert.equal(utcOffset("2026-11-27T10:15:00Z"), "UTC+1");
    assert.equal(utcOffset("2026-11-27T10:15:00Z", "UTC"), "UTC+0");
    assert.equal(utcOffset("not a date"), "");
    assert.equal(utcOffset(""), "");
  });
});
