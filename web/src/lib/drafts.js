// Drafts of forms kept in localStorage (key "gridmap.draft.<name>"), so that
// what was typed survives a reload or a dropped connection; their photos
// (too large for localStorage's few MB) in IndexedDB under the same key,
// as the resized JPEGs the form sends (no EXIF), on this device only.
// idb-keyval is imported when photos are at stake, not with the page.
const idb = () => import("idb-keyval");

const prefix = "gridmap.draft.";

/** loadDraft returns the draft saved under name, or null. */
export function loadDraft(name) {
  try {
    const raw = localStorage.getItem(prefix + name);
    return raw ? JSON.parse(raw) : null;
  } catch {
    return null; // storage disabled or a damaged draft: start empty
  }
}

/** saveDraft keeps value (JSON) under name; a full or disabled storage keeps nothing. */
export function saveDraft(name, value) {
  try {
    localStorage.setItem(prefix + name, JSON.stringify({ ...value, saved: Date.now() }));
  } catch {
    /* the form still works, without a draft */
  }
}

/** clearDraft removes the draft and its photos after a successful send. */
export function clearDraft(name) {
  try {
    localStorage.removeItem(prefix + name);
  } catch {
    /* nothing kept */
  }
  idb().then(({ del }) => del(prefix + name)).catch(() => {});
}

/** draftNames are the names of the drafts kept that start with start. */
export function draftNames(start) {
  try {
    return Object.keys(localStorage).filter((k) => k.startsWith(prefix + start)).map((k) => k.slice(prefix.length));
  } catch {
    return [];
  }
}

/**
 * savePhotos keeps a draft's photos (blobs) with it; it resolves to false when
 * the browser keeps none (private mode, no IndexedDB, full): the draft then
 * says how many were lost.
 */
export async function savePhotos(name, blobs) {
  try {
    const { set, del } = await idb();
    if (blobs.length) await set(prefix + name, blobs);
    else await del(prefix + name);
    return true;
  } catch {
    return false;
  }
}

/** loadPhotos returns the photos kept with a draft (blobs), or none. */
export async function loadPhotos(name) {
  try {
    const { get } = await idb();
    const blobs = await get(prefix + name);
    return Array.isArray(blobs) ? blobs.filter((b) => b instanceof Blob) : [];
  } catch {
    return [];
  }
}

/**
 * residentDraftKey is the draft of a resident's report at a building (its
 * code), the same from the lookup and from the building page; a place
 * without a building keeps no draft.
 */
export const residentDraftKey = (building) => (building ? "resident.b." + building : undefined);

/** queuedDraft says whether the draft under name waits to be sent by itself. */
export const queuedDraft = (name) => !!(name && loadDraft(name)?.queued);
