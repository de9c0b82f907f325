// 1. Consultation (the subscription code, optionally one invoice number) and 2. its "no result" screen.

import { HttpError } from "../api.js";
import { $ } from "../dom.js";
import { alertError, clearAlert, clearFieldErrors, showFieldErrors, showProblems } from "../feedback.js";
import { busy, registerScreen, show } from "../router.js";
import { session, state } from "../state.js";
import { problemText, t } from "../text.js";
import { checkSearch } from "../validation.js";
import { loadPage, resetFiltersForm } from "./results.js";

const codeInput = () => $("#subscription-code");
const numberInput = () => $("#invoice-number");

async function onSearchSubmit(event) {
  event.preventDefault();
  clearAlert();
  clearFieldErrors(event.currentTarget);
  const { code, number, problems } = checkSearch({ code: codeInput().value, number: numberInput().value });
  if (showProblems(problems)) return;
  codeInput().value = code;
  await startSearch(code, number, $("#screen-search"));
}

/** A new search (the filters and the selection forgotten), busy in `container`: its results, or why none. */
export async function startSearch(code, number, container) {
  state.pollToken++;
  state.code = code;
  state.invoiceNumber = number;
  state.filters = {};
  state.cursors = [null];
  state.selection.clear();
  state.issuers.clear();
  resetFiltersForm();
  await busy(container, async () => {
    try {
      const items = await loadPage(0);
      if (items.length) {
        show("results");
      } else {
        state.emptyKey = number ? "empty.messageNumber" : "empty.message";
        show("empty");
      }
    } catch (error) {
      if (error instanceof HttpError && error.problem.code === "INVALID_SUBSCRIPTION_CODE") {
        if (state.screen !== "search") show("search");
        showFieldErrors([[codeInput().id, problemText(error)]]);
      } else {
        alertError(problemText(error));
      }
    }
  });
}

/** Back to the consultation, the code kept (this tab's, or the one remembered before a gateway round trip). */
export function newSearch() {
  state.pollToken++;
  const code = state.code || session.get();
  if (code) codeInput().value = code;
  numberInput().value = "";
  clearFieldErrors($("#search-form"));
  show("search");
}

/** Searches again with the code this tab used (or remembered), from `container`; the consultation without one. */
export async function searchAgain(container) {
  const code = state.code || session.get();
  if (!code) return newSearch();
  codeInput().value = code;
  numberInput().value = "";
  await startSearch(code, "", container);
}

function renderEmpty() {
  $("#empty-message span").textContent = t(state.emptyKey);
}

export function wireSearch() {
  registerScreen("empty", renderEmpty);
  $("#search-form").addEventListener("submit", onSearchSubmit);
}
