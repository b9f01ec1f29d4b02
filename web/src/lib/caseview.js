// Pieces of a case that the staff pages (/work, /admin/cases) show and do
// alike: the working time left as words, and uploading action photos.
import { ApiError, csrfHeaders } from "./api.js";
import { t } from "./i18n.js";

/** timeLeft words the server's working minutes left: "剩 3 工作小时", "超时 20 工作分钟"; "" without a deadline. */
export function timeLeft(c) {
  const m = c.working_minutes_left;
  if (m === undefined || m === null) return "";
  const over = m < 0;
  const a = Math.abs(m);
  const key = `work.${over ? "over" : "left"}.${a >= 60 ? "hours" : "minutes"}`;
  return t(key, { n: a >= 60 ? Math.floor(a / 60) : a });
}

/**
 * uploadCasePhotos resizes each of files in the browser (report.js's
 * resizePhoto: no EXIF, no larger than the form sends) and posts it to case
 * id; it returns the photos' ids for the action's photos.
 */
export async function uploadCasePhotos(id, files) {
  const ids = [];
  if (!files?.length) return ids;
  const { resizePhoto } = await import("../report.js");
  for (const f of files) {
    const { blob } = await resizePhoto(f);
    const res = await fetch(`/api/v1/cases/${id}/photos`, { method: "POST", body: blob, credentials: "same-origin",
      headers: { "Content-Type": "image/jpeg", Accept: "application/json", ...csrfHeaders() } });
    const out = await res.json().catch(() => null);
    if (!res.ok) throw new ApiError(res.status, out);
    ids.push(out.id);
  }
  return ids;
}
