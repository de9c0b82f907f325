// Which screen a payment shows, by its status (web/js/status.js).
import assert from "node:assert/strict";
import { describe, it } from "node:test";

import { HttpError, NetworkError } from "../../web/js/api.js";
import {
  afterCreation, changeMethodOffered, failureReason, failureView, landing, lastErrorText, PAID_ELSEWHERE, paymentScreen, readError, referenceKind,
  selectionOf, statusView,
} from "../../web/js/status.js";

const payment = (status, extra = {}) => ({ payment_id: "PAY-1", status, last_error: null, ...extra });

describe("a payment's status shows", () => {
  it("PENDING: the status screen, read again while the payer waits", () => {
    assert.deepEqual(paymentScreen(payment("PENDING")), { screen: "status", poll: true });
  });

  it("PENDING with a last error (declined at the gateway): the failure screen, DECLINED", () => {
    assert.deepEqual(paymentScreen(payment("PENDING", { last_error: "Carte refusée" })), { screen: "failure", kind: "DECLINED" });
  });

  it("AWAITING_SETTLEMENT: the reference to pay with", () => {
    assert.deepEqual(paymentScreen(payment("AWAITING_SETTLEMENT")), { screen: "reference" });
  });

  it("PAID: the receipt", () => {
    assert.deepEqual(paymentScreen(payment("PAID")), { screen: "receipt" });
  });

  for (const status of ["FAILED", "CANCELLED", "EXPIRED", "NEEDS_REVIEW", "REVERSED"]) {
    it(`${status}: the failure screen, saying ${status}`, () => {
      assert.deepEqual(paymentScreen(payment(status)), { screen: "failure", kind: status });
    });
  }

  it("a status the page does not know: the failure screen, as FAILED", () => {
    assert.deepEqual(paymentScreen(payment("REFUNDED")), { screen: "failure", kind: "FAILED" });
    assert.deepEqual(paymentScreen(null), { screen: "failure", kind: "FAILED" });
  });
});

describe("the failure screen", () => {
  const plain = { returnedKey: null, help: false, reason: true };

  it("offers to retry a payment that failed, was declined, cancelled or expired", () => {
    for (const kind of ["FAILED", "DECLINED", "CANCELLED", "EXPIRED"]) {
      assert.deepEqual(failureView(kind), { titleKey: "failure.title", messageKey: `failure.${kind}`, ...plain, retry: true }, kind);
    }
  });

  it("never offers to pay again what needs review (money may be held), with its own title", () => {
    assert.deepEqual(failureView("NEEDS_REVIEW"), {
      titleKey: "failure.titleReview", messageKey: "failure.NEEDS_REVIEW", ...plain, retry: false,
    });
  });

  it("REVERSED: says the invoices were paid by another payment and that the authorisation was voided", () => {
    const reversal = { action: "VOID", at: "2026-11-27T10:20:00Z", reason: PAID_ELSEWHERE };
    assert.deepEqual(failureView("REVERSED", reversal), {
      titleKey: "failure.titleReversed",
      messageKey: "failure.REVERSED.paidElsewhere",
      returnedKey: "failure.returned.VOID",
      help: true,
      reason: false,
      retry: false,
    });
  });

  it("REVERSED: says how the money came back, for each way the contract names", () => {
    for (const action of ["VOID", "REFUND", "MANUAL"]) {
      assert.equal(failureView("REVERSED", { action, reason: PAID_ELSEWHERE }).returnedKey, `failure.returned.${action}`, action);
    }
  });

  it("REVERSED: a final state, never a retry, the assistance's contacts shown, no stale gateway reason", () => {
    for (const reversal of [null, { action: "REFUND", reason: PAID_ELSEWHERE }, { action: "MANUAL", reason: "Montant erroné, remboursé" }]) {
      const view = failureView("REVERSED", reversal);
      assert.equal(view.retry, false);
      assert.equal(view.help, true);
      assert.equal(view.reason, false);
    }
  });

  it("REVERSED for another reason (an operator's): says only that no invoice was paid, never that another payment did", () => {
    const view = failureView("REVERSED", { action: "MANUAL", at: "2026-11-27T10:20:00Z", reason: "Écart de montant constaté" });
    assert.equal(view.messageKey, "failure.REVERSED");
    assert.equal(view.returnedKey, "failure.returned.MANUAL");
  });

  it("REVERSED without a reversal, or with a way the page does not know: a sentence that fits any return", () => {
    for (const reversal of [null, undefined, {}, { action: "CHARGEBACK", reason: PAID_ELSEWHERE }]) {
      assert.equal(failureView("REVERSED", reversal).returnedKey, "failure.returned", JSON.stringify(reversal));
    }
    assert.equal(failureView("REVERSED").messageKey, "failure.REVERSED");
  });

  it("offers no retry for a payment that does not exist", () => {
    assert.equal(failureView("NOT_FOUND").retry, false);
  });

  it("shows the last error as one line", () => {
    assert.equal(lastErrorText(null), "");
    assert.equal(lastErrorText("Carte refusée"), "Carte refusée");
    assert.equal(lastErrorText({ message: "m", code: "c" }), "m");
    assert.equal(lastErrorText({ code: "51" }), "51");
    assert.equal(lastErrorText({}), "");
  });
});

describe("the status screen", () => {
  it("says it is checking, with no action, while reading", () => {
    assert.deepEqual(statusView("checking"), { busy: true, messageKey: "status.checking", actions: false, cancel: false });
  });

  it("offers to refresh, or to cancel and start over, when the payment is still pending", () => {
    assert.deepEqual(statusView("pending"), { busy: false, messageKey: "status.stillPending", actions: true, cancel: true });
  });

  it("offers to refresh after an error (the alert says which)", () => {
    assert.deepEqual(statusView("error"), { busy: false, messageKey: null, actions: true, cancel: false });
  });
});

describe("reading a payment fails with", () => {
  it("404: the payment does not exist", () => {
    assert.equal(readError(new HttpError(404, { code: "PAYMENT_NOT_FOUND" })), "not-found");
  });

  it("no answer or 429: read again", () => {
    assert.equal(readError(new NetworkError("network")), "retry");
    assert.equal(readError(new HttpError(429, {}, "3")), "retry");
  });

  it("anything else: an error", () => {
    assert.equal(readError(new HttpError(500, {})), "error");
    assert.equal(readError(new HttpError(503, {})), "error");
    assert.equal(readError(new TypeError("bug")), "error");
  });
});

describe("a payment just created", () => {
  it("with a redirect: the browser goes to the gateway", () => {
    assert.equal(afterCreation(payment("PENDING", { redirect: { url: "https://gw.example/pay" }, reference: null })), "redirect");
  });

  it("with a reference: the reference screen", () => {
    assert.equal(afterCreation(payment("AWAITING_SETTLEMENT", { redirect: null, reference: { code: "123" } })), "reference");
  });

  it("with neither: read until it shows an outcome", () => {
    assert.equal(afterCreation(payment("PENDING", { redirect: null, reference: null })), "track");
  });

  it("has a TASHILAT reference for TASHILAT, a Fatourati one otherwise", () => {
    assert.equal(referenceKind({ method: "TASHILAT" }), "TASHILAT");
    assert.equal(referenceKind({ method: "FATOURATI" }), "FATOURATI");
    assert.equal(referenceKind(null), "FATOURATI");
  });
});

describe("the page opens on", () => {
  it("the payment its address names", () => {
    assert.deepEqual(landing("?payment=PAY-1", ""), { paymentId: "PAY-1", url: "keep" });
    assert.deepEqual(landing("?payment=PAY-1", "PAY-2"), { paymentId: "PAY-1", url: "keep" });
  });

  it("the payment this tab left to pay, back by a gateway link that names none", () => {
    assert.deepEqual(landing("", "PAY-2"), { paymentId: "PAY-2", url: "set" });
  });

  it("the consultation, the address cleaned, when it names no valid payment", () => {
    assert.deepEqual(landing("?payment=", ""), { paymentId: null, url: "clear" });
    assert.deepEqual(landing("?payment=%3Cscript%3E", "PAY-2"), { paymentId: null, url: "clear" });
  });

  it("the consultation otherwise", () => {
    assert.deepEqual(landing("", ""), { paymentId: null, url: "keep" });
    assert.deepEqual(landing("?utm=x", "not an id"), { paymentId: null, url: "keep" });
  });
});

describe("changeMethodOffered", () => {
  it("is offered at once while the payment is at its gateway, when this tab knows the invoices", () => {
    assert.equal(changeMethodOffered("checking", 2), true);
    assert.equal(changeMethodOffered("pending", 1), true);
  });

  it("is not offered without a selection to come back to, nor when reading the payment failed", () => {
    assert.equal(changeMethodOffered("checking", 0), false);
    assert.equal(changeMethodOffered("error", 3), false);
  });
});

describe("failureReason", () => {
  it("words every stored gateway failure, the code apart for the support", () => {
    assert.deepEqual(failureReason("CMI 05: Carte refusée par l'émetteur"), { key: "reason.CARD_DECLINED", vars: { code: "05" }, code: "CMI 05" });
    assert.deepEqual(failureReason("M2T FAILED"), { key: "reason.FAILED", vars: { gateway: "M2T" }, code: "M2T FAILED" });
  });

  it("gives a plain sentence for a text it does not know, the text only as the code (cut short)", () => {
    assert.deepEqual(failureReason("SUPERSEDED"), { key: "failure.reasonUnknown", vars: {}, code: "SUPERSEDED" });
    assert.equal(failureReason({ code: "X1" }).code, "X1");
    const long = failureReason("E".repeat(200)).code;
    assert.equal(long.length, 60);
    assert.ok(long.endsWith("…"));
  });

  it("is nothing without a last_error", () => {
    for (const none of [null, "", "  ", {}]) assert.equal(failureReason(none), null);
  });
});

describe("selectionOf", () => {
  const payment = { invoices: [{ invoice_id: "a" }, { invoice_id: "b" }] };

  it("is the selection the payment was for, in any order", () => {
    assert.equal(selectionOf(payment, ["b", "a"]), true);
    assert.equal(selectionOf({ status: "FAILED" }, ["a"]), true, "a payment that lists no invoices: trusted");
  });

  it("is not another selection, nor an empty one", () => {
    assert.equal(selectionOf(payment, ["a"]), false);
    assert.equal(selectionOf(payment, ["a", "c"]), false);
    assert.equal(selectionOf(payment, []), false);
    assert.equal(selectionOf(null, []), false);
  });
});
