// The page's language: every [data-i18n] text and [data-i18n-attr] attribute, the direction, the current screen.

import { LANGS } from "../i18n.js";
import { $$ } from "./dom.js";
import { render, setTitle } from "./router.js";
import { savedLanguage, state } from "./state.js";
import { fmt, t } from "./text.js";

export function setLanguage(lang, persist = true) {
  state.lang = LANGS.includes(lang) ? lang : "fr";
  document.documentElement.lang = state.lang;
  document.documentElement.dir = fmt().dir;
  for (const node of $$("[data-i18n]")) node.textContent = t(node.dataset.i18n);
  for (const node of $$("[data-i18n-attr]")) {
    for (const pair of node.dataset.i18nAttr.split(",")) {
      const [attr, key] = pair.split(":");
      node.setAttribute(attr, t(key));
    }
  }
  for (const button of $$("[data-lang]")) button.setAttribute("aria-pressed", String(button.dataset.lang === state.lang));
  if (persist) savedLanguage.set(state.lang);
  render();
  setTitle();
}

/** The language remembered from an earlier visit (French by default), not remembered again. */
export const restoreLanguage = () => setLanguage(savedLanguage.get(), false);

export function wireLanguage() {
  for (const button of $$("[data-lang]")) button.addEventListener("click", () => setLanguage(button.dataset.lang));
}
