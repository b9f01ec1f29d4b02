// node --test: the editor's snapping (snap.js) with a fake map projection.
import { test } from "node:test";
import assert from "node:assert/strict";
import { ringsOf, snapper, sharedBorder } from "../src/lib/snap.js";

// ctx projects lon/lat to pixels at 1000 px per degree (y down), as terra-draw's toCustom context does.
const ctx = {
  project: (lng, lat) => ({ x: lng * 1000, y: -lat * 1000 }),
  unproject: (x, y) => ({ lng: x / 1000, lat: -y / 1000 }),
};
const square = (x, y, s = 0.1) => [[x, y], [x + s, y], [x + s, y + s], [x, y + s], [x, y]];
const fc = {
  type: "FeatureCollection",
  features: [
    { type: "Feature", properties: { id: 1 }, geometry: { type: "Polygon", coordinates: [square(0, 0)] } },
    { type: "Feature", properties: { id: 2 }, geometry: { type: "MultiPolygon", coordinates: [[square(0.1, 0)], [square(1, 1)]] } },
    { type: "Feature", properties: { id: 3 }, geometry: null },
    { type: "Feature", properties: { id: 4 }, geometry: { type: "Point", coordinates: [5, 5] } },
  ],
};

test("ringsOf lists the rings of polygons and multipolygons, skipping one feature", () => {
  assert.equal(ringsOf(fc).length, 3);
  assert.deepEqual(ringsOf(fc, 1), [square(0.1, 0), square(1, 1)]);
  assert.deepEqual(ringsOf(null), []);
});

test("snapper: within 12 px of a vertex lands exactly on it", () => {
  const snap = snapper(() => ringsOf(fc));
  assert.deepEqual(snap({ lng: 0.105, lat: 0.004 }, ctx), [0.1, 0]); // 6.4 px from (0.1, 0)
});

test("snapper: a vertex wins over a nearer edge", () => {
  const snap = snapper(() => ringsOf(fc));
  // 1 px from the edge x = 0.1, 11 px from the vertex (0.1, 0.1).
  assert.deepEqual(snap({ lng: 0.101, lat: 0.089 }, ctx), [0.1, 0.1]);
});

test("snapper: near an edge (within 8 px), far from vertices, lands on the edge", () => {
  const snap = snapper(() => ringsOf(fc));
  const got = snap({ lng: 0.05, lat: 0.003 }, ctx); // 3 px above the edge y = 0
  assert.ok(Math.abs(got[0] - 0.05) < 1e-12 && Math.abs(got[1]) < 1e-12, `got [${got}], want [0.05, 0]`);
});

test("snapper: farther than the tolerances leaves the point alone (undefined)", () => {
  const snap = snapper(() => ringsOf(fc));
  assert.equal(snap({ lng: 0.05, lat: 0.05 }, ctx), undefined);
  const tight = snapper(() => ringsOf(fc), { vertexPx: 2, edgePx: 1 });
  assert.equal(tight({ lng: 0.105, lat: 0.004 }, ctx), undefined);
});

test("snapper reads the rings at each event (they change while editing)", () => {
  let rings = [];
  const snap = snapper(() => rings);
  assert.equal(snap({ lng: 0.001, lat: 0.001 }, ctx), undefined);
  rings = ringsOf(fc);
  assert.deepEqual(snap({ lng: 0.001, lat: 0.001 }, ctx), [0, 0]);
});

test("sharedBorder: the vertices two neighbours have in common, in ring a's order", () => {
  const a = square(0, 0), b = square(0.1, 0);
  assert.deepEqual(sharedBorder(a, b), [[0.1, 0], [0.1, 0.1]]);
});

test("sharedBorder: a chain across the ring's start is not cut in two", () => {
  // a starts in the middle of its border with b: (0, 0.05) … (0, 0) is shared, and so is (0, 0.1).
  const a = [[0, 0.05], [0, 0], [0.1, 0], [0.1, 0.1], [0, 0.1], [0, 0.05]];
  const b = [[0, 0], [0, 0.05], [0, 0.1], [-0.1, 0.1], [-0.1, 0], [0, 0]];
  assert.deepEqual(sharedBorder(a, b), [[0, 0.1], [0, 0.05], [0, 0]]);
});

test("sharedBorder: none, one vertex, or all vertices is no border", () => {
  assert.equal(sharedBorder(square(0, 0), square(5, 5)), null);
  assert.equal(sharedBorder(square(0, 0), square(0.1, 0.1)), null); // a corner only
  assert.equal(sharedBorder(square(0, 0), square(0, 0)), null);
});
