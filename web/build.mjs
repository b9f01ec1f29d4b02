// Bundles gridmap's browser code (git-ignored, embedded by web.go).
//   node build.mjs            production bundle (minified) into dist/, which the binary embeds,
//                             and the test bundle into dist-test/
//   node build.mjs --dev      readable bundles with source maps
// The test bundle is the same code with __TEST_HOOKS__ true: the hooks the
// browser tests read (window.__gridmap, window.__editor, window.__editorRequest,
// window.__borderHandle). The production bundle has __TEST_HOOKS__ false, so
// esbuild drops them; web/bundle_test.go checks that none is left in dist/.
// The browser tests serve dist-test/ from disk (web.Config.Bundle); nothing
// embeds it.
// Entry points are the pages; MapLibre and terra-draw come from node_modules,
// pinned by package-lock.json. MapLibre's worker is a separate module that it
// loads by URL, so it is copied next to the bundle unchanged.
import { build } from "esbuild";
import { cp, mkdir, readdir, rm, writeFile } from "node:fs/promises";

const dev = process.argv.includes("--dev");

async function bundle(out, testHooks) {
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
    minifySyntax: true, // drops the `if (false)` of the test hooks in --dev too
    sourcemap: dev,
    chunkNames: "chunk-[hash]",
    loader: { ".svg": "dataurl", ".png": "dataurl" },
    define: { __TEST_HOOKS__: testHooks ? "true" : "false" },
    legalComments: "linked",
    logLevel: "warning",
  });
  await cp("node_modules/maplibre-gl/dist/maplibre-gl-worker.mjs", `${out}/assets/maplibre-gl-worker.mjs`);
  for (const page of ["index.html", "admin.html"]) await cp(`src/${page}`, `${out}/${page}`);
  const kind = [dev && "dev", testHooks && "test hooks"].filter(Boolean).join(", ");
  await writeFile(`${out}/BUILD`, `built ${new Date().toISOString()}${kind ? ` (${kind})` : ""}\n`);
}

await bundle("dist", false);
await bundle("dist-test", true);
console.log("web: bundled into dist/ (embedded) and dist-test/ (with the browser tests' hooks)");
