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
    assert.equal(t("select.count", { n: 3 }), "Factures sélectionnées\u00a0: 3");
    assert.equal(t("select.count"), "Factures sélectionnées\u00a0: {n}");
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

  it("are the page's own sentence for the code in French too (the catalogue's French), never the API's detail", () => {
    assert.equal(problemText(problem(409, "INVOICE_NOT_PAYABLE", "Facture déjà réglée.")), MESSAGES.fr["problem.INVOICE_NOT_PAYABLE"]);
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

  it("are a general sentence in French for a code we do not know, or one only a developer can meet", () => {
    assert.equal(problemText(problem(400, "SOMETHING_NEW", "Détail.")), t("error.generic"));
    assert.equal(problemText(problem(413, "PAYLOAD_TOO_LARGE", "La requête dépasse (16384 octets).")), t("error.generic"));
    state.lang = "en";
    assert.equal(problemText(problem(404, "NOT_FOUND", "Cette adresse n'existe pas.")), t("error.generic"));
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

  it("say the wait with the plural of the language, in minutes from one minute on", () => {
    const wait = (seconds) => problemText(new HttpError(429, { code: "RATE_LIMITED" }, String(seconds)));
    assert.equal(wait(1), "Trop de tentatives. Veuillez réessayer dans 1 seconde.");
    assert.equal(wait(3412), "Trop de tentatives. Veuillez réessayer dans 57 minutes.");
    assert.equal(wait(60), "Trop de tentatives. Veuillez réessayer dans 1 minute.");
    state.lang = "en";
    assert.equal(wait(1), "Too many attempts. Please try again in 1 second.");
    state.lang = "ar";
    assert.match(wait(1), /بعد ثانية واحدة\.$/u);
    assert.match(wait(2), /بعد ثانيتين\.$/u);
    assert.match(wait(5), /بعد 5 ثوانٍ\.$/u);
    assert.match(wait(42), /بعد 42 ثانية\.$/u);
    assert.match(wait(120), /بعد دقيقتين\.$/u);
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
