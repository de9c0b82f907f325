// The screens: one <section data-screen> shown at a time, each drawn by the render function its module registers.
// Also the busy state of a container, and the page's URL (?payment=<id> while a payment is followed).

import { $, $$ } from "./dom.js";
import { clearAlert } from "./feedback.js";
import { screenQuery, searchSnapshot } from "./navigation.js";
import { session, state } from "./state.js";
import { t } from "./text.js";

const renders = {};
const afterBusy = [];

/** The function that draws screen `name` from the state (on show, and again when the language changes). */
export function registerScreen(name, render) {
  renders[name] = render;
}

/** Run after every busy() has put its buttons back (a screen re-disables those the state says must be). */
export function onBusyEnd(hook) {
  afterBusy.push(hook);
}

export const render = (name = state.screen) => renders[name]?.();

/** The tab's title: the screen's heading as drawn (the failure screen's depends on the payment), the page, PORTNET. */
export function setTitle() {
  const heading = $(`#${state.screen}-title`)?.textContent.trim() || t(`${state.screen}.title`);
  document.title = `${heading} — ${t("app.title")} — PORTNET`;
}

/**
 * Shows screen `name`. Its address is pushed onto the history (so that Back comes back here) unless it is the one
 * shown already; `replace` (a reload, Back or Forward, a screen standing in for another) replaces it instead.
 */
export function show(name, { focus = true, replace = false } = {}) {
  if (name !== state.screen) clearAlert();
  state.screen = name;
  syncUrl({ replace });
  for (const section of $$("[data-screen]")) section.hidden = section.dataset.screen !== name;
  document.body.dataset.currentScreen = name;
  render(name);
  setTitle();
  if (focus) $(`#${name}-title`).focus();
}

/** Runs task with the container's buttons disabled and its [data-busy] line saying so; focus survives. */
export async function busy(container, task, label = "busy") {
  const focused = document.activeElement;
  const buttons = $$("button", container).filter((button) => !button.disabled);
  const status = $("[data-busy]", container);
  container.setAttribute("aria-busy", "true");
  for (const button of buttons) button.disabled = true;
  if (status) status.textContent = t(label);
  try {
    return await task(status);
  } finally {
    container.setAttribute("aria-busy", "false");
    for (const button of buttons) button.disabled = false;
    if (status) status.textContent = "";
    for (const hook of afterBusy) hook();
    const lost = !document.activeElement || document.activeElement === document.body;
    if (lost && focused?.isConnected && !focused.disabled && !focused.closest("[hidden]")) focused.focus();
    else if (lost || focused?.disabled) $(`#${state.screen}-title`).focus();
  }
}

/** The address of the screen shown (and this tab's sessionStorage of the search), as the state says. */
export function syncUrl({ replace = false } = {}) {
  if (state.code) session.saveSearch(searchSnapshot(state));
  const query = screenQuery(state.screen, { page: state.page, paymentId: state.paymentId, receiptCode: state.verify.code });
  if (query === null || query === location.search) return;
  history[replace ? "replaceState" : "pushState"](null, "", `${location.pathname}${query}`);
}

/** The address names the payment followed, so that a reload or a gateway's return shows it again. */
export function showPaymentUrl(id) {
  history.replaceState(null, "", `${location.pathname}?payment=${encodeURIComponent(id)}`);
}

export function leavePaymentUrl() {
  if (location.search) history.replaceState(null, "", location.pathname);
}
