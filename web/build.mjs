// Bundles gridmap's browser code into dist/ (git-ignored, embedded by web.go).
//   node build.mjs            production bundle (minified)
//   node build.mjs --dev      readable bundle with source maps
// Entry points are the pages; MapLibre and terra-draw come from node_modules,
// pinned by package-lock.json. MapLibre's worker is a separate module that it
// loads by URL, so it is copied next to the bundle unchanged.
import { build } from "esbuild";
import { cp, mkdir, readdir, rm, writeFile } from "node:fs/promises";

const dev = process.argv.includes("--dev");
const out = "dist";

// Remove the previous build but keep the committed placeholder.
await mkdir(out, { recursive: true });
for (const f of await readdir(out)) {
  if (f !== ".gitkeep") await rm(`${out}/${f}`, { recursive: true, force: true });
}

await build({
  entryPoints: {
    resident: "src/resident.js",
    page: "src/page.js",
    admin: "src/admin.js",
    poster: "src/poster.js",
  },
  outdir: `${out}/assets`,
  bundle: true,
  splitting: true,
  format: "esm",
  target: ["es2022"],
  minify: !dev,
  sourcemap: dev,
  chunkNames: "chunk-[hash]",
  loader: { ".svg": "dataurl", ".png": "dataurl" },
  legalComments: "linked",
  logLevel: "warning",
});

await cp("node_modules/maplibre-gl/dist/maplibre-gl-worker.mjs", `${out}/assets/maplibre-gl-worker.mjs`);
for (const page of ["index.html", "admin.html"]) await cp(`src/${page}`, `${out}/${page}`);
await writeFile(`${out}/BUILD`, `built ${new Date().toISOString()}${dev ? " (dev)" : ""}\n`);
console.log(`web: bundled into ${out}/`);
