// 3. Results: the unpaid invoices page by page, the filters, the selection (one issuer at a time) and its total.

import { searchInvoices, searchInvoicesUnchallenged } from "../backend.js";
import { HttpError } from "../api.js";
import { $, $$, el, icon } from "../dom.js";
import { alertError, announce, clearAlert, clearFieldErrors, showProblems } from "../feedback.js";
import { sumCentimes, toApiAmount, toCentimes } from "../money.js";
import { LIMITS } from "../contract.js";
import { PAGE_SIZE, searchBody } from "../requests.js";
import { MAX_SELECTED, isOverdue, isoToday, pageCount, selectPage, selectionFull } from "../selection.js";
import { busy, onBusyEnd, registerScreen, show, syncUrl } from "../router.js";
import { state } from "../state.js";
import { fill, formatDate, formatInstant, amountText, bdi, issuerText, money, plural, problemText, t } from "../text.js";
import { checkFilters } from "../validation.js";

/** Fetches page `index` of the current search (state.cursors[index]) into the state; returns its invoices. */
export async function loadPage(index) {
  const body = searchBody({
    code: state.code, invoiceNumber: state.invoiceNumber, filters: state.filters, cursor: state.cursors[index],
  });
  const data = await searchInvoices(body);
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

export function resetFiltersForm() {
  $("#filters-form").reset();
  clearFieldErrors($("#filters-form"));
  $("#filters").removeAttribute("open");
}

/** How many invoices the search finds: its pages walked once, 50 at a time, in the background (null until known). */
let counted = { key: "", total: null };
async function countResults() {
  const key = JSON.stringify([state.code, state.invoiceNumber, state.filters]);
  if (counted.key === key) return;
  counted = { key, total: null };
  let total = 0;
  let cursor = null;
  try {
    do {
      // A challenge met here (api.md §8) is not solved: each proof makes the address's next challenge harder.
      const data = await searchInvoicesUnchallenged(searchBody({
        code: state.code, invoiceNumber: state.invoiceNumber, filters: state.filters, cursor, pageSize: LIMITS.pageSizeMax,
      }));
      if (counted.key !== key) return;
      total += Array.isArray(data?.items) ? data.items.length : 0;
      cursor = data?.next_cursor || null;
    } while (cursor);
  } catch {
    if (counted.key === key) counted.key = ""; // no count shown; tried again with the next page shown
    return;
  }
  counted.total = total;
  if (state.screen === "results") renderCount();
}

function renderCount() {
  const line = $("#results-count");
  const total = counted.key === JSON.stringify([state.code, state.invoiceNumber, state.filters]) ? counted.total : null;
  line.hidden = total === null;
  line.textContent = total === null ? "" : t("results.count", { n: total, page: state.page + 1, pages: pageCount(total, PAGE_SIZE) });
}

function renderResults() {
  fill($("#results-code"), "results.code", { code: bdi(state.code) });
  renderCount();
  countResults();
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
  badge.textContent = plural("filters.active", active);
  syncSelection();
}

function invoiceRow(invoice) {
  const id = `sel-${invoice.invoice_id.replace(/[^A-Za-z0-9_-]/g, "_")}`;
  const cell = (key, ...children) => el("td", { "data-label": t(key) }, el("span", {}, ...children));
  const status = el("span", { class: "status", id: `${id}-status` });
  const overdue = isOverdue(invoice, isoToday());
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
    {
      class: overdue ? "invoice-row is-overdue" : "invoice-row", "data-invoice-id": invoice.invoice_id,
      "data-issuer": invoice.issuer.code, "data-status": invoice.status, "data-overdue": String(overdue),
    },
    el(
      "td",
      { class: "cell-number", "data-label": t("col.number") },
      el(
        "div",
        { class: "check" },
        el("input", { type: "checkbox", id, class: "invoice-check", "data-invoice-id": invoice.invoice_id }),
        el("label", { for: id, dir: "ltr" }, invoice.invoice_number),
      ),
      // An issuer's description is French (or Latin) text: isolated, so that an Arabic page keeps its punctuation in place.
      el("span", { class: "description", dir: "auto" }, invoice.description || ""),
    ),
    cell("col.issuer", el("bdi", {}, invoice.issuer.name, " ", el("span", { class: "muted" }, `(${invoice.issuer.code})`))),
    cell("col.date", formatDate(invoice.issue_date)),
    cell("col.due", formatDate(invoice.due_date), ...(overdue ? [" ", el("span", { class: "overdue" }, t("due.overdue"))] : [])),
    amountText(el("td", { class: "num", "data-label": t("col.amount") }), invoice.amount),
    cell(
      "col.status", status,
      el("span", { class: "row-reason", id: `${id}-reason`, hidden: true }, t("select.otherIssuer")),
      el("span", { class: "row-limit", id: `${id}-limit`, hidden: true }, t("select.limitRow", { max: MAX_SELECTED })),
    ),
  );
}

function selectedIssuer() {
  const first = state.selection.values().next().value;
  return first ? first.issuer : null;
}

function syncSelection() {
  const issuer = selectedIssuer();
  const full = selectionFull(state.selection.size);
  for (const box of $$(".invoice-check")) {
    const invoice = state.items.find((item) => item.invoice_id === box.dataset.invoiceId);
    const row = box.closest("tr");
    const pending = invoice.status !== "UNPAID";
    const other = Boolean(issuer) && invoice.issuer.code !== issuer.code;
    box.checked = state.selection.has(invoice.invoice_id);
    const limited = full && !box.checked && !pending && !other;
    box.disabled = pending || other || limited;
    row.dataset.selectable = String(!box.disabled);
    row.classList.toggle("is-selected", box.checked);
    row.classList.toggle("is-disabled", box.disabled);
    $(".row-reason", row).hidden = !other || pending;
    $(".row-limit", row).hidden = !limited;
    const reason = pending ? `${box.id}-status` : other ? `${box.id}-reason issuer-restriction` : limited ? `${box.id}-limit selection-limit` : null;
    if (reason) box.setAttribute("aria-describedby", reason);
    else box.removeAttribute("aria-describedby");
  }
  $("#selection-limit").hidden = !full;
  fill($("#selection-limit span"), "select.limit", { max: String(MAX_SELECTED) });
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

/** The pager and the selection's buttons, as the state says (busy() re-enables every button it disabled). */
function syncResultsControls() {
  $("#page-prev").disabled = state.page === 0;
  $("#page-next").disabled = !state.cursors[state.page + 1];
  $("#pay-cta").disabled = state.selection.size === 0 || state.selection.size > MAX_SELECTED;
  $("#select-page").disabled =
    selectPage(state.items, state.selection.keys(), selectedIssuer()?.code).add.length === 0;
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
  syncUrl();
  announce($("#selection-total").textContent);
}

async function goToPage(index) {
  clearAlert();
  await busy($("#results-panel"), async () => {
    try {
      await loadPage(index);
      renderResults();
      syncUrl();
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
        syncUrl({ replace: true });
        alertError(t("error.cursor"));
      } catch (again) {
        alertError(problemText(again));
      }
    }
  });
}

function typedFilters() {
  const value = (id) => $(id).value;
  return {
    issuer: value("#filter-issuer"), from: value("#filter-from"), to: value("#filter-to"),
    min: value("#filter-min"), max: value("#filter-max"), text: value("#filter-text"),
  };
}

async function applyFilters(filters) {
  state.filters = filters;
  state.cursors = [null];
  await busy($("#results-panel"), async () => {
    try {
      const items = await loadPage(0);
      renderResults();
      syncUrl();
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
  const { filters, problems } = checkFilters(typedFilters());
  if (showProblems(problems)) return;
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

export function wireResults() {
  registerScreen("results", renderResults);
  onBusyEnd(syncResultsControls);
  $("#filters-form").addEventListener("submit", onFiltersSubmit);
  $("#filters-reset").addEventListener("click", onFiltersReset);
  $("#invoices-body").addEventListener("change", onInvoiceToggle);
  $("#page-prev").addEventListener("click", () => goToPage(state.page - 1));
  $("#page-next").addEventListener("click", () => goToPage(state.page + 1));
  $("#selection-clear").addEventListener("click", () => {
    state.selection.clear();
    syncSelection();
    syncUrl();
    announce(t("select.cleared"));
    $("#results-title").focus();
  });
  $("#pay-cta").addEventListener("click", () => state.selection.size && show("payment"));
  $("#select-page").addEventListener("click", () => {
    const { add, capped } = selectPage(state.items, state.selection.keys(), selectedIssuer()?.code);
    for (const invoice of add) state.selection.set(invoice.invoice_id, invoice);
    syncSelection();
    syncUrl();
    const total = $("#selection-total").textContent;
    announce(capped ? `${t("select.limit", { max: MAX_SELECTED })} ${total}` : total);
  });
}
