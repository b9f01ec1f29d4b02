// Compressed weight of the resident's pages and the staff statistics page (/admin/stats) from a built bundle (web/dist):
// each page's first load (its entry, its CSS and the chunks it imports
// statically, as the manifest lists them) and what the report form adds
// when opened (its lazy chunk, the chunks that imports which the page has
// not loaded, and its stylesheet). Bytes of the .br and .gz files build.mjs writes.
// "work" is the grid worker's /work (its worklist; the case view's map is a lazy
// chunk, measured in Chromium by TestWorkAcceptHandInWithPhoto).
//   node bench/webweight/sizes.mjs web/dist
import { readFileSync, statSync } from "node:fs";

const dir = process.argv[2] || "web/dist";
const m = JSON.parse(readFileSync(`${dir}/manifest.json`, "utf8"));
const size = (f, ext) => {
  try {
    return statSync(`${dir}/${f}${ext}`).size;
  } catch {
    return statSync(`${dir}/${f}`).size; // too small to be compressed
  }
};
const sum = (files, ext) => files.reduce((n, f) => n + size(f, ext), 0);
for (const page of ["resident", "page", "case", "work", "stats"]) {
  if (!m.files[`${page}.js`]) continue;
  const first = [m.files[`${page}.js`], m.files[`${page}.css`], ...m.preload[`${page}.js`]].filter(Boolean);
  console.log(`${page} first load: ${sum(first, ".br")} B brotli, ${sum(first, ".gz")} B gzip (${first.length} files)`);
}
if (m.lazy?.["report.js"]) {
  const loaded = new Set([m.files["resident.js"], ...m.preload["resident.js"]]);
  const added = m.lazy["report.js"].filter((f) => !loaded.has(f));
  console.log(`report form adds: ${sum(added, ".br")} B brotli, ${sum(added, ".gz")} B gzip (${added.length} files)`);
}
