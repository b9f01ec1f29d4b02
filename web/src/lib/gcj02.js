// GCJ-02 ("Mars" offset used by AMap and Tencent basemaps), the same formulas
// as geo/coord.go. gridmap stores WGS84; on a GCJ-02 basemap its geometry is
// shifted for display and clicks are shifted back. Every vertex goes through
// the same function, so shared borders stay shared on screen.
const A = 6378245.0;
const EE = 0.00669342162296594323;

function outOfChina([lon, lat]) {
  return !(lon >= 72.004 && lon <= 137.8347 && lat >= 0.8293 && lat <= 55.8271);
}

function delta([lon, lat]) {
  const x = lon - 105.0, y = lat - 35.0;
  let dlat = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * Math.sqrt(Math.abs(x));
  dlat += ((20.0 * Math.sin(6.0 * x * Math.PI) + 20.0 * Math.sin(2.0 * x * Math.PI)) * 2.0) / 3.0;
  dlat += ((20.0 * Math.sin(y * Math.PI) + 40.0 * Math.sin((y / 3.0) * Math.PI)) * 2.0) / 3.0;
  dlat += ((160.0 * Math.sin((y / 12.0) * Math.PI) + 320.0 * Math.sin((y * Math.PI) / 30.0)) * 2.0) / 3.0;
  let dlon = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * Math.sqrt(Math.abs(x));
  dlon += ((20.0 * Math.sin(6.0 * x * Math.PI) + 20.0 * Math.sin(2.0 * x * Math.PI)) * 2.0) / 3.0;
  dlon += ((20.0 * Math.sin(x * Math.PI) + 40.0 * Math.sin((x / 3.0) * Math.PI)) * 2.0) / 3.0;
  dlon += ((150.0 * Math.sin((x / 12.0) * Math.PI) + 300.0 * Math.sin((x / 30.0) * Math.PI)) * 2.0) / 3.0;
  const radLat = (lat / 180.0) * Math.PI;
  const magic = 1 - EE * Math.sin(radLat) ** 2;
  const sqrtMagic = Math.sqrt(magic);
  dlat = (dlat * 180.0) / (((A * (1 - EE)) / (magic * sqrtMagic)) * Math.PI);
  dlon = (dlon * 180.0) / ((A / sqrtMagic) * Math.cos(radLat) * Math.PI);
  return [dlon, dlat];
}

/** wgs84ToGcj02 maps a WGS84 [lon, lat] to GCJ-02 (unchanged outside China). */
export function wgs84ToGcj02(p) {
  if (outOfChina(p)) return [p[0], p[1]];
  const [dlon, dlat] = delta(p);
  return [p[0] + dlon, p[1] + dlat];
}

/** gcj02ToWgs84 inverts wgs84ToGcj02 by iteration to better than 1e-9°. */
export function gcj02ToWgs84(p) {
  if (outOfChina(p)) return [p[0], p[1]];
  const [dlon, dlat] = delta(p);
  let q = [p[0] - dlon, p[1] - dlat];
  for (let i = 0; i < 30; i++) {
    const f = wgs84ToGcj02(q);
    const dx = f[0] - p[0], dy = f[1] - p[1];
    if (Math.abs(dx) < 1e-9 && Math.abs(dy) < 1e-9) break;
    q = [q[0] - dx, q[1] - dy];
  }
  return q;
}

/** mapCoords returns a copy of a GeoJSON object with fn applied to every position. */
export function mapCoords(obj, fn) {
  if (obj == null) return obj;
  if (Array.isArray(obj)) {
    return typeof obj[0] === "number" ? fn(obj) : obj.map((c) => mapCoords(c, fn));
  }
  switch (obj.type) {
    case "FeatureCollection":
      return { ...obj, features: obj.features.map((f) => mapCoords(f, fn)) };
    case "Feature":
      return { ...obj, geometry: mapCoords(obj.geometry, fn) };
    case "GeometryCollection":
      return { ...obj, geometries: obj.geometries.map((g) => mapCoords(g, fn)) };
    default:
      return { ...obj, coordinates: mapCoords(obj.coordinates, fn) };
  }
}
