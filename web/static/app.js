// Resident lookup: search an address or a location, show the grid and its people.
const $ = (id) => document.getElementById(id);
const esc = (s) => String(s ?? "").replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);

async function lookup(params) {
  const res = await fetch("/api/v1/lookup?" + new URLSearchParams(params));
  const body = await res.json();
  if (!res.ok) throw new Error(body.error ? body.error.message : res.statusText);
  return body;
}

function show(r, params) {
  const out = $("result");
  history.replaceState(null, "", "?" + new URLSearchParams(params));
  if (r.candidates && r.candidates.length === 0) {
    out.innerHTML = `<p class="msg">未找到该地址。请检查门牌号，或使用定位。<br>Address not found.</p>`;
    return;
  }
  if (!r.grid) {
    out.innerHTML = `<p class="msg">该位置不在服务范围内。<br>This location is outside the covered area.</p>`;
    return;
  }
  let html = "";
  if (r.candidates) html += `<p>地址：${esc(r.candidates[0].building.address)}</p>`;
  html += `<p class="chain">${r.areas.map((a) => esc(a.name)).join(" › ")}</p>`;
  html += `<h2>${esc(r.grid.name)} <small>${esc(r.grid.code)}</small></h2>`;
  if (r.ambiguous) html += `<p class="msg">该位置在网格边界上，也可能属于：${r.alternatives.map((a) => esc(a.name)).join("、")}</p>`;
  for (const p of r.responsible) {
    html += `<div class="card">${p.photo ? `<img src="${esc(p.photo)}" alt="">` : ""}<div><strong>${esc(p.role_zh)}</strong> ${esc(p.name)}` +
      (p.phone ? `<br><a href="tel:${esc(p.phone)}">${esc(p.phone)}</a>` : "") + `</div></div>`;
  }
  out.innerHTML = html;
}

async function run(params) {
  try { show(await lookup(params), params); }
  catch (e) { $("result").innerHTML = `<p class="msg">${esc(e.message)}</p>`; }
}

$("search").addEventListener("submit", (e) => { e.preventDefault(); run({ address: $("address").value }); });
$("point").addEventListener("submit", (e) => { e.preventDefault(); run({ lon: $("lon").value, lat: $("lat").value }); });
$("locate").addEventListener("click", () => navigator.geolocation.getCurrentPosition(
  (p) => run({ lon: p.coords.longitude.toFixed(6), lat: p.coords.latitude.toFixed(6) }),
  () => { $("result").innerHTML = `<p class="msg">无法获取位置 Location unavailable.</p>`; }));

let timer;
$("address").addEventListener("input", () => {
  clearTimeout(timer);
  const q = $("address").value.trim();
  if (q.length < 2) return;
  timer = setTimeout(async () => {
    const res = await fetch("/api/v1/buildings?" + new URLSearchParams({ q, limit: 8 }));
    if (!res.ok) return;
    const { buildings } = await res.json();
    $("suggestions").innerHTML = buildings.map((b) => `<option value="${esc(b.address)}">`).join("");
  }, 200);
});

const start = Object.fromEntries(new URLSearchParams(location.search));
if (start.address) { $("address").value = start.address; run({ address: start.address }); }
else if (start.lon && start.lat) { $("lon").value = start.lon; $("lat").value = start.lat; run({ lon: start.lon, lat: start.lat }); }
