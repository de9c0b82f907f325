// The page's dictionary (web/i18n.js): the same texts in fr, ar and en, French typography, words kept whole.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, it } from "node:test";

import { LANGS, MESSAGES } from "../../web/i18n.js";

const PLURAL = /^(duration\.(second|minute)|filters\.active)\.(zero|one|two|few|many|other)$/u;
const base = (key) => key.replace(/\.(zero|one|two|few|many|other)$/u, "");
const texts = (value) => (Array.isArray(value) ? value : typeof value === "string" ? [value] : []);
const placeholders = (value) => [...new Set(texts(value).flatMap((text) => [...text.matchAll(/\{(\w+)\}/gu)].map((m) => m[1])))].sort();

describe("every language", () => {
  it("has every text of the others (a plural has at least its `other` form)", () => {
    const keys = (lang) => new Set(Object.keys(MESSAGES[lang]).map((key) => (PLURAL.test(key) ? `${base(key)}.other` : key)));
    for (const lang of LANGS) {
      for (const other of LANGS) {
        const missing = [...keys(other)].filter((key) => !(key in MESSAGES[lang]));
        assert.deepEqual(missing, [], `${lang} lacks what ${other} has`);
      }
    }
  });

  it("fills in the same values", () => {
    // (The API's codes and reasons are checked against its catalogue in problems.test.mjs.)
    const own = Object.keys(MESSAGES.fr).filter((key) => !PLURAL.test(key) && key !== "fmt" && !/^(problem|reason)\./u.test(key));
    for (const key of own) {
      for (const lang of LANGS) assert.deepEqual(placeholders(MESSAGES[lang][key]), placeholders(MESSAGES.fr[key]), `${lang} ${key}`);
    }
  });

  it("writes E-BANKING and M-BANKING as PORTNET's manual does, never cut at the hyphen", () => {
    for (const lang of LANGS) {
      const all = JSON.stringify(MESSAGES[lang]);
      assert.doesNotMatch(all, /[em]-banking/u, lang);
      assert.doesNotMatch(all, /[EM]-(?!\u2060)BANKING/u, `${lang}: a hyphen a line may break at`);
    }
  });

  it("calls the payment id « n° de suivi », never a reference, and the complaints platform by the manual's name", () => {
    assert.match(MESSAGES.fr["status.paymentId"], /^N° de suivi du paiement/u);
    assert.equal(MESSAGES.fr["help.claims"], "Plateforme d'assistance en ligne (réclamations)");
  });
});

describe("French", () => {
  const own = Object.entries(MESSAGES.fr).filter(([key]) => !/^(problem|reason)\./u.test(key));

  it("has a no-break space before : ; ? ! and inside « », never a plain one", () => {
    for (const [key, value] of own) {
      for (const text of texts(value)) {
        assert.doesNotMatch(text, / [:;?!»]|« /u, `${key}: ${text}`);
      }
    }
  });

  it("spells « N° facture » one way", () => {
    for (const [key, value] of Object.entries(MESSAGES.fr)) {
      for (const text of texts(value)) assert.doesNotMatch(text, /N° Facture/u, key);
    }
  });

  it("is what index.html shows before the page's script runs", () => {
    const html = readFileSync(new URL("../../web/index.html", import.meta.url), "utf8");
    const unescape = (text) => text.replace(/&lt;/gu, "<").replace(/&amp;/gu, "&");
    const shown = [...html.matchAll(/data-i18n="([^"]+)"[^>]*>([^<]*)</gu)];
    assert.ok(shown.length > 40);
    for (const [, key, text] of shown) assert.equal(unescape(text), MESSAGES.fr[key], key);
  });
});

describe("Arabic", () => {
  it("asks with « يرجى » rather than a masculine imperative", () => {
    // (« إجراء تحقق » is the masdar, not the imperative.)
    const imperatives = /(?<!إجراء\s)(?<=^|[\s.:(«])(أدخل|تحقق|أعد|ألغِ|اكتب|حدد|انسخ|ادخل|افتح|اختر|أكّد|توجه|احتفظ|اتصل|عد|أدِّه|لا تؤدِّ)(?=\s|[.،:]|$)/u;
    for (const [key, value] of Object.entries(MESSAGES.ar)) {
      for (const text of texts(value)) assert.doesNotMatch(text, imperatives, `${key}: ${text}`);
    }
  });
});
