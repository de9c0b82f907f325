// Where the payer is, in the address and in sessionStorage (web/js/navigation.js): never the subscription code in
// the address; a snapshot read back safely whatever sessionStorage holds.
import assert from "node:assert/strict";
import { describe, it } from "node:test";

import { parseView, reachablePage, restoreSnapshot, screenQuery, searchSnapshot } from "../../web/js/navigation.js";

describe("screenQuery", () => {
  it("gives each screen its address", () => {
    assert.equal(screenQuery("search"), "");
    assert.equal(screenQuery("empty"), "?view=empty");
    assert.equal(screenQuery("results", { page: 0 }), "?view=results&page=1");
    assert.equal(screenQuery("results", { page: 3 }), "?view=results&page=4");
    assert.equal(screenQuery("payment"), "?view=payment");
    for (const screen of ["status", "reference", "receipt", "failure"]) {
      assert.equal(screenQuery(screen, { paymentId: "pay-1" }), "?payment=pay-1");
    }
  });

  it("leaves the address alone for a payment screen without a valid payment id", () => {
    assert.equal(screenQuery("failure", { paymentId: null }), null);
    assert.equal(screenQuery("status", { paymentId: "a b" }), null);
  });
});

describe("parseView", () => {
  it("reads the screen and the page (from 0)", () => {
    assert.deepEqual(parseView("?view=results&page=2"), { view: "results", page: 1, code: "" });
    assert.deepEqual(parseView("?view=results"), { view: "results", page: 0, code: "" });
    assert.deepEqual(parseView("?view=payment&page=9"), { view: "payment", page: 0, code: "" });
    assert.deepEqual(parseView("?view=empty"), { view: "empty", page: 0, code: "" });
  });

  it("falls back to the consultation and to page 1 on anything else", () => {
    for (const query of ["", "?view=receipt", "?view=x", "?page=3"]) assert.deepEqual(parseView(query), { view: "search", page: 0, code: "" });
    for (const page of ["0", "-1", "abc", "1e999", "99999999999999999999"]) {
      assert.equal(parseView(`?view=results&page=${page}`).page, 0, page);
    }
  });
});

describe("the search snapshot", () => {
  const invoice = { invoice_id: "inv-1", issuer: { code: "ANP", name: "ANP" }, amount: "10.00" };
  const state = {
    code: "AB12", invoiceNumber: "", filters: { issuer: "ANP" }, cursors: [null, "c1"], page: 1,
    selection: new Map([["inv-1", invoice]]), issuers: new Map([["ANP", "ANP"]]), emptyKey: "empty.message", method: "CARD",
  };

  it("survives JSON and comes back as the state's Maps", () => {
    const back = restoreSnapshot(JSON.parse(JSON.stringify(searchSnapshot(state))));
    assert.equal(back.code, "AB12");
    assert.deepEqual(back.cursors, [null, "c1"]);
    assert.deepEqual([...back.selection.keys()], ["inv-1"]);
    assert.deepEqual(back.selection.get("inv-1"), invoice);
    assert.deepEqual([...back.issuers], [["ANP", "ANP"]]);
    assert.deepEqual(back.filters, { issuer: "ANP" });
  });

  it("is refused without a code, and cleaned of what is not its shape", () => {
    for (const bad of [null, "x", {}, { code: "" }, { code: 12 }]) assert.equal(restoreSnapshot(bad), null);
    const back = restoreSnapshot({ code: "AB12", cursors: ["x", 3], selection: [{ invoice_id: 1 }, invoice, null], issuers: "no", emptyKey: "<b>" });
    assert.deepEqual(back.cursors, [null]);
    assert.deepEqual(restoreSnapshot({ code: "AB12", cursors: ["c1", "c2"] }).cursors, [null], "never a page's cursor for another");
    assert.deepEqual([...back.selection.keys()], ["inv-1"]);
    assert.equal(back.issuers.size, 0);
    assert.equal(back.emptyKey, "empty.message");
  });
});

describe("reachablePage", () => {
  it("is the page asked when its cursor is known, else the first", () => {
    assert.equal(reachablePage([null, "a", "b"], 2), 2);
    assert.equal(reachablePage([null, "a"], 2), 0);
    assert.equal(reachablePage([null], 0), 0);
  });
});
