// The reports page: JSON tables, server-drawn SVG charts, CSV downloads, and the what-if replay form.
"use strict";

(() => {
  const { el, pct } = Sup;
  const $ = (id) => document.getElementById(id);
  const KINDS = { agents: "Agents per shift", pauses: "Pauses by reason", callbacks: "Callbacks kept",
    hours: "By local hour", lists: "Lead lists",
    funnel: "Funnel", reasons: "Reasons", attempts: "Attempts per lead", compliance: "Abandon compliance", cost: "Cost" };
  let kind = "agents";

  // the local midnight starting the day `value` (YYYY-MM-DD), or the one `days` later: a calendar day, not
  // 86400 s, so that a day of 23 or 25 hours (DST) ends at the next local midnight
  function dayStart(value, days = 0) {
    const d = new Date(value + "T00:00:00");
    d.setDate(d.getDate() + days);
    return d.getTime() / 1000;
  }

  function query(format) {
    const p = new URLSearchParams({ format, since: dayStart($("from").value), until: dayStart($("to").value, 1),
      cost_per_minute: $("cpm").value || 0, cost_per_agent_hour: $("cph").value || 0 });
    if ($("campaign").value) p.set("campaign", $("campaign").value);
    return `/api/reports/${kind}?${p}`;
  }

  function rowsOf(report) {
    if (Array.isArray(report)) return report;
    if (report.histogram) return report.histogram;
    if (report.hours) return report.hours;
    if (report.by_campaign) return [...report.by_campaign.map((r) => ({ table: "campaign", ...r })),
      ...report.by_agent.map((r) => ({ table: "kept by agent", ...r }))];
    if (report.by_reason) return [...report.by_reason.map((r) => ({ table: "all agents", ...r })),
      ...report.by_agent.map((r) => ({ table: "agent", ...r }))];
    if (report.refusals) return [...report.refusals.map((r) => ({ table: "refusal", ...r })),
      ...report.cancel_reasons.map((r) => ({ table: "cancel reason", ...r }))];
    return [report];
  }

  function cell(k, v) {
    if (v === null || v === undefined) return "–";
    if (typeof v === "number" && /(ratio|rate|share|conversion|of_previous|of_dialed|worst)/.test(k)) return pct(v, 2);
    if (typeof v === "number") return Number.isInteger(v) ? v : v.toFixed(2);
    if (Array.isArray(v)) return v.length;
    return v;
  }

  function table(rows) {
    const t = el("table");
    if (!rows.length) return el("p", "muted", "No data for this window.");
    const keys = Object.keys(rows[0]).filter((k) => typeof rows[0][k] !== "object" || rows[0][k] === null);
    const head = el("tr");
    keys.forEach((k) => head.append(el("th", "", k.replaceAll("_", " "))));
    t.append(head);
    for (const r of rows) {
      const tr = el("tr");
      keys.forEach((k) => tr.append(el("td", "", cell(k, r[k]))));
      t.append(tr);
    }
    return t;
  }

  async function show() {
    $("title").textContent = KINDS[kind];
    $("error").textContent = "";
    document.querySelectorAll("button.tab").forEach((b) => b.classList.toggle("on", b.dataset.kind === kind));
    try {
      const [json, svg] = await Promise.all([Sup.api(query("json")).then((r) => r.json()),
        Sup.api(query("svg")).then((r) => r.text())]);
      const doc = new DOMParser().parseFromString(svg, "image/svg+xml");
      $("chart").replaceChildren(document.importNode(doc.documentElement, true));
      $("table").replaceChildren(table(rowsOf(json.report)));
    } catch (err) {
      if (err.status === 401 || err.status === 403) { Sup.forget(); Sup.askToken($("login"), err.message, init); }
      $("error").textContent = err.message;
    }
  }

  async function downloadCsv(ev) {
    ev.preventDefault();
    const blob = await (await Sup.api(query("csv"))).blob();
    const a = el("a");
    a.href = URL.createObjectURL(blob);
    a.download = `${kind}-${$("campaign").value || "all"}-${$("from").value}.csv`;
    a.click();
    URL.revokeObjectURL(a.href);
  }

  function variantRow(mode, ratio, target) {
    const box = el("div", "controls variant");
    const m = el("select");
    ["progressive", "power", "predictive"].forEach((x) => { const o = el("option", "", x); o.value = x; m.append(o); });
    m.value = mode;
    const r = el("input"); r.type = "number"; r.step = "0.1"; r.min = "1"; r.max = "10"; r.value = ratio;
    const t = el("input"); t.type = "number"; t.step = "0.005"; t.min = "0.005"; t.max = "0.03"; t.value = target;
    for (const [name, input] of [["mode", m], ["ratio", r], ["target abandon", t]]) {
      const l = el("label", "", name);
      l.append(input);
      box.append(l);
    }
    return box;
  }

  async function runWhatIf() {
    const variants = [...document.querySelectorAll(".variant")].map((v) => {
      const [m, r, t] = v.querySelectorAll("select, input");
      return { name: m.value === "power" ? `power ${r.value}` : m.value === "predictive" ? `predictive ${pct(+t.value)}` :
        "progressive", mode: m.value, ratio: +r.value, target_abandon: +t.value };
    });
    $("whatif-state").textContent = "simulating…";
    try {
      const out = await (await Sup.api(`/api/campaigns/${encodeURIComponent($("campaign").value)}/whatif`, {
        method: "POST", headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ since: dayStart($("from").value), until: dayStart($("to").value, 1), variants, seeds: 3 }),
      })).json();
      const a = out.actual;
      const rows = [{ setting: "recorded day", talk_share: a.talk_share, contacts: a.contacts, abandon_rate: a.abandon_rate },
        ...out.variants.map((v) => ({ setting: v.name, talk_share: v.talk_share, contacts: v.contacts,
          abandon_rate: v.abandon_rate }))];
      $("whatif").replaceChildren(table(rows), el("p", "muted", (out.notes || []).join("; ")));
      $("whatif-state").textContent = `${out.seeds} seeds per setting`;
    } catch (err) {
      $("whatif-state").textContent = err.message;
    }
  }

  async function init() {
    if (!Sup.token()) { Sup.askToken($("login"), "", init); return; }
    try {
      // "today" is the daemon's day (its clock may be a simulation's), not the browser's
      const now = new Date((await (await Sup.api("/api/status")).json()).now * 1000);
      const today = `${now.getFullYear()}-${String(now.getMonth() + 1).padStart(2, "0")}-` +
        String(now.getDate()).padStart(2, "0");
      $("from").value = $("from").value || today;
      $("to").value = $("to").value || today;
      const camps = await (await Sup.api("/api/campaigns")).json();
      $("campaign").replaceChildren(...camps.map((c) => { const o = el("option", "", c.name || c.id); o.value = c.id; return o; }));
    } catch (err) {
      if (err.status === 401 || err.status === 403) { Sup.forget(); Sup.askToken($("login"), err.message, init); return; }
    }
    $("tabs").replaceChildren(...Object.entries(KINDS).map(([k, name]) => {
      const b = el("button", "tab", name);
      b.type = "button"; b.dataset.kind = k;
      b.onclick = () => { kind = k; show(); };
      return b;
    }));
    $("variants").replaceChildren(variantRow("power", 1.8, 0.025), variantRow("predictive", 2, 0.02));
    ["campaign", "from", "to", "cpm", "cph"].forEach((id) => { $(id).onchange = show; });
    $("csv").onclick = downloadCsv;
    $("run-whatif").onclick = runWhatIf;
    show();
  }

  init();
})();
