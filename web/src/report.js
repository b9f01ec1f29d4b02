// 我要报事: the resident's report form, loaded on demand (import()) from the
// lookup result and the building page, so neither page's first load carries
// it. Category (common ones first, with emoji icons, then a search), a
// description, up to 3 photos resized in the browser (canvas, ≤ 1600 px
// JPEG) before upload, the location prefilled and adjustable by dragging a
// pin, an optional phone with what it is used for and when it is erased.
// Open cases nearby are shown before sending, to follow instead. After
// sending: the tracking code, large and copyable, remembered in 我的反映.
// The grid worker's page (/work) opens the same form as staff intake
// (opts.source "grid_worker", sent with the session's CSRF header) with a
// draft kept in localStorage (opts.draftKey): category, description, phone
// and location survive a reload or a dropped connection; photos are not
// kept (too large for localStorage) and the restored form says so. A send
// that fails for want of a network is sent again by itself once the
// connection is back (lib/outbox.js), with the same Idempotency-Key, and
// the sent view says it went by itself; a draft left queued is sent when
// the form opens again with a network, unless it had photos (they are not
// in the draft: the worker adds them again and sends by hand).
import "./lib/messages-lazy.js";
import { h, show } from "./lib/dom.js";
import { ApiError, getJSON, qs, csrfHeaders, offline } from "./lib/api.js";
import { loadDraft, saveDraft, clearDraft, savePhotos, loadPhotos } from "./lib/drafts.js";
import { t, tr, lang, errorKey, onLangChange } from "./lib/i18n.js";
import { remember, myCases, caseURL } from "./lib/mycases.js";
import { queueSend, dropSend, newRequestKey } from "./lib/outbox.js";

// The form's stylesheet is linked when the form first opens (build.mjs).
let cssPromise;
function loadCSS() {
  cssPromise ??= new Promise((resolve) => {
    const link = Object.assign(document.createElement("link"), { rel: "stylesheet", href: __REPORT_CSS_URL__ });
    link.addEventListener("load", resolve);
    link.addEventListener("error", resolve);
    document.head.append(link);
  });
  return cssPromise;
}

// The common problems first (the most reported in 数字城管 catalogues), with an icon each.
const common = [
  ["exposed_rubbish", "🗑️"], ["overflowing_bin", "🚮"], ["streetlight_out", "💡"], ["road_damage", "🚧"],
  ["illegal_parking", "🚗"], ["blocked_drain", "🌊"], ["noise_nuisance", "🔊"], ["blocked_fire_lane", "🚒"],
  ["ebike_charging", "🔌"], ["manhole_cover", "⚠️"], ["fallen_tree", "🌳"], ["other", "💬"],
];
export const MAX_PHOTOS = 3;
export const MAX_SIDE = 1600; // px, the longer side of an uploaded photo

let categories = null; // [{code, zh, en}] once fetched
const nameOf = (c) => (lang() === "en" ? c.en : c.zh);

/**
 * resizePhoto draws a photo on a canvas no larger than MAX_SIDE on its longer
 * side (orientation applied) and returns it as a JPEG blob: small uploads,
 * and the camera's EXIF (GPS) never leaves the phone. The server re-encodes
 * again anyway (cases/photo.go).
 */
export async function resizePhoto(file) {
  const bmp = await createImageBitmap(file, { imageOrientation: "from-image" });
  const scale = Math.min(1, MAX_SIDE / Math.max(bmp.width, bmp.height));
  const canvas = document.createElement("canvas");
  canvas.width = Math.max(1, Math.round(bmp.width * scale));
  canvas.height = Math.max(1, Math.round(bmp.height * scale));
  canvas.getContext("2d").drawImage(bmp, 0, 0, canvas.width, canvas.height);
  bmp.close?.();
  const blob = await new Promise((resolve) => canvas.toBlob(resolve, "image/jpeg", 0.85));
  if (!blob) throw new Error("encode");
  return { blob, width: canvas.width, height: canvas.height };
}

/** photoOf is a kept photo (a resized JPEG blob) with its size, as resizePhoto returns it. */
async function photoOf(blob) {
  const bmp = await createImageBitmap(blob);
  const p = { blob, width: bmp.width, height: bmp.height };
  bmp.close?.();
  return p;
}

/**
 * openReport shows the form in box for a place {lon, lat (WGS84), address,
 * building}. onClose runs when the resident cancels (which discards the
 * draft). draftKey names the draft (lib/drafts.js: residentDraftKey for a
 * building, the staff pages' own); staff pages pass source (cases.Source,
 * e.g. "grid_worker"), onSent(result) instead of the resident's 我的反映, and title (a
 * catalogue key for the heading).
 */
export async function openReport(box, place, { onClose, source, draftKey, onSent, title } = {}) {
  await loadCSS();
  const draft = draftKey ? loadDraft(draftKey) : null;
  const state = { category: draft?.category || "", point: draft?.point || [Number(place.lon), Number(place.lat)], photos: [], moved: !!draft?.moved,
    idem: draft?.idem || "", queued: !!draft?.queued };
  const outboxName = "report:" + (draftKey || "resident");
  box.hidden = false;
  box.dataset.state = "form";
  // Every text is marked with its catalogue key (tr, data-i18n-*), so a
  // language switch relabels the open form in place (applyI18n) and what was
  // typed stays; the category names and the nearby cases are redrawn below.
  const status = h("p", { id: "report-status", role: "status", class: "report-status" });
  let dupSeq = 0; // the nearby check's sequence: only the latest answer is drawn (declared before a restored draft calls it)
  let failure = ""; // the catalogue key of the last error shown, to say it again in another language
  const fail = (err) => say("report.error", { message: t((failure = errorKey(err))) });
  const say = (key, args) => {
    status.dataset.i18n = key;
    status.dataset.i18nArgs = JSON.stringify(args || {});
    status.textContent = t(key, args);
  };
  const catBox = h("div", { class: "cats", id: "report-cats", role: "radiogroup", "aria-label": t("report.category"), "data-i18n-aria-label": "report.category" });
  const search = h("input", { type: "search", id: "report-cat-search", placeholder: t("report.category.search"),
    "aria-label": t("report.category.search"), "data-i18n-placeholder": "report.category.search", "data-i18n-aria-label": "report.category.search", autocomplete: "off" });
  const found = h("ul", { class: "cat-results", id: "report-cat-results" });
  const desc = h("textarea", { id: "report-desc", rows: 3, maxlength: 2000, required: true, placeholder: t("report.description.placeholder"), "data-i18n-placeholder": "report.description.placeholder" });
  const fileInput = h("input", { type: "file", id: "report-photo", accept: "image/*", multiple: true, class: "sr-only" });
  const thumbs = h("ul", { class: "thumbs", id: "report-thumbs" });
  const addPhoto = h("label", { for: "report-photo", class: "button secondary", id: "report-photo-add" }, "📷 ", tr(h, "span", {}, "report.photos.add"));
  const mapEl = h("div", { id: "report-map", class: "report-map", role: "region", "aria-label": t("report.location"), "data-i18n-aria-label": "report.location" });
  const where = h("p", { class: "where", id: "report-where" }, place.address || "");
  const phone = h("input", { type: "tel", id: "report-phone", inputmode: "tel", autocomplete: "tel", maxlength: 20 });
  const dups = h("section", { id: "report-dups", class: "dups", hidden: true, "aria-live": "polite" });
  const send = tr(h, "button", { type: "submit", id: "report-send" }, "report.send");
  const form = h("form", { id: "report-form", class: "report-form", novalidate: true },
    tr(h, "h2", {}, title || "report.title"),
    h("fieldset", {}, tr(h, "legend", {}, "report.category"), catBox, search, found),
    tr(h, "label", { for: "report-desc" }, "report.description"), desc,
    h("fieldset", {}, tr(h, "legend", {}, "report.photos"), thumbs, fileInput, addPhoto),
    h("fieldset", {}, tr(h, "legend", {}, "report.location"), mapEl, where),
    tr(h, "label", { for: "report-phone" }, "report.phone"), phone,
    tr(h, "p", { class: "hint", id: "report-phone-use" }, "report.phone.use"),
    dups, status,
    h("p", { class: "row" }, send, tr(h, "button", { type: "button", class: "secondary", id: "report-cancel",
      onclick: () => { dropSend(outboxName); if (draftKey) clearDraft(draftKey); box.hidden = true; show(box); onClose?.(); } }, "report.cancel")));
  show(box, form);
  box.scrollIntoView({ block: "start" });

  // --- The draft: restored, and saved on every change.
  const keep = () => draftKey && saveDraft(draftKey, { category: state.category, description: desc.value, phone: phone.value,
    point: state.point, moved: state.moved, photos: state.photos.length, idem: state.idem, queued: state.queued });
  // The photos are kept beside the draft (IndexedDB); they come back only
  // all together (a draft that lost some is not sent by itself).
  const keepPhotos = async () => {
    const n = state.photos.length;
    if (draftKey && (await savePhotos(draftKey, state.photos.map((p) => p.blob)))) thumbs.dataset.kept = n; // stored
  };
  let photosKept = false;
  if (draft?.photos && draftKey) {
    const blobs = await loadPhotos(draftKey);
    if (blobs.length === draft.photos) {
      try {
        state.photos = await Promise.all(blobs.map(photoOf));
        photosKept = true;
      } catch {
        state.photos = []; // a kept photo the browser cannot read any more
      }
    }
  }
  if (draft) {
    desc.value = draft.description || "";
    phone.value = draft.phone || "";
    if (draft.moved) where.textContent = t("report.location.moved");
    status.textContent = t(draft.photos && !photosKept ? "report.draft.restoredNoPhotos" : "report.draft.restored");
    if (photosKept) drawThumbs();
  }
  form.addEventListener("input", keep);

  // --- Category: common ones as buttons, then a search over all of them.
  const choose = (code) => {
    state.category = code;
    for (const b of catBox.querySelectorAll("button")) b.setAttribute("aria-checked", String(b.dataset.code === code));
    for (const li of found.querySelectorAll("button")) li.setAttribute("aria-checked", String(li.dataset.code === code));
    keep();
    checkDuplicates();
  };
  const catButton = (c, icon) => h("button", { type: "button", role: "radio", "aria-checked": "false", class: "cat", dataset: { code: c.code },
    onclick: () => choose(c.code) }, icon ? h("span", { class: "icon", "aria-hidden": "true" }, icon) : null, h("span", { class: "name" }, nameOf(c)));
  try {
    categories ??= (await getJSON("/api/v1/cases/categories")).categories;
  } catch (err) {
    fail(err);
    categories = [];
  }
  const byCode = Object.fromEntries(categories.map((c) => [c.code, c]));
  show(catBox, common.filter(([code]) => byCode[code]).map(([code, icon]) => catButton(byCode[code], icon)));
  if (state.category) choose(state.category);
  search.addEventListener("input", () => {
    const q = search.value.trim().toLowerCase();
    if (!q) return show(found);
    const hits = categories.filter((c) => c.zh.includes(q) || c.en.toLowerCase().includes(q) || c.code.includes(q)).slice(0, 8);
    show(found, hits.length ? hits.map((c) => h("li", {}, catButton(c))) : tr(h, "li", { class: "none" }, "report.category.none"));
    if (state.category) choose(state.category);
  });

  // --- Photos: resized before upload; at most MAX_PHOTOS.
  fileInput.addEventListener("change", async () => {
    for (const file of [...fileInput.files]) {
      if (state.photos.length >= MAX_PHOTOS) {
        say("report.photos.max");
        break;
      }
      try {
        const p = await resizePhoto(file);
        state.photos.push(p);
      } catch {
        say("report.photos.failed");
      }
    }
    fileInput.value = "";
    drawThumbs();
    keep();
    keepPhotos();
  });
  function drawThumbs() {
    show(thumbs, state.photos.map((p, i) => {
      p.url ??= URL.createObjectURL(p.blob);
      return h("li", { dataset: { width: p.width, height: p.height, bytes: p.blob.size } },
        h("img", { src: p.url, alt: "", width: 72, height: 72 }),
        h("button", { type: "button", class: "ghost remove", "aria-label": t("report.photos.remove"), title: t("report.photos.remove"),
          "data-i18n-aria-label": "report.photos.remove", "data-i18n-title": "report.photos.remove",
          onclick: () => { URL.revokeObjectURL(p.url); state.photos.splice(i, 1); drawThumbs(); keep(); keepPhotos(); } }, "×"));
    }));
    addPhoto.hidden = state.photos.length >= MAX_PHOTOS;
  }

  // --- Location: a pin on a small map of its own, draggable. MapLibre is
  // the chunk the pages already share; the form is usable before it loads.
  Promise.all([import("./lib/map.js"), import("maplibre-gl")]).then(async ([lib, { Marker }]) => {
    const map = await lib.createMap(mapEl, { tiles: true, center: state.point, zoom: 17 });
    const pin = new Marker({ color: "#c8102e", draggable: true }).setLngLat(map.toDisplay({ type: "Point", coordinates: state.point }).coordinates).addTo(map);
    pin.getElement().id = "report-pin";
    const moveTo = (lngLat) => {
      const [lon, lat] = map.fromDisplay([lngLat.lng, lngLat.lat]);
      state.point = [Number(lon.toFixed(7)), Number(lat.toFixed(7))];
      state.moved = true;
      where.dataset.i18n = "report.location.moved";
      where.textContent = t("report.location.moved");
      mapEl.dataset.lon = state.point[0];
      mapEl.dataset.lat = state.point[1];
      keep();
      checkDuplicates();
    };
    pin.on("dragend", () => moveTo(pin.getLngLat()));
    map.on("click", (e) => { pin.setLngLat(e.lngLat); moveTo(e.lngLat); });
    if (__TEST_HOOKS__) window.__reportPin = { pin, map, moveTo };
    mapEl.dataset.ready = "true";
  });

  // --- Open cases nearby, before sending.
  async function checkDuplicates() {
    if (!state.category) return;
    const seq = ++dupSeq;
    let res;
    try {
      res = await getJSON("/api/v1/cases/nearby?" + qs({ lon: state.point[0], lat: state.point[1], category: state.category }));
    } catch {
      return; // a convenience: sending still works
    }
    if (seq !== dupSeq) return;
    dups.hidden = !res.cases.length;
    dups.dataset.count = res.cases.length;
    show(dups, res.cases.length ? [
      tr(h, "h3", {}, "report.duplicates.title"),
      tr(h, "p", { class: "hint" }, "report.duplicates.hint"),
      h("ul", {}, res.cases.map((c) => {
        const followed = myCases().some((e) => e.follow === c.follow);
        const follow = tr(h, "button", { type: "button", class: "secondary follow", disabled: followed, onclick: () => {
          remember({ follow: c.follow });
          follow.disabled = true;
          follow.dataset.i18n = "report.followed";
          follow.textContent = t("report.followed");
        } }, followed ? "report.followed" : "report.follow");
        return h("li", { dataset: { follow: c.follow } },
          h("span", {}, t("report.duplicates.item", { category: lang() === "en" ? c.category_en : c.category_zh,
            state: t("case.state." + c.state), date: c.reported_on, m: c.about_m })),
          c.summary ? h("q", {}, c.summary) : null, " ", follow);
      })),
    ] : []);
  }

  // --- Sending: one multipart request, the report and its photos, with
  // the Idempotency-Key of this report (kept in the draft, the same for
  // every retry). auto: sent again by itself (the connection came back).
  async function submit(auto) {
    dropSend(outboxName);
    if (!form.isConnected) return;
    if (!state.category) return say("report.needCategory");
    if (!desc.value.trim()) {
      desc.focus();
      return say("report.needDescription");
    }
    const body = new FormData();
    const report = { category: state.category, lon: state.point[0], lat: state.point[1], description: desc.value.trim(),
      phone: phone.value.trim(), address: state.moved ? "" : place.address || "", building: state.moved ? "" : place.building || "" };
    if (source) report.source = source;
    body.append("case", new Blob([JSON.stringify(report)], { type: "application/json" }));
    state.photos.forEach((p, i) => body.append("photo", p.blob, `photo-${i + 1}.jpg`));
    state.idem ||= newRequestKey();
    send.disabled = true;
    say(auto ? "report.resending" : "report.sending");
    try {
      const res = await fetch("/api/v1/cases", { method: "POST", body, credentials: "same-origin",
        headers: { Accept: "application/json", "Idempotency-Key": state.idem, ...csrfHeaders() } });
      const out = await res.json().catch(() => null);
      if (!res.ok) throw new ApiError(res.status, out, Number(res.headers.get("Retry-After")) || 0);
      if (draftKey) clearDraft(draftKey);
      if (onSent) onSent(out);
      else remember({ code: out.tracking_code });
      sent(box, out.tracking_code, !onSent, auto);
    } catch (err) {
      send.disabled = false;
      state.queued = offline(err);
      keep();
      if (state.queued) {
        queueSend(outboxName, () => submit(true));
        say(draftKey ? "report.offline.draft" : "report.offline");
      } else fail(err);
    }
  }
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    submit(false);
  });
  // A draft queued before a reload: sent now (or when the connection is
  // back), unless its photos could not be kept with it.
  if (state.queued && (!draft?.photos || photosKept)) {
    if (navigator.onLine) submit(true);
    else queueSend(outboxName, () => submit(true));
  }

  // A language switch while the form is open: the marked texts follow by
  // themselves; the category names (from the API, not the catalogue) and the
  // nearby cases are redrawn.
  onLangChange(() => {
    if (!form.isConnected) return;
    for (const el of form.querySelectorAll("button.cat[data-code] .name")) {
      const c = byCode[el.parentElement.dataset.code];
      if (c) el.textContent = nameOf(c);
    }
    if (status.dataset.i18n === "report.error") say("report.error", { message: t(failure) });
    checkDuplicates();
  });
}

/**
 * sent replaces the form with the tracking code, large, with a copy button
 * (and, for a resident, its page); auto says it was sent by itself when the
 * connection came back.
 */
function sent(box, code, resident, auto) {
  box.dataset.state = "sent";
  const copied = h("p", { role: "status", class: "report-status", id: "report-copied" });
  const codeEl = h("output", { class: "tracking-code", id: "report-code" }, code);
  show(box, h("div", { class: "report-sent" },
    tr(h, "p", {}, "report.sent"),
    auto ? tr(h, "p", { class: "hint", id: "report-resent" }, "report.resent") : null,
    h("p", { class: "tracking" }, codeEl, " ", tr(h, "button", { type: "button", class: "secondary", id: "report-copy", onclick: async () => {
      try {
        await navigator.clipboard.writeText(code);
        copied.textContent = t("case.copied");
      } catch {
        getSelection().selectAllChildren(codeEl);
        copied.textContent = t("case.copyManual");
      }
    } }, "case.copy")),
    copied,
    resident ? tr(h, "p", { class: "hint" }, "report.sent.hint") : null,
    resident ? h("p", {}, tr(h, "a", { href: caseURL({ code }), id: "report-track" }, "report.track")) : null));
  box.scrollIntoView({ block: "start" });
}

