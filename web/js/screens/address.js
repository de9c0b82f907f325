// Back, Forward and reload: the screen the address names, drawn again from this tab's state or, after a reload, from
// what sessionStorage kept of the search (never the address: the subscription code does not go into a URL).

import { $ } from "../dom.js";
import { alertError } from "../feedback.js";
import { parseView, reachablePage, restoreSnapshot } from "../navigation.js";
import { show } from "../router.js";
import { session, state } from "../state.js";
import { landing } from "../status.js";
import { problemText } from "../text.js";
import { loadPage } from "./results.js";
import { trackPayment } from "./tracking.js";
import { openVerify } from "./verify.js";

let openings = 0;

/** The search kept in sessionStorage put back into the state when this tab has none; false when there is none. */
function restoreSearch() {
  if (state.code) return true;
  const restored = restoreSnapshot(session.loadSearch());
  if (!restored) return false;
  Object.assign(state, restored);
  return true;
}

/** Opens the screen of the page's address (on load, and on Back or Forward), replacing its history entry. */
export async function openFromAddress({ focus = true } = {}) {
  const opening = ++openings;
  state.pollToken++;
  const { paymentId } = landing(location.search, "");
  const known = restoreSearch(); // also what a payer back from a gateway without paying chooses again
  if (paymentId) {
    state.code ||= session.get();
    return trackPayment(paymentId, { focus });
  }
  const { view, page, code } = parseView(location.search);
  if (view === "verify") return openVerify(code, { focus, replace: true });
  if (view === "search" || !known) {
    const code = state.code || session.get();
    if (code && !$("#subscription-code").value) $("#subscription-code").value = code;
    return show("search", { focus, replace: true });
  }
  if (view === "empty") return show("empty", { focus, replace: true });
  if (view === "payment" && state.selection.size) return show("payment", { focus, replace: true });
  // The results (or a payment with nothing left to pay): that page read again, as statuses may have changed.
  let items;
  try {
    items = await loadPage(reachablePage(state.cursors, view === "results" ? page : state.page));
  } catch (error) {
    if (opening !== openings) return;
    show("search", { focus, replace: true });
    alertError(problemText(error));
    return;
  }
  if (opening !== openings) return;
  if (items.length || state.page > 0) show("results", { focus, replace: true });
  else show("empty", { focus, replace: true });
}

export function wireAddress() {
  window.addEventListener("popstate", () => openFromAddress());
}
