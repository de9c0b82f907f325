// The API's errors and the gateways' failure reasons, in every language of the page. Their French is the API's
// error catalogue (web/js/errors.js, generated from layers/common/epay/error_catalogue.py by `make openapi`): a code
// or reason added to the catalogue fails here until i18n.js has its Arabic and English.
import assert from "node:assert/strict";
import { afterEach, describe, it } from "node:test";

import { LANGS, MESSAGES } from "../../web/i18n.js";
import { HttpError } from "../../web/js/api.js";
import { PROBLEMS_FR, REASONS_FR } from "../../web/js/errors.js";
import { state } from "../../web/js/state.js";
import { gatewayReason, lastErrorText } from "../../web/js/status.js";
import { problemText, t } from "../../web/js/text.js";

afterEach(() => { state.lang = "fr"; });

const placeholders = (text) => new Set([...text.matchAll(/\{(\w+)\}/g)].map((match) => match[1]));
const keysWith = (lang, prefix) => Object.keys(MESSAGES[lang]).filter((key) => key.startsWith(prefix)).sort();
// The only value a translation may hold: the wait a 429 asks for (the page words it itself, error.rateLimited).
const PAGE_FILLS = new Set(["seconds"]);
// Codes only a misconfigured page or an API client meets (web/js/text.js): the payer reads error.generic.
const DEVELOPER_CODES = ["NOT_FOUND", "METHOD_NOT_ALLOWED", "PAYLOAD_TOO_LARGE", "UNSUPPORTED_MEDIA_TYPE"];

describe("every error code the page can receive", () => {
  const codes = Object.keys(PROBLEMS_FR);

  it("comes from the catalogue, with the codes of the contract among them", () => {
    for (const code of ["INVALID_SUBSCRIPTION_CODE", "INVOICE_NOT_PAYABLE", "RATE_LIMITED", "SERVICE_UNAVAILABLE"]) {
      assert.ok(codes.includes(code), code);
    }
  });

  for (const lang of LANGS) {
    it(`has a text in ${lang}, and the page has no text for a code the catalogue lacks`, () => {
      assert.deepEqual(keysWith(lang, "problem."), codes.map((code) => `problem.${code}`).sort());
    });
  }

  it("is the catalogue's French, word for word", () => {
    for (const code of codes) assert.equal(MESSAGES.fr[`problem.${code}`], PROBLEMS_FR[code], code);
  });

  for (const lang of LANGS.filter((lang) => lang !== "fr")) {
    it(`is translated in ${lang}: not the French, and only with values the page can fill in`, () => {
      for (const code of codes) {
        const text = MESSAGES[lang][`problem.${code}`];
        assert.notEqual(text, PROBLEMS_FR[code], code);
        for (const name of placeholders(text)) {
          assert.ok(placeholders(PROBLEMS_FR[code]).has(name), `${lang} ${code}: {${name}} is not in the French`);
          assert.ok(PAGE_FILLS.has(name), `${lang} ${code}: the page cannot fill {${name}}`);
        }
      }
    });

    it(`is shown in ${lang} as our translation, never as the API's French detail`, () => {
      state.lang = lang;
      for (const code of codes.filter((code) => !["RATE_LIMITED", ...DEVELOPER_CODES].includes(code))) {
        const shown = problemText(new HttpError(400, { code, detail: PROBLEMS_FR[code] }));
        assert.equal(shown, MESSAGES[lang][`problem.${code}`], code);
      }
    });
  }

  it("is shown in French as the page's dictionary says it (the catalogue's sentence), whatever the API's detail", () => {
    const shown = problemText(new HttpError(409, { code: "INVOICE_NOT_PAYABLE", detail: "Autre chose." }));
    assert.equal(shown, PROBLEMS_FR.INVOICE_NOT_PAYABLE);
    for (const code of codes.filter((code) => !["RATE_LIMITED", ...DEVELOPER_CODES].includes(code))) {
      assert.doesNotMatch(MESSAGES.fr[`problem.${code}`], /\{\w+\}/u, `${code}: a value the page cannot fill in`);
    }
  });

  it("that only a developer can meet is a general sentence, in every language", () => {
    for (const lang of LANGS) {
      state.lang = lang;
      for (const code of DEVELOPER_CODES) {
        const detail = PROBLEMS_FR[code];
        assert.equal(problemText(new HttpError(413, { code, detail })), t("error.generic"), `${lang} ${code}`);
      }
    }
  });
});

describe("every gateway failure reason", () => {
  const reasons = Object.keys(REASONS_FR);

  for (const lang of LANGS) {
    it(`has a text in ${lang} with the same values as the French`, () => {
      assert.deepEqual(keysWith(lang, "reason."), reasons.map((reason) => `reason.${reason}`).sort());
      for (const reason of reasons) {
        assert.deepEqual(placeholders(MESSAGES[lang][`reason.${reason}`]), placeholders(REASONS_FR[reason]), reason);
      }
    });
  }

  it("is the catalogue's French, word for word", () => {
    for (const reason of reasons) assert.equal(MESSAGES.fr[`reason.${reason}`], REASONS_FR[reason], reason);
  });
});

describe("a payment's last_error", () => {
  it("of a declined card is the card reason with the gateway's code, whatever the gateway's own words", () => {
    assert.deepEqual(gatewayReason("CMI 05: Carte refusée par l'émetteur"), { key: "reason.CARD_DECLINED", vars: { code: "05" } });
    assert.deepEqual(gatewayReason("CMI 51: refusé"), { key: "reason.CARD_DECLINED", vars: { code: "51" } });
    assert.equal(t("reason.CARD_DECLINED", { code: "05" }), "Carte refusée par la banque émettrice (code 05).");
    state.lang = "en";
    assert.equal(t("reason.CARD_DECLINED", { code: "05" }), "Card declined by the issuing bank (code 05).");
  });

  it("of a payment the gateway ended is that ending's reason, naming the gateway", () => {
    for (const ending of ["FAILED", "CANCELLED", "EXPIRED"]) {
      assert.deepEqual(gatewayReason(`M2T ${ending}`), { key: `reason.${ending}`, vars: { gateway: "M2T" } });
    }
    assert.equal(t("reason.FAILED", { gateway: "M2T" }), "Le paiement a échoué sur la plateforme M2T.");
  });

  it("that the page does not recognise is no reason (it is shown as received)", () => {
    for (const text of ["", null, "SUPERSEDED", "Carte refusée", "M2T REFUNDED", "cmi 05: x"]) {
      assert.equal(gatewayReason(text), null, String(text));
    }
    assert.equal(lastErrorText("SUPERSEDED"), "SUPERSEDED");
  });
});
