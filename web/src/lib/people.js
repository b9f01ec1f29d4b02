// Cards of the people responsible for a place, grouped by person: photo,
// name, phone as a tap-to-call link, and their duties.
import { h } from "./dom.js";
import { t } from "./i18n.js";

const roleOrder = ["grid_leader", "building_leader", "grid_worker", "info_officer", "police", "party_member", "volunteer"];

/** groupPeople merges duties of the same person (same name, phone and photo). */
export function groupPeople(responsible) {
  const people = new Map();
  for (const r of responsible || []) {
    const key = [r.name, r.phone, r.photo].join("|");
    if (!people.has(key)) people.set(key, { name: r.name, phone: r.phone, photo: r.photo, roles: [], building: r.building });
    const p = people.get(key);
    if (!p.roles.includes(r.role)) p.roles.push(r.role);
  }
  const rank = (p) => Math.min(...p.roles.map((r) => (roleOrder.indexOf(r) + 99) % 99));
  return [...people.values()].sort((a, b) => rank(a) - rank(b));
}

/** roleName is the catalogue's name of a role. */
export const roleName = (role) => t(`role.${role}`);

/** personCards renders the grouped people; the grid leader's card is the large one. */
export function personCards(responsible, { buildingCode } = {}) {
  const people = groupPeople(responsible).filter((p) => !p.building || !buildingCode || p.building === buildingCode);
  if (!people.length) return [h("p", { class: "msg info" }, t("people.none"))];
  return people.map((p) => {
    const lead = p.roles.includes("grid_leader");
    const building = p.roles.includes("building_leader");
    return h("article", { class: `person${lead ? " lead" : ""}${building ? " building-leader" : ""}`, dataset: { roles: p.roles.join(" ") } },
      p.photo ? h("img", { src: p.photo, alt: t("people.photoOf", { name: p.name || "" }), width: 72, height: 72 }) : h("div", { class: "nophoto" }),
      h("div", { class: "who" },
        h("p", { class: "roles" }, p.roles.map(roleName).join(" · ")),
        h("p", { class: "name" }, p.name || t("people.nameHidden")),
        p.phone ? h("a", { class: "phone", href: `tel:${p.phone}` }, t("people.call", { phone: p.phone })) : null,
        h("ul", { class: "duties" }, p.roles.map((r) => h("li", {}, t(`duty.${r}`))))));
  });
}

/** chainView renders 街道 › 社区 › 网格 (the last three levels of the chain). */
export function chainView(areas) {
  const shown = (areas || []).slice(-3);
  return h("nav", { class: "chain", "aria-label": t("chain.label") },
    shown.map((a, i) => [i ? h("span", { class: "sep", "aria-hidden": "true" }, " › ") : null,
      h("span", { class: `level-${a.level}`, title: a.code }, a.name)]));
}
