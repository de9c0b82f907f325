// The page offers what the contract (web/js/contract.js, generated from the OpenAPI document) allows, in every
// language: a gateway, method or status added to the API fails here until the page handles it.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, it } from "node:test";

import { LANGS as PAGE_LANGS, MESSAGES } from "../../web/i18n.js";
import { GATEWAYS, LANGS, LIMITS, METHODS, PATTERNS, PAYMENT_STATUSES, REVERSAL_ACTIONS } from "../../web/js/contract.js";
import { KNOWN_STATUSES, PAID_ELSEWHERE, failureView, paymentScreen } from "../../web/js/status.js";

const html = readFileSync(new URL("../../web/index.html", import.meta.url), "utf8");
const inputs = [...html.matchAll(/<input\b[^>]*>/g)].map(([tag]) =>
  Object.fromEntries([...tag.matchAll(/([\w-]+)(?:="([^"]*)")?/g)].slice(1).map(([, name, value]) => [name, value ?? ""])),
);
const input = (id) => inputs.find((attrs) => attrs.id === id) ?? assert.fail(`index.html has no input #${id}`);

describe("the contract", () => {
  it("compiles to JavaScript regular expressions", () => {
    for (const [name, pattern] of Object.entries(PATTERNS)) assert.ok(pattern instanceof RegExp && pattern.unicode, name);
  });

  it("speaks the page's languages", () => {
    assert.deepEqual([...PAGE_LANGS].sort(), [...LANGS].sort());
  });
});

describe("the payment form", () => {
  it("has one radio button per gateway of the contract", () => {
    const radios = inputs.filter((attrs) => attrs.name === "gateway");
    assert.deepEqual(radios.map((attrs) => attrs.value), GATEWAYS);
    for (const attrs of radios) assert.equal(attrs.id, `gateway-${attrs.value}`);
  });

  for (const lang of LANGS) {
    it(`names every gateway and method, with a hint for each pair, in ${lang}`, () => {
      const missing = [];
      for (const gateway of GATEWAYS) {
        if (!MESSAGES[lang][`gw.${gateway}`]) missing.push(`gw.${gateway}`);
        for (const method of METHODS[gateway]) {
          for (const key of [`method.${method}`, `hint.${gateway}.${method}`]) if (!MESSAGES[lang][key]) missing.push(key);
        }
      }
      assert.deepEqual(missing, []);
    });
  }

  it("lets the payer type as much as the API accepts, no more", () => {
    assert.equal(Number(input("payer-name").maxlength), LIMITS.payerName);
    assert.equal(Number(input("payer-email").maxlength), LIMITS.email);
  });
});

describe("the consultation and the filters", () => {
  it("check the code as the API does", () => {
    const code = input("subscription-code");
    assert.equal(`^${code.pattern}$`, PATTERNS.subscriptionCode.source);
    assert.ok(PATTERNS.subscriptionCode.test("A".repeat(Number(code.maxlength))));
  });

  it("let the payer type the longest invoice number and issuer code the API accepts", () => {
    for (const [id, pattern] of [["invoice-number", PATTERNS.invoiceNumber], ["filter-issuer", PATTERNS.issuerCode]]) {
      const longest = Number(input(id).maxlength);
      assert.ok(pattern.test("A".repeat(longest)), id);
      assert.ok(!pattern.test("A".repeat(longest + 1)), id);
    }
    assert.equal(Number(input("filter-text").maxlength), LIMITS.searchText);
  });
});

describe("every payment status of the contract", () => {
  it("has a screen chosen for it", () => {
    assert.deepEqual([...KNOWN_STATUSES].sort(), [...PAYMENT_STATUSES].sort());
  });

  for (const lang of LANGS) {
    it(`has its failure message and title in ${lang}, when it ends on the failure screen`, () => {
      const kinds = PAYMENT_STATUSES.map((status) => paymentScreen({ status }).kind).filter(Boolean);
      const missing = [...kinds, "DECLINED", "NOT_FOUND"]
        .flatMap((kind) => [failureView(kind).titleKey, failureView(kind).messageKey, failureView(kind).returnedKey])
        .filter((key) => key !== null && !MESSAGES[lang][key]);
      assert.deepEqual(missing, []);
    });

    it(`says in ${lang} how a reversed payment's money came back, for every way the contract names, and where to get help`, () => {
      const views = [undefined, ...REVERSAL_ACTIONS].map((action) => failureView("REVERSED", { action, reason: PAID_ELSEWHERE }));
      const keys = views.flatMap((view) => [view.titleKey, view.messageKey, view.returnedKey]);
      const missing = [...keys, "failure.help"].filter((key) => !MESSAGES[lang][key]);
      assert.deepEqual(missing, []);
      assert.match(MESSAGES[lang]["failure.help"], /\{claims\}.*\{phone\}/);
    });
  }
});
