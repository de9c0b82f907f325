// E-Paiement pour un tiers: look up a port operator's unpaid invoices and pay them (docs/api.md).
// The subscription code is the only key to the invoices: it never goes into a URL or localStorage.

import { LANGS, MESSAGES } from "./i18n.js";
import { createClient, HttpError, NetworkError, newUuid, retryAfterSeconds } from "./js/api.js";
import { formatCentimes, parseUserAmount, sumCentimes, toApiAmount, toCentimes } from "./js/money.js";

const request = createClient((window.EPAY_CONFIG || {}).apiBaseUrl);
const PAGE_SIZE = 10;
const POLL_MS = 2000;
const POLL_LIMIT_MS = 30000;
const CODE_RE = /^[A-Za-z0-9]{4}$/;
const NUMBER_RE = /^[A-Za-z0-9][A-Za-z0-9/._-]{0,39}$/;
const ISSUER_RE = /^[A-Za-z0-9][A-Za-z0-9_-]{0,15}$/;
const PAYMENT_ID_RE = /^[A-Za-z0-9-]{1,64}$/;
const EMAIL_RE = /^[^@\s]{1,64}@[A-Za-z0-9][A-Za-z0-9.-]{0,253}\.[A-Za-z]{2,24}$/; // the API's own patterns
const PHONE_RE = /^\+?[0-9][0-9 .-]{5,19}$/;
const METHODS = { CMI: ["CARD", "FATOURATI"], M2T: ["CARD", "TASHILAT", "DIRECT_DEBIT"] };
const FAILURES = ["FAILED", "CANCELLED", "EXPIRED", "NEEDS_REVIEW"];
const STORE_CODE = "epay.subscriptionCode"; // sessionStorage: the "Réessayer" path after a gateway round trip
const STORE_TRIP = "epay.gatewayPayment"; // sessionStorage: the payment whose gateway page this tab went to
const STORE_LANG = "epay.lang";

const state = {
  lang: "fr",
  screen: "search",
  code: "",
  invoiceNumber: "",
  filters: {},
  cursors: [null], // cursors[i] fetches page i; the stack that makes "Précédent" work
  page: 0,
  items: [],
  selection: new Map(), // invoice_id -> invoice as listed; survives page changes
  issuers: new Map(),
  emptyKey: "empty.message",
  method: "CARD",
  attempt: null, // {key, body}: the Idempotency-Key is reused only when the same body is re-sent after a lost answer
  payment: null,
  paymentId: null,
  failureKind: "FAILED",
  statusView: "checking",
  pollToken: 0,
  redirected: false,
};

const $ = (selector, root = document) => root.querySelector(selector);
const $$ = (selector, root = document) => [...root.querySelectorAll(selector)];

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value !== null && value !== undefined && value !== false) node.setAttribute(name, value === true ? "" : value);
  }
  node.append(...children.filter((child) => child !== null && child !== undefined));
  return node;
}

function icon(name) {
  const svg = document.createElementNS("http://www.w3.org/2000/svg", "svg");
  svg.setAttribute("class", "icon");
  svg.setAttribute("aria-hidden", "true");
  const use = document.createElementNS("http://www.w3.org/2000/svg", "use");
  use.setAttribute("href", `#${name}`);
  svg.append(use);
  return svg;
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const session = {
  get: () => { try { return sessionStorage.getItem(STORE_CODE) || ""; } catch { return ""; } },
  set: (code) => { try { sessionStorage.setItem(STORE_CODE, code); } catch { /* private mode: no retry shortcut */ } },
  /** The payment id remembered when leaving for its gateway page, forgotten as it is read: read it once. */
  takeTrip: () => {
    try {
      const id = sessionStorage.getItem(STORE_TRIP) || "";
      sessionStorage.removeItem(STORE_TRIP);
      return id;
    } catch {
      return "";
    }
  },
  setTrip: (id) => { try { sessionStorage.setItem(STORE_TRIP, id); } catch { /* only the return by "shopurl" is lost */ } },
};

// ---------- language and formatting ----------

function t(key, vars = {}) {
  const value = MESSAGES[state.lang][key] ?? MESSAGES.fr[key] ?? key;
  if (Array.isArray(value)) return value;
  return value.replace(/\{(\w+)\}/g, (match, name) => (name in vars ? String(vars[name]) : match));
}
const fmt = () => MESSAGES[state.lang].fmt;
const money = (centimes) => formatCentimes(centimes, fmt());
// <bdi> keeps Latin names and codes readable inside Arabic sentences (and vice versa).
const bdi = (text) => el("bdi", {}, text);
const issuerText = (issuer) => bdi(`${issuer.name} (${issuer.code})`);

/** Like t(), into a node; a placeholder's value may be a node (e.g. <bdi>). */
function fill(node, key, vars) {
  const template = String(MESSAGES[state.lang][key] ?? MESSAGES.fr[key]);
  node.replaceChildren(
    ...template.split(/(\{\w+\})/).map((part) => {
      const name = /^\{(\w+)\}$/.exec(part)?.[1];
      return name && name in vars ? vars[name] : part;
    }),
  );
  return node;
}

function intl(options) {
  try {
    return new Intl.DateTimeFormat(fmt().locale, options);
  } catch {
    return new Intl.DateTimeFormat("fr-FR", options);
  }
}

function formatDate(isoDate) {
  const match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(isoDate || "");
  if (!match) return isoDate || "—";
  const day = new Date(Date.UTC(+match[1], +match[2] - 1, +match[3]));
  return intl({ timeZone: "UTC", day: "2-digit", month: "2-digit", year: "numeric" }).format(day);
}

function formatInstant(iso) {
  const at = new Date(iso);
  if (!iso || Number.isNaN(at.getTime())) return { date: iso || "—", time: "", today: false };
  return {
    date: intl({ day: "2-digit", month: "2-digit", year: "numeric" }).format(at),
    time: intl({ hour: "2-digit", minute: "2-digit", hourCycle: "h23" }).format(at),
    today: at.toDateString() === new Date().toDateString(),
  };
}

function amountText(node, text) {
  let centimes;
  try {
    centimes = toCentimes(text);
  } catch {
    node.textContent = text || "—";
    return node;
  }
  node.dataset.amount = toApiAmount(centimes);
  node.textContent = money(centimes);
  return node;
}

function setLanguage(lang, persist = true) {
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
  if (persist) {
    try { localStorage.setItem(STORE_LANG, state.lang); } catch { /* the choice just isn't remembered */ }
  }
  RENDER[state.screen]?.();
  setTitle();
}

const setTitle = () => { document.title = `${t(`${state.screen}.title`)} — ${t("app.title")} — PORTNET`; };

// ---------- screens, messages, busy state ----------

function show(name, { focus = true } = {}) {
  if (name !== state.screen) clearAlert();
  state.screen = name;
  for (const section of $$("[data-screen]")) section.hidden = section.dataset.screen !== name;
  document.body.dataset.currentScreen = name;
  RENDER[name]?.();
  setTitle();
  if (focus) $(`#${name}-title`).focus();
}

function alertError(message) {
  $("#alert").replaceChildren(icon("i-error"), el("span", {}, message));
}
const clearAlert = () => $("#alert").replaceChildren();

function announce(message) {
  const region = $("#announcer");
  region.textContent = "";
  setTimeout(() => { region.textContent = message; }, 60);
}

function problemText(error) {
  if (error instanceof NetworkError) return t("error.network");
  if (!(error instanceof HttpError)) return t("error.generic");
  if (error.status === 429) {
    const seconds = retryAfterSeconds(error.retryAfter);
    return seconds ? t("error.rateLimited", { n: seconds }) : t("error.rateLimitedSoon");
  }
  const { code, detail } = error.problem;
  const known = code && `problem.${code}` in MESSAGES[state.lang];
  // `detail` is written in French by the API; other languages get our translation of the code when we have one.
  if (detail && (state.lang === "fr" || !known)) return detail;
  if (known) return t(`problem.${code}`);
  return error.status >= 500 ? t("error.server") : t("error.generic");
}

async function busy(container, task, label = "busy") {
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
    syncResultsControls();
    const lost = !document.activeElement || document.activeElement === document.body;
    if (lost && focused?.isConnected && !focused.disabled && !focused.closest("[hidden]")) focused.focus();
    else if (lost || focused?.disabled) $(`#${state.screen}-title`).focus();
  }
}

function clearFieldErrors(form) {
  for (const input of $$("[aria-invalid]", form)) input.removeAttribute("aria-invalid");
  for (const message of $$(".field-error", form)) {
    message.textContent = "";
    message.hidden = true;
  }
}

function showFieldErrors(problems) {
  if (!problems.length) return false;
  for (const [input, message] of problems) {
    input.setAttribute("aria-invalid", "true");
    const slot = $(`#${input.id}-error`);
    slot.replaceChildren(icon("i-error"), el("span", {}, message));
    slot.hidden = false;
  }
  const first = problems[0][0];
  first.closest("details")?.setAttribute("open", "");
  first.focus();
  alertError(t("error.fix", { msg: problems.map(([, message]) => message).join(" ") }));
  return true;
}

function leavePaymentUrl() {
  if (location.search) history.replaceState(null, "", location.pathname);
}

// ---------- 1. consultation ----------

const codeInput = () => $("#subscription-code");
const numberInput = () => $("#invoice-number");

async function onSearchSubmit(event) {
  event.preventDefault();
  clearAlert();
  clearFieldErrors(event.currentTarget);
  const code = codeInput().value.trim().toUpperCase();
  const number = numberInput().value.trim();
  const problems = [];
  if (!code) problems.push([codeInput(), t("search.codeRequired")]);
  else if (!CODE_RE.test(code)) problems.push([codeInput(), t("search.codeInvalid")]);
  if (number && !NUMBER_RE.test(number)) problems.push([numberInput(), t("search.numberInvalid")]);
  if (showFieldErrors(problems)) return;
  codeInput().value = code;
  await startSearch(code, number, $("#screen-search"));
}

function resetFiltersForm() {
  $("#filters-form").reset();
  clearFieldErrors($("#filters-form"));
  $("#filters").removeAttribute("open");
}

async function startSearch(code, number, container) {
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
      leavePaymentUrl();
      if (items.length) {
        show("results");
      } else {
        state.emptyKey = number ? "empty.messageNumber" : "empty.message";
        show("empty");
      }
    } catch (error) {
      if (error instanceof HttpError && error.problem.code === "INVALID_SUBSCRIPTION_CODE") {
        if (state.screen !== "search") show("search");
        showFieldErrors([[codeInput(), problemText(error)]]);
      } else {
        alertError(problemText(error));
      }
    }
  });
}

async function loadPage(index) {
  const body = { subscription_code: state.code, page_size: PAGE_SIZE };
  if (state.invoiceNumber) body.invoice_number = state.invoiceNumber;
  if (Object.keys(state.filters).length) body.filters = { ...state.filters };
  if (state.cursors[index]) body.cursor = state.cursors[index];
  const data = await request("POST", "/v1/invoices/search", { body });
  const items = Array.isArray(data?.items) ? data.items : [];
  for (const invoice of items) toCentimes(invoice.amount); // refuse to show what we could not add up exactly
  state.page = index;
  state.items = items;
  state.cursors = state.cursors.slice(0, index + 1);
  if (data?.next_cursor) state.cursors.push(data.next_cursor);
  for (const invoice of items) {
    state.issuers.set(invoice.issuer.code, invoice.issuer.name);
    if (invoice.status !== "UNPAID") state.selection.delete(invoice.invoice_id);
    else if (state.selection.has(invoice.invoice_id)) state.selection.set(invoice.invoice_id, invoice);
  }
  return items;
}

function renderEmpty() {
  $("#empty-message span").textContent = t(state.emptyKey);
}

// ---------- 3. results, filters, selection ----------

function renderResults() {
  fill($("#results-code"), "results.code", { code: bdi(state.code) });
  $("#results-caption").textContent = t("results.caption", { n: state.page + 1 });
  $("#page-indicator").textContent = t("page.label", { n: state.page + 1 });
  $("#invoices-body").replaceChildren(...state.items.map(invoiceRow));
  const none = state.items.length === 0;
  $("#invoices-table").hidden = none;
  $("#no-match").hidden = !none;
  $("#issuer-list").replaceChildren(
    ...[...state.issuers].map(([code, name]) => el("option", { value: code, label: name })),
  );
  const f = state.filters;
  const active = [f.issuer, f.issued_from || f.issued_to, f.min_amount || f.max_amount, f.text].filter(Boolean).length;
  const badge = $("#filters-active");
  badge.hidden = active === 0;
  badge.textContent = t("filters.active", { n: active });
  syncSelection();
}

function invoiceRow(invoice) {
  const id = `sel-${invoice.invoice_id.replace(/[^A-Za-z0-9_-]/g, "_")}`;
  const cell = (key, ...children) => el("td", { "data-label": t(key) }, el("span", {}, ...children));
  const status = el("span", { class: "status", id: `${id}-status` });
  if (invoice.status === "PENDING_PAYMENT") {
    const until = formatInstant(invoice.hold_expires_at);
    status.classList.add("status-pending");
    status.append(
      icon("i-clock"),
      invoice.hold_expires_at
        ? t(until.today ? "status.pendingUntil" : "status.pendingUntilDate", until)
        : t("status.pending"),
    );
  } else {
    status.textContent = t("status.UNPAID");
  }
  return el(
    "tr",
    { class: "invoice-row", "data-invoice-id": invoice.invoice_id, "data-issuer": invoice.issuer.code, "data-status": invoice.status },
    el(
      "td",
      { class: "cell-number", "data-label": t("col.number") },
      el(
        "div",
        { class: "check" },
        el("input", { type: "checkbox", id, class: "invoice-check", "data-invoice-id": invoice.invoice_id }),
        el("label", { for: id, dir: "ltr" }, invoice.invoice_number),
      ),
      el("span", { class: "description" }, invoice.description || ""),
    ),
    cell("col.issuer", el("bdi", {}, invoice.issuer.name, " ", el("span", { class: "muted" }, `(${invoice.issuer.code})`))),
    cell("col.date", formatDate(invoice.issue_date)),
    cell("col.due", formatDate(invoice.due_date)),
    amountText(el("td", { class: "num", "data-label": t("col.amount") }), invoice.amount),
    cell("col.status", status, el("span", { class: "row-reason", id: `${id}-reason`, hidden: true }, t("select.otherIssuer"))),
  );
}

function selectedIssuer() {
  const first = state.selection.values().next().value;
  return first ? first.issuer : null;
}

function syncSelection() {
  const issuer = selectedIssuer();
  for (const box of $$(".invoice-check")) {
    const invoice = state.items.find((item) => item.invoice_id === box.dataset.invoiceId);
    const row = box.closest("tr");
    const pending = invoice.status !== "UNPAID";
    const other = Boolean(issuer) && invoice.issuer.code !== issuer.code;
    box.checked = state.selection.has(invoice.invoice_id);
    box.disabled = pending || other;
    row.dataset.selectable = String(!box.disabled);
    row.classList.toggle("is-selected", box.checked);
    row.classList.toggle("is-disabled", box.disabled);
    $(".row-reason", row).hidden = !other || pending;
    const reason = pending ? `${box.id}-status` : other ? `${box.id}-reason issuer-restriction` : null;
    if (reason) box.setAttribute("aria-describedby", reason);
    else box.removeAttribute("aria-describedby");
  }
  const notice = $("#issuer-restriction");
  notice.hidden = !issuer;
  if (issuer) fill($("span", notice), "select.restricted", { issuer: issuerText(issuer) });
  const centimes = sumCentimes([...state.selection.values()].map((invoice) => toCentimes(invoice.amount)));
  const total = $("#selection-total");
  total.dataset.amount = toApiAmount(centimes);
  total.dataset.centimes = centimes.toString();
  total.dataset.count = String(state.selection.size);
  total.textContent = t("select.total", { amount: money(centimes) });
  $("#selection-count").textContent = t("select.count", { n: state.selection.size });
  syncResultsControls();
}

function syncResultsControls() {
  $("#page-prev").disabled = state.page === 0;
  $("#page-next").disabled = !state.cursors[state.page + 1];
  $("#pay-cta").disabled = state.selection.size === 0;
  $("#selection-clear").hidden = state.selection.size === 0;
  $("#selection-bar").classList.toggle("has-selection", state.selection.size > 0);
}

function onInvoiceToggle(event) {
  const box = event.target.closest(".invoice-check");
  if (!box) return;
  const invoice = state.items.find((item) => item.invoice_id === box.dataset.invoiceId);
  if (box.checked) state.selection.set(invoice.invoice_id, invoice);
  else state.selection.delete(invoice.invoice_id);
  syncSelection();
  announce($("#selection-total").textContent);
}

async function goToPage(index) {
  clearAlert();
  await busy($("#results-panel"), async () => {
    try {
      await loadPage(index);
      renderResults();
      announce(t("page.announce", { n: index + 1 }));
    } catch (error) {
      if (!(error instanceof HttpError && error.problem.code === "INVALID_CURSOR")) {
        alertError(problemText(error));
        return;
      }
      state.cursors = [null];
      try {
        await loadPage(0);
        renderResults();
        alertError(t("error.cursor"));
      } catch (again) {
        alertError(problemText(again));
      }
    }
  });
}

function readFilters() {
  const value = (id) => $(id).value.trim();
  const filters = {};
  const problems = [];
  const issuer = value("#filter-issuer").toUpperCase();
  if (issuer && !ISSUER_RE.test(issuer)) problems.push([$("#filter-issuer"), t("filters.badIssuer")]);
  else if (issuer) filters.issuer = issuer;
  if (value("#filter-from")) filters.issued_from = value("#filter-from");
  if (value("#filter-to")) filters.issued_to = value("#filter-to");
  if (filters.issued_from && filters.issued_to && filters.issued_from > filters.issued_to) {
    problems.push([$("#filter-to"), t("filters.badDates")]);
  }
  for (const [id, key] of [["#filter-min", "min_amount"], ["#filter-max", "max_amount"]]) {
    if (!value(id)) continue;
    const amount = parseUserAmount(value(id));
    if (amount === null) problems.push([$(id), t("filters.badAmount")]);
    else filters[key] = amount;
  }
  if (filters.min_amount && filters.max_amount && toCentimes(filters.min_amount) > toCentimes(filters.max_amount)) {
    problems.push([$("#filter-max"), t("filters.badAmounts")]);
  }
  if (value("#filter-text")) filters.text = value("#filter-text");
  return { filters, problems };
}

async function applyFilters(filters) {
  state.filters = filters;
  state.cursors = [null];
  await busy($("#results-panel"), async () => {
    try {
      const items = await loadPage(0);
      renderResults();
      announce(items.length ? t("page.announce", { n: 1 }) : t("filters.noMatch"));
    } catch (error) {
      alertError(problemText(error));
    }
  });
}

async function onFiltersSubmit(event) {
  event.preventDefault();
  clearAlert();
  clearFieldErrors(event.currentTarget);
  const { filters, problems } = readFilters();
  if (showFieldErrors(problems)) return;
  await applyFilters(filters);
}

async function onFiltersReset() {
  const had = Object.keys(state.filters).length > 0;
  $("#filters-form").reset();
  clearFieldErrors($("#filters-form"));
  clearAlert();
  if (had) await applyFilters({});
  $("#filter-issuer").focus();
}

// ---------- 4. payment ----------

function renderPayment() {
  const invoices = [...state.selection.values()];
  const issuer = invoices[0]?.issuer;
  if (issuer) fill($("#payment-issuer"), "payment.issuer", { issuer: issuerText(issuer) });
  $("#payment-invoices tbody").replaceChildren(
    ...invoices.map((invoice) =>
      el(
        "tr",
        { "data-invoice-id": invoice.invoice_id },
        el("td", { "data-label": t("col.number"), dir: "ltr" }, invoice.invoice_number),
        el("td", { "data-label": t("col.due") }, formatDate(invoice.due_date)),
        amountText(el("td", { class: "num", "data-label": t("col.amount") }), invoice.amount),
      ),
    ),
  );
  const centimes = sumCentimes(invoices.map((invoice) => toCentimes(invoice.amount)));
  const total = $("#payment-total");
  total.dataset.amount = toApiAmount(centimes);
  total.textContent = t("payment.total", { amount: money(centimes) });
  renderMethods();
}

function renderMethods() {
  const gateway = $("input[name=gateway]:checked").value;
  const methods = METHODS[gateway];
  const chosen = methods.includes(state.method) ? state.method : methods[0];
  state.method = chosen;
  $("#method-options").replaceChildren(
    ...methods.map((method) =>
      el(
        "div",
        { class: "choice" },
        el("input", {
          type: "radio", name: "method", id: `method-${method}`, value: method,
          checked: method === chosen, "aria-describedby": `method-${method}-hint`,
        }),
        el("label", { for: `method-${method}` }, t(`method.${method}`)),
        el("p", { class: "hint", id: `method-${method}-hint` }, t(`hint.${gateway}.${method}`)),
      ),
    ),
  );
}

async function onPaymentSubmit(event) {
  event.preventDefault();
  const form = event.currentTarget;
  clearAlert();
  clearFieldErrors(form);
  if (!state.selection.size) {
    show("results");
    return;
  }
  const name = $("#payer-name").value.trim();
  const email = $("#payer-email").value.trim();
  const phone = $("#payer-phone").value.trim();
  const problems = [];
  if (!name) problems.push([$("#payer-name"), t("payer.nameRequired")]);
  if (!email) problems.push([$("#payer-email"), t("payer.emailRequired")]);
  else if (!EMAIL_RE.test(email)) problems.push([$("#payer-email"), t("payer.emailInvalid")]);
  if (phone && !PHONE_RE.test(phone)) problems.push([$("#payer-phone"), t("payer.phoneInvalid")]);
  if (showFieldErrors(problems)) return;

  const body = {
    subscription_code: state.code,
    invoice_ids: [...state.selection.keys()],
    gateway: $("input[name=gateway]:checked").value,
    method: $("input[name=method]:checked").value,
    payer: phone ? { name, email, phone } : { name, email },
    lang: state.lang,
  };
  const text = JSON.stringify(body);
  if (!state.attempt || state.attempt.body !== text) state.attempt = { key: newUuid(), body: text };
  await busy(form, async (status) => {
    let payment;
    try {
      payment = await request("POST", "/v1/payments", { body, headers: { "Idempotency-Key": state.attempt.key } });
    } catch (error) {
      // Same body re-sent after a lost answer: same key, so the server replays instead of paying twice.
      const unknownOutcome = error instanceof NetworkError || (error instanceof HttpError && error.status >= 500);
      if (!unknownOutcome) state.attempt = null;
      onPaymentError(error);
      return;
    }
    state.attempt = null;
    await paymentCreated(payment, status);
  });
}

function onPaymentError(error) {
  const problem = error instanceof HttpError ? error.problem : {};
  const fields = { "payer.name": "#payer-name", "payer.email": "#payer-email", "payer.phone": "#payer-phone" };
  const problems = (problem.errors || [])
    .filter((entry) => fields[entry.field])
    .map((entry) => [$(fields[entry.field]), problemText(error)]);
  if (problems.length && showFieldErrors(problems.slice(0, 1))) return;
  if (problem.code === "INVOICE_NOT_PAYABLE") {
    const named = JSON.stringify(problem.errors || []);
    for (const id of [...state.selection.keys()]) if (named.includes(id)) state.selection.delete(id);
    renderPayment();
  }
  alertError(problemText(error));
}

async function paymentCreated(payment, status) {
  state.payment = payment;
  state.paymentId = payment.payment_id;
  session.set(state.code);
  if (PAYMENT_ID_RE.test(payment.payment_id || "")) {
    history.replaceState(null, "", `${location.pathname}?payment=${encodeURIComponent(payment.payment_id)}`);
  }
  if (payment.redirect?.url) {
    if (status) status.textContent = t("busy.redirect");
    if (submitRedirect(payment.redirect)) await new Promise(() => {}); // the browser is leaving: stay busy
    alertError(t("error.generic"));
    return;
  }
  if (payment.reference?.code) show("reference");
  else trackPayment(payment.payment_id);
}

function submitRedirect(redirect) {
  let url;
  try {
    url = new URL(redirect.url, location.href);
  } catch {
    return false;
  }
  if (!["https:", "http:"].includes(url.protocol)) return false;
  const form = el("form", {
    method: String(redirect.method || "POST").toUpperCase() === "GET" ? "get" : "post",
    action: url.href, "accept-charset": "UTF-8", hidden: true,
  });
  for (const [name, value] of Object.entries(redirect.fields || {})) {
    form.append(el("input", { type: "hidden", name, value: value === null || value === undefined ? "" : String(value) }));
  }
  document.body.append(form);
  state.redirected = true;
  if (PAYMENT_ID_RE.test(state.paymentId || "")) session.setTrip(state.paymentId);
  form.submit();
  return true;
}

async function backToResults() {
  await busy($("#payment-form"), async () => {
    try {
      await loadPage(state.page); // statuses may have changed while the payer was on the payment form
    } catch {
      /* keep showing the page we have; the pager recovers from an expired cursor */
    }
  });
  if (state.items.length || state.page > 0) show("results");
  else {
    state.emptyKey = "empty.message";
    show("empty");
  }
}

// ---------- reference (Fatourati, TASHILAT) ----------

function renderReference() {
  const payment = state.payment || {};
  const reference = payment.reference || {};
  const kind = payment.method === "TASHILAT" ? "TASHILAT" : "FATOURATI";
  $("#reference-label").textContent = t(`reference.label.${kind}`);
  const code = $("#reference-code");
  code.textContent = reference.code || "";
  code.dataset.reference = reference.code || "";
  const amount = $("#reference-amount");
  amountText(amount, payment.amount);
  if (amount.dataset.amount) amount.textContent = t("reference.amount", { amount: amount.textContent });
  $("#reference-expiry span").textContent = t("reference.expires", formatInstant(reference.expires_at || payment.expires_at));
  $("#reference-steps").replaceChildren(...t(`reference.steps.${kind}`).map((step) => el("li", {}, step)));
  fill($("#reference-payment-id"), "status.paymentId", { id: bdi(payment.payment_id || state.paymentId || "") });
  $("#copy-feedback").textContent = "";
}

async function copyReference() {
  const code = $("#reference-code").dataset.reference;
  const feedback = $("#copy-feedback");
  let copied = false;
  try {
    await navigator.clipboard.writeText(code);
    copied = true;
  } catch {
    const area = el("textarea", { readonly: true, class: "offscreen", "aria-hidden": "true" });
    area.value = code;
    document.body.append(area);
    area.select();
    try { copied = document.execCommand("copy"); } catch { copied = false; }
    area.remove();
    $("#reference-copy").focus();
  }
  feedback.classList.toggle("is-error", !copied);
  if (copied) {
    feedback.replaceChildren(icon("i-ok"), el("span", {}, t("reference.copied")));
  } else {
    feedback.textContent = t("reference.copyFailed");
    getSelection().selectAllChildren($("#reference-code"));
  }
}

async function cancelPayment(container) {
  const id = state.paymentId;
  return busy(container, async () => {
    try {
      state.payment = await request("POST", `/v1/payments/${encodeURIComponent(id)}/cancel`);
      return true;
    } catch (error) {
      if (error instanceof HttpError && error.problem.code === "PAYMENT_NOT_CANCELLABLE") {
        trackPayment(id); // it moved on meanwhile (maybe paid): show where it stands
      } else {
        alertError(problemText(error));
      }
      return false;
    }
  });
}

// ---------- 5. return from the gateway ----------

async function trackPayment(id, { focus = true } = {}) {
  const token = ++state.pollToken;
  state.paymentId = id;
  state.statusView = "checking";
  show("status", { focus });
  const started = Date.now();
  const stillTime = () => Date.now() - started < POLL_LIMIT_MS;
  for (;;) {
    let payment;
    try {
      payment = await request("GET", `/v1/payments/${encodeURIComponent(id)}`);
    } catch (error) {
      if (token !== state.pollToken) return;
      if (error instanceof HttpError && error.status === 404) {
        state.payment = null;
        state.failureKind = "NOT_FOUND";
        show("failure");
        return;
      }
      const transient = error instanceof NetworkError || (error instanceof HttpError && error.status === 429);
      if (transient && stillTime()) {
        await sleep(Math.max(POLL_MS, (retryAfterSeconds(error.retryAfter) || 0) * 1000));
        if (token !== state.pollToken) return;
        continue;
      }
      state.statusView = "error";
      RENDER.status();
      alertError(problemText(error));
      return;
    }
    if (token !== state.pollToken) return;
    state.payment = payment;
    if (payment.status === "PAID") return show("receipt");
    if (payment.status === "AWAITING_SETTLEMENT") return show("reference");
    if (payment.status === "PENDING" && !payment.last_error) {
      if (stillTime()) {
        await sleep(POLL_MS);
        if (token !== state.pollToken) return;
        continue;
      }
      state.statusView = "pending";
      RENDER.status();
      return;
    }
    state.failureKind = payment.status === "PENDING" ? "DECLINED" : FAILURES.includes(payment.status) ? payment.status : "FAILED";
    return show("failure");
  }
}

function renderStatus() {
  const view = state.statusView;
  const message = $("#status-message");
  message.classList.toggle("is-busy", view === "checking");
  message.textContent = view === "checking" ? t("status.checking") : view === "pending" ? t("status.stillPending") : "";
  fill($("#status-payment-id"), "status.paymentId", { id: bdi(state.paymentId || "") });
  $("#status-actions").hidden = view === "checking";
  $("#status-cancel").hidden = view !== "pending";
}

function renderReceipt() {
  const payment = state.payment || {};
  $("#receipt-invoices tbody").replaceChildren(
    ...(payment.invoices || []).map((invoice) =>
      el(
        "tr",
        { "data-invoice-id": invoice.invoice_id },
        el("td", { dir: "ltr" }, invoice.invoice_number),
        amountText(el("td", { class: "num" }), invoice.amount),
      ),
    ),
  );
  amountText($("#receipt-total"), payment.amount);
  $("#receipt-issuer").replaceChildren(payment.issuer ? issuerText(payment.issuer) : "—");
  $("#receipt-gateway").replaceChildren(payment.gateway ? bdi(t(`gw.${payment.gateway}`)) : "—");
  $("#receipt-method").textContent = payment.method ? t(`method.${payment.method}`) : "—";
  $("#receipt-transaction").textContent = payment.gateway_transaction_id || "—";
  const paid = formatInstant(payment.paid_at);
  $("#receipt-paid-at").textContent = `${paid.date} ${paid.time}`.trim();
  $("#receipt-paid-at").dataset.paidAt = payment.paid_at || "";
  $("#receipt-payment-id").textContent = payment.payment_id || state.paymentId || "";
}

function lastErrorText(lastError) {
  if (!lastError) return "";
  if (typeof lastError === "string") return lastError;
  return lastError.message || lastError.detail || lastError.reason || lastError.code || "";
}

function renderFailure() {
  const kind = state.failureKind;
  const message = $("#failure-message");
  message.dataset.status = kind;
  $("#failure-title").textContent = t(kind === "NEEDS_REVIEW" ? "failure.titleReview" : "failure.title");
  $("span", message).textContent = t(`failure.${kind}`);
  const reason = lastErrorText(state.payment?.last_error);
  $("#failure-reason").hidden = !reason;
  $("#failure-reason").textContent = reason ? t("failure.reason", { reason }) : "";
  if (state.paymentId) fill($("#failure-payment-id"), "status.paymentId", { id: bdi(state.paymentId) });
  else $("#failure-payment-id").replaceChildren();
  // Paying again while the platform holds money for these invoices would charge the payer twice.
  $("#failure-retry").hidden = kind === "NEEDS_REVIEW" || kind === "NOT_FOUND";
}

async function retry() {
  const container = $("#screen-failure");
  if (state.payment?.status === "PENDING" && !(await cancelPayment(container))) return;
  const code = state.code || session.get();
  if (!code) return newSearch();
  codeInput().value = code;
  numberInput().value = "";
  await startSearch(code, "", container);
}

function newSearch() {
  state.pollToken++;
  leavePaymentUrl();
  const code = state.code || session.get();
  if (code) codeInput().value = code;
  numberInput().value = "";
  clearFieldErrors($("#search-form"));
  show("search");
}

const RENDER = {
  empty: renderEmpty,
  results: renderResults,
  payment: renderPayment,
  reference: renderReference,
  status: renderStatus,
  receipt: renderReceipt,
  failure: renderFailure,
};

// ---------- wiring ----------

function init() {
  let lang = "fr";
  try { lang = localStorage.getItem(STORE_LANG) || "fr"; } catch { /* default language */ }
  setLanguage(lang, false);

  $("#search-form").addEventListener("submit", onSearchSubmit);
  $("#filters-form").addEventListener("submit", onFiltersSubmit);
  $("#filters-reset").addEventListener("click", onFiltersReset);
  $("#invoices-body").addEventListener("change", onInvoiceToggle);
  $("#page-prev").addEventListener("click", () => goToPage(state.page - 1));
  $("#page-next").addEventListener("click", () => goToPage(state.page + 1));
  $("#selection-clear").addEventListener("click", () => {
    state.selection.clear();
    syncSelection();
    announce(t("select.cleared"));
    $("#results-title").focus();
  });
  $("#pay-cta").addEventListener("click", () => state.selection.size && show("payment"));
  $("#gateway-group").addEventListener("change", renderMethods);
  $("#method-options").addEventListener("change", (event) => { state.method = event.target.value; });
  $("#payment-form").addEventListener("submit", onPaymentSubmit);
  $("#reference-copy").addEventListener("click", copyReference);
  $("#reference-check").addEventListener("click", () => trackPayment(state.paymentId));
  $("#reference-cancel").addEventListener("click", async () => {
    if (!window.confirm(t("reference.cancelConfirm"))) return;
    if (await cancelPayment($("#screen-reference"))) {
      state.failureKind = "CANCELLED";
      show("failure");
    }
  });
  $("#status-refresh").addEventListener("click", () => trackPayment(state.paymentId));
  $("#status-cancel").addEventListener("click", async () => {
    if (await cancelPayment($("#screen-status"))) retry();
  });
  $("#failure-retry").addEventListener("click", retry);
  $("#receipt-print").addEventListener("click", () => window.print());
  for (const button of $$("[data-lang]")) button.addEventListener("click", () => setLanguage(button.dataset.lang));
  document.addEventListener("click", (event) => {
    const action = event.target.closest("[data-action]")?.dataset.action;
    if (action === "new-search") newSearch();
    if (action === "back-results") backToResults();
  });
  // Back from the gateway page restored from the back/forward cache: start over from the URL (?payment=<id>).
  window.addEventListener("pageshow", (event) => {
    if (event.persisted && state.redirected) location.reload();
  });

  let id = new URLSearchParams(location.search).get("payment");
  const trip = session.takeTrip();
  if (id === null && PAYMENT_ID_RE.test(trip)) {
    // Back from a gateway page by its "return to the merchant" link (CMI's shopurl), which names no payment:
    // show where the payment this tab went to pay stands (a declined card can then be retried at once).
    id = trip;
    history.replaceState(null, "", `${location.pathname}?payment=${encodeURIComponent(id)}`);
  }
  if (id && PAYMENT_ID_RE.test(id)) {
    state.code = session.get();
    trackPayment(id, { focus: false });
  } else {
    if (id !== null) leavePaymentUrl();
    show("search", { focus: false });
  }
}

init();
