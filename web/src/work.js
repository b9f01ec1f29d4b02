// The grid worker's phone page (/work): sign in; the worklist of the
// worker's grid(s) — overdue first, then by deadline, with the working time
// left as the server computes it on China's working calendar, the category,
// the address and the distance from the phone's position; a case with its
// map, photos, timeline and the actions the server says this worker may take
// now, each confirmed with what it will do; 上报事件, the resident's report
// form as staff intake (source grid_worker) at the phone's position. Forms
// keep drafts in localStorage (lib/drafts.js) across reloads and dropped
// connections, their photos beside them (IndexedDB, lib/drafts.js). A send
// that fails for want of a network is sent again by itself, once, when the
// connection is back (lib/outbox.js: the online event, the page shown
// again; and on opening the case again after a reload), with the same
// Idempotency-Key, so it never acts twice.
// Views by the URL's hash: "" the worklist, #case/ID, #report.
import "./lib/messages-lazy.js";
import "./lib/messages-work.js";
import { $, h, show } from "./lib/dom.js";
import { getJSON, postJSON, offline, ApiError } from "./lib/api.js";
import { timeLeft, uploadCasePhotos } from "./lib/caseview.js";
import { t, lang, errorKey, applyI18n, langToggle, onLangChange } from "./lib/i18n.js";
import { currentSession, loginForm } from "./lib/session.js";
import { loadDraft, saveDraft, clearDraft, savePhotos, loadPhotos, draftNames } from "./lib/drafts.js";
import { queueSend, dropSend, newRequestKey } from "./lib/outbox.js";
import "./css/base.css";
import "./css/work.css";

const app = $("#app");
const net = $("#net");
const state = { session: null, here: null, located: false, names: {}, list: [], next: "", loaded: false };
if (__TEST_HOOKS__) window.__work = state;

// --- Position: the phone's GPS (WGS84), if the worker allows it. No
// position: no distances, no error.
function locate() {
  if (!navigator.geolocation) return Promise.resolve(null);
  return new Promise((resolve) => navigator.geolocation.getCurrentPosition(
    (p) => resolve([p.coords.longitude, p.coords.latitude]), () => resolve(null), { enableHighAccuracy: true, timeout: 8000, maximumAge: 60000 }));
}

/** metres between two WGS84 points (haversine; display only). */
function metres(a, b) {
  const r = Math.PI / 180;
  const dLat = (b[1] - a[1]) * r;
  const dLon = (b[0] - a[0]) * r;
  const s = Math.sin(dLat / 2) ** 2 + Math.cos(a[1] * r) * Math.cos(b[1] * r) * Math.sin(dLon / 2) ** 2;
  return 2 * 6371008.8 * Math.asin(Math.sqrt(s));
}

function distanceText(c) {
  if (!state.here) return "";
  const m = metres(state.here, [c.lon, c.lat]);
  return m < 1000 ? t("work.distance.m", { n: Math.round(m / 10) * 10 }) : t("work.distance.km", { n: (m / 1000).toFixed(1) });
}

const categoryName = (c) => (lang() === "en" ? state.names[c.category] || c.category : c.category_zh || c.category);

function setNet(key) {
  net.hidden = !key;
  net.textContent = key ? t(key) : "";
}
addEventListener("offline", () => setNet("work.offline"));
addEventListener("online", () => setNet(""));

// --- Start: the session, then the view of the hash.
async function start() {
  langToggle($("#lang"));
  applyI18n();
  onLangChange(() => route());
  let sess;
  try {
    sess = await currentSession();
  } catch (err) {
    return show(app, h("p", { class: "msg error", role: "alert" }, offline(err) ? t("work.offline") : t(errorKey(err))));
  }
  if (!sess) return show(app, loginForm(signedIn));
  signedIn(sess);
}

let routing = false; // the hashchange listener is added once (a second sign-in after a 401 must not add another)
function signedIn(sess) {
  state.session = sess;
  getJSON("/api/v1/cases/categories").then((r) => {
    for (const c of r.categories) state.names[c.code] = c.en;
  }).catch(() => {});
  locate().then((p) => {
    state.here = p;
    state.located = true;
    document.body.dataset.located = p ? "yes" : "no";
    if (!location.hash) drawList(); // the distances
  });
  if (!routing) addEventListener("hashchange", route);
  routing = true;
  route();
}

function route() {
  if (!state.session) return;
  const m = location.hash.match(/^#case\/(\d+)$/);
  if (m) return openCase(Number(m[1]));
  if (location.hash === "#report") return openPatrolReport();
  loadList();
}

async function logout() {
  try {
    await postJSON("/api/v1/logout", {});
  } catch {
    /* signed out already, or offline: the reload shows what is true */
  }
  location.hash = "";
  location.reload();
}

// --- The worklist: the server's order (overdue first, then by deadline),
// a page at a time; "more" at the bottom reads the next page with the
// cursor the server gave, so the order runs on across pages. A refresh
// starts again at the first page. Only open cases (open=true: the server's
// cases.State.Finished leaves out the finished ones).
const pageSize = 50;
const listQuery = (cursor) => "/api/v1/cases?" + new URLSearchParams({ assigned: "me", order: "due", open: "true", limit: String(pageSize), ...(cursor ? { cursor } : {}) });

async function loadList() {
  app.dataset.view = "list";
  if (state.loaded) drawList(); // what was read before, until the fresh list comes
  else show(app, h("p", { class: "hint" }, t("work.loading")));
  try {
    const page = await getJSON(listQuery());
    state.list = page.cases;
    state.next = page.next || "";
    state.loaded = true;
    setNet("");
  } catch (err) {
    if (err instanceof ApiError && err.status === 401) return show(app, loginForm(signedIn, "error.unauthenticated"));
    setNet(offline(err) ? "work.offline" : errorKey(err));
    if (!state.loaded) return show(app, h("p", { class: "msg error", role: "alert" }, t(offline(err) ? "work.offline" : errorKey(err))));
  }
  drawList();
}

/** loadMore appends the next page of the worklist (the cursor of the last one). */
async function loadMore(button) {
  button.disabled = true;
  try {
    const page = await getJSON(listQuery(state.next));
    const have = new Set(state.list.map((c) => c.id));
    state.list = state.list.concat(page.cases.filter((c) => !have.has(c.id)));
    state.next = page.next || "";
    setNet("");
  } catch (err) {
    button.disabled = false;
    if (err instanceof ApiError && err.status === 401) return show(app, loginForm(signedIn, "error.unauthenticated"));
    return setNet(offline(err) ? "work.offline" : errorKey(err));
  }
  const y = scrollY;
  drawList();
  scrollTo(0, y); // stay where the thumb was
}

function drawList() {
  if (app.dataset.view !== "list" || !state.loaded) return;
  const items = state.list.map((c) => h("li", { class: "case" + (c.overdue ? " overdue" : ""), dataset: { id: c.id, overdue: c.overdue } },
    h("a", { href: `#case/${c.id}` },
      h("span", { class: "line1" }, h("strong", { class: "cat" }, categoryName(c)), h("span", { class: "state" }, t("case.state." + c.state))),
      h("span", { class: "addr" }, c.address || t("work.noAddress")),
      h("span", { class: "line3" }, h("span", { class: "left" }, timeLeft(c)), h("span", { class: "dist" }, distanceText(c))))));
  app.dataset.loaded = "true";
  const more = state.next ? h("button", { type: "button", class: "secondary more", id: "work-more" }, t("work.list.more", { n: pageSize })) : null;
  more?.addEventListener("click", () => loadMore(more));
  show(app,
    h("div", { class: "toolbar" },
      h("h2", {}, t(state.next ? "work.list.titleMore" : "work.list.title", { n: state.list.length })),
      h("a", { class: "button", href: "#report", id: "work-report" }, t("work.report.open"))),
    items.length ? h("ul", { id: "worklist", class: "worklist" }, items) : h("p", { class: "hint", id: "worklist-empty" }, t("work.list.empty")),
    more ? h("p", { class: "row more" }, more) : null,
    h("p", { class: "row foot" },
      h("button", { type: "button", class: "secondary", id: "work-refresh", onclick: loadList }, t("work.refresh")),
      h("button", { type: "button", class: "ghost", id: "work-logout", onclick: logout }, t("admin.logout"))),
    state.located && !state.here ? h("p", { class: "hint", id: "work-nopos" }, t("work.noPosition")) : null);
}

// --- One case.
async function openCase(id) {
  app.dataset.view = "case";
  delete app.dataset.loaded;
  let rec;
  try {
    rec = await getJSON(`/api/v1/cases/${id}`);
  } catch (err) {
    return show(app, backLink(), h("p", { class: "msg error", role: "alert" }, offline(err) ? t("work.offline") : t(errorKey(err))));
  }
  const status = h("p", { id: "case-status", role: "status", class: "status" });
  const panel = h("section", { id: "confirm", class: "confirm", hidden: true });
  const mapEl = h("div", { id: "case-map", class: "case-map", role: "region", "aria-label": t("work.case.map") });
  show(app,
    backLink(),
    h("article", { id: "case", class: "case-view", dataset: { id: rec.id, state: rec.state, version: rec.version } },
      h("h2", {}, categoryName(rec)),
      h("p", { class: "meta" }, h("span", { class: "state", id: "case-state" }, t("case.state." + rec.state)), " ",
        h("span", { class: "left" + (rec.overdue ? " overdue" : ""), id: "case-left" }, timeLeft(rec))),
      h("p", { class: "addr" }, rec.address || t("work.noAddress"), " ", h("span", { class: "dist" }, distanceText(rec))),
      h("p", { class: "desc" }, rec.description),
      rec.phones?.length ? h("p", { class: "phones" }, t("work.case.phones"), " ", rec.phones.map((p) => h("a", { href: "tel:" + p }, p, " "))) : null,
      mapEl,
      rec.photos.length ? h("ul", { class: "photos", id: "case-photos" }, rec.photos.map((p) => h("li", {}, h("img", { src: `/api/v1/cases/photos/${p}`, alt: t("work.case.photo"), loading: "lazy" })))) : null,
      h("h3", {}, t("work.case.actions")),
      rec.actions?.length
        ? h("div", { class: "actions", id: "case-actions" }, rec.actions.map((a) => h("button", { type: "button", dataset: { action: a.action },
          onclick: () => confirmAction(rec, a, panel, status) }, t("case.action." + a.action))))
        : h("p", { class: "hint", id: "case-noactions" }, t("work.case.noActions")),
      panel, status,
      h("h3", {}, t("work.case.timeline")),
      h("ol", { class: "timeline", id: "case-timeline" }, (rec.events || []).map((e) => h("li", {},
        h("time", { datetime: e.at }, new Date(e.at).toLocaleString(lang(), { timeZone: "Asia/Shanghai", dateStyle: "short", timeStyle: "short" })), " ",
        h("strong", {}, t("case.action." + e.action)), e.actor_name ? " · " + e.actor_name : "",
        e.reason || e.note || e.public_note ? h("span", { class: "note" }, e.reason || e.public_note || e.note) : null)))));
  // Drafts of actions the case no longer offers are dropped: done meanwhile,
  // here (a queued one whose first try did arrive, its answer lost) or by
  // someone else. A draft of an action left half done: open it again.
  for (const name of draftNames(actionDraftKey(rec, ""))) {
    if (!rec.actions?.some((a) => actionDraftKey(rec, a.action) === name)) clearDraft(name);
  }
  const pending = rec.actions?.find((a) => loadDraft(actionDraftKey(rec, a.action)));
  if (pending) confirmAction(rec, pending, panel, status);
  Promise.all([import("./lib/map.js"), import("maplibre-gl")]).then(async ([lib, { Marker }]) => {
    const map = await lib.createMap(mapEl, { tiles: true, center: [rec.lon, rec.lat], zoom: 16 });
    new Marker({ color: rec.overdue ? "#c8102e" : "#1f5fa8" }).setLngLat(map.toDisplay({ type: "Point", coordinates: [rec.lon, rec.lat] }).coordinates).addTo(map);
    mapEl.dataset.ready = "true";
  });
}

const backLink = () => h("p", { class: "back" }, h("a", { href: "#", id: "work-back" }, "← ", t("work.back")));
const actionDraftKey = (rec, action) => `work.${rec.id}.${action}`;

/**
 * confirmAction opens the panel for action a on rec: what will happen, the
 * inputs the server says it needs (reason, due, photos) and a note, kept as a
 * draft until sent.
 */
function confirmAction(rec, a, panel, status) {
  const key = actionDraftKey(rec, a.action);
  const draft = loadDraft(key) || {};
  const needs = new Set(a.needs);
  const reason = needs.has("reason") ? h("textarea", { id: "act-reason", rows: 3, maxlength: 2000, required: true }) : null;
  const due = needs.has("due") ? h("input", { id: "act-due", type: "datetime-local", required: true }) : null;
  const photo = needs.has("photo") || a.action === "handle" || a.action === "complete_stage"
    ? h("input", { id: "act-photo", type: "file", accept: "image/*", capture: "environment", multiple: true }) : null;
  const note = h("textarea", { id: "act-note", rows: 2, maxlength: 2000 });
  if (reason) reason.value = draft.reason || "";
  if (due) due.value = draft.due || "";
  note.value = draft.note || "";
  let idem = draft.idem || ""; // this action's Idempotency-Key, the same for each retry
  let queued = !!draft.queued; // failed offline: to be sent by itself
  // The photos chosen, resized (the blobs that are sent), kept beside the
  // draft; a draft's photos come back only all together.
  let photos = [];
  const dropped = h("p", { class: "hint", id: "act-photos-dropped", hidden: true });
  let photosReady = !draft.photos ? Promise.resolve() : loadPhotos(key).then((kept) => {
    if (kept.length === draft.photos) photos = kept;
    dropped.hidden = false;
    dropped.textContent = photos.length ? t("work.draft.photosKept", { n: photos.length }) : t("work.draft.noPhotos");
  });
  const keep = () => saveDraft(key, { reason: reason?.value, due: due?.value, note: note.value, photos: photos.length, idem, queued });
  photo?.addEventListener("change", () => {
    const files = [...photo.files];
    photosReady = (async () => {
      const { resizePhoto } = await import("./report.js");
      photos = await Promise.all(files.map(async (f) => (await resizePhoto(f)).blob));
      dropped.hidden = true;
      if (await savePhotos(key, photos)) body.dataset.kept = photos.length; // stored with the draft
      keep();
    })().catch(() => { status.textContent = t("report.photos.failed"); });
  });
  const go = h("button", { type: "button", id: "act-confirm" }, t("work.confirm.go", { action: t("case.action." + a.action) }));
  const body = h("div", { class: "confirm-body" },
    h("h4", {}, t("case.action." + a.action)),
    h("p", { id: "act-what" }, t("work.confirm." + a.action)),
    reason ? h("label", { for: "act-reason" }, t("work.input.reason")) : null, reason,
    due ? h("label", { for: "act-due" }, t("work.input.due")) : null, due,
    photo ? h("label", { for: "act-photo" }, t(needs.has("photo") ? "work.input.photo" : "work.input.photoOptional")) : null, photo,
    h("label", { for: "act-note" }, t(a.action === "handle" ? "work.input.publicNote" : "work.input.note")), note,
    dropped,
    h("p", { class: "row" }, go, h("button", { type: "button", class: "secondary", id: "act-cancel", onclick: () => {
      dropSend(key);
      clearDraft(key);
      panel.hidden = true;
    } }, t("report.cancel"))));
  show(panel, body);
  panel.hidden = false;
  panel.dataset.action = a.action;
  body.addEventListener("input", keep);
  body.addEventListener("change", keep);
  panel.scrollIntoView({ block: "nearest" });
  // send sends the action; auto: by itself, the connection being back.
  const send = async (auto) => {
    dropSend(key);
    if (!panel.isConnected) return; // the worker went elsewhere: the draft waits for the case to be opened again
    if (reason && !reason.value.trim()) return (status.textContent = t("work.need.reason"));
    if (due && !due.value) return (status.textContent = t("work.need.due"));
    await photosReady;
    if (!panel.isConnected) return;
    if (needs.has("photo") && !photos.length) return (status.textContent = t("work.need.photo"));
    idem ||= newRequestKey();
    keep();
    go.disabled = true;
    status.textContent = t(auto ? "work.resending" : "work.sending");
    try {
      const req = { action: a.action, version: rec.version, photos: await uploadCasePhotos(rec.id, photos) };
      if (reason) req.reason = reason.value.trim();
      // The deadline asked for, as a wall-clock time in China (UTC+8).
      if (due) req.deadline = due.value + ":00+08:00";
      if (note.value.trim()) req[a.action === "handle" ? "public_note" : "note"] = note.value.trim();
      await postJSON(`/api/v1/cases/${rec.id}/actions`, req, { "Idempotency-Key": idem });
      clearDraft(key);
      await openCase(rec.id);
      $("#case-status").textContent = t(auto ? "work.resent" : "work.done", { action: t("case.action." + a.action) });
      $("#case-status").dataset.resent = auto ? "true" : "false";
    } catch (err) {
      go.disabled = false;
      queued = offline(err);
      keep();
      if (queued) queueSend(key, () => send(true));
      status.textContent = offline(err) ? t("work.offline.draft") : t("report.error", { message: t(errorKey(err)) });
    }
  };
  go.addEventListener("click", () => send(false));
  // Queued before a reload: sent now (or once the connection is back),
  // unless its photos could not be kept with it.
  photosReady.then(() => {
    if (!queued || photos.length !== (draft.photos || 0)) return;
    if (navigator.onLine) send(true);
    else queueSend(key, () => send(true));
  });
}

// --- 上报事件: the report form at the phone's position (or a tap on its map).
async function openPatrolReport() {
  app.dataset.view = "report";
  delete app.dataset.loaded;
  const box = h("section", { id: "report", class: "report" });
  const note = h("p", { class: "hint", id: "report-where-from" });
  show(app, backLink(), note, box);
  const here = state.here || (await locate());
  const fallback = state.list[0] ? [state.list[0].lon, state.list[0].lat] : [120.12, 30.29];
  note.textContent = t(here ? "work.report.atGPS" : "work.report.tap");
  const [lon, lat] = here || fallback;
  const { openReport } = await import("./report.js");
  await openReport(box, { lon, lat, address: "" }, {
    source: "grid_worker", draftKey: "work.report", title: "work.report.title",
    onClose: () => (location.hash = ""),
    onSent: () => { state.list = []; },
  });
}

start();
