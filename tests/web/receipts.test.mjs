// Receipts (web/js/receipts.js): the code that verifies one, its PDF, who it names, and what its verification says.
import assert from "node:assert/strict";
import { describe, it } from "node:test";

import { LANGS, MESSAGES } from "../../web/i18n.js";
import {
  checkReceiptCode,
  groupReceiptCode,
  isReceiptCode,
  normaliseReceiptCode,
  receiptOutcome,
  receiptParties,
  receiptPath,
  receiptPdfPath,
  rememberPayer,
  verifyView,
} from "../../web/js/receipts.js";

const CODE = "7K3M9Q2D4XHV8T1B";

describe("a receipt code", () => {
  it("is 16 characters of Crockford's base32", () => {
    assert.ok(isReceiptCode(CODE));
    for (const code of ["", "7K3M9Q2D4XHV8T1", "7K3M9Q2D4XHV8T1BB", "7K3M9Q2D4XHV8TUB", "7k3m9q2d4xhv8t1b", "7K3M-9Q2D-4XHV-8T1B"]) {
      assert.ok(!isReceiptCode(code), code);
    }
  });

  it("is read as typed from a receipt: any case, grouped, O for 0 and I or L for 1", () => {
    assert.equal(normaliseReceiptCode(" 7k3m 9q2d-4xhv 8t1b "), CODE);
    assert.equal(normaliseReceiptCode("7K3M9Q2D4XHV8TIB"), CODE);
    assert.equal(normaliseReceiptCode("7K3M9Q2D4XHV8TLB"), CODE);
    assert.equal(normaliseReceiptCode("O000000000000000"), "0000000000000000");
  });

  it("is shown in groups of 4", () => {
    assert.equal(groupReceiptCode(CODE), "7K3M 9Q2D 4XHV 8T1B");
    assert.equal(groupReceiptCode("short"), "short");
  });

  it("typed on the verification form is required and must have the form of a code", () => {
    assert.deepEqual(checkReceiptCode("  "), { code: "", problem: "verify.codeRequired" });
    assert.deepEqual(checkReceiptCode("ABC"), { code: "ABC", problem: "verify.codeInvalid" });
    assert.deepEqual(checkReceiptCode("7K3M9Q2D4XHV8TUB"), { code: "7K3M9Q2D4XHV8TUB", problem: "verify.codeInvalid" });
    assert.deepEqual(checkReceiptCode("7k3m 9q2d 4xhv 8t1b"), { code: CODE, problem: null });
  });
});

describe("the API's addresses for receipts", () => {
  it("give the PDF of a payment in the page's language", () => {
    assert.equal(receiptPdfPath("PAY-ABC", "ar"), "/v1/payments/PAY-ABC/receipt.pdf?lang=ar");
    assert.equal(receiptPdfPath("PAY-ABC", "xx"), "/v1/payments/PAY-ABC/receipt.pdf?lang=fr");
    assert.equal(receiptPdfPath("../x", "fr"), null);
  });

  it("verify a code", () => {
    assert.equal(receiptPath(CODE), `/v1/receipts/${CODE}`);
  });
});

describe("who a receipt names", () => {
  const payment = { payment_id: "PAY-1", status: "PAID" };

  it("is the payer only in the tab that made this payment", () => {
    const payers = rememberPayer([], "PAY-1", "Société Maritime");
    assert.deepEqual(receiptParties(payment, payers), { operator: null, payer: "Société Maritime" });
    assert.deepEqual(receiptParties({ payment_id: "PAY-2" }, payers), { operator: null, payer: null });
    assert.deepEqual(receiptParties(payment, null), { operator: null, payer: null });
  });

  it("is the operator when the API names it", () => {
    assert.deepEqual(receiptParties({ ...payment, operator: { name: " Transit SA " } }, []), { operator: "Transit SA", payer: null });
  });

  it("keeps the last payers of this tab, newest first, once each", () => {
    let payers = [];
    for (const id of ["P1", "P2", "P3", "P4", "P5", "P6", "P2"]) payers = rememberPayer(payers, id, `name ${id}`);
    assert.deepEqual(payers.map((entry) => entry.paymentId), ["P2", "P6", "P5", "P4", "P3"]);
  });
});

describe("the verification says", () => {
  it("a PAID receipt is genuine and proves its invoices paid", () => {
    assert.deepEqual(verifyView("PAID"), { messageKey: "verify.PAID", tone: "ok", details: true, provesKey: "verify.PAID.proves" });
  });

  it("a REVERSED receipt is genuine, but its payment paid nothing", () => {
    const view = verifyView("REVERSED");
    assert.equal(view.tone, "warning");
    assert.equal(view.provesKey, "verify.REVERSED.proves");
  });

  it("an unknown code is no receipt of PORTNET's; a status the page lacks is not read as either", () => {
    assert.deepEqual(verifyView("not-found"), { messageKey: "verify.notFound", tone: "error", details: false, provesKey: null });
    assert.equal(receiptOutcome({ status: "PAID" }), "PAID");
    assert.equal(receiptOutcome({ status: "NEW" }), "unknown");
    assert.equal(verifyView("unknown").messageKey, "verify.unknown");
    assert.equal(verifyView("form").messageKey, null);
  });

  for (const lang of LANGS) {
    it(`every outcome in ${lang}`, () => {
      const keys = ["PAID", "REVERSED", "not-found", "unknown"].flatMap((outcome) => {
        const view = verifyView(outcome);
        return [view.messageKey, view.provesKey].filter(Boolean);
      });
      const missing = [...keys, "verify.codeRequired", "verify.codeInvalid"].filter((key) => !MESSAGES[lang][key]);
      assert.deepEqual(missing, []);
    });
  }
});
