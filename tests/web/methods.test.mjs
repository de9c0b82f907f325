// What each means of payment gives, the payment button's label, and a reference as the payer reads it (web/js/methods.js).
import assert from "node:assert/strict";
import { describe, it } from "node:test";

import { MESSAGES } from "../../web/i18n.js";
import { METHODS } from "../../web/js/contract.js";
import { formatCentimes } from "../../web/js/money.js";
import { givesReference, groupReference, REFERENCE_METHODS, submitKey } from "../../web/js/methods.js";

const fill = (text, vars) => text.replace(/\{(\w+)\}/g, (match, name) => (name in vars ? vars[name] : match));

describe("methods that give a reference", () => {
  it("are Fatourati and TASHILAT, as the contract names them", () => {
    assert.deepEqual([...REFERENCE_METHODS].sort(), ["FATOURATI", "TASHILAT"]);
    for (const method of REFERENCE_METHODS) assert.ok(Object.values(METHODS).flat().includes(method), method);
  });

  it("are the only ones whose button gets the reference; the others pay the amount", () => {
    assert.equal(submitKey("FATOURATI"), "pay.reference");
    assert.equal(submitKey("TASHILAT"), "pay.reference");
    for (const method of ["CARD", "DIRECT_DEBIT", undefined]) {
      assert.equal(givesReference(method), false, String(method));
      assert.equal(submitKey(method), "pay.amount", String(method));
    }
  });
});

describe("the payment button", () => {
  const label = (lang, method, centimes) =>
    fill(MESSAGES[lang][submitKey(method)], { amount: formatCentimes(centimes, MESSAGES[lang].fmt) });

  it("states the amount in each language's money format", () => {
    // French groups and separates with no-break spaces: compared here as plain spaces.
    assert.equal(label("fr", "CARD", 250000n).replace(/\s/gu, " "), "Payer 2 500,00 MAD");
    assert.equal(label("en", "CARD", 250000n).replace(/\s/gu, " "), "Pay 2,500.00 MAD");
    assert.equal(label("ar", "DIRECT_DEBIT", 250000n).replace(/\s/gu, " "), "أداء 2.500,00 درهم");
  });

  it("says it gets the reference for Fatourati and TASHILAT, in every language", () => {
    assert.equal(label("fr", "FATOURATI", 1n), "Obtenir la référence");
    assert.equal(label("en", "TASHILAT", 1n), "Get the reference");
    assert.equal(label("ar", "TASHILAT", 1n), "الحصول على المرجع");
  });

  it("and the texts around it exist in fr, ar and en", () => {
    for (const lang of ["fr", "ar", "en"]) {
      for (const key of ["pay.amount", "pay.reference", "gwHint.CMI", "gwHint.M2T", "payer.emailHint", "reference.support"]) {
        assert.equal(typeof MESSAGES[lang][key], "string", `${lang} ${key}`);
        assert.ok(MESSAGES[lang][key].trim(), `${lang} ${key}`);
      }
      assert.match(MESSAGES[lang]["pay.amount"], /\{amount\}/u, lang);
    }
  });
});

describe("a reference as the payer reads it", () => {
  it("groups Fatourati's 12 digits 4-4-4", () => {
    assert.equal(groupReference("123456789012"), "1234 5678 9012");
  });

  it("groups other digit codes by 4 from the start, and keeps the digits", () => {
    assert.equal(groupReference("1234567890"), "1234 5678 90");
    assert.equal(groupReference("1234567890").replace(/ /g, ""), "1234567890");
    assert.equal(groupReference("1234"), "1234");
  });

  it("leaves any other code, and nothing, as they are", () => {
    assert.equal(groupReference("AB-12345678"), "AB-12345678");
    assert.equal(groupReference(""), "");
    assert.equal(groupReference(undefined), "");
  });
});

describe("the reference screen's two labels", () => {
  it("keep « référence » for the code to type; the payment id is the support number, in every language", () => {
    for (const lang of ["fr", "ar", "en"]) {
      const support = MESSAGES[lang]["reference.support"].replace("{id}", "").trim();
      const references = [
        MESSAGES[lang]["reference.title"],
        MESSAGES[lang]["reference.label.FATOURATI"],
        MESSAGES[lang]["reference.label.TASHILAT"],
      ];
      for (const reference of references) assert.notEqual(support, reference, lang);
      const word = { fr: /référence/iu, en: /reference/iu, ar: /مرجع/u }[lang];
      assert.doesNotMatch(support, word, `${lang}: ${support}`);
    }
  });

  it("name the payment id alike wherever it is shown, never as a reference", () => {
    const names = { fr: "N° de suivi du paiement", en: "Payment ID", ar: "رقم تتبع الأداء" };
    for (const [lang, name] of Object.entries(names)) {
      for (const key of ["reference.support", "status.paymentId", "receipt.payment"]) {
        assert.ok(MESSAGES[lang][key].startsWith(name), `${lang} ${key}: ${MESSAGES[lang][key]}`);
      }
      assert.notEqual(MESSAGES[lang]["reference.title"], name);
    }
  });
});

describe("TASHILAT", () => {
  it("has one spelling in the French and English texts", () => {
    for (const lang of ["fr", "en"]) {
      const all = JSON.stringify(MESSAGES[lang]);
      assert.doesNotMatch(all, /Tashilat|Tasshilat/u, lang);
    }
  });
});
