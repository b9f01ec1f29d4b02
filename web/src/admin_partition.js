// 自动划分: propose grids for the open community (POST /api/v1/partitions/preview),
// draw the proposal over the current grids coloured by households against the
// range, show the tally table, the metrics and why any grid is out of range,
// and accept it as one change (POST /api/v1/partitions) or discard it.
// Mounted by admin.js (partitionPanel) each time a community is opened.
import { $, h, show } from "./lib/dom.js";
import { postJSON } from "./lib/api.js";
import { t, tr, errorKey } from "./lib/i18n.js";

const colours = { under: "#2563eb", ok: "#16a34a", over: "#dc2626" };

function ensureLayers(map) {
  if (map.getSource("partition")) return;
  map.setGeoJSON("partition", null);
  const status = ["case", ["==", ["get", "in_range"], true], "ok", ["<", ["get", "households"], ["get", "households_min"]], "under", "over"];
  map.addLayer({
    id: "partition-fill", type: "fill", source: "partition",
    paint: { "fill-color": ["match", status, "ok", colours.ok, "under", colours.under, colours.over], "fill-opacity": 0.35 },
  });
  map.addLayer({ id: "partition-line", type: "line", source: "partition", paint: { "line-color": "#111827", "line-width": 2.5 } });
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
  map.setGeoJSON("partition", null);
  const min = h("input", { id: "part-min", type: "number", min: 1, value: 300, "aria-label": t("admin.partition.min"), "data-i18n-aria-label": "admin.partition.min" });
  const max = h("input", { id: "part-max", type: "number", min: 1, value: 500, "aria-label": t("admin.partition.max"), "data-i18n-aria-label": "admin.partition.max" });
  const mode = h("select", { id: "part-mode", "aria-label": t("admin.partition.mode"), "data-i18n-aria-label": "admin.partition.mode" },
    tr(h, "option", { value: "fresh" }, "admin.partition.fresh"),
    tr(h, "option", { value: "maintain" }, "admin.partition.maintain"));
  const out = h("div", { id: "part-result", "aria-live": "polite" });
  const body = () => ({ area: community.code, households_min: Number(min.value), households_max: Number(max.value), mode: mode.value, seed: 1 });
  const discard = () => { map.setGeoJSON("partition", null); show(out); };

  async function propose() {
    show(out, tr(h, "p", { class: "hint" }, "admin.partition.working"));
    let p;
    try {
      p = await postJSON("/api/v1/partitions/preview", body());
    } catch (err) {
      return show(out, tr(h, "p", { class: "msg error", role: "alert" }, errorKey(err)));
    }
    map.setGeoJSON("partition", p.geojson);
    const m = p.metrics;
    const reason = h("input", { id: "part-reason", "aria-label": t("admin.reason"), "data-i18n-aria-label": "admin.reason", placeholder: t("admin.reason"), "data-i18n-placeholder": "admin.reason" });
    const accept = tr(h, "button", { type: "button", id: "part-accept", disabled: !(p.preview && p.preview.valid) }, "admin.partition.accept");
    accept.onclick = async () => {
      try {
        const res = await postJSON("/api/v1/partitions", { ...body(), reason: reason.value || t("admin.partition.title") });
        discard();
        await onApplied(res.result);
      } catch (err) {
        show(out, tr(h, "p", { class: "msg error", role: "alert" }, errorKey(err)));
      }
    };
    show(out,
      tr(h, "p", { id: "part-metrics", class: p.feasible ? "msg info" : "msg error" }, "admin.partition.metrics", {
        grids: m.grids, inRange: m.in_range, pp: m.polsby_popper_mean.toFixed(2), roads: Math.round(100 * m.border_on_road), split: m.estates_split,
      }),
      p.reasons.map((r) => h("p", { class: "msg error reason" }, r.message)),
      h("table", { id: "part-table", class: "balance" },
        h("thead", {}, h("tr", {}, h("th", {}, "#"), tr(h, "th", {}, "count.households"), tr(h, "th", {}, "admin.partition.status"))),
        h("tbody", {}, p.grids.map((g) => h("tr", { class: g.in_range ? "status-ok" : "status-over", dataset: { households: g.households } },
          h("td", {}, g.area ? g.area.name : String(g.index + 1)), h("td", {}, g.households),
          tr(h, "td", {}, g.kept ? "admin.partition.kept" : g.in_range ? "admin.partition.inRange" : "admin.partition.outOfRange"))))),
      h("div", { class: "row" }, reason, accept,
        tr(h, "button", { type: "button", class: "secondary", id: "part-discard", onclick: discard }, "admin.partition.discard")));
  }

  show(box, tr(h, "h3", {}, "admin.partition.title"),
    h("div", { class: "row" }, min, "–", max, mode),
    tr(h, "button", { type: "button", id: "part-propose", onclick: propose }, "admin.partition.propose"),
    out);
}
