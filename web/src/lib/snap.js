// Snapping for the editor: a pointer within a few pixels of a neighbouring
// grid's vertex lands exactly on it; otherwise, near an edge, on the edge.
// Exact vertices matter: the server keeps shared borders vertex for vertex.

/** ringsOf lists the rings of every Polygon/MultiPolygon in a FeatureCollection. */
export function ringsOf(fc, skipId) {
  const rings = [];
  for (const f of fc?.features || []) {
    if (skipId !== undefined && f.properties?.id === skipId) continue;
    const g = f.geometry;
    if (!g) continue;
    const polys = g.type === "Polygon" ? [g.coordinates] : g.type === "MultiPolygon" ? g.coordinates : [];
    for (const p of polys) for (const r of p) rings.push(r);
  }
  return rings;
}

/**
 * snapper returns a terra-draw toCustom function snapping to the rings that
 * rings() returns (display coordinates): vertices within vertexPx pixels,
 * else edges within edgePx.
 */
export function snapper(rings, { vertexPx = 12, edgePx = 8 } = {}) {
  return (event, ctx) => {
    const p = ctx.project(event.lng, event.lat);
    let best = null;
    let bestD = vertexPx;
    for (const ring of rings()) {
      for (const c of ring) {
        const q = ctx.project(c[0], c[1]);
        const d = Math.hypot(q.x - p.x, q.y - p.y);
        if (d < bestD) [best, bestD] = [[c[0], c[1]], d];
      }
    }
    if (best) return best;
    bestD = edgePx;
    for (const ring of rings()) {
      for (let i = 1; i < ring.length; i++) {
        const a = ctx.project(ring[i - 1][0], ring[i - 1][1]);
        const b = ctx.project(ring[i][0], ring[i][1]);
        const dx = b.x - a.x, dy = b.y - a.y;
        const len2 = dx * dx + dy * dy;
        if (!len2) continue;
        const t = Math.max(0, Math.min(1, ((p.x - a.x) * dx + (p.y - a.y) * dy) / len2));
        const x = a.x + t * dx, y = a.y + t * dy;
        const d = Math.hypot(x - p.x, y - p.y);
        if (d < bestD) {
          const ll = ctx.unproject(x, y);
          [best, bestD] = [[ll.lng, ll.lat], d];
        }
      }
    }
    return best || undefined;
  };
}

const key = (c) => c[0].toFixed(7) + "," + c[1].toFixed(7);

/**
 * sharedBorder returns the longest chain of consecutive vertices of ring a
 * that are also vertices of ring b (a LineString's coordinates), or null.
 */
export function sharedBorder(a, b) {
  const inB = new Set(b.map(key));
  const ring = a.slice(0, -1); // without the closing vertex
  const n = ring.length;
  const shared = ring.map((c) => inB.has(key(c)));
  if (shared.every(Boolean) || !shared.some(Boolean)) return null;
  // Start just after a vertex that is not shared, so no chain wraps around.
  const start = shared.findIndex((s) => !s);
  let best = [];
  let cur = [];
  for (let k = 1; k <= n; k++) {
    const i = (start + k) % n;
    if (shared[i]) cur.push(ring[i]);
    else {
      if (cur.length > best.length) best = cur;
      cur = [];
    }
  }
  if (cur.length > best.length) best = cur;
  return best.length >= 2 ? best : null;
}
