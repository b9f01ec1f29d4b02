// node --test: gcj02.js against the reference coordinates geo/coord_test.go
// uses (geo/testdata/gcj02-reference.json), so the browser's shift of the
// geometry on GCJ-02 basemaps and the server's transform agree.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { wgs84ToGcj02, gcj02ToWgs84, mapCoords } from "../src/lib/gcj02.js";

const ref = JSON.parse(readFileSync(new URL("../../geo/testdata/gcj02-reference.json", import.meta.url), "utf8"));

function assertNear(got, want, tol, what) {
  const dx = Math.abs(got[0] - want[0]), dy = Math.abs(got[1] - want[1]);
  assert.ok(dx <= tol && dy <= tol, `${what}: got [${got}], want [${want}] (±${tol}°; off by ${dx}, ${dy})`);
}

test("the reference file has cases", () => {
  assert.ok(ref.wgs84_to_gcj02.length >= 4 && ref.outside_china.length >= 1);
});

for (const c of ref.wgs84_to_gcj02) {
  test(`wgs84ToGcj02 ${c.name}`, () => {
    assertNear(wgs84ToGcj02(c.wgs84), c.gcj02, ref.tolerance_forward_degrees, "forward");
  });
  test(`gcj02ToWgs84 recovers the published input, ${c.name}`, () => {
    assertNear(gcj02ToWgs84(c.gcj02), c.wgs84, ref.tolerance_inverse_degrees, "inverse");
  });
}

for (const c of ref.outside_china) {
  test(`outside China unchanged: ${c.name}`, () => {
    assert.deepEqual(wgs84ToGcj02(c.point), c.point);
    assert.deepEqual(gcj02ToWgs84(c.point), c.point);
  });
}

// The same grid as geo/coord_test.go's chinaGrid: round trips to 1e-7°, offsets in (0, 0.012]°.
function chinaGrid(step) {
  const pts = [];
  for (let lon = 73.5; lon <= 135.0; lon += step) for (let lat = 18.0; lat <= 53.5; lat += step) pts.push([lon, lat]);
  return pts;
}

test("round trip across China to 1e-7°", () => {
  let worst = 0;
  for (const p of chinaGrid(0.37)) {
    const q = wgs84ToGcj02(p);
    assert.notDeepEqual(q, p, `forward([${p}]) left the point unchanged`);
    const back = gcj02ToWgs84(q);
    worst = Math.max(worst, Math.abs(back[0] - p[0]), Math.abs(back[1] - p[1]));
    assertNear(back, p, 1e-7, `round trip of [${p}]`);
  }
  assert.ok(worst < 1e-7);
});

test("offsets are tens to hundreds of metres, never more than 0.012°", () => {
  for (const p of chinaGrid(1.1)) {
    const q = wgs84ToGcj02(p);
    const d = Math.hypot(q[0] - p[0], q[1] - p[1]);
    assert.ok(d > 0 && d <= 0.012, `wgs84ToGcj02([${p}]) moved by ${d}°`);
  }
});

test("mapCoords shifts every position of a FeatureCollection, shared vertices alike", () => {
  const shared = [120.01, 30.01];
  const fc = {
    type: "FeatureCollection",
    features: [
      { type: "Feature", properties: { id: 1 }, geometry: { type: "Polygon", coordinates: [[[120, 30], shared, [120, 30.01], [120, 30]]] } },
      { type: "Feature", properties: { id: 2 }, geometry: { type: "MultiPolygon", coordinates: [[[shared, [120.02, 30], [120.02, 30.02], shared]]] } },
      { type: "Feature", properties: { id: 3 }, geometry: null },
    ],
  };
  const out = mapCoords(fc, wgs84ToGcj02);
  assert.deepEqual(out.features[0].geometry.coordinates[0][1], wgs84ToGcj02(shared));
  assert.deepEqual(out.features[1].geometry.coordinates[0][0][0], out.features[0].geometry.coordinates[0][1]);
  assert.equal(out.features[2].geometry, null);
  assert.deepEqual(out.features[0].properties, { id: 1 });
  assert.deepEqual(fc.features[0].geometry.coordinates[0][1], [120.01, 30.01], "the input is not changed");
});
