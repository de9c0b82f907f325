// Messages to the payer: the alert (errors), the polite announcer, and errors under form fields.

import { $, $$, el, icon } from "./dom.js";
import { t } from "./text.js";

export function alertError(message) {
  $("#alert").replaceChildren(icon("i-error"), el("span", {}, message));
}

export const clearAlert = () => $("#alert").replaceChildren();

export function announce(message) {
  const region = $("#announcer");
  region.textContent = "";
  setTimeout(() => { region.textContent = message; }, 60);
}

export function clearFieldErrors(form) {
  for (const input of $$("[aria-invalid]", form)) input.removeAttribute("aria-invalid");
  for (const message of $$(".field-error", form)) {
    message.textContent = "";
    message.hidden = true;
  }
}

/**
 * problems: [[input id, message]] (validation.js's, with the messages translated). Marks each input, writes its
 * message under it, focuses the first (opening its <details>) and sums them up in the alert. False when none.
 */
export function showFieldErrors(problems) {
  if (!problems.length) return false;
  for (const [id, message] of problems) {
    $(`#${id}`).setAttribute("aria-invalid", "true");
    const slot = $(`#${id}-error`);
    slot.replaceChildren(icon("i-error"), el("span", {}, message));
    slot.hidden = false;
  }
  const first = $(`#${problems[0][0]}`);
  first.closest("details")?.setAttribute("open", "");
  first.focus();
  alertError(t("error.fix", { msg: problems.map(([, message]) => message).join(" ") }));
  return true;
}

/** validation.js's problems ([[input id, i18n key]]) shown in the payer's language. */
export const showProblems = (problems) => showFieldErrors(problems.map(([id, key]) => [id, t(key)]));
