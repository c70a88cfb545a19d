// mcp-router dashboard: reads /api/ and draws the charts and tables as inline SVG and DOM.
// No framework, no build step, nothing fetched from elsewhere (README "Dashboard").
"use strict";

const SVG = "http://www.w3.org/2000/svg";
const PALETTE = ["#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2",
  "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac"];
const W = 720, H = 170, PAD = { left: 76, right: 8, top: 8, bottom: 24 };
const REFRESH_MS = 10000;

function el(tag, attrs = {}, text) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  if (text !== undefined) node.textContent = text;
  return node;
}

function svgEl(tag, attrs = {}, title) {
  const node = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, String(v));
  if (title) node.appendChild(svgEl("title")).textContent = title;
  return node;
}

async function getJSON(path) {
  const response = await fetch(path, { credentials: "same-origin" });
  if (response.status === 401) { window.location.assign("/login"); throw new Error("signed out"); }
  const body = await response.json();
  if (!response.ok) throw new Error(body.error || response.statusText);
  return body;
}

const usd = (v) => v == null ? "–" : "$" + (v >= 1 ? v.toFixed(2) : v.toPrecision(3));
const ms = (v) => v == null ? "–" : Math.round(v) + " ms";
const pct = (v) => v == null ? "–" : (100 * v).toFixed(1) + " %";
const label = (iso, bucket) => bucket === "hour" ? iso.slice(5, 16).replace("T", " ") : iso.slice(0, 10);

// -- charts ---------------------------------------------------------------------------------

function frame(box, max, format) {
  box.replaceChildren();
  const svg = svgEl("svg", { viewBox: `0 0 ${W} ${H}`, role: "img" });
  const y0 = H - PAD.bottom;
  svg.appendChild(svgEl("line", { x1: PAD.left, x2: W - PAD.right, y1: y0, y2: y0, class: "axis" }));
  svg.appendChild(svgEl("text", { x: PAD.left - 4, y: PAD.top + 10, class: "tick end" })).textContent = format(max);
  svg.appendChild(svgEl("text", { x: PAD.left - 4, y: y0, class: "tick end" })).textContent = format(0);
  box.appendChild(svg);
  return svg;
}

function xLabels(svg, points, bucket) {
  if (!points.length) return;
  const y = H - 6;
  svg.appendChild(svgEl("text", { x: PAD.left, y, class: "tick" })).textContent = label(points[0].start, bucket);
  svg.appendChild(svgEl("text", { x: W - PAD.right, y, class: "tick end" }))
    .textContent = label(points[points.length - 1].start, bucket);
}

function scale(points, max) {
  const step = (W - PAD.left - PAD.right) / Math.max(points.length, 1);
  const h = H - PAD.top - PAD.bottom;
  return { step, x: (i) => PAD.left + i * step, y: (v) => PAD.top + h - (max ? (v / max) * h : 0), h };
}

function drawStacked(box, legend, data) {
  const colour = Object.fromEntries(data.keys.map((k, i) => [k, PALETTE[i % PALETTE.length]]));
  const max = Math.max(0, ...data.points.map((p) => p.cost_usd));
  const svg = frame(box, max, usd);
  const s = scale(data.points, max);
  data.points.forEach((p, i) => {
    let top = 0;
    for (const key of data.keys) {
      const v = p.cost_by_key[key] || 0;
      if (!v) continue;
      const y = s.y(top + v);
      svg.appendChild(svgEl("rect", {
        x: s.x(i) + 1, width: Math.max(s.step - 2, 1), y, height: s.y(top) - y,
        fill: colour[key], "data-series": key,
      }, `${key}: ${usd(v)} (${label(p.start, data.bucket)})`));
      top += v;
    }
  });
  xLabels(svg, data.points, data.bucket);
  legend.replaceChildren(...data.keys.map((k) => {
    const item = el("li", { "data-series": k });
    const swatch = el("i", { class: "swatch" });
    swatch.style.background = colour[k];  // CSSOM, which the Content-Security-Policy allows
    item.append(swatch, k);
    return item;
  }));
  if (!data.keys.length) legend.replaceChildren(el("li", { class: "empty" }, "No spend in this window."));
}

function drawRequests(box, data) {
  const max = Math.max(0, ...data.points.map((p) => p.requests));
  const svg = frame(box, max, (v) => String(Math.round(v)));
  const s = scale(data.points, max);
  data.points.forEach((p, i) => {
    const bar = (v, cls) => svg.appendChild(svgEl("rect", {
      x: s.x(i) + 1, width: Math.max(s.step - 2, 1), y: s.y(v), height: s.y(0) - s.y(v), class: cls,
    }, `${label(p.start, data.bucket)}: ${p.requests} requests, ${p.errors} errors (${pct(p.error_rate)})`));
    if (p.requests) bar(p.requests, "ok");
    if (p.errors) bar(p.errors, "bad");
  });
  xLabels(svg, data.points, data.bucket);
}

function drawLatency(box, data) {
  const max = Math.max(0, ...data.points.map((p) => p.p95_latency_ms || 0));
  const svg = frame(box, max, ms);
  const s = scale(data.points, max);
  for (const [field, cls] of [["p50_latency_ms", "p50"], ["p95_latency_ms", "p95"]]) {
    const pts = data.points.map((p, i) => p[field] == null ? null : [s.x(i) + s.step / 2, s.y(p[field]), p]);
    const shown = pts.filter(Boolean);
    svg.appendChild(svgEl("polyline", { points: shown.map(([x, y]) => `${x},${y}`).join(" "), class: `line ${cls}` }));
    for (const [x, y, p] of shown) {  // a dot per bucket: one bucket alone draws no line
      svg.appendChild(svgEl("circle", { cx: x, cy: y, r: 3, class: `dot ${cls}` },
        `${label(p.start, data.bucket)}: ${cls} ${ms(p[field])}`));
    }
  }
  xLabels(svg, data.points, data.bucket);
}

// -- tables ---------------------------------------------------------------------------------

function fillRows(table, rows, empty) {
  const body = table.tBodies[0];
  if (!rows.length) {
    const row = el("tr");
    row.appendChild(el("td", { colspan: table.tHead.rows[0].cells.length, class: "empty" }, empty));
    body.replaceChildren(row);
    return;
  }
  body.replaceChildren(...rows.map(([attrs, cells]) => {
    const tr = el("tr", attrs);
    for (const c of cells) tr.appendChild(typeof c === "string" ? el("td", {}, c) : c);
    return tr;
  }));
}

function frees(e) {
  if (!e.cooling_down_until) return "–";
  const at = new Date(e.cooling_down_until).toLocaleTimeString();
  return `${at} (in ${Math.ceil(e.frees_in_s)} s)`;
}

function drawHealth(report) {
  fillRows(document.getElementById("health-table"), report.endpoints.map((e) => [
    { "data-provider": e.provider, "data-model": e.model, "data-state": e.state, class: `state-${e.state}` },
    [e.provider, e.model, el("td", { class: "state" }, e.state.replace("_", "-")), frees(e),
      ms(e.p50_ttft_ms), e.tokens_per_s == null ? "–" : e.tokens_per_s.toFixed(1),
      pct(e.error_rate), String(e.samples)],
  ]), "No endpoint called yet.");
}

function drawBudgets(summary) {
  const tiles = document.getElementById("summary");
  tiles.replaceChildren(...[["today", summary.today], ["this week", summary.week]].map(([name, p]) => {
    const tile = el("div", { class: "tile" });
    tile.append(el("span", {}, name), el("b", {}, usd(p.totals.cost_usd)),
      el("small", {}, `${p.totals.requests} requests, ${p.totals.errors} errors`));
    return tile;
  }));
  fillRows(document.getElementById("budgets-table"), summary.budgets.map((b) => [
    { "data-period": b.period },
    [b.period, usd(b.cap_usd), usd(b.spent_usd), usd(b.reserved_usd), usd(b.remaining_usd),
      new Date(b.resets_at).toLocaleString()],
  ]), "No budget configured for this client.");
}

// -- catalog: search and sort the rows the server rendered -----------------------------------

function filterCatalog() {
  const words = document.getElementById("catalog-search").value.toLowerCase().split(/\s+/).filter(Boolean);
  const rows = [...document.querySelectorAll("#catalog-table tbody tr")];
  let shown = 0;
  for (const row of rows) {
    const hit = words.every((w) => row.dataset.search.includes(w));
    row.hidden = !hit;
    shown += hit ? 1 : 0;
  }
  document.getElementById("catalog-count").textContent = `${shown} of ${rows.length} models`;
}

function sortCatalog(th) {
  const table = document.getElementById("catalog-table");
  const col = th.cellIndex, numeric = th.dataset.sort === "number";
  const dir = th.getAttribute("aria-sort") === "ascending" ? -1 : 1;
  for (const other of th.parentNode.cells) other.removeAttribute("aria-sort");
  th.setAttribute("aria-sort", dir === 1 ? "ascending" : "descending");
  const key = (row) => {
    const cell = row.cells[col];
    if (!numeric) return cell.textContent.toLowerCase();
    return cell.dataset.value === undefined ? null : Number(cell.dataset.value);
  };
  const rows = [...table.tBodies[0].rows].sort((a, b) => {
    const x = key(a), y = key(b);
    if (x === null || y === null) return (x === null) - (y === null);  // unknown last
    return x < y ? -dir : x > y ? dir : 0;
  });
  table.tBodies[0].append(...rows);
}

// -- wiring ---------------------------------------------------------------------------------

async function refreshSeries() {
  const q = new URLSearchParams({
    window: document.getElementById("window").value,
    bucket: document.getElementById("bucket").value,
    group_by: document.getElementById("stack").value,
  });
  const data = await getJSON(`/api/series?${q}`);
  drawStacked(document.getElementById("spend-chart"), document.getElementById("spend-legend"), data);
  drawRequests(document.getElementById("requests-chart"), data);
  drawLatency(document.getElementById("latency-chart"), data);
  document.getElementById("spend").dataset.loaded = q.toString();
}

async function refresh() {
  const results = await Promise.allSettled([
    refreshSeries(), getJSON("/api/health").then(drawHealth), getJSON("/api/budgets").then(drawBudgets),
  ]);
  for (const r of results) if (r.status === "rejected") console.error(r.reason);
  document.body.dataset.refreshed = new Date().toISOString();
}

document.addEventListener("DOMContentLoaded", () => {
  document.getElementById("window").addEventListener("change", (e) => {
    document.getElementById("bucket").value = e.target.value === "24h" ? "hour" : "day";
    refreshSeries();
  });
  for (const id of ["bucket", "stack"]) document.getElementById(id).addEventListener("change", refreshSeries);
  document.getElementById("catalog-search").addEventListener("input", filterCatalog);
  for (const th of document.querySelectorAll("#catalog-table th")) th.addEventListener("click", () => sortCatalog(th));
  refresh();
  setInterval(refresh, REFRESH_MS);
});
