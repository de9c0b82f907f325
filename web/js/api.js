// The HTTP contract (docs/api.md): JSON in, JSON or problem+json out.

export class HttpError extends Error {
  constructor(status, problem, retryAfter) {
    super(problem.detail || `HTTP ${status}`);
    this.status = status;
    this.problem = problem;
    this.retryAfter = retryAfter;
  }
}

export class NetworkError extends Error {}

export function createClient(baseUrl) {
  const base = String(baseUrl || "").replace(/\/+$/, "");
  return async function request(method, path, { body, headers = {} } = {}) {
    const init = {
      method,
      headers: { Accept: "application/json, application/problem+json", ...headers },
      cache: "no-store",
      credentials: "omit",
      // The page's address names a payment or a receipt code (?payment=, ?verify=): the API's logs need neither.
      referrerPolicy: "no-referrer",
    };
    if (body !== undefined) {
      init.headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    let response;
    let data = null;
    try {
      response = await fetch(base + path, init);
      const text = await response.text();
      if (text) {
        try {
          data = JSON.parse(text);
        } catch {
          data = null;
        }
      }
    } catch {
      throw new NetworkError("network");
    }
    if (!response.ok) {
      throw new HttpError(response.status, data && typeof data === "object" ? data : {}, response.headers.get("Retry-After"));
    }
    return data;
  };
}

/** Retry-After: delta-seconds or an HTTP date -> whole seconds (null when absent or unreadable). */
export function retryAfterSeconds(value) {
  if (!value) return null;
  if (/^\d+$/.test(value.trim())) return Math.max(1, parseInt(value, 10));
  const at = Date.parse(value);
  return Number.isNaN(at) ? null : Math.max(1, Math.ceil((at - Date.now()) / 1000));
}

/** A v4 UUID: crypto.randomUUID where available (secure contexts), else from getRandomValues. */
export function newUuid() {
  if (globalThis.crypto && typeof crypto.randomUUID === "function") return crypto.randomUUID();
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  bytes[6] = (bytes[6] & 0x0f) | 0x40;
  bytes[8] = (bytes[8] & 0x3f) | 0x80;
  const hex = [...bytes].map((byte) => byte.toString(16).padStart(2, "0")).join("");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
