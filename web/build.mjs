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
//
// Entry points are the pages; MapLibre and terra-draw come from node_modules,
// pinned by package-lock.json. The pages import MapLibre lazily (import()),
// so it is a chunk of its own that the page text never waits for.
// Every asset's name carries its content hash ([name]-[hash]); the server
// gives those names a year of immutable caching and finds them through
// dist/manifest.json ({"files": {"resident.js": "assets/resident-HASH.js", …},
// "preload": {"resident.js": [the chunks it imports], …}}), made from
// esbuild's metafile. MapLibre's worker is a separate module that it
// loads by URL: copied next to the bundle under a hashed name that the code
// gets as the __WORKER_URL__ constant. Every text asset also gets .gz and .br
// siblings (Node's zlib, maximum levels), which the server sends to clients
// that accept them.
import { build } from "esbuild";
import { createHash } from "node:crypto";
import { mkdir, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { promisify } from "node:util";
import { brotliCompress, gzip as gzipCb, constants as z } from "node:zlib";

const brotli = promisify(brotliCompress);
const gzip = promisify(gzipCb);

const dev = process.argv.includes("--dev");

const hashOf = (buf) => createHash("sha256").update(buf).digest("base64url").slice(0, 10).toUpperCase().replace(/[-_]/g, "X");

// Files copied under a hashed name: manifest key → source.
const copied = {
  "maplibre-gl-worker.mjs": "node_modules/maplibre-gl/dist/maplibre-gl-worker.mjs",
  "favicon.svg": "src/favicon.svg",
};

// The messages only the case pages and the report form use (their own
// chunks) are kept out of the catalogue every page loads first: lib/i18n.js
// imports src/i18n/*.json without them, lib/messages-lazy.js imports them
// (NAME.json?lazy) and adds them when a lazy chunk loads. The files stay
// whole (the server and the catalogue tests read them).
// The grid worker's messages (work.*) likewise, in a group of their own
// (NAME.json?work, imported by lib/messages-work.js): neither the resident's
// first load nor the report form carries them.
const messageGroup = (k) => (/^work\./.test(k) ? "work" : /^(report|case|mine)\./.test(k) && k !== "report.open" ? "lazy" : "main");
const splitMessages = {
  name: "split-messages",
  setup(b) {
    b.onResolve({ filter: /\/i18n\/[\w-]+\.json\?(lazy|work)$/ }, (a) => {
      const [file, group] = a.path.split("?");
      return { path: new URL(file, "file://" + a.resolveDir + "/").pathname, namespace: "messages-" + group };
    });
    const pick = async (path, want) => {
      const all = JSON.parse(await readFile(path, "utf8"));
      return { contents: JSON.stringify(Object.fromEntries(Object.entries(all).filter(([k]) => messageGroup(k) === want))), loader: "json" };
    };
    for (const group of ["lazy", "work"]) {
      b.onLoad({ filter: /\/i18n\/[\w-]+\.json$/, namespace: "messages-" + group }, (a) => pick(a.path, group));
    }
    b.onLoad({ filter: /\/src\/i18n\/[\w-]+\.json$/ }, (a) => pick(a.path, "main"));
  },
};

async function bundle(out, testHooks) {
  // Remove the previous build but keep the committed placeholder.
  await mkdir(`${out}/assets`, { recursive: true });
  for (const f of await readdir(out)) {
    if (f !== ".gitkeep") await rm(`${out}/${f}`, { recursive: true, force: true });
  }
  await mkdir(`${out}/assets`, { recursive: true });
  const manifest = {}; // entry name → file
  const preload = {}; // entry name → the chunks it imports statically, for <link rel="modulepreload">
  const lazy = {}; // a lazily imported module → its chunk and the chunks that imports statically (for measuring)
  for (const [key, src] of Object.entries(copied)) {
    const body = await readFile(src);
    const dot = key.indexOf(".");
    const name = `assets/${key.slice(0, dot)}-${hashOf(body)}${key.slice(dot)}`;
    await writeFile(`${out}/${name}`, body);
    manifest[key] = name;
  }
  // MapLibre's stylesheet is needed only with the map: lib/map.js links it
  // (as __MAP_CSS_URL__) when it makes one, so it is not in the pages' CSS.
  // The report form's likewise (report.js links __REPORT_CSS_URL__): CSS a
  // lazy chunk imports would otherwise land in its entry's first-load CSS.
  const css = await build({
    entryPoints: { "maplibre-gl": "node_modules/maplibre-gl/dist/maplibre-gl.css", report: "src/css/report.css" },
    outdir: `${out}/assets`,
    bundle: true,
    minify: !dev,
    entryNames: "[name]-[hash]",
    assetNames: "[name]-[hash]",
    loader: { ".svg": "dataurl", ".png": "dataurl" },
    metafile: true,
    logLevel: "warning",
  });
  for (const [file, o] of Object.entries(css.metafile.outputs)) {
    if (file.endsWith(".css")) manifest[o.entryPoint.startsWith("src/") ? "report.css" : "maplibre-gl.css"] = file.slice(out.length + 1);
  }
  // One esbuild run per group of pages: the resident's and the building
  // pages' share their MapLibre chunk (a resident who scans a poster and then
  // searches downloads it once); the editor (with terra-draw) and the poster
  // are built alone, so no page waits for a chunk another page made.
  const groups = [
    { resident: "src/resident.js", page: "src/page.js", case: "src/case.js" },
    { admin: "src/admin.js" },
    { stats: "src/stats.js" }, // uPlot: only the statistics page loads it
    { poster: "src/poster.js" },
    { work: "src/work.js" }, // the grid worker's phone page: its own chunks, the report form lazily
    { desk: "src/desk.js" }, // the dispatch desk (/admin/cases): MapLibre lazily, the case and work messages as /work has them
  ];
  for (const entries of groups) {
    const result = await build({
      entryPoints: entries,
      outdir: `${out}/assets`,
      bundle: true,
      splitting: true,
      format: "esm",
      target: ["es2022"],
      minify: !dev,
      minifySyntax: true, // drops the `if (false)` of the test hooks in --dev too
      sourcemap: dev,
      entryNames: "[name]-[hash]",
      chunkNames: "chunk-[hash]",
      assetNames: "[name]-[hash]",
      loader: { ".svg": "dataurl", ".png": "dataurl" },
      define: {
        __TEST_HOOKS__: testHooks ? "true" : "false",
        __WORKER_URL__: JSON.stringify("/" + manifest["maplibre-gl-worker.mjs"]),
        __MAP_CSS_URL__: JSON.stringify("/" + manifest["maplibre-gl.css"]),
        __REPORT_CSS_URL__: JSON.stringify("/" + manifest["report.css"]),
      },
      legalComments: "linked",
      metafile: true,
      logLevel: "warning",
      // The resident's group, the poster, /work and the desk: the editor and the statistics keep the whole catalogue.
      plugins: entries.resident || entries.poster || entries.work || entries.desk ? [splitMessages] : [],
    });
    // The page's entry and CSS, by the names the HTML asks for.
    for (const [file, o] of Object.entries(result.metafile.outputs)) {
      if (o.entryPoint === "src/report.js" && file.endsWith(".js") && entries.resident) { // the resident page's form (work and the desk have their own copies)
        lazy["report.js"] = [file, ...o.imports.filter((i) => i.kind === "import-statement").map((i) => i.path)].map((f) => f.slice(out.length + 1));
        lazy["report.js"].push(manifest["report.css"]);
      }
      const entry = Object.keys(entries).find((e) => entries[e] === o.entryPoint);
      if (!entry || !file.endsWith(".js")) continue;
      manifest[`${entry}.js`] = file.slice(out.length + 1);
      preload[`${entry}.js`] = o.imports.filter((i) => i.kind === "import-statement").map((i) => i.path.slice(out.length + 1));
      if (o.cssBundle) manifest[`${entry}.css`] = o.cssBundle.slice(out.length + 1);
    }
  }
  // admin.html, work.html, stats.html and desk.html stay static pages: their asset names are filled in here.
  for (const page of ["admin.html", "work.html", "stats.html", "desk.html"]) {
    let html = await readFile(`src/${page}`, "utf8");
    html = html.replace(/\/assets\/([\w.-]+\.(?:js|css|svg))/g, (m, key) => {
      if (!manifest[key]) throw new Error(`src/${page}: no asset ${key}`);
      return "/" + manifest[key];
    });
    await writeFile(`${out}/${page}`, html);
  }
  await writeFile(`${out}/manifest.json`, JSON.stringify({ files: manifest, preload, lazy }, null, 1) + "\n");
  await precompress(out);
  const kind = [dev && "dev", testHooks && "test hooks"].filter(Boolean).join(", ");
  await writeFile(`${out}/BUILD`, `built ${new Date().toISOString()}${kind ? ` (${kind})` : ""}\n`);
}

// precompress writes NAME.gz and NAME.br beside every text file under out/
// worth compressing (at least 512 bytes, and the compressed file smaller).
// zlib's async calls run on libuv's thread pool, so the files compress in
// parallel (brotli at quality 11 is most of the build's time).
async function precompress(out) {
  const jobs = [];
  for (const e of await readdir(out, { recursive: true, withFileTypes: true })) {
    if (!e.isFile() || !/\.(js|mjs|css|html|svg|json|txt)$/.test(e.name)) continue;
    const file = `${e.parentPath ?? e.path}/${e.name}`;
    jobs.push((async () => {
      const body = await readFile(file);
      if (body.length < 512) return;
      const [gz, br] = await Promise.all([
        gzip(body, { level: 9 }),
        brotli(body, {
          params: { [z.BROTLI_PARAM_QUALITY]: 11, [z.BROTLI_PARAM_SIZE_HINT]: body.length, [z.BROTLI_PARAM_MODE]: z.BROTLI_MODE_TEXT },
        }),
      ]);
      if (gz.length < body.length) await writeFile(file + ".gz", gz);
      if (br.length < body.length) await writeFile(file + ".br", br);
    })());
  }
  await Promise.all(jobs);
}

await Promise.all([bundle("dist", false), bundle("dist-test", true)]);
console.log("web: bundled into dist/ (embedded) and dist-test/ (with the browser tests' hooks)");
