// Small fetch helpers for gridmap's JSON API. Errors carry the API's code,
// message and details ({"error":{"code","message","details"}}).
export class ApiError extends Error {
  constructor(status, body, retryAfter) {
    const e = (body && body.error) || {};
    super(e.message || `HTTP ${status}`);
    this.status = status;
    this.code = e.code || "http_" + status;
    this.details = e.details;
    this.retryAfter = retryAfter || 0; // seconds, from the Retry-After header
  }

  /** unavailable: the server cannot reach its database (503); try again later. */
  get unavailable() {
    return this.status === 503;
  }
}

let csrfToken = "";

/** setCSRF remembers the session's CSRF token for state-changing requests. */
export function setCSRF(token) {
  csrfToken = token || "";
}

/** csrfHeaders are the headers a state-changing fetch of a signed-in page adds. */
export const csrfHeaders = () => (csrfToken ? { "X-CSRF-Token": csrfToken } : {});

/** offline tells whether err is fetch's failure to reach the server at all (a TypeError: no network), not an HTTP answer. */
export const offline = (err) => err instanceof TypeError;

async function request(method, url, body, extra, signal) {
  const headers = { Accept: "application/json", ...extra };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (method !== "GET" && csrfToken) headers["X-CSRF-Token"] = csrfToken;
  const res = await fetch(url, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
    credentials: "same-origin",
    signal,
  });
  const text = await res.text();
  let parsed = null;
  try {
    parsed = text ? JSON.parse(text) : null;
  } catch {
    parsed = null;
  }
  if (!res.ok) throw new ApiError(res.status, parsed, parseInt(res.headers.get("Retry-After") || "", 10) || 0);
  return parsed;
}

/** getJSON GETs url; signal (an AbortSignal, optional) cancels the request (it then rejects with an AbortError). */
export const getJSON = (url, signal) => request("GET", url, undefined, undefined, signal);
/** postJSON posts body as JSON; headers are added to the request's (e.g. an Idempotency-Key). */
export const postJSON = (url, body, headers) => request("POST", url, body ?? {}, headers);

/** qs builds a query string from an object, skipping empty values. */
export function qs(params) {
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== "") p.set(k, v);
  return p.toString();
}
