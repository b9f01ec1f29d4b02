// The printable notice board: print button and language switch only; the
// map and QR code are SVG rendered by the server.
import { $ } from "./lib/dom.js";
import { setLang, onLangChange } from "./lib/i18n.js";
import "./css/poster.css";

$("#print")?.addEventListener("click", () => window.print());
onLangChange(() => location.reload());
$("#lang")?.addEventListener("click", () => setLang(document.documentElement.lang === "en" ? "zh-CN" : "en"));
