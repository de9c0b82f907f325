// What the page tells the payer, in their language (web/js/text.js, web/js/api.js).
import assert from "node:assert/strict";
import { afterEach, describe, it } from "node:test";

import { MESSAGES } from "../../web/i18n.js";
import { HttpError, NetworkError, newUuid, retryAfterSeconds } from "../../web/js/api.js";
import { state } from "../../web/js/state.js";
import { formatDate, problemText, t } from "../../web/js/text.js";

afterEach(() => { state.lang = "fr"; });

describe("messages", () => {
  it("fill their placeholders and leave unknown ones", () => {
    assert.equal(t("select.count", { n: 3 }), "Factures sélectionnées : 3");
    assert.equal(t("select.count"), "Factures sélectionnées : {n}");
  });

  it("are in the payer's language", () => {
    state.lang = "en";
    assert.equal(t("select.count", { n: 3 }), MESSAGES.en["select.count"].replace("{n}", "3"));
  });

  it("fall back to French, then to the key", () => {
    state.lang = "en";
    assert.equal(t("no.such.key"), "no.such.key");
  });
});

describe("problems from the API", () => {
  const problem = (status, code, detail) => new HttpError(status, { code, detail });

  it("are the API's own (French) detail for a French page", () => {
    assert.equal(problemText(problem(409, "INVOICE_NOT_PAYABLE", "Facture déjà réglée.")), "Facture déjà réglée.");
  });

  it("are our translation of the code in other languages", () => {
    state.lang = "en";
    assert.equal(
      problemText(problem(409, "INVOICE_NOT_PAYABLE", "Facture déjà réglée.")),
      MESSAGES.en["problem.INVOICE_NOT_PAYABLE"],
    );
  });

  it("are never the French detail in another language, even for a code we do not know", () => {
    state.lang = "en";
    assert.equal(problemText(problem(400, "SOMETHING_NEW", "Détail.")), t("error.generic"));
    assert.equal(problemText(problem(503, "SOMETHING_NEW", "Détail.")), t("error.server"));
    state.lang = "ar";
    assert.equal(problemText(problem(400, "SOMETHING_NEW", "Détail.")), t("error.generic"));
  });

  it("are the detail in French, even for a code we do not know", () => {
    assert.equal(problemText(problem(400, "SOMETHING_NEW", "Détail.")), "Détail.");
  });

  it("without a detail: by the status", () => {
    assert.equal(problemText(problem(500, "X")), t("error.server"));
    assert.equal(problemText(problem(400, "X")), t("error.generic"));
  });

  it("say when to try again after too many requests", () => {
    const limited = { code: "RATE_LIMITED", detail: "Trop de tentatives. Veuillez réessayer dans 9 secondes." };
    assert.equal(problemText(new HttpError(429, limited, "7")), "Trop de tentatives. Veuillez réessayer dans 7 secondes.");
    assert.equal(problemText(new HttpError(429, {}, "7")), "Trop de tentatives. Veuillez réessayer dans 7 secondes.");
    assert.equal(problemText(new HttpError(429, {}, null)), t("error.rateLimitedSoon"));
    state.lang = "en";
    assert.equal(problemText(new HttpError(429, limited, "7")), "Too many attempts. Please try again in 7 seconds.");
  });

  it("of another 429 code are that code's text, not the rate limit's", () => {
    state.lang = "en";
    const tooMany = new HttpError(429, { code: "TOO_MANY_LIVE_PAYMENTS", detail: "Trop de paiements…" }, "60");
    assert.equal(problemText(tooMany), MESSAGES.en["problem.TOO_MANY_LIVE_PAYMENTS"]);
  });

  it("say the service cannot be reached when nothing answered, and something generic for a bug", () => {
    assert.equal(problemText(new NetworkError("network")), t("error.network"));
    assert.equal(problemText(new TypeError("bug")), t("error.generic"));
  });
});

describe("Retry-After", () => {
  it("is read in seconds or as an HTTP date, at least one second", () => {
    assert.equal(retryAfterSeconds("7"), 7);
    assert.equal(retryAfterSeconds("0"), 1);
    assert.equal(retryAfterSeconds(new Date(Date.now() + 10_500).toUTCString()) >= 10, true);
    assert.equal(retryAfterSeconds(null), null);
    assert.equal(retryAfterSeconds("soon"), null);
  });
});

describe("dates", () => {
  it("are written as the language does, the day as given whatever the time zone", () => {
    assert.equal(formatDate("2025-03-01"), "01/03/2025");
    state.lang = "en";
    assert.equal(formatDate("2025-03-01"), "01/03/2025");
  });

  it("are shown as received when unreadable, a dash when absent", () => {
    assert.equal(formatDate("March 1st"), "March 1st");
    assert.equal(formatDate(null), "—");
  });
});

describe("idempotency keys", () => {
  it("are v4 UUIDs", () => {
    assert.match(newUuid(), /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  });
});
