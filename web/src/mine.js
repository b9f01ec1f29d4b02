// 我的反映 on the resident page: the codes this browser remembers (lib/mycases.js),
// each with its current state and a remove button that asks first (it only
// forgets the code on this device). Loaded only when there are some.
import "./lib/messages-lazy.js";
import { h, show } from "./lib/dom.js";
import { getJSON } from "./lib/api.js";
import { t, tr, lang } from "./lib/i18n.js";
import { myCases, forget, caseURL, caseAPI } from "./lib/mycases.js";

/** showMine fills section with the remembered cases and their states. */
export async function showMine(section) {
  const list = myCases();
  if (!list.length) return;
  section.hidden = false;
  const items = list.map((e) => {
    const state = h("span", { class: "state" }, "…");
    const li = h("li", { dataset: { code: e.code || "", follow: e.follow || "" } },
      h("a", { href: caseURL(e) }, e.code || t("mine.followed")), " ", state, " ", removeButton(section, e));
    getJSON(caseAPI(e)).then(
      (p) => {
        show(state, h("span", { class: "cat" }, lang() === "en" ? p.category_en : p.category_zh), " · ",
          t("case.state." + p.state));
        li.dataset.state = p.state;
      },
      () => {
        state.textContent = t("mine.unknown");
        li.dataset.state = "unknown";
      },
    );
    return li;
  });
  show(section, h("h2", {}, t("mine.title")), h("ul", { class: "mine", id: "mine-list" }, items));
}

/**
 * removeButton is 移除 for one entry: it asks in place (what removing means,
 * confirm or keep) and then forgets the entry on this device.
 */
function removeButton(section, entry) {
  const box = h("span", { class: "mine-remove" });
  const ask = () => show(box,
    tr(h, "span", { class: "confirm" }, "mine.remove.confirm"), " ",
    tr(h, "button", { type: "button", class: "remove-yes", onclick: () => {
      forget(entry);
      box.closest("li").remove();
      if (!section.querySelector("#mine-list li")) section.hidden = true;
    } }, "mine.remove.yes"), " ",
    tr(h, "button", { type: "button", class: "secondary remove-no", onclick: idle }, "mine.remove.no"));
  const idle = () => show(box, tr(h, "button", { type: "button", class: "ghost remove", onclick: ask }, "mine.remove"));
  idle();
  return box;
}
