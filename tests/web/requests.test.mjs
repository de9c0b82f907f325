// The bodies the page sends (web/js/requests.js), as docs/api.md specifies them.
import assert from "node:assert/strict";
import { describe, it } from "node:test";

import { HttpError, NetworkError } from "../../web/js/api.js";
import { LIMITS } from "../../web/js/contract.js";
import {
  PAGE_SIZE, attemptFor, methodFor, methodsFor, outcomeUnknown, paymentBody, searchBody,
} from "../../web/js/requests.js";

describe("the search request", () => {
  it("is the code and the page size when nothing else is asked", () => {
    assert.deepEqual(searchBody({ code: "AB12" }), { subscription_code: "AB12", page_size: 10 });
  });

  it("asks for pages within the contract's page_size bounds", () => {
    assert.ok(PAGE_SIZE >= LIMITS.pageSizeMin && PAGE_SIZE <= LIMITS.pageSizeMax);
  });

  it("names the invoice number, the filters and the cursor only when there are some", () => {
    const filters = { issuer: "ANP", min_amount: "10.00" };
    assert.deepEqual(searchBody({ code: "MAR1", invoiceNumber: "F-1", filters, cursor: "abc.def" }), {
      subscription_code: "MAR1",
      page_size: 10,
      invoice_number: "F-1",
      filters: { issuer: "ANP", min_amount: "10.00" },
      cursor: "abc.def",
    });
    assert.deepEqual(searchBody({ code: "MAR1", invoiceNumber: "", filters: {}, cursor: null }), {
      subscription_code: "MAR1",
      page_size: 10,
    });
  });

  it("carries a copy of the filters, which the page may change afterwards", () => {
    const filters = { issuer: "ANP" };
    const body = searchBody({ code: "MAR1", filters });
    filters.issuer = "TMSA";
    assert.deepEqual(body.filters, { issuer: "ANP" });
  });
});

describe("the payment request", () => {
  const chosen = {
    code: "AB12",
    invoiceIds: new Map([["INV-1", {}], ["INV-2", {}]]).keys(),
    gateway: "CMI",
    method: "CARD",
    payer: { name: "Société Maritime", email: "compta@example.ma", phone: "0522 00 00 00" },
    lang: "ar",
  };

  it("names the invoices, gateway, method, payer and language, never an amount", () => {
    assert.deepEqual(paymentBody(chosen), {
      subscription_code: "AB12",
      invoice_ids: ["INV-1", "INV-2"],
      gateway: "CMI",
      method: "CARD",
      payer: { name: "Société Maritime", email: "compta@example.ma", phone: "0522 00 00 00" },
      lang: "ar",
    });
  });

  it("leaves the phone out when none was given", () => {
    const body = paymentBody({ ...chosen, invoiceIds: ["INV-1"], payer: { name: "N", email: "n@x.ma", phone: "" } });
    assert.deepEqual(body.payer, { name: "N", email: "n@x.ma" });
    assert.ok(!("amount" in body));
  });
});

describe("the methods offered", () => {
  it("are each gateway's, in the contract's order", () => {
    assert.deepEqual(methodsFor("CMI"), ["CARD", "FATOURATI"]);
    assert.deepEqual(methodsFor("M2T"), ["CARD", "TASHILAT", "DIRECT_DEBIT"]);
    assert.deepEqual(methodsFor("PAYPAL"), []);
  });

  it("keep the chosen method when the new gateway offers it, else its first", () => {
    assert.equal(methodFor("M2T", "CARD"), "CARD");
    assert.equal(methodFor("CMI", "TASHILAT"), "CARD");
    assert.equal(methodFor("M2T", "FATOURATI"), "CARD");
    assert.equal(methodFor("CMI", "FATOURATI"), "FATOURATI");
  });
});

describe("the Idempotency-Key", () => {
  let keys = 0;
  const newKey = () => `key-${++keys}`;
  const body = { subscription_code: "AB12", invoice_ids: ["INV-1"] };

  it("is new for a first attempt and for a different body", () => {
    const first = attemptFor(null, body, newKey);
    assert.equal(first.body, JSON.stringify(body));
    const other = attemptFor(first, { ...body, invoice_ids: ["INV-2"] }, newKey);
    assert.notEqual(other.key, first.key);
  });

  it("is the same when the same body is sent again after a lost answer", () => {
    const first = attemptFor(null, body, newKey);
    assert.equal(attemptFor(first, { ...body }, newKey).key, first.key);
  });

  it("is kept only when the outcome is unknown: no answer, or a server error", () => {
    assert.ok(outcomeUnknown(new NetworkError("network")));
    assert.ok(outcomeUnknown(new HttpError(500, {})));
    assert.ok(outcomeUnknown(new HttpError(503, { code: "SERVICE_UNAVAILABLE" })));
    assert.ok(!outcomeUnknown(new HttpError(400, { code: "VALIDATION_ERROR" })));
    assert.ok(!outcomeUnknown(new HttpError(409, { code: "INVOICE_NOT_PAYABLE" })));
    assert.ok(!outcomeUnknown(new Error("bug")));
  });
});
