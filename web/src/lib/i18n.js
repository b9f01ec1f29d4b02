// The message catalogue: every user-facing string comes from
// src/i18n/<lang>.json (the Go server renders its pages from the same files).
// zh-CN is the default; the choice is kept in localStorage and in a cookie so
// that server-rendered pages follow it.
import zhCN from "../i18n/zh-CN.json";
import en from "../i18n/en.json";

// The catalogues without the messages of the lazily loaded case pages and
// report form (build.mjs); lib/messages-lazy.js adds those.
export const catalogues = { "zh-CN": zhCN, en };

/** addMessages merges more messages ({lang: {key: text}}) into the catalogues. */
export function addMessages(more) {
  for (const l of Object.keys(catalogues)) Object.assign(catalogues[l], more[l]);
}
export const languages = Object.keys(catalogues);
const storageKey = "gridmap.lang";

function initialLang() {
  const fromURL = new URLSearchParams(location.search).get("lang");
  if (fromURL && catalogues[fromURL]) return fromURL;
  try {
    const saved = localStorage.getItem(storageKey);
    if (saved && catalogues[saved]) return saved;
  } catch {
    /* storage disabled: use the default */
  }
  return "zh-CN";
}

let current = initialLang();
const listeners = [];

export const lang = () => current;

/** has tells whether the catalogue has a message for key. */
export const has = (key) => key in catalogues[current] || key in catalogues["zh-CN"];

/** t looks up key in the current catalogue and fills {name} placeholders. */
export function t(key, params = {}) {
  const msg = catalogues[current][key] ?? catalogues["zh-CN"][key];
  if (msg === undefined) {
    console.warn("i18n: no message", key);
    return key;
  }
  return msg.replace(/\{(\w+)\}/g, (m, name) => (name in params ? String(params[name]) : m));
}

/** setLang switches the language, remembers it and re-renders. */
export function setLang(l) {
  if (!catalogues[l] || l === current) return;
  current = l;
  try {
    localStorage.setItem(storageKey, l);
  } catch {
    /* storage disabled: the choice lasts for this page */
  }
  document.cookie = `gridmap_lang=${l}; path=/; max-age=31536000; samesite=lax`;
  applyI18n();
  for (const fn of listeners) fn(l);
}

/** onLangChange registers fn to run after the language changes. */
export const onLangChange = (fn) => listeners.push(fn);

/**
 * applyI18n fills elements marked data-i18n (text, with the placeholders in
 * data-i18n-args as JSON), data-i18n-placeholder, data-i18n-title,
 * data-i18n-aria-label and data-i18n-content.
 */
export function applyI18n(root = document) {
  document.documentElement.lang = current;
  for (const el of root.querySelectorAll("[data-i18n]")) el.textContent = t(el.dataset.i18n, el.dataset.i18nArgs ? JSON.parse(el.dataset.i18nArgs) : {});
  for (const attr of ["placeholder", "title", "aria-label", "content"]) {
    const data = "i18n" + attr.replace(/(^|-)(\w)/g, (m, d, c) => c.toUpperCase());
    for (const el of root.querySelectorAll(`[data-i18n-${attr}]`)) el.setAttribute(attr, t(el.dataset[data]));
  }
}

/** langToggle wires a button that switches between zh-CN and English. */
export function langToggle(button) {
  const label = () => (button.textContent = t("lang.switch"));
  button.addEventListener("click", () => setLang(current === "zh-CN" ? "en" : "zh-CN"));
  onLangChange(label);
  label();
}

/**
 * tr makes an element whose text is the message key (with args): it follows
 * the language when it changes, like the page's data-i18n elements.
 */
export function tr(h, tag, attrs, key, args) {
  return h(tag, { ...attrs, "data-i18n": key, "data-i18n-args": args ? JSON.stringify(args) : null }, t(key, args));
}

/**
 * errorKey is the catalogue key for an API error: error.<code> for the codes
 * of the API's {"error":{"code"}} (geo/errors.go), error.generic for any other
 * code or failure. The server's own message is English text for developers,
 * never shown as the message.
 */
export const errorKey = (err) => (err && err.code && has("error." + err.code) ? "error." + err.code : "error.generic");
