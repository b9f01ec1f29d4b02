// Signing staff in on a page of their own (/work): the session is read from
// GET /api/v1/session ({"signed_in": false} when there is none, not a 401),
// the form posts /api/v1/login, and the session's CSRF token is kept for
// the page's writes (lib/api.js). Every signed-in page uses it: /work, the
// editor (/admin, admin.js), the desk.
import { h } from "./dom.js";
import { ApiError, getJSON, postJSON, setCSRF } from "./api.js";
import { tr, errorKey } from "./i18n.js";

/** currentSession returns the signed-in session or null, remembering its CSRF token. */
export async function currentSession() {
  const sess = await getJSON("/api/v1/session");
  if (!sess.signed_in) return null;
  setCSRF(sess.csrf_token);
  return sess;
}

/**
 * loginForm is the sign-in form; onSignedIn(session) runs after a
 * successful sign-in, message is a catalogue key shown above the button.
 * opts.onUnavailable(err), if given, runs when the server answers 503 (it
 * cannot reach its database): the form and what was typed stay, to be sent
 * again (the editor shows its outage banner); without it a 503 is shown as
 * the form's error like any other.
 */
export function loginForm(onSignedIn, message, opts = {}) {
  const error = message ? tr(h, "p", { class: "msg error", role: "alert", id: "login-error" }, message) : h("p", { id: "login-error", role: "alert", class: "msg error", hidden: true });
  const form = h("form", { id: "login", class: "login" },
    tr(h, "h2", {}, "admin.login.title"),
    h("label", {}, tr(h, "span", {}, "admin.login.name"), h("input", { name: "name", autocomplete: "username", required: true })),
    h("label", {}, tr(h, "span", {}, "admin.login.password"), h("input", { name: "password", type: "password", autocomplete: "current-password", required: true })),
    error,
    tr(h, "button", { type: "submit" }, "admin.login.submit"));
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const fd = new FormData(form);
    try {
      const sess = await postJSON("/api/v1/login", { name: fd.get("name"), password: fd.get("password") });
      setCSRF(sess.csrf_token);
      onSignedIn(sess);
    } catch (err) {
      if (err instanceof ApiError && err.unavailable && opts.onUnavailable) return opts.onUnavailable(err);
      const key = err instanceof ApiError && err.status === 401 ? "admin.login.failed" : errorKey(err);
      form.replaceWith(loginForm(onSignedIn, key, opts));
    }
  });
  return form;
}
