// The editor's area tree as an ARIA tree (WAI-ARIA Authoring Practices,
// "Tree View"): li[role=treeitem] items, nested ul[role=group], aria-expanded
// on branches, aria-selected, and a roving tabindex (one item is in the tab
// order; the arrow keys move between the visible items).
import { getJSON, qs } from "./api.js";
const ITEM = '[role="treeitem"]';

/** visibleItems lists the tree's items in order, leaving out those inside a collapsed branch. */
export function visibleItems(tree) {
  return [...tree.querySelectorAll(ITEM)].filter((li) => !li.parentElement.closest(`${ITEM}[aria-expanded="false"]`));
}

/** focusItem moves the tab stop to li and focuses it. */
export function focusItem(tree, li) {
  for (const el of tree.querySelectorAll(`${ITEM}[tabindex="0"]`)) el.tabIndex = -1;
  li.tabIndex = 0;
  li.focus({ preventScroll: false });
}

/**
 * treeKeys wires the keys: Up/Down move, Home/End go to the first/last item,
 * Right expands a collapsed branch (or goes to its first child), Left
 * collapses an open branch (or goes to the parent), Enter and Space choose.
 * expand, collapse and choose get the item (they may be async).
 */
export function treeKeys(tree, { expand, collapse, choose }) {
  tree.addEventListener("keydown", async (e) => {
    const li = e.target.closest(ITEM);
    if (!li || !tree.contains(li) || e.altKey || e.ctrlKey || e.metaKey) return;
    const items = visibleItems(tree);
    const i = items.indexOf(li);
    const open = li.getAttribute("aria-expanded");
    let to;
    switch (e.key) {
      case "ArrowDown": to = items[i + 1]; break;
      case "ArrowUp": to = items[i - 1]; break;
      case "Home": to = items[0]; break;
      case "End": to = items[items.length - 1]; break;
      case "ArrowRight":
        if (open === "false") {
          e.preventDefault();
          return expand(li);
        }
        if (open === "true") to = li.querySelector(ITEM);
        break;
      case "ArrowLeft":
        if (open === "true") {
          e.preventDefault();
          return collapse(li);
        }
        to = li.parentElement.closest(ITEM);
        break;
      case "Enter":
      case " ":
        e.preventDefault();
        return choose(li);
      default:
        return;
    }
    e.preventDefault();
    if (to) focusItem(tree, to);
  });
}

/**
 * searchAreas asks the server for the areas that match q (the name contains
 * it, ignoring case, or the code starts with it; best match first: the rule
 * is data.FindAreas's), at or below the area under (a code; none: all), of
 * the levels given (a Set of keys; none: all), at most limit.
 */
export async function searchAreas(q, { under = "", levels = null, limit = 50 } = {}) {
  const { areas } = await getJSON("/api/v1/areas?" + qs({ q: q.trim(), under, limit: String(limit) }));
  return levels ? areas.filter((a) => levels.has(a.level)) : areas;
}
