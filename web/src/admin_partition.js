// 自动划分: propose grids for the open community (POST /api/v1/partitions/preview),
// draw the proposal over the current grids coloured by households against the
// range, show the tally table, the metrics and why any grid is out of range,
// let the staff member adjust it (click a block, then the neighbouring grid it
// should go to: a move sent with the request, so the server previews the
// adjusted proposal through the one edit pipeline), and accept it as one
// change (POST /api/v1/partitions, with the same moves) or discard it.
// Mounted by admin.js (partitionPanel) each time a community is opened.
import { $, h, show } from "./lib/dom.js";
import { postJSON } from "./lib/api.js";
import { t, tr, has, errorKey } from "./lib/i18n.js";

/**
 * reasonLine renders why a proposal misses the range: the catalogue's
 * admin.partition.reason.<kind> with the server's numbers (it follows the
 * language); the server's English message only for a kind the catalogue
 * does not know (a newer server).
 */
function reasonLine(r) {
  const key = "admin.partition.reason." + r.kind;
  const attrs = { class: "msg error reason", dataset: { kind: r.kind } };
  return has(key) ? tr(h, "p", attrs, key, r.params || {}) : h("p", attrs, r.message);
}

const colours = { under: "#2563eb", ok: "#16a34a", over: "#dc2626" };

// The open panel's click handler: the map's layer handler is registered once
// and calls whichever panel is current.
let onMapClick = null;

/** proposalShown reports whether a proposal is on the map (a click then adjusts it, not selects a grid). */
export function proposalShown() {
  return onMapClick !== null;
}

function ensureLayers(map) {
  if (map.getSource("partition")) return;
  map.setGeoJSON("partition", null);
  map.setGeoJSON("partition-pick", null);
  const status = ["case", ["==", ["get", "in_range"], true], "ok", ["<", ["get", "households"], ["get", "households_min"]], "under", "over"];
  map.addLayer({
    id: "partition-fill", type: "fill", source: "partition",
    paint: { "fill-color": ["match", status, "ok", colours.ok, "under", colours.under, colours.over], "fill-opacity": 0.35 },
  });
  map.addLayer({ id: "partition-line", type: "line", source: "partition", paint: { "line-color": "#111827", "line-width": 2.5 } });
  map.addLayer({
    id: "partition-pick", type: "circle", source: "partition-pick",
    paint: { "circle-color": "#f59e0b", "circle-radius": 7, "circle-stroke-color": "#111827", "circle-stroke-width": 2 },
  });
  map.on("click", "partition-fill", (e) => {
    const f = e.features[0];
    if (f && onMapClick) onMapClick(map.fromDisplay([e.lngLat.lng, e.lngLat.lat]), f.properties.index);
  });
}

/**
 * partitionPanel renders the 自动划分 section for community {code, name} on
 * map; onApplied(result) runs after a proposal was accepted (result is the
 * committed edit, with change_id).
 */
export function partitionPanel(map, community, onApplied) {
  let box = $("#partition");
  if (!box) {
    box = h("section", { id: "partition" });
    $("#balance").before(box);
  }
  ensureLayers(map);
  onMapClick = null;
  map.setGeoJSON("partition", null);
  map.setGeoJSON("partition-pick", null);
  const min = h("input", { id: "part-min", type: "number", min: 1, value: 300, "aria-label": t("admin.partition.min"), "data-i18n-aria-label": "admin.partition.min" });
  const max = h("input", { id: "part-max", type: "number", min: 1, value: 500, "aria-label": t("admin.partition.max"), "data-i18n-aria-label": "admin.partition.max" });
  const mode = h("select", { id: "part-mode", "aria-label": t("admin.partition.mode"), "data-i18n-aria-label": "admin.partition.mode" },
    tr(h, "option", { value: "fresh" }, "admin.partition.fresh"),
    tr(h, "option", { value: "maintain" }, "admin.partition.maintain"));
  const out = h("div", { id: "part-result", "aria-live": "polite" });
  // The request of the proposal on show: range, mode and seed as proposed,
  // and the staff member's moves so far.
  let shown = null;
  let picked = null; // {point, grid}: the block chosen to move
  const hint = h("p", { id: "part-hint", class: "hint" });
  const body = () => ({ area: community.code, households_min: Number(min.value), households_max: Number(max.value), mode: mode.value, seed: 1, moves: [] });
  const discard = () => {
    onMapClick = null;
    shown = picked = null;
    map.setGeoJSON("partition", null);
    map.setGeoJSON("partition-pick", null);
    show(out);
  };
  const pick = (point, grid) => {
    if (point) hint.dataset.picked = grid;
    else delete hint.dataset.picked;
    mark(point);
  };
  const mark = (point) => map.setGeoJSON("partition-pick", point ? { type: "FeatureCollection", features: [{ type: "Feature", properties: {}, geometry: { type: "Point", coordinates: point } }] } : null);
  const moveError = h("div", { id: "part-move-error" });

  async function preview(req) {
    const p = await postJSON("/api/v1/partitions/preview", req);
    shown = req;
    render(p);
  }

  async function propose() {
    picked = null;
    pick(null);
    show(out, tr(h, "p", { class: "hint" }, "admin.partition.working"));
    try {
      await preview(body());
    } catch (err) {
      onMapClick = null;
      show(out, tr(h, "p", { class: "msg error", role: "alert" }, errorKey(err)));
    }
  }

  // A click on the proposal: the first picks a block, the second (on another
  // grid) moves it there.
  async function clicked(point, grid) {
    show(moveError);
    if (!picked || picked.grid === grid) {
      picked = { point, grid };
      pick(point, grid);
      show(hint, tr(h, "span", {}, "admin.partition.picked", { grid: grid + 1 }));
      return;
    }
    const req = { ...shown, moves: [...shown.moves, { lon: picked.point[0], lat: picked.point[1], to: grid }] };
    picked = null;
    pick(null);
    try {
      await preview(req);
    } catch (err) {
      show(hint, tr(h, "span", {}, "admin.partition.adjustHint"));
      // A refused move (it would cut a grid in two, or the block does not
      // border that grid) leaves the proposal as it was.
      show(moveError, tr(h, "p", { class: "msg error", role: "alert" }, err.code === "invalid" ? "admin.partition.moveRefused" : errorKey(err)));
    }
  }

  function render(p) {
    onMapClick = clicked;
    map.setGeoJSON("partition", p.geojson);
    const m = p.metrics;
    const reason = h("input", { id: "part-reason", "aria-label": t("admin.reason"), "data-i18n-aria-label": "admin.reason", placeholder: t("admin.reason"), "data-i18n-placeholder": "admin.reason" });
    const accept = tr(h, "button", { type: "button", id: "part-accept", disabled: !(p.preview && p.preview.valid) }, "admin.partition.accept");
    const req = shown;
    accept.onclick = async () => {
      try {
        const res = await postJSON("/api/v1/partitions", { ...req, reason: reason.value || t("admin.partition.title") });
        discard();
        await onApplied(res.result);
      } catch (err) {
        show(out, tr(h, "p", { class: "msg error", role: "alert" }, errorKey(err)));
      }
    };
    const undo = tr(h, "button", { type: "button", class: "secondary", id: "part-undo", disabled: req.moves.length === 0 }, "admin.partition.undo");
    undo.onclick = async () => {
      picked = null;
      pick(null);
      try {
        await preview({ ...req, moves: req.moves.slice(0, -1) });
      } catch (err) {
        show(moveError, tr(h, "p", { class: "msg error", role: "alert" }, errorKey(err)));
      }
    };
    show(hint, tr(h, "span", {}, "admin.partition.adjustHint"));
    show(moveError);
    show(out,
      tr(h, "p", { id: "part-metrics", class: p.feasible ? "msg info" : "msg error" }, "admin.partition.metrics", {
        grids: m.grids, inRange: m.in_range, pp: m.polsby_popper_mean.toFixed(2), roads: Math.round(100 * m.border_on_road), split: m.estates_split,
      }),
      p.reasons.map(reasonLine),
      h("table", { id: "part-table", class: "balance" },
        h("thead", {}, h("tr", {}, h("th", {}, "#"), tr(h, "th", {}, "count.households"), tr(h, "th", {}, "admin.partition.status"))),
        h("tbody", {}, p.grids.map((g) => h("tr", { class: g.in_range ? "status-ok" : "status-over", dataset: { index: g.index, households: g.households } },
          h("td", {}, g.area ? g.area.name : String(g.index + 1)), h("td", {}, g.households),
          tr(h, "td", {}, g.kept ? "admin.partition.kept" : g.in_range ? "admin.partition.inRange" : "admin.partition.outOfRange"))))),
      hint,
      tr(h, "p", { id: "part-moves", class: "hint" }, "admin.partition.moves", { n: req.moves.length }),
      moveError,
      h("div", { class: "row" }, reason, accept, undo,
        tr(h, "button", { type: "button", class: "secondary", id: "part-discard", onclick: discard }, "admin.partition.discard")));
  }

  show(box, tr(h, "h3", {}, "admin.partition.title"),
    h("div", { class: "row" }, min, "–", max, mode),
    tr(h, "button", { type: "button", id: "part-propose", onclick: propose }, "admin.partition.propose"),
    out);
}
