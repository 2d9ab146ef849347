// descend playground: the page draws what the server computes; no descent happens here.
"use strict";

const $ = (id) => document.getElementById(id);
const state = {
  options: null, run: null, ws: null, running: false, contour: null,
  lastContourAt: 0, contourPending: false, pathCount: 0, lossCount: 0, messages: 0,
  creating: null, uploadId: null,
};
window.playground = state; // for the browser tests and the curious

// ---------------------------------------------------------------------------------- helpers
// the server's token (in the page it served): requests that change state must carry it
const TOKEN = (document.querySelector('meta[name="descend-token"]') || {}).content || "";
async function api(method, path, body) {
  const init = { method, headers: method === "GET" ? {} : { "X-Descend-Token": TOKEN } };
  if (body instanceof FormData) init.body = body;
  else if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  const res = await fetch(path, init);
  let data = null;
  try { data = await res.json(); } catch (e) { data = null; }
  if (!res.ok) {
    const detail = data && data.detail ? data.detail : `HTTP ${res.status}`;
    const err = new Error(typeof detail === "string" ? detail : JSON.stringify(detail));
    err.status = res.status;
    throw err;
  }
  return data;
}
const fmt = (v, d = 4) => (v === null || v === undefined || !isFinite(v)) ? "–" : Number(v).toPrecision(d);
// Plotly renders a subset of HTML in titles and labels: names from a CSV are escaped first
const esc = (text) => String(text).replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
//: most path points kept on the loss surface
const PATH_POINTS = 20000;
function showError(msg) { $("error-message").textContent = msg; $("banner-error").hidden = false; }
function hideError() { $("banner-error").hidden = true; }
function num(id) { const v = $(id).value.trim(); return v === "" ? null : Number(v); }
function option(sel, value, text) {
  const o = document.createElement("option"); o.value = value; o.textContent = text ?? value; sel.appendChild(o); return o;
}

const LAYOUT = {
  margin: { l: 56, r: 14, t: 8, b: 38 }, paper_bgcolor: "#fff", plot_bgcolor: "#fff",
  font: { size: 11, color: "#1d2433" }, showlegend: false,
};
const CONFIG = { displayModeBar: false, responsive: true };

// ---------------------------------------------------------------------------------- settings
function modelSpec() {
  const kind = $("model-kind").value;
  if (kind === "auto") return null;
  if (kind === "poly") return `poly:${$("model-degree").value || 3}`;
  if (kind === "mlp") return `mlp:${($("model-layers").value || "8").replace(/\s+/g, "")}`;
  return kind;
}

function dataSpec() {
  const source = $("data-source").value;
  if (source === "dataset") return { source, name: $("dataset").value };
  if (source === "synthetic") {
    return {
      source, kind: $("syn-kind").value, n: num("syn-n") ?? 60, noise: num("syn-noise") ?? 1,
      outliers: num("syn-outliers") ?? 0, degree: num("syn-degree") ?? 3, seed: num("syn-seed") ?? 0,
    };
  }
  const x = $("upload-x").value;
  return { source, upload_id: state.uploadId, x: x ? [x] : null, y: $("upload-y").value || null };
}

function spec() {
  const hyper = {};
  document.querySelectorAll("#hyper input").forEach((el) => {
    if (el.value.trim() !== "") hyper[el.dataset.name] = Number(el.value);
  });
  const body = {
    data: dataSpec(), model: modelSpec(), loss: $("loss").value, optimizer: $("optimizer").value, hyper,
  };
  for (const c of state.options.controls) body[c.name] = readControl(c);  // the run settings
  return body;
}

// ---------------------------------------------------------------------------------- run settings
// The Descent fieldset's run settings come from the server's control table
// (src/descend/shells/web/controls.py, served as options.controls): one input per entry, in the
// table's order, sent by spec() under its name. A new control needs no edit here.
function controlInput(c) {
  const label = document.createElement("label");
  label.className = "control";
  const text = document.createElement("span");
  text.className = "label-text";
  label.appendChild(text);
  let el;
  if (c.kind === "choice") {
    el = document.createElement("select");
    if (c.optional) option(el, "", c.blank ?? "");
    for (const o of c.options) option(el, o.value, o.label);
  } else {
    el = document.createElement("input");
    el.type = c.kind === "boolean" ? "checkbox" : "number";
    if (c.placeholder) el.placeholder = c.placeholder;
  }
  el.id = c.id;
  label.appendChild(el);
  return label;
}

function renderControls() {
  const box = $("run-controls");
  const custom = new Map([...box.querySelectorAll("[data-custom]")].map((el) => [el.dataset.custom, el]));
  for (const c of state.options.controls) {
    const block = custom.get(c.name) || controlInput(c);
    custom.delete(c.name);
    box.appendChild(block);  // a hand-written widget moves to its place in the table's order
    const text = block.querySelector(".label-text");
    if (text) text.textContent = c.label;
    if (c.help) block.title = c.help;
    const el = $(c.id);
    el.dataset.control = c.name;
    if (c.kind === "number" || c.kind === "integer") {
      el.step = c.step;
      if (c.min !== null) el.min = String(c.min);
      if (c.max !== null) el.max = String(c.max);
    }
    setControl(c, c.default);
    if (!c.custom) el.addEventListener("change", scheduleNewRun);
  }
  for (const block of custom.values()) block.hidden = true;  // not in the table any more
}

function setControl(c, value) {
  const el = $(c.id);
  if (c.kind === "boolean") el.checked = Boolean(value);
  else el.value = value === null || value === undefined ? "" : String(value);
}

function readControl(c) {
  const el = $(c.id);
  if (c.auto && el.dataset.auto === "1") return "auto";
  if (c.kind === "boolean") return el.checked;
  const v = el.value.trim();
  if (v === "") return c.optional ? null : c.default;
  return c.kind === "choice" ? v : Number(v);
}

function fillHyper() {
  const box = $("hyper"); box.innerHTML = "";
  const opt = state.options.optimizers.find((o) => o.name === $("optimizer").value);
  if (!opt) return;
  for (const [name, def] of Object.entries(opt.defaults || {})) {
    if (name === "learning_rate") continue;
    const label = document.createElement("label");
    label.textContent = name;
    const input = document.createElement("input");
    input.type = "number"; input.step = "any"; input.dataset.name = name;
    input.placeholder = def === null ? "none" : String(def);
    input.addEventListener("change", scheduleNewRun);
    label.appendChild(input); box.appendChild(label);
  }
  if (opt.summary) { const p = document.createElement("p"); p.className = "hint"; p.textContent = opt.summary; box.appendChild(p); }
}

// ---------------------------------------------------------------------------------- runs
let newRunTimer = null;
function scheduleNewRun() { clearTimeout(newRunTimer); newRunTimer = setTimeout(newRun, 250); }

function closeSocket() {
  if (state.ws) { state.ws.onclose = null; state.ws.close(); state.ws = null; }
  state.running = false;
}

async function newRun() {
  clearTimeout(newRunTimer);
  closeSocket();
  const body = spec();
  if (body.data.source === "upload" && !state.uploadId) return;
  let run;
  try {
    state.creating = api("POST", "/api/runs", body);
    run = await state.creating;
  } catch (e) {
    showError(e.message); setRunState("no run"); return;
  } finally { state.creating = null; }
  hideError();
  state.run = run;
  drawRun(run);
  openSocket(run.id);
  fetchContour(true);
}

function openSocket(id) {
  const proto = location.protocol === "https:" ? "wss" : "ws";
  const ws = new WebSocket(`${proto}://${location.host}/api/runs/${id}/ws`);
  state.ws = ws;
  ws.onmessage = (ev) => onMessage(JSON.parse(ev.data));
  ws.onclose = (ev) => {
    if (state.ws !== ws) return;
    state.ws = null; state.running = false;
    setRunState("disconnected");
    showError(`the connection to the run closed (${ev.reason || "code " + ev.code}); change a setting or press Reset to start a new run`);
  };
}

function send(msg) {
  if (!state.ws || state.ws.readyState !== WebSocket.OPEN) { newRun(); return; }
  state.ws.send(JSON.stringify(msg));
}

function onMessage(msg) {
  state.messages += 1;
  if (msg.type === "update") { applyUpdate(msg); applyStatus(msg.status); }
  else if (msg.type === "status") applyStatus(msg.status);
  else if (msg.type === "reset") { state.run = msg; drawRun(msg); fetchContour(true); }
  else if (msg.type === "error") showError(msg.detail);
  else if (msg.type === "closing") setRunState(msg.detail);
}

// ---------------------------------------------------------------------------------- drawing
function drawRun(run) {
  cancelFlush();
  state.running = false; state.lossCount = 0; state.pathCount = 0;
  $("banner-diverged").hidden = true; $("banner-info").hidden = true;
  const d = run.data;
  $("data-title").textContent = `Data and fit — ${d.label}`;
  const traces = [];
  let layout;
  if (d.x1 && run.fit.kind === "boundary") {
    // two classes in the plane, and the decision boundary: the 0 contour of the logit (p = ½)
    for (const [k, color] of [[0, "#2f6fde"], [1, "#e4572e"]]) {
      const idx = d.y.map((v, i) => (v === k ? i : -1)).filter((i) => i >= 0);
      traces.push({ x: idx.map((i) => d.x1[i]), y: idx.map((i) => d.x2[i]), mode: "markers", type: "scatter", marker: { size: 5, color }, name: `class ${k}` });
    }
    traces.push(boundaryTrace(run.fit));
    layout = { ...LAYOUT, xaxis: { title: { text: esc(d.feature_names[0]) } }, yaxis: { title: { text: esc(d.feature_names[1]) } } };
  } else if (d.x) {
    traces.push({ x: d.x, y: d.y, mode: "markers", type: "scatter", marker: { size: 5, color: "#2f6fde" }, name: "data" });
    traces.push({ x: run.fit.x, y: run.fit.y, mode: "lines", type: "scatter", line: { color: "#e4572e", width: 2.5 }, name: "fit" });
    layout = { ...LAYOUT, xaxis: { title: { text: esc(d.feature_names[0]) } }, yaxis: { title: { text: esc(d.target_name) } } };
  } else {
    const lo = Math.min(...d.y), hi = Math.max(...d.y);
    traces.push({ x: d.y, y: run.fit.yhat, mode: "markers", type: "scatter", marker: { size: 5, color: "#2f6fde" }, name: "ŷ vs y" });
    traces.push({ x: [lo, hi], y: [lo, hi], mode: "lines", line: { color: "#9aa3b5", dash: "dot" }, name: "ŷ = y" });
    layout = { ...LAYOUT, xaxis: { title: { text: `${esc(d.target_name)} (actual)` } }, yaxis: { title: { text: "ŷ (predicted)" } } };
  }
  Plotly.react("plot-data", traces, layout, CONFIG);

  const h = run.history;
  state.lossCount = h.k.length;
  // with a validation split, the held-out loss (no penalty) is a second, dashed trace
  const lossTraces = [{ x: h.k, y: h.loss, mode: "lines", line: { color: "#2f6fde" }, name: "training" }];
  if (h.val) lossTraces.push({ x: h.val.k, y: h.val.loss, mode: "lines", line: { color: "#e4572e", dash: "dash" }, name: "validation" });
  $("loss-legend").hidden = !h.val;
  Plotly.react("plot-loss", lossTraces,
    { ...LAYOUT, showlegend: Boolean(h.val), legend: { x: 1, xanchor: "right", y: 1 }, xaxis: { title: { text: "step k" } }, yaxis: { type: "log", title: { text: `${run.loss} loss` }, exponentformat: "power" }, shapes: [] }, CONFIG);
  Plotly.react("plot-step", [{ x: h.k, y: h.step_size, mode: "lines", line: { color: "#7a4fd6" } }],
    { ...LAYOUT, xaxis: { title: { text: "step k" } }, yaxis: { type: "log", title: { text: "step size" }, exponentformat: "power" } }, CONFIG);
  // a network's sharpness (measured by the run) beside 2/η, the edge of stability
  const sh = h.sharpness;
  $("card-sharpness").hidden = !sh;
  if (sh) {
    Plotly.react("plot-sharpness", [
      { x: sh.k, y: sh.value, mode: "lines+markers", marker: { size: 3 }, line: { color: "#e4572e" }, name: "sharpness λ_max" },
      { x: sh.k, y: sh.edge, mode: "lines", line: { color: "#2f6fde", dash: "dash" }, name: "2/η" },
    ], { ...LAYOUT, xaxis: { title: { text: "step k" } }, yaxis: { title: { text: "λ_max(∇²L)" } }, showlegend: true }, CONFIG);
  }

  // parameter pair selectors
  for (const id of ["pair-i", "pair-j"]) {
    const sel = $(id); sel.innerHTML = "";
    run.param_names.forEach((name, k) => option(sel, String(k), name));
  }
  $("pair-i").value = String(run.pair[0]); $("pair-j").value = String(run.pair[1]);
  drawAdvice(run);
  $("notes").textContent = (run.notes || []).join(" ");
  if (run.status && run.status.learning_rate) {  // the rate that runs ("auto" resolved)
    $("lr").value = String(Number(run.status.learning_rate.toPrecision(4)));
    $("lr-slider").value = String(Math.log10(run.status.learning_rate));
  }
  applyStatus(run.status);
}

// the decision boundary: only the level-0 contour line of the logit z over the grid
function boundaryTrace(fit) {
  return {
    type: "contour", x: fit.a, y: fit.b, z: fit.z, autocontour: false,
    contours: { start: fit.level, end: fit.level, size: 1, coloring: "lines" },
    colorscale: [[0, "#1d2433"], [1, "#1d2433"]], line: { width: 2.5 }, showscale: false, hoverinfo: "skip", name: "decision boundary",
  };
}

function drawAdvice(run) {
  const a = run.advice, s = run.status;
  if (!a) { $("advice-body").textContent = "No curvature advice for this problem."; return; }
  const lr = s.current_lr ?? s.learning_rate;
  const ratio = lr / a.stability_limit;
  const over = ratio >= 1;
  const adaptive = !["gd", "sgd", "momentum", "nesterov"].includes(s.optimizer);
  const kappa = a.kappa === null ? "∞ (singular)" : fmt(a.kappa, 4);
  $("advice-body").innerHTML = `<table>
    <tr><td>stability limit 2/λ<sub>max</sub></td><td id="advice-limit"><b>${fmt(a.stability_limit)}</b></td></tr>
    <tr><td>condition number κ = λ<sub>max</sub>/λ<sub>min</sub></td><td id="advice-kappa">${kappa}</td></tr>
    <tr><td>best constant rate 2/(λ<sub>min</sub>+λ<sub>max</sub>)</td><td>${fmt(a.best_lr)}</td></tr>
    <tr><td>λ<sub>max</sub>, λ<sub>min</sub></td><td>${fmt(a.lam_max)}, ${fmt(a.lam_min)} (${a.exact ? "exact Hessian" : "estimate"})</td></tr>
    <tr><td>your learning rate</td><td class="${over ? "bad" : "good"}">${fmt(lr)} = ${fmt(ratio, 3)} × the limit${over ? " — plain gradient descent will diverge" : " — stable"}${adaptive ? " (the limit is for plain gradient descent; adaptive rules rescale the step)" : ""}</td></tr>
  </table>`;
}

// Updates are coalesced: plots are redrawn at most a few times per second, and more slowly when
// drawing is slow (software rendering), so the page stays responsive at any run speed.
function emptyPending() { return { k: [], loss: [], step: [], vk: [], vl: [], sk: [], sv: [], se: [], px: [], py: [], fit: null, pair: null }; }
state.pending = emptyPending();
state.flushTimer = null;
state.nextFlushAt = 0;

function applyUpdate(msg) {
  const p = state.pending, st = msg.steps;
  p.k.push(...st.k); p.loss.push(...st.loss); p.step.push(...st.step_size);
  if (msg.val) { p.vk.push(...msg.val.k); p.vl.push(...msg.val.loss); }
  if (msg.sharpness) { p.sk.push(...msg.sharpness.k); p.sv.push(...msg.sharpness.value); p.se.push(...msg.sharpness.edge); }
  if (p.pair && (p.pair[0] !== msg.pair[0] || p.pair[1] !== msg.pair[1])) { p.px = []; p.py = []; }
  p.pair = msg.pair;
  for (const pt of msg.path) { p.px.push(pt[0]); p.py.push(pt[1]); }
  p.fit = msg.fit;
  state.lossCount += st.k.length;
  scheduleFlush();
}

function scheduleFlush() {
  if (state.flushTimer !== null) return;
  const wait = Math.max(0, state.nextFlushAt - performance.now());
  state.flushTimer = setTimeout(flush, wait);
}

function cancelFlush() {
  if (state.flushTimer !== null) clearTimeout(state.flushTimer);
  state.flushTimer = null; state.pending = emptyPending();
}

function flush() {
  state.flushTimer = null;
  const p = state.pending;
  state.pending = emptyPending();
  const t0 = performance.now();
  if (p.k.length) {
    const max = 50000;
    Plotly.extendTraces("plot-loss", { x: [p.k], y: [p.loss] }, [0], max);
    Plotly.extendTraces("plot-step", { x: [p.k], y: [p.step] }, [0], max);
  }
  if (p.vk.length && !$("loss-legend").hidden) Plotly.extendTraces("plot-loss", { x: [p.vk], y: [p.vl] }, [1], 50000);
  if (p.sk.length && !$("card-sharpness").hidden) {
    Plotly.extendTraces("plot-sharpness", { x: [p.sk, p.sk], y: [p.sv, p.se] }, [0, 1], 5000);
  }
  const c = state.contour;
  if (p.px.length && c && p.pair && c.i === p.pair[0] && c.j === p.pair[1]) {
    const x = p.px[p.px.length - 1], y = p.py[p.py.length - 1];
    // one number for maxPoints (this Plotly build ignores an array there), and the θ-now
    // marker moved, not extended
    Plotly.extendTraces("plot-contour", { x: [p.px], y: [p.py] }, [1], PATH_POINTS);
    Plotly.restyle("plot-contour", { x: [[x]], y: [[y]] }, [3]);
    state.pathCount = Math.min(state.pathCount + p.px.length, PATH_POINTS);
    const [a0, a1] = [c.a[0], c.a[c.a.length - 1]], [b0, b1] = [c.b[0], c.b[c.b.length - 1]];
    if ((x < a0 || x > a1 || y < b0 || y > b1) && Date.now() - state.lastContourAt > 1000) fetchContour();
  }
  if (p.fit) {
    if (p.fit.kind === "boundary") Plotly.restyle("plot-data", { z: [p.fit.z] }, [2]);
    else if (p.fit.kind === "curve") Plotly.restyle("plot-data", { y: [p.fit.y] }, [1]);
    else Plotly.restyle("plot-data", { y: [p.fit.yhat] }, [0]);
  }
  const dt = performance.now() - t0;
  state.nextFlushAt = performance.now() + Math.max(100, 2 * dt);
}

function setRunState(text) { $("run-state").textContent = text; }

function applyStatus(s) {
  if (!s) return;
  $("step-count").textContent = String(s.k);
  $("loss-value").textContent = fmt(s.loss);
  $("lr-now").textContent = fmt(s.current_lr);
  if (state.run) { state.run.status = s; drawAdvice(state.run); }
  const div = $("banner-diverged"), info = $("banner-info");
  if (s.stop_reason === "diverged") {
    $("diverged-message").textContent = s.message; div.hidden = false; info.hidden = true;
    state.running = false; setRunState("diverged"); fetchContour();
  } else {
    div.hidden = true;
    // "separated": the log loss has no minimiser on these classes — the message says to add a penalty
    if (["converged", "max_steps", "separated"].includes(s.stop_reason)) {
      $("info-message").textContent = s.message; info.hidden = false;
      state.running = false; setRunState(s.stop_reason); fetchContour();
    } else {
      info.hidden = true;
      setRunState(state.running ? "running" : (s.k ? "paused" : "ready"));
    }
  }
}

// what the contour draws (the server's "kind"): a profile has θ* as its lowest point
const SURFACE_NOTES = {
  profile: "Colours: log₁₀ L with the other parameters at their best for each (θᵢ, θⱼ) — the profile; θ* is its lowest point, and the run's loss is on or above it.",
  slice: "Colours: log₁₀ L with the other parameters held at θ now — a slice through the current point.",
};

// fetchContour(true) replaces a contour in flight (the server abandons the older one)
async function fetchContour(replace) {
  const run = state.run;
  if (!run || run.n_params < 2 || (state.contourPending && !replace)) {
    if (run && run.n_params < 2) Plotly.react("plot-contour", [], { ...LAYOUT, annotations: [{ text: "one parameter: no surface to draw", showarrow: false, xref: "paper", yref: "paper", x: 0.5, y: 0.5 }] }, CONFIG);
    return;
  }
  const i = Number($("pair-i").value), j = Number($("pair-j").value);
  if (i === j) { showError("choose two different parameters for the loss surface"); return; }
  state.contourPending = true;
  const seq = (state.contourSeq = (state.contourSeq || 0) + 1);
  try {
    const c = await api("GET", `/api/runs/${run.id}/contour?i=${i}&j=${j}&n=40`);
    if (seq !== state.contourSeq) return; // a newer request replaced this one
    if (state.run !== run && state.run && state.run.id !== run.id) return;
    state.contour = c; state.lastContourAt = Date.now();
    const logz = c.z.map((row) => row.map((v) => (v === null || v <= 0) ? null : Math.log10(v)));
    const px = c.path.map((p) => p[0]).slice(-PATH_POINTS), py = c.path.map((p) => p[1]).slice(-PATH_POINTS);
    state.pathCount = px.length;
    const traces = [
      { type: "contour", x: c.a, y: c.b, z: logz, colorscale: "Viridis", reversescale: true, ncontours: 24,
        contours: { coloring: "fill" }, line: { width: 0.5, color: "rgba(255,255,255,0.5)" },
        colorbar: { title: { text: "log₁₀ L", side: "right" }, thickness: 10 }, hoverinfo: "x+y+z" },
      { x: px, y: py, mode: "lines+markers", type: "scatter", line: { color: "#e4572e", width: 2 }, marker: { size: 3, color: "#e4572e" }, name: "path" },
      { x: c.reference ? [c.reference[0]] : [], y: c.reference ? [c.reference[1]] : [], mode: "markers", type: "scatter", marker: { symbol: "star", size: 14, color: "#ffd23f", line: { color: "#1d2433", width: 1 } }, name: "θ* (least squares)" },
      { x: [px[px.length - 1]], y: [py[py.length - 1]], mode: "markers", type: "scatter", marker: { size: 10, color: "#fff", line: { color: "#e4572e", width: 3 } }, name: "θ now" },
    ];
    $("surface-note").textContent = SURFACE_NOTES[c.kind] || "";
    Plotly.react("plot-contour", traces, { ...LAYOUT, xaxis: { title: { text: `${esc(c.names[0])} (standardised coordinates)` }, range: [c.a[0], c.a[c.a.length - 1]] }, yaxis: { title: { text: `${esc(c.names[1])} (standardised coordinates)` }, range: [c.b[0], c.b[c.b.length - 1]] } }, CONFIG);
  } catch (e) {
    if (seq === state.contourSeq && e.status !== 409) showError(e.message);
  } finally { if (seq === state.contourSeq) state.contourPending = false; }
}

// ---------------------------------------------------------------------------------- controls
function setLr(value, fromSlider) {
  if (!(value > 0) || !isFinite(value)) { showError("the learning rate must be a positive number"); return; }
  delete $("lr").dataset.auto;
  $("lr").value = String(Number(value.toPrecision(4)));
  const cur = state.run && state.run.status ? state.run.status.learning_rate : null;
  if (cur === Number($("lr").value) && !(state.run.status.stop_reason === "diverged")) return;
  if (!fromSlider) $("lr-slider").value = String(Math.log10(value));
  send({ action: "set_lr", value: Number($("lr").value) });
  if (state.run) {
    const k = state.run.status ? state.run.status.k : 0;
    const shapes = (document.getElementById("plot-loss").layout.shapes || []).concat([
      { type: "line", xref: "x", yref: "paper", x0: k, x1: k, y0: 0, y1: 1, line: { color: "#9aa3b5", dash: "dot", width: 1 } },
    ]);
    const annotations = (document.getElementById("plot-loss").layout.annotations || []).concat([
      { x: k, y: 1, xref: "x", yref: "paper", text: `lr ${$("lr").value}`, showarrow: false, font: { size: 10, color: "#5b6478" }, xanchor: "left", yanchor: "top" },
    ]);
    Plotly.relayout("plot-loss", { shapes, annotations });
  }
}

function bind() {
  $("error-close").onclick = hideError;
  $("data-source").onchange = () => {
    const src = $("data-source").value;
    document.querySelectorAll(".group[data-source]").forEach((g) => { g.hidden = g.dataset.source !== src; });
    if (src !== "upload" || state.uploadId) scheduleNewRun();
  };
  $("dataset").onchange = scheduleNewRun;
  $("generate").onclick = newRun;
  for (const id of ["syn-n", "syn-noise", "syn-outliers", "syn-degree", "syn-seed"]) $(id).onchange = scheduleNewRun;
  $("syn-kind").onchange = () => {
    // two classes: fitted with the log loss, at a noise that keeps their shape; back to MSE after
    const kind = $("syn-kind").value, classes = state.options.classification_kinds.includes(kind);
    if (classes) { $("loss").value = "logloss"; $("syn-noise").value = kind === "moons" ? "0.15" : "0.8"; }
    else if ($("loss").value === "logloss") { $("loss").value = "mse"; $("syn-noise").value = "1"; }
    scheduleNewRun();
  };
  $("model-kind").onchange = () => {
    document.querySelectorAll(".model-opt").forEach((el) => { el.hidden = el.dataset.kind !== $("model-kind").value; });
    scheduleNewRun();
  };
  for (const id of ["model-degree", "model-layers", "loss", "upload-x", "upload-y"]) $(id).onchange = scheduleNewRun;
  $("optimizer").onchange = () => { fillHyper(); scheduleNewRun(); };
  $("lr").onchange = () => setLr(Number($("lr").value), false);
  $("lr-slider").oninput = () => { $("lr").value = String(Number(Math.pow(10, Number($("lr-slider").value)).toPrecision(3))); };
  $("lr-slider").onchange = () => setLr(Number($("lr").value), true);
  // "auto": a new run whose rate (and β) descend resolves from the curvature, as ds.fit does
  $("lr-auto").onclick = () => { $("lr").dataset.auto = "1"; scheduleNewRun(); };
  $("run").onclick = () => { state.running = true; setRunState("running"); send({ action: "run", speed: Number($("speed").value) }); };
  $("pause").onclick = () => { state.running = false; send({ action: "pause" }); fetchContour(); };
  $("step").onclick = () => send({ action: "step", n: 1 });
  $("reset").onclick = () => { if (state.ws) send({ action: "reset" }); else newRun(); };
  $("speed").onchange = () => send({ action: "speed", value: Number($("speed").value) });
  $("pair-i").onchange = $("pair-j").onchange = () => {
    const i = Number($("pair-i").value), j = Number($("pair-j").value);
    if (i === j) { showError("choose two different parameters for the loss surface"); return; }
    send({ action: "pair", i, j }); fetchContour(true);
  };
  $("upload").onchange = uploadFile;
}

async function uploadFile() {
  const file = $("upload").files[0];
  if (!file) return;
  const form = new FormData(); form.append("file", file);
  $("upload-info").textContent = "uploading…";
  try {
    const up = await api("POST", "/api/upload", form);
    hideError();
    state.uploadId = up.upload_id;
    const xs = $("upload-x"), ys = $("upload-y");
    xs.innerHTML = ""; ys.innerHTML = "";
    option(xs, "", "(all but y)");
    up.columns.forEach((c) => { option(xs, c); option(ys, c); });
    ys.value = up.columns[up.columns.length - 1];
    if (up.columns.length === 2) xs.value = up.columns[0];
    $("upload-info").textContent = `${up.name}: ${up.rows} rows, columns ${up.columns.join(", ")}`;
    newRun();
  } catch (e) {
    state.uploadId = null;
    $("upload-info").textContent = "upload rejected";
    showError(e.message);
  }
}

async function init() {
  try {
    state.options = await api("GET", "/api/options");
  } catch (e) { showError(`cannot reach the server: ${e.message}`); return; }
  const o = state.options;
  for (const d of o.datasets) option($("dataset"), d.name, `${d.title} (${d.rows}×${d.cols}, ${d.model})`);
  $("dataset").value = o.default_dataset;
  for (const l of o.losses) option($("loss"), l);
  for (const opt of o.optimizers) option($("optimizer"), opt.name);
  $("model-degree").max = o.limits.max_degree; $("syn-degree").max = o.limits.max_degree;
  $("syn-n").max = o.limits.max_rows;
  renderControls();
  $("lr-slider").value = String(Math.log10(Number($("lr").value)));
  fillHyper();
  bind();
  await newRun();
}

init();
