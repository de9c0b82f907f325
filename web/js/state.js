// What the page holds while the payer goes through it: one object, shared by the screens. No DOM.
// The subscription code is the only key to the invoices: it never goes into a URL or localStorage.

export const POLL_MS = 2000;
export const POLL_LIMIT_MS = 30000;

export const state = {
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
  // The verification of a receipt: the code asked about (as typed, or as the address gave it), the outcome shown
  // ("form" before any, "invalid", "PAID", "REVERSED", "not-found", "unknown", "error") and the API's answer.
  verify: { code: "", outcome: "form", receipt: null },
};

const STORE_CODE = "epay.subscriptionCode"; // sessionStorage: the "Réessayer" path after a gateway round trip
const STORE_TRIP = "epay.gatewayPayment"; // sessionStorage: the payment whose gateway page this tab went to
const STORE_LANG = "epay.lang"; // localStorage: the language chosen
const STORE_PAYER = "epay.payer"; // sessionStorage: the payer's details and the means chosen, for a second attempt
const STORE_SEARCH = "epay.search"; // sessionStorage: the search, its page cursors and the selection (reload, Back)
const STORE_PAYERS = "epay.receiptPayers"; // sessionStorage: who paid the payments this tab made, for their receipts

export const session = {
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
  saveSearch: (snapshot) => { try { sessionStorage.setItem(STORE_SEARCH, JSON.stringify(snapshot)); } catch { /* no reload */ } },
  loadSearch: () => { try { return JSON.parse(sessionStorage.getItem(STORE_SEARCH) || "null"); } catch { return null; } },
  savePayer: (payer) => { try { sessionStorage.setItem(STORE_PAYER, JSON.stringify(payer)); } catch { /* typed again */ } },
  loadPayer: () => { try { return JSON.parse(sessionStorage.getItem(STORE_PAYER) || "null"); } catch { return null; } },
  setTrip: (id) => { try { sessionStorage.setItem(STORE_TRIP, id); } catch { /* only the return by "shopurl" is lost */ } },
  /** [{paymentId, name}]: the payer of each payment this tab made (the payment view has no payer data). */
  loadPayers: () => { try { return JSON.parse(sessionStorage.getItem(STORE_PAYERS) || "[]"); } catch { return []; } },
  savePayers: (payers) => { try { sessionStorage.setItem(STORE_PAYERS, JSON.stringify(payers)); } catch { /* receipt without payer */ } },
};

export const savedLanguage = {
  get: () => { try { return localStorage.getItem(STORE_LANG) || "fr"; } catch { return "fr"; } },
  set: (lang) => { try { localStorage.setItem(STORE_LANG, lang); } catch { /* the choice just isn't remembered */ } },
};
