// 我的反映: the tracking codes this browser reported (and the follow keys of
// cases it follows), kept in localStorage, newest first. No account: the
// code is the resident's key; clearing the browser's data forgets them.
const key = "gridmap.cases";
const max = 30;

/** myCases lists [{code} | {follow}, at] entries, newest first. */
export function myCases() {
  try {
    const v = JSON.parse(localStorage.getItem(key) || "[]");
    return Array.isArray(v) ? v.filter((e) => e && (e.code || e.follow)) : [];
  } catch {
    return [];
  }
}

/** remember adds {code} or {follow} (once) at the top of the list. */
export function remember(entry) {
  const same = (e) => (entry.code ? e.code === entry.code : e.follow === entry.follow);
  const list = [{ ...entry, at: new Date().toISOString() }, ...myCases().filter((e) => !same(e))].slice(0, max);
  try {
    localStorage.setItem(key, JSON.stringify(list));
  } catch {
    /* storage disabled: the code is still on the screen */
  }
}

/** caseURL is the tracking page of an entry. */
export const caseURL = (e) => "/c/" + encodeURIComponent(e.code || e.follow);

/** caseAPI is the public status of an entry. */
export const caseAPI = (e) => (e.code ? "/api/v1/cases/track/" : "/api/v1/cases/follow/") + encodeURIComponent(e.code || e.follow);

/** forget removes an entry ({code} or {follow}) from the list; the case itself is untouched. */
export function forget(entry) {
  const list = myCases().filter((e) => !(entry.code ? e.code === entry.code : e.follow === entry.follow));
  try {
    localStorage.setItem(key, JSON.stringify(list));
  } catch {
    /* storage disabled: nothing was kept */
  }
}
