// What can be selected on the results (web/js/selection.js): the contract's 50-invoice limit, "select all on this
// page", overdue invoices, the number of pages.
import assert from "node:assert/strict";
import { describe, it } from "node:test";

import { LIMITS } from "../../web/js/contract.js";
import { MAX_SELECTED, isOverdue, isoToday, pageCount, selectPage, selectionFull } from "../../web/js/selection.js";

const invoice = (id, issuer = "ANP", status = "UNPAID") => ({ invoice_id: id, issuer: { code: issuer }, status });

describe("the selection limit", () => {
  it("is the contract's", () => assert.equal(MAX_SELECTED, LIMITS.invoicesPerPayment));

  it("is full at the limit, not before", () => {
    assert.equal(selectionFull(MAX_SELECTED - 1), false);
    assert.equal(selectionFull(MAX_SELECTED), true);
    assert.equal(selectionFull(MAX_SELECTED + 10), true);
  });
});

describe("selectPage", () => {
  const page = [invoice("a"), invoice("b", "ANP", "PENDING_PAYMENT"), invoice("c", "TMSA"), invoice("d")];

  it("adds the page's unpaid invoices of the first selectable issuer", () => {
    assert.deepEqual(selectPage(page, []).add.map((item) => item.invoice_id), ["a", "d"]);
  });

  it("keeps to the issuer already selected and skips what is selected", () => {
    assert.deepEqual(selectPage(page, ["x"], "TMSA").add.map((item) => item.invoice_id), ["c"]);
    assert.deepEqual(selectPage(page, ["a"], "ANP").add.map((item) => item.invoice_id), ["d"]);
  });

  it("stops at the limit and says so", () => {
    const selected = Array.from({ length: MAX_SELECTED - 1 }, (_, i) => `s${i}`);
    const { add, capped } = selectPage(page, selected, "ANP");
    assert.deepEqual(add.map((item) => item.invoice_id), ["a"]);
    assert.equal(capped, true);
    assert.equal(selectPage(page, []).capped, false);
    assert.deepEqual(selectPage([invoice("z", "ANP", "PENDING_PAYMENT")], []).add, []);
  });
});

describe("overdue invoices", () => {
  it("are those due before today", () => {
    assert.equal(isOverdue({ due_date: "2026-01-31" }, "2026-02-01"), true);
    assert.equal(isOverdue({ due_date: "2026-02-01" }, "2026-02-01"), false);
    assert.equal(isOverdue({ due_date: null }, "2026-02-01"), false);
  });

  it("today is the payer's local date", () => {
    assert.equal(isoToday(new Date(2026, 0, 5, 23, 59)), "2026-01-05");
  });
});

describe("pageCount", () => {
  it("rounds up, at least one page", () => {
    assert.equal(pageCount(35, 10), 4);
    assert.equal(pageCount(40, 10), 4);
    assert.equal(pageCount(0, 10), 1);
  });
});
