// What the page accepts from the payer before calling the API: the API's own rules (web/js/validation.js).
import assert from "node:assert/strict";
import { describe, it } from "node:test";

import { checkFilters, checkPayer, checkSearch, isPaymentId, normaliseCode } from "../../web/js/validation.js";

const search = (code, number = "") => checkSearch({ code, number });
const filters = (typed) => checkFilters(typed);
const payer = (typed) => checkPayer({ name: "Société Maritime", email: "compta@example.ma", phone: "", ...typed });

describe("the subscription code", () => {
  it("is required", () => {
    assert.deepEqual(search("").problems, [["subscription-code", "search.codeRequired"]]);
    assert.deepEqual(search("   ").problems, [["subscription-code", "search.codeRequired"]]);
  });

  it("is exactly four ASCII letters or digits, sent upper-cased and trimmed", () => {
    for (const code of ["AB12", "ab12", " mar1 ", "0000", "zzzz"]) {
      const checked = search(code);
      assert.deepEqual(checked.problems, [], code);
      assert.equal(checked.code, code.trim().toUpperCase());
    }
  });

  it("refuses other lengths and characters", () => {
    for (const code of ["AB1", "AB123", "AB-1", "AB 1", "ÀB12", "ABـ2", "AB12\n1"]) {
      assert.deepEqual(search(code).problems, [["subscription-code", "search.codeInvalid"]], code);
    }
  });

  it("reads the digits of an Arabic keyboard as the digits they are", () => {
    assert.deepEqual(search("AB١٢"), { code: "AB12", number: "", problems: [] });
    assert.equal(search("AB12", "F-٢٠٢٦-٠٠٠١٢٣").number, "F-2026-000123");
  });

  it("normalises as the API does", () => {
    assert.equal(normaliseCode("  ab1c "), "AB1C");
  });
});

describe("the invoice number of the consultation", () => {
  it("is optional", () => {
    assert.deepEqual(search("AB12", "  ").problems, []);
    assert.equal(search("AB12", "  ").number, "");
  });

  it("starts with a letter or digit, then letters, digits and / . _ -, 40 characters at most", () => {
    for (const number of ["F-2025/001", "A", "fact_2025.03", "9".repeat(40)]) {
      assert.deepEqual(search("AB12", number).problems, [], number);
    }
    assert.equal(search("AB12", " F-1 ").number, "F-1");
  });

  it("refuses anything else", () => {
    for (const number of ["-F1", "/F1", "F 1", "F#1", "F1é", "9".repeat(41)]) {
      assert.deepEqual(search("AB12", number).problems, [["invoice-number", "search.numberInvalid"]], number);
    }
  });

  it("is reported with a bad code, the code first", () => {
    assert.deepEqual(search("A", "#").problems, [
      ["subscription-code", "search.codeInvalid"],
      ["invoice-number", "search.numberInvalid"],
    ]);
  });
});

describe("the results' filters", () => {
  it("filter nothing when empty", () => {
    assert.deepEqual(filters({}), { filters: {}, problems: [] });
    assert.deepEqual(filters({ issuer: " ", from: "", to: "", min: " ", max: "", text: "  " }), { filters: {}, problems: [] });
  });

  it("send the issuer code upper-cased; 16 letters, digits, - or _ at most, not starting with - or _", () => {
    assert.deepEqual(filters({ issuer: " anp " }).filters, { issuer: "ANP" });
    assert.deepEqual(filters({ issuer: "marsa_maroc-1" }).filters, { issuer: "MARSA_MAROC-1" });
    assert.deepEqual(filters({ issuer: "A".repeat(16) }).problems, []);
    for (const issuer of ["-ANP", "_ANP", "AN P", "ANP.", "A".repeat(17)]) {
      assert.deepEqual(filters({ issuer }), { filters: {}, problems: [["filter-issuer", "filters.badIssuer"]] }, issuer);
    }
  });

  it("take a period, either bound alone, never reversed", () => {
    assert.deepEqual(filters({ from: "2025-01-01", to: "2025-03-31" }).filters, { issued_from: "2025-01-01", issued_to: "2025-03-31" });
    assert.deepEqual(filters({ from: "2025-01-01", to: "2025-01-01" }).problems, []);
    assert.deepEqual(filters({ to: "2025-03-31" }).filters, { issued_to: "2025-03-31" });
    assert.deepEqual(filters({ from: "2025-04-01", to: "2025-03-31" }).problems, [["filter-to", "filters.badDates"]]);
  });

  it("read amounts as people write them and send the contract's form", () => {
    assert.deepEqual(filters({ min: "1 250,5", max: "2500" }).filters, { min_amount: "1250.50", max_amount: "2500.00" });
    assert.deepEqual(filters({ min: "0,05" }).filters, { min_amount: "0.05" });
    assert.deepEqual(filters({ max: "1250.50" }).filters, { max_amount: "1250.50" });
  });

  it("refuse unreadable amounts, each under its field, and a minimum above the maximum", () => {
    assert.deepEqual(filters({ min: "abc", max: "1,23" }).problems, [["filter-min", "filters.badAmount"]]);
    assert.deepEqual(filters({ min: "-5", max: "1.2345" }).problems, [
      ["filter-min", "filters.badAmount"],
      ["filter-max", "filters.badAmount"],
    ]);
    assert.deepEqual(filters({ min: "100", max: "99,99" }).problems, [["filter-max", "filters.badAmounts"]]);
    assert.deepEqual(filters({ min: "100", max: "100" }).problems, []);
  });

  it("read dates as day/month/year, in any digits, and send the contract's form", () => {
    assert.deepEqual(filters({ from: "15/01/2026", to: "٣١/٠٣/٢٠٢٦" }).filters, { issued_from: "2026-01-15", issued_to: "2026-03-31" });
    assert.deepEqual(filters({ from: "5.1.2026" }).filters, { issued_from: "2026-01-05" });
  });

  it("refuse a date that is none, under its field", () => {
    assert.deepEqual(filters({ from: "31/02/2026", to: "2026" }).problems, [
      ["filter-from", "filters.badDate"],
      ["filter-to", "filters.badDate"],
    ]);
  });

  it("send the text trimmed", () => {
    assert.deepEqual(filters({ text: "  escale  " }).filters, { text: "escale" });
  });
});

describe("the payer", () => {
  it("needs a name and an e-mail address; the phone is optional", () => {
    assert.deepEqual(payer({}).problems, []);
    assert.deepEqual(payer({ name: " ", email: "" }).problems, [
      ["payer-name", "payer.nameRequired"],
      ["payer-email", "payer.emailRequired"],
    ]);
  });

  it("is sent trimmed", () => {
    const { problems, ...values } = payer({ name: "  Nom ", email: " a@b.ma ", phone: " 0522 00 00 00 " });
    assert.deepEqual(problems, []);
    assert.deepEqual(values, { name: "Nom", email: "a@b.ma", phone: "0522 00 00 00" });
  });

  it("has an e-mail address the API accepts", () => {
    for (const email of ["compta@example.ma", "a.b+c@sub.example.co.ma", "élise@exemple.ma", "x@a-b.museum"]) {
      assert.deepEqual(payer({ email }).problems, [], email);
    }
    for (const email of ["compta", "compta@", "@example.ma", "a@b", "a@b.c", "a b@c.ma", "a@@c.ma", "a@-c.ma",
      "a\u0085b@c.ma", "a\tb@c.ma", `${"a".repeat(65)}@c.ma`]) {
      assert.deepEqual(payer({ email }).problems, [["payer-email", "payer.emailInvalid"]], JSON.stringify(email));
    }
  });

  it("has, if any, a phone number of 6 to 20 digits, spaces, dots or dashes, maybe after a +", () => {
    for (const phone of ["0522 00 00 00", "+212 522-00.00.00", "052200", "0".repeat(20)]) {
      assert.deepEqual(payer({ phone }).problems, [], phone);
    }
    for (const phone of ["05220", "phone", "+ 212522000000", "0".repeat(21), "0522/00/00/00"]) {
      assert.deepEqual(payer({ phone }).problems, [["payer-phone", "payer.phoneInvalid"]], phone);
    }
  });
});

describe("payment ids", () => {
  it("are what the API mints: up to 64 letters, digits and dashes", () => {
    for (const id of ["PAY-ABCDEF234567", "a", "A".repeat(64)]) assert.ok(isPaymentId(id), id);
    for (const id of ["", null, undefined, "PAY_1", "PAY 1", "PAY/1", "A".repeat(65), "PAY-1\n", "<script>"]) {
      assert.ok(!isPaymentId(id), String(id));
    }
  });
});
