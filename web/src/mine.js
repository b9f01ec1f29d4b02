// 我的反映 on the resident page: the codes this browser remembers (lib/mycases.js),
// each with its current state. Loaded only when there are some.
import "./lib/messages-lazy.js";
import { h, show } from "./lib/dom.js";
import { getJSON } from "./lib/api.js";
import { t, lang } from "./lib/i18n.js";
import { myCases, caseURL, caseAPI } from "./lib/mycases.js";

/** showMine fills section with the remembered cases and their states. */
export async function showMine(section) {
  const list = myCases();
  if (!list.length) return;
  section.hidden = false;
  const items = list.map((e) => {
    const state = h("span", { class: "state" }, "…");
    const li = h("li", { dataset: { code: e.code || "", follow: e.follow || "" } },
      h("a", { href: caseURL(e) }, e.code || t("mine.followed")), " ", state);
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
