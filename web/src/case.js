// The tracking page (/c/{code}): the server renders the case; this copies the
// code, remembers it in 我的反映, and sends the rating or the "not solved".
import "./lib/messages-lazy.js";
import { $ } from "./lib/dom.js";
import { postJSON } from "./lib/api.js";
import { t, setLang, onLangChange } from "./lib/i18n.js";
import { remember } from "./lib/mycases.js";
import "./css/base.css";
import "./css/page.css";
import "./css/case.css";

const langButton = $("#lang");
if (langButton) {
  onLangChange(() => location.reload());
  langButton.addEventListener("click", () => setLang(document.documentElement.lang === "en" ? "zh-CN" : "en"));
}

const main = $("#case");
const code = main?.dataset.code;
const status = $("#case-status");
if (code) remember({ code });
else if (main?.dataset.follow) remember({ follow: main.dataset.follow });

$("#copy-code")?.addEventListener("click", async () => {
  const out = $("#copy-status");
  try {
    await navigator.clipboard.writeText(code);
    out.textContent = t("case.copied");
  } catch {
    getSelection().selectAllChildren($("#tracking-code"));
    out.textContent = t("case.copyManual");
  }
});

/** submit posts a form's answer and reloads the page to show the new state. */
function wire(form, path, body, done) {
  form?.addEventListener("submit", async (e) => {
    e.preventDefault();
    if (!form.reportValidity()) return;
    const button = form.querySelector("button[type=submit]");
    button.disabled = true;
    try {
      await postJSON(`/api/v1/cases/${encodeURIComponent(code)}/${path}`, body(new FormData(form)));
      status.textContent = t(done);
      location.reload();
    } catch (err) {
      button.disabled = false;
      status.textContent = t("case.error", { message: err.message });
    }
  });
}
wire($("#rate"), "rating", (f) => ({ rating: Number(f.get("rating")), note: String(f.get("note") || "").trim() }), "case.rate.done");
wire($("#reopen"), "reopen", (f) => ({ reason: String(f.get("reason") || "").trim() }), "case.reopen.done");
