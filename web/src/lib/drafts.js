// Drafts of forms kept in localStorage (key "gridmap.draft.<name>"), so that
// what was typed survives a reload or a dropped connection. Only small text
// values: photos are not kept (too large for localStorage's few MB).
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

/** clearDraft removes the draft after a successful send. */
export function clearDraft(name) {
  try {
    localStorage.removeItem(prefix + name);
  } catch {
    /* nothing kept */
  }
}
