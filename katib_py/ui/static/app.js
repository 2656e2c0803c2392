// katib-py web UI: hash routes, one fetch per view, live by server-sent events (no polling).
// Every string from the cluster goes into the page as a text node (h() below); nothing from the
// API is ever assigned to innerHTML, except the NAS SVG, which the server builds from escaped text.
"use strict";

const CSRF = document.querySelector('meta[name="csrf-token"]').content;
const main = document.getElementById("main");
const nsSelect = document.getElementById("namespace");
let current = { refresh: null, matches: () => false, dispose: () => {} };

function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (key.startsWith("on")) el.addEventListener(key.slice(2), value);
    else if (key === "dataset") Object.assign(el.dataset, value);
    else el.setAttribute(key, value === true ? "" : String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

function enc(s) { return encodeURIComponent(s); }
function fmt(v) {
  if (v === null || v === undefined) return "";
  if (typeof v === "number") return Math.abs(v) >= 1e5 || (v !== 0 && Math.abs(v) < 1e-3) ? v.toExponential(4) : String(+v.toPrecision(6));
  return String(v);
}
function age(seconds) {
  if (seconds === null || seconds === undefined) return "";
  const s = Math.round(seconds);
  if (s < 120) return s + "s";
  if (s < 7200) return Math.round(s / 60) + "m";
  if (s < 172800) return Math.round(s / 3600) + "h";
  return Math.round(s / 86400) + "d";
}
function stateTag(state) { return h("span", { class: "state state-" + String(state).replace(/[^A-Za-z]/g, "") }, state); }

async function api(path, options) {
  const opts = Object.assign({ headers: {} }, options || {});
  if (opts.method && opts.method !== "GET") {
    opts.headers["X-CSRF-Token"] = CSRF;
    opts.headers["Content-Type"] = "application/json";
  }
  const resp = await fetch(path, opts);
  let body = null;
  try { body = await resp.json(); } catch (e) { body = { error: resp.statusText }; }
  if (!resp.ok) { const err = new Error(body.error || resp.statusText); err.body = body; err.status = resp.status; throw err; }
  return body;
}

// plotly.js (4.8 MB) is loaded only by the pages that draw, while their data is being fetched.
let plotlyReady = null;
function loadPlotly() {
  if (!plotlyReady) plotlyReady = new Promise((resolve, reject) => {
    const script = h("script", { src: "/static/plotly.min.js" });
    script.onload = resolve; script.onerror = reject;
    document.head.append(script);
  });
  return plotlyReady;
}

// Thousands of SVG markers take the browser seconds to lay out; WebGL draws them at once.
const WEBGL_FROM = 1000;
function forSpeed(trace) {
  const big = trace.type === "scatter" && (trace.x || trace.y || []).length >= WEBGL_FROM;
  return big ? Object.assign({}, trace, { type: "scattergl" }) : trace;
}

async function plot(el, figure) {
  if (!figure) return;
  await loadPlotly();
  const layout = Object.assign({ margin: { t: 40, r: 20, b: 50, l: 60 } }, figure.layout || {});
  await window.Plotly.react(el, (figure.data || []).map(forSpeed), layout, { responsive: true, displaylogo: false });
  el.dataset.drawn = String((figure.data || []).length);
  el.dataset.drawnAt = String(performance.now());  // ms since navigation: what bench/ui_bench.py reads
}

function errorBox(err) {
  const causes = (err.body && err.body.causes) || [];
  return h("div", { class: "errors", role: "alert" },
    h("strong", {}, err.message),
    causes.length ? h("ul", {}, causes.map(c => h("li", { class: "cause" }, c.field ? h("code", { class: "field" }, c.field) : null, " ", c.message))) : null);
}

// ------------------------------------------------------------------ live updates

let source = null;
let timer = null;
const pending = [];
function connect() {
  source = new EventSource("/api/events");
  const live = document.getElementById("live");
  source.addEventListener("hello", () => { live.textContent = "live"; live.classList.add("on"); });
  source.onerror = () => { live.textContent = "reconnecting…"; live.classList.remove("on"); };
  source.addEventListener("change", ev => {
    pending.push(JSON.parse(ev.data));
    if (timer) return;
    timer = setTimeout(() => {
      const events = pending.splice(0);
      timer = null;
      if (current.refresh && events.some(e => current.matches(e))) current.refresh(events);
    }, 400);
  });
}

// ------------------------------------------------------------------ experiment list

async function loadNamespaces() {
  const { items } = await api("/api/namespaces");
  const chosen = nsSelect.value;
  nsSelect.replaceChildren(h("option", { value: "" }, "all"), ...items.map(ns => h("option", { value: ns }, ns)));
  nsSelect.value = items.includes(chosen) ? chosen : "";
}

function listView() {
  const tableBox = h("div", { id: "experiments" });
  const more = h("div", { class: "muted", id: "list-more" });
  const compareBtn = h("button", { id: "compare", onclick: () => {
    const picked = [...document.querySelectorAll("input.pick:checked")].map(i => "e=" + enc(i.value));
    if (picked.length < 2) { alert("Pick two or more experiments to compare."); return; }
    location.hash = "#/compare?" + picked.join("&");
  } }, "Compare selected");
  const yamlInput = h("textarea", { id: "create-yaml", spellcheck: "false", placeholder: "apiVersion: kubeflow.org/v1beta1\nkind: Experiment\n..." });
  const createOut = h("div", { id: "create-result" });
  const createBtn = h("button", { class: "primary", id: "create", onclick: async () => {
    createOut.replaceChildren("submitting…");
    try {
      const made = await api("/api/experiments?namespace=" + enc(nsSelect.value || "default"), { method: "POST", body: JSON.stringify({ yaml: yamlInput.value }) });
      createOut.replaceChildren(h("span", {}, "created ", h("a", { href: "#/experiment/" + enc(made.namespace) + "/" + enc(made.name) }, made.namespace + "/" + made.name)));
    } catch (err) { createOut.replaceChildren(errorBox(err)); }
  } }, "Create");
  main.replaceChildren(
    h("h1", {}, "Experiments"),
    h("section", { class: "card" }, h("div", { class: "row" }, compareBtn, h("span", { class: "muted" }, "tick experiments to compare them side by side")), tableBox, more),
    h("section", { class: "card" }, h("h2", {}, "Create an Experiment from YAML"), yamlInput, h("div", { class: "row" }, createBtn), createOut));
  let limit = 100;
  async function refresh() {
    const ns = nsSelect.value;
    const data = await api("/api/experiments?limit=" + limit + (ns ? "&namespace=" + enc(ns) : ""));
    const checked = new Set([...document.querySelectorAll("input.pick:checked")].map(i => i.value));
    const table = h("table", { id: "experiment-table" },
      h("thead", {}, h("tr", {}, ["", "namespace", "name", "status", "algorithm", "trials (ok / run / fail / stopped / total)", "best", "age"].map(t => h("th", {}, t)))),
      h("tbody", {}, data.items.map(r => {
        const key = r.namespace + "/" + r.name;
        return h("tr", { dataset: { name: r.name } },
          h("td", {}, h("input", { type: "checkbox", class: "pick", value: key, checked: checked.has(key) })),
          h("td", {}, r.namespace),
          h("td", {}, h("a", { href: "#/experiment/" + enc(r.namespace) + "/" + enc(r.name), class: "exp-link" }, r.name)),
          h("td", {}, stateTag(r.status)),
          h("td", {}, r.algorithm),
          h("td", { class: "trials" }, [r.trials.succeeded, r.trials.running + r.trials.pending, r.trials.failed, r.trials.earlyStopped + r.trials.killed, r.trials.total].join(" / ")),
          h("td", { class: "num best" }, fmt(r.bestValue)),
          h("td", {}, age(r.ageSeconds)));
      })));
    tableBox.replaceChildren(data.items.length ? table : h("p", { class: "muted" }, "No experiments yet."));
    tableBox.dataset.drawnAt = String(performance.now());
    more.replaceChildren(data.next !== null ? h("button", { onclick: () => { limit += 100; refresh(); } }, "show more (" + data.total + " in all)") : "");
  }
  return { refresh, matches: e => e.kind === "experiment" || e.kind === "trial" };
}

// ------------------------------------------------------------------ experiment page

function experimentView(ns, name) {
  loadPlotly().catch(() => {});
  const base = "/api/experiments/" + enc(ns) + "/" + enc(name);
  const head = h("div");
  const plots = {};
  for (const id of ["history", "parallel", "slice", "contour", "importance", "curves", "pareto"]) plots[id] = h("div", { class: "plot", id: "plot-" + id });
  const axes = h("div", { class: "axes", id: "axes" });
  const paretoCard = h("section", { class: "card", id: "pareto-card", hidden: true }, h("h2", {}, "Pareto front"), plots.pareto);
  const sliceParam = h("select", { id: "slice-param" });
  const contourX = h("select", { id: "contour-x" }), contourY = h("select", { id: "contour-y" });
  const logCurves = h("input", { type: "checkbox", id: "curves-log" });
  const trialsBox = h("div", { id: "trials" });
  const stateFilter = h("select", { id: "state-filter" }, ["", "Succeeded", "Running", "Pending", "Created", "Failed", "Killed", "EarlyStopped", "MetricsUnavailable"].map(s => h("option", { value: s }, s || "any state")));
  const minInput = h("input", { type: "number", step: "any", id: "value-min", placeholder: "min" });
  const maxInput = h("input", { type: "number", step: "any", id: "value-max", placeholder: "max" });
  const yamlBox = h("pre", { id: "experiment-yaml" });
  const hidden = new Set();
  let sort = "created", order = "asc", detail = null, trialLimit = 200;

  main.replaceChildren(head,
    h("section", { class: "card" }, h("h2", {}, "Optimization history"), plots.history),
    h("section", { class: "card" }, h("h2", {}, "Parallel coordinates"), axes, plots.parallel),
    h("div", { class: "grid2" },
      h("section", { class: "card" }, h("h2", {}, "Slice"), h("label", {}, "parameter ", sliceParam), plots.slice),
      h("section", { class: "card" }, h("h2", {}, "Contour"), h("label", {}, "x ", contourX), " ", h("label", {}, "y ", contourY), plots.contour)),
    h("div", { class: "grid2" },
      h("section", { class: "card" }, h("h2", {}, "Parameter importance"), plots.importance),
      h("section", { class: "card" }, h("h2", {}, "Learning curves"), h("label", {}, logCurves, " log scale"), plots.curves)),
    paretoCard,
    h("section", { class: "card" }, h("h2", {}, "Trials"),
      h("div", { class: "row" }, h("label", {}, "state ", stateFilter), h("label", {}, "objective from ", minInput), h("label", {}, "to ", maxInput)), trialsBox),
    h("section", { class: "card" }, h("h2", {}, "Spec"), yamlBox));

  const fetchPlot = (kind, query) => api(base + "/plots/" + kind + (query ? "?" + query : "")).catch(err => err);
  async function show(kind, answer) {
    const figure = await answer;
    if (figure instanceof Error) plots[kind].replaceChildren(errorBox(figure));
    else await plot(plots[kind], figure);
  }
  const drawPlot = (kind, query) => show(kind, fetchPlot(kind, query));
  function fillSelect(sel, names, pick) {
    const was = sel.value;
    sel.replaceChildren(...names.map(n => h("option", { value: n }, n)));
    sel.value = names.includes(was) ? was : (names[pick] || names[0] || "");
  }
  const queries = {
    history: () => "",
    parallel: () => "hidden=" + [...hidden].map(enc).join(","),
    slice: () => "parameter=" + enc(sliceParam.value),
    contour: () => "x=" + enc(contourX.value) + "&y=" + enc(contourY.value),
    importance: () => "",
    curves: () => (logCurves.checked ? "log=1" : ""),
    pareto: () => "",
  };
  const drawSlice = () => drawPlot("slice", queries.slice());
  const drawContour = () => drawPlot("contour", queries.contour());
  const drawParallel = () => drawPlot("parallel", queries.parallel());
  const drawCurves = () => drawPlot("curves", queries.curves());
  sliceParam.addEventListener("change", drawSlice);
  contourX.addEventListener("change", drawContour); contourY.addEventListener("change", drawContour);
  logCurves.addEventListener("change", drawCurves);
  for (const input of [stateFilter, minInput, maxInput]) input.addEventListener("change", () => loadTrials());

  function renderHead() {
    const r = detail.row, obj = detail.object, status = obj.status || {};
    const optimal = status.currentOptimalTrial || {};
    const budgetInputs = {};
    const budgetOut = h("span", { id: "budget-result" });
    const budgetRow = h("div", { class: "row", id: "budget" },
      ["maxTrialCount", "parallelTrialCount", "maxFailedTrialCount"].map(k => {
        budgetInputs[k] = h("input", { type: "number", min: 1, name: k, value: r.budget[k] === null || r.budget[k] === undefined ? "" : r.budget[k] });
        return h("label", {}, k + " ", budgetInputs[k]);
      }),
      h("button", { id: "budget-save", onclick: async () => {
        const body = {};
        for (const [k, input] of Object.entries(budgetInputs)) if (input.value !== "") body[k] = Number(input.value);
        try { await api(base + "/budget", { method: "PATCH", body: JSON.stringify(body) }); budgetOut.replaceChildren("saved"); }
        catch (err) { budgetOut.replaceChildren(errorBox(err)); }
      } }, "Save budget"), budgetOut);
    head.replaceChildren(
      h("h1", {}, h("span", { class: "muted" }, ns + " / "), h("span", { id: "experiment-name" }, name), " ", stateTag(r.status)),
      h("section", { class: "card" },
        h("div", { class: "row" },
          h("span", {}, "algorithm: ", h("b", {}, r.algorithm)),
          h("span", {}, "objective: ", h("b", {}, r.objective.type + " " + r.objective.metric)),
          h("span", {}, "trials: ", h("b", { id: "trial-counts" }, r.trials.succeeded + " succeeded, " + (r.trials.running + r.trials.pending) + " running, " + r.trials.failed + " failed, " + r.trials.earlyStopped + " early-stopped, " + r.trials.total + " total")),
          h("button", { class: "danger", id: "delete", onclick: async () => {
            if (!confirm("Delete experiment " + ns + "/" + name + " and all its trials?")) return;
            try { await api(base, { method: "DELETE" }); location.hash = "#/"; } catch (err) { head.append(errorBox(err)); }
          } }, "Delete")),
        h("h2", {}, "Best trial"),
        optimal.bestTrialName ? h("div", { id: "best-trial" },
          h("a", { href: "#/trial/" + enc(ns) + "/" + enc(optimal.bestTrialName) }, optimal.bestTrialName),
          h("table", { class: "kv" }, h("tbody", {},
            (optimal.parameterAssignments || []).map(p => h("tr", {}, h("th", {}, p.name), h("td", {}, p.value))),
            ((optimal.observation || {}).metrics || []).map(m => h("tr", {}, h("th", {}, m.name), h("td", { class: "num" }, m.latest + "  (min " + m.min + ", max " + m.max + ")")))))) : h("p", { class: "muted" }, "no trial has reported the objective yet"),
        h("h2", {}, "Conditions"),
        h("table", { id: "conditions" }, h("thead", {}, h("tr", {}, ["type", "status", "reason", "message", "last transition"].map(t => h("th", {}, t)))),
          h("tbody", {}, (status.conditions || []).map(c => h("tr", {}, h("td", {}, c.type), h("td", {}, c.status), h("td", {}, c.reason || ""), h("td", {}, c.message || ""), h("td", {}, c.lastTransitionTime || ""))))),
        h("h2", {}, "Budget"), budgetRow));
    yamlBox.textContent = detail.yaml;
  }

  async function loadTrials() {
    const q = new URLSearchParams({ limit: String(trialLimit), sort, order });
    if (stateFilter.value) q.set("state", stateFilter.value);
    if (minInput.value !== "" || maxInput.value !== "") {
      q.set("metric", detail.metrics[0] || "");
      if (minInput.value !== "") q.set("min", minInput.value);
      if (maxInput.value !== "") q.set("max", maxInput.value);
    }
    let data;
    try { data = await api(base + "/trials?" + q); } catch (err) { trialsBox.replaceChildren(errorBox(err)); return; }
    const columns = [["name", "name"], ["state", "state"], ...data.parameters.map(p => ["parameter:" + p, p]), ...data.metrics.map(m => ["metric:" + m, m]), ["start", "start"], ["completion", "completion"]];
    const header = h("tr", {}, columns.map(([key, label]) => h("th", {
      class: "sortable" + (sort === key ? " sorted-" + order : ""), dataset: { sort: key },
      onclick: () => { if (sort === key) order = order === "asc" ? "desc" : "asc"; else { sort = key; order = "asc"; } loadTrials(); },
    }, label)));
    const body = data.items.map(t => h("tr", { dataset: { trial: t.name } },
      h("td", {}, h("a", { href: "#/trial/" + enc(ns) + "/" + enc(t.name) }, t.name)),
      h("td", {}, stateTag(t.state)),
      data.parameters.map(p => h("td", { class: "param" }, t.parameters[p] ?? "")),
      data.metrics.map(m => h("td", { class: "num metric" }, fmt(t.metrics[m]))),
      h("td", {}, t.start || ""), h("td", {}, t.completion || "")));
    trialsBox.replaceChildren(
      h("p", { class: "muted", id: "trial-total" }, data.total + " trial(s) match"),
      h("table", { id: "trial-table" }, h("thead", {}, header), h("tbody", {}, body)),
      data.next !== null ? h("button", { onclick: () => { trialLimit += 500; loadTrials(); } }, "show more") : "");
  }

  async function refresh() {
    try { detail = await api(base); } catch (err) { head.replaceChildren(errorBox(err)); return; }
    renderHead();
    const params = detail.parameters;
    axes.replaceChildren("axes: ", ...[...params, ...detail.metrics].map(p => h("label", {},
      h("input", { type: "checkbox", class: "axis", value: p, checked: !hidden.has(p), onchange: ev => { ev.target.checked ? hidden.delete(p) : hidden.add(p); drawParallel(); } }), " " + p)));
    fillSelect(sliceParam, params, 0); fillSelect(contourX, params, 0); fillSelect(contourY, params, 1);
    const multi = ((detail.object.spec || {}).objective || {}).additionalObjectives;
    paretoCard.hidden = !(multi && multi.length);
    // Every figure is asked for at once and drawn as soon as its answer is in: the cheap ones
    // (history first) never wait for the worker-computed ones, nor for one another's drawing.
    const kinds = ["history", "parallel", "slice", "contour", "importance", "curves"].concat(multi && multi.length ? ["pareto"] : []);
    const table = loadTrials();
    await Promise.all(kinds.map(k => show(k, fetchPlot(k, queries[k]()))));
    await table;
  }
  return { refresh, matches: e => e.namespace === ns && (e.experiment === name || e.name === name) };
}

// ------------------------------------------------------------------ trial page

function trialView(ns, name) {
  loadPlotly().catch(() => {});
  const base = "/api/trials/" + enc(ns) + "/" + enc(name);
  const head = h("div");
  const curve = h("div", { class: "plot", id: "plot-trial" });
  const logY = h("input", { type: "checkbox", id: "trial-log" });
  const nas = h("section", { class: "card", id: "nas", hidden: true });
  const rest = h("div");
  const logBox = h("pre", { class: "logs", id: "logs" });
  const podSelect = h("select", { id: "pod" });
  const follow = h("input", { type: "checkbox", id: "follow" });
  let stream = null;
  main.replaceChildren(head,
    h("section", { class: "card" }, h("h2", {}, "Metrics"), h("label", {}, logY, " log scale"), curve),
    nas,
    h("section", { class: "card" }, h("h2", {}, "Logs"), h("div", { class: "row" }, h("label", {}, "pod / container ", podSelect), h("label", {}, follow, " follow")), logBox),
    rest);

  async function drawCurve() {
    try { const m = await api(base + "/metrics" + (logY.checked ? "?log=1" : "")); await plot(curve, m.figure); curve.dataset.points = String(m.points); }
    catch (err) { curve.replaceChildren(errorBox(err)); }
  }
  logY.addEventListener("change", drawCurve);

  function stopStream() { if (stream) { stream.close(); stream = null; } }
  async function loadLogs() {
    stopStream();
    const [pod, container] = (podSelect.value || "").split("\u0000");
    if (!pod) { logBox.textContent = "(no pod: the trial's pods are gone)"; return; }
    const q = "pod=" + enc(pod) + "&container=" + enc(container || "");
    if (follow.checked) {
      logBox.textContent = "";
      stream = new EventSource(base + "/logs?follow=1&" + q);
      stream.addEventListener("log", ev => { logBox.append(JSON.parse(ev.data).line + "\n"); logBox.scrollTop = logBox.scrollHeight; });
      stream.addEventListener("end", stopStream);
      stream.onerror = stopStream;
    } else {
      try { logBox.textContent = (await api(base + "/logs?" + q)).lines.join("\n"); }
      catch (err) { logBox.replaceChildren(errorBox(err)); }
    }
  }
  podSelect.addEventListener("change", loadLogs);
  follow.addEventListener("change", loadLogs);

  async function refresh() {
    let t;
    try { t = await api(base); } catch (err) { head.replaceChildren(errorBox(err)); return; }
    const r = t.row;
    head.replaceChildren(
      h("h1", {}, h("span", { class: "muted" }, ns + " / "), t.experiment ? h("a", { href: "#/experiment/" + enc(ns) + "/" + enc(t.experiment) }, t.experiment) : "", " / ", h("span", { id: "trial-name" }, name), " ", stateTag(r.state)),
      h("section", { class: "card" },
        h("table", { id: "trial-summary", class: "kv" }, h("tbody", {},
          Object.entries(r.parameters).map(([k, v]) => h("tr", {}, h("th", {}, k), h("td", { class: "param" }, v))),
          Object.entries(r.metrics).map(([k, v]) => h("tr", {}, h("th", {}, k), h("td", { class: "num" }, fmt(v))))))));
    rest.replaceChildren(
      h("section", { class: "card" }, h("h2", {}, "Early stopping"),
        t.earlyStoppingRules.length ? h("table", { id: "rules" }, h("thead", {}, h("tr", {}, ["metric", "comparison", "value", "start step"].map(x => h("th", {}, x)))),
          h("tbody", {}, t.earlyStoppingRules.map(rule => h("tr", {}, h("td", {}, rule.name), h("td", {}, rule.comparison), h("td", {}, rule.value), h("td", {}, rule.startStep ?? ""))))) : h("p", { class: "muted" }, "no early-stopping rules"),
        t.earlyStoppedAt ? h("p", { id: "fired" }, "fired at " + t.earlyStoppedAt) : null),
      h("section", { class: "card" }, h("h2", {}, "Conditions"), h("table", {}, h("tbody", {}, t.conditions.map(c => h("tr", {}, h("td", {}, c.type), h("td", {}, c.status), h("td", {}, c.reason || ""), h("td", {}, c.message || ""), h("td", {}, c.lastTransitionTime || "")))))),
      h("section", { class: "card" }, h("h2", {}, "Events"), h("table", { id: "events" }, h("thead", {}, h("tr", {}, ["time", "type", "reason", "message", "count"].map(x => h("th", {}, x)))),
        h("tbody", {}, t.events.map(e => h("tr", {}, h("td", {}, e.time || ""), h("td", {}, e.type), h("td", {}, e.reason), h("td", {}, e.message), h("td", {}, e.count)))))),
      h("section", { class: "card" }, h("h2", {}, "YAML"), h("pre", { id: "trial-yaml" }, t.yaml)));
    const options = t.pods.flatMap(p => p.containers.map(c => h("option", { value: p.name + "\u0000" + c }, p.name + " / " + c + " (" + p.phase + ")")));
    const was = podSelect.value;
    podSelect.replaceChildren(...options);
    if ([...podSelect.options].some(o => o.value === was)) podSelect.value = was;
    if (!stream) loadLogs();
    drawCurve();
    try {
      const arch = await api(base + "/architecture");
      nas.hidden = !arch.svg;
      if (arch.svg) {
        // The SVG is parsed as SVG (never HTML) and only its <svg> element is adopted.
        const doc = new DOMParser().parseFromString(arch.svg, "image/svg+xml");
        const svg = doc.documentElement;
        if (svg && svg.nodeName === "svg") nas.replaceChildren(h("h2", {}, "Architecture"), h("div", { class: "svg-box", id: "nas-svg" }, document.importNode(svg, true)));
      }
    } catch (err) { nas.hidden = true; }
  }
  return { refresh, matches: e => e.namespace === ns && e.name === name, dispose: stopStream };
}

// ------------------------------------------------------------------ compare

function compareView(query) {
  loadPlotly().catch(() => {});
  const picked = new URLSearchParams(query).getAll("e");
  const box = h("div", { class: "plot", id: "plot-compare" });
  const table = h("div", { id: "compare-table" });
  main.replaceChildren(h("h1", {}, "Compare experiments"), h("section", { class: "card" }, table), h("section", { class: "card" }, box));
  async function refresh() {
    try {
      const data = await api("/api/compare?" + picked.map(e => "e=" + enc(e)).join("&"));
      table.replaceChildren(h("table", {}, h("thead", {}, h("tr", {}, ["experiment", "status", "algorithm", "succeeded", "best"].map(t => h("th", {}, t)))),
        h("tbody", {}, data.experiments.map(r => h("tr", {},
          h("td", {}, h("a", { href: "#/experiment/" + enc(r.namespace) + "/" + enc(r.name) }, r.namespace + "/" + r.name)),
          h("td", {}, stateTag(r.status)), h("td", {}, r.algorithm), h("td", {}, r.trials.succeeded), h("td", { class: "num" }, fmt(r.bestValue)))))));
      plot(box, data.figure);
    } catch (err) { table.replaceChildren(errorBox(err)); }
  }
  return { refresh, matches: e => picked.includes(e.namespace + "/" + e.experiment) };
}

// ------------------------------------------------------------------ router

function route() {
  current.dispose && current.dispose();
  const hash = location.hash.replace(/^#/, "") || "/";
  const [path, query] = hash.split("?");
  const parts = path.split("/").filter(Boolean).map(decodeURIComponent);
  if (parts[0] === "experiment" && parts.length === 3) current = experimentView(parts[1], parts[2]);
  else if (parts[0] === "trial" && parts.length === 3) current = trialView(parts[1], parts[2]);
  else if (parts[0] === "compare") current = compareView(query || "");
  else current = listView();
  current.dispose = current.dispose || (() => {});
  current.refresh();
}

nsSelect.addEventListener("change", () => { if (!location.hash || location.hash === "#/") current.refresh(); else location.hash = "#/"; });
window.addEventListener("hashchange", route);
loadNamespaces().catch(() => {});
connect();
route();
