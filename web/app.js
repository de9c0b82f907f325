// E-Paiement pour un tiers: look up a port operator's unpaid invoices and pay them (docs/api.md).
// The entry module: it wires the screens (web/js/screens/) and opens the one the address asks for.
// The subscription code is the only key to the invoices: it never goes into a URL or localStorage.

import { observeChallenges } from "./js/challenge.js";
import { $$ } from "./js/dom.js";
import { announce } from "./js/feedback.js";
import { restoreLanguage, wireLanguage } from "./js/language.js";
import { leavePaymentUrl, showPaymentUrl } from "./js/router.js";
import { openFromAddress, wireAddress } from "./js/screens/address.js";
import { wireFailure } from "./js/screens/failure.js";
import { backToResults, wirePayment } from "./js/screens/payment.js";
import { wireReceipt } from "./js/screens/receipt.js";
import { wireReference } from "./js/screens/reference.js";
import { wireResults } from "./js/screens/results.js";
import { newSearch, wireSearch } from "./js/screens/search.js";
import { wireTracking } from "./js/screens/tracking.js";
import { wireVerify } from "./js/screens/verify.js";
import { session, state } from "./js/state.js";
import { landing } from "./js/status.js";
import { t } from "./js/text.js";

/** While a lookup's challenge is solved (api.md §8), the busy lines say « Vérification de sécurité en cours… ». */
let waiting = new Map();
function showChallenge(solving) {
  if (solving) {
    waiting = new Map($$("[data-busy]").filter((line) => line.textContent).map((line) => [line, line.textContent]));
    for (const line of waiting.keys()) line.textContent = t("busy.challenge");
    announce(t("busy.challenge"));
    return;
  }
  for (const [line, text] of waiting) if (line.textContent === t("busy.challenge")) line.textContent = text;
  waiting = new Map();
}

function init() {
  for (const wire of [wireSearch, wireResults, wirePayment, wireReference, wireTracking, wireReceipt, wireVerify, wireFailure, wireAddress]) {
    wire();
  }
  wireLanguage();
  restoreLanguage();
  observeChallenges(showChallenge);
  document.addEventListener("click", (event) => {
    const action = event.target.closest("[data-action]")?.dataset.action;
    if (action === "new-search") newSearch();
    if (action === "back-results") backToResults();
  });
  // Back from the gateway page restored from the back/forward cache: start over from the URL (?payment=<id>).
  window.addEventListener("pageshow", (event) => {
    if (event.persisted && state.redirected) location.reload();
  });

  const { paymentId, url } = landing(location.search, session.takeTrip());
  if (url === "set") showPaymentUrl(paymentId);
  if (url === "clear") leavePaymentUrl();
  openFromAddress({ focus: false });
}

init();
