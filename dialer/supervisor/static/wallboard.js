// The wallboard: one Server-Sent Events stream (read with fetch so the token travels in a header), a full
// snapshot per event. Agent timers count on locally between snapshots: elapsed = (snapshot now - since)
// + wall seconds since it arrived x clock scale. No polling of the API.
"use strict";

(() => {
  const { el, pct, duration } = Sup;
  const $ = (id) => document.getElementById(id);
  // previewing: a lead (or the agent's own callback) on screen; dialing: an agent-started call ringing
  const ORDER = ["talking", "reserved", "dialing", "previewing", "wrapup", "ready", "paused"];
  const LABEL = { talking: "talking", reserved: "connecting", dialing: "dialing", previewing: "previewing",
                  wrapup: "wrap-up", ready: "ready", paused: "paused" };
  let snap = null, receivedAt = 0, backoff = 1000, controller = null;

  function status(state, text) {
    const c = $("conn");
    c.dataset.state = state;
    c.textContent = text;
  }

  function nowVirtual() {
    return snap ? snap.now + (Date.now() / 1000 - receivedAt) * (snap.scale || 1) : Date.now() / 1000;
  }

  function level(state, seconds) {
    const t = snap && snap.thresholds[state];
    if (!t) return "ok";
    return seconds >= t[1] ? "alert" : seconds >= t[0] ? "warn" : "ok";
  }

  function tile(label, value, cls) {
    const d = el("div", "tile " + (cls || ""));
    d.append(el("div", "value", value), el("div", "label", label));
    return d;
  }

  function abandonRow(ab) {
    const box = el("div", "abandon");
    const cap = ab.cap || 0.03;
    for (const [key, name] of [["15m", "last 15 min"], ["today", "today"], ["24h", "24 hours"], ["30d", "30 days"]]) {
      const v = ab[key];
      const ratio = v === null || v === undefined ? 0 : v / cap;
      const cls = v === null || v === undefined ? "none" : ratio >= 1 ? "over" : ratio >= 0.8 ? "near" : "ok";
      const g = el("div", "gauge " + cls + (ab.legal_window === key ? " legal" : ""));
      g.title = ab.legal_window === key ? "the window the law assesses for this campaign" : "";
      const bar = el("div", "bar");
      const fill = el("div", "fill");
      fill.style.width = Math.min(100, 100 * ratio).toFixed(1) + "%";
      bar.append(fill);
      g.append(el("div", "gname", name + (ab.legal_window === key ? " (legal)" : "")), bar,
        el("div", "gval", `${pct(v, 2)} of ${pct(cap, 0)}`));
      box.append(g);
    }
    return box;
  }

  function renderCampaign(c) {
    const card = el("article", "campaign status-" + c.status);
    const head = el("div", "chead");
    head.append(el("h2", "", c.name || c.id), el("span", "badge " + c.status, c.status),
      el("span", "mode", `${c.pacing.mode}` + (c.pacing.mode === "power" ? ` ${c.pacing.ratio.toFixed(2)}:1` : "") +
        (c.pacing.mode === "predictive" ? ` target ${pct(c.pacing.target_abandon)}` : "")));
    card.append(head);
    if (c.hopper.blocked) {
      card.append(el("div", "blocked", "Not dialing: " + c.hopper.blocked));
    }
    card.append(el("div", "why", c.hopper.why));
    if (c.hopper.state && c.hopper.state !== "ok") card.append(el("div", "why", "Hopper: " + c.hopper.reason));
    else if (c.hopper.callbacks_kept_due) {
      card.append(el("div", "why", `${c.hopper.callbacks_kept_due} due callback(s) waiting for the agent who kept them`));
    }
    if (c.hopper.lists_paused && c.hopper.lists_paused.length) {
      card.append(el("div", "why", "Lists paused: " + c.hopper.lists_paused.join(", ")));
    }
    if (c.hopper.lists && c.hopper.lists.length) {
      // how far each list is worked: a list running out shows before the hopper does
      const left = c.hopper.lists.map((x) => `${x.name} ${x.remaining}/${x.leads}${x.paused ? " (paused)" : ""}`);
      card.append(el("div", "lists", "Leads left: " + left.join(" · ")));
    }
    const tiles = el("div", "tiles");
    const ready = c.agents.ready || 0, working = ORDER.reduce((n, s) => n + (s === "paused" ? 0 : c.agents[s] || 0), 0);
    tiles.append(
      tile("dial level", c.dial_level.toFixed(2)),
      tile("ringing", c.calls.ringing + c.calls.screening),
      tile("waiting", c.calls.waiting, c.calls.waiting ? "hot" : ""),
      tile("talking", c.calls.connected),
      tile("hopper", c.hopper.depth === null ? "–" : c.hopper.depth, c.hopper.depth === 0 ? "hot" : ""),
      tile("agents ready", `${ready}/${working}`),
      tile("contacts / h", c.last_hour.contacts),
      tile("sales / h", c.last_hour.sales),
    );
    card.append(tiles);
    card.append(el("h3", "", "Abandoned calls against the cap"), abandonRow(c.abandon));
    if (c.ledger) {
      const budget = c.ledger.budget === null ? "none" : c.ledger.budget.toFixed(1);
      card.append(el("div", "why ledger", `Pacing ledger: ${pct(c.ledger.rate, 2)} in the legal window ` +
        `(${c.ledger.abandons} of ${c.ledger.lives} live answers), room for ${budget} more abandons` +
        (c.ledger.blocked ? ` · ${c.ledger.blocked}` : "")));
    }
    const t = c.today;
    card.append(el("div", "today",
      `Today: ${t.dialed} dialed · ${t.live} answered · ${t.contacts} contacts · ${t.sales} sales · ` +
      `${t.abandoned} abandoned`));
    return card;
  }

  function today(a) {  // the agent's day so far, short enough for a tile; the words in full on hover
    const c = a.contacts_today || 0, s = a.sales_today || 0;
    const line = el("div", "atoday", `${c} calls · ${s} sales`);
    line.title = `${c} contacts (calls connected to this agent) and ${s} sales since midnight`;
    return line;
  }

  function renderAgents() {
    const box = $("agents");
    box.replaceChildren();
    const now = nowVirtual();
    const counts = {};
    const agents = [...snap.agents].sort((a, b) =>
      ORDER.indexOf(a.state) - ORDER.indexOf(b.state) || a.since - b.since);
    const labels = snap.pause_labels || {};  // the server's words for each pause reason
    for (const a of agents) {
      counts[a.state] = (counts[a.state] || 0) + 1;
      const secs = now - a.since;
      const card = el("div", `agent ${a.state} ${level(a.state, secs)}`);
      card.dataset.agent = a.id;
      card.append(el("div", "aname", a.name || a.id), el("div", "astate", LABEL[a.state] || a.state),
        el("div", "atimer", duration(secs)),
        el("div", "anote", labels[a.pause_reason] || a.pause_reason || a.pending_pause && "pause after call"
          || a.campaign || ""),
        today(a));
      box.append(card);
    }
    $("agent-summary").textContent = ORDER.filter((s) => counts[s]).map((s) => `${counts[s]} ${LABEL[s]}`).join(" · ");
  }

  function render() {
    const box = $("campaigns");
    box.replaceChildren(...snap.campaigns.map(renderCampaign));
    renderAgents();
  }

  function legend() {
    const l = $("legend");
    l.replaceChildren(el("span", "key ok", "in time"), el("span", "key warn", "long"), el("span", "key alert", "too long"));
  }

  function tick() {
    $("clock").textContent = new Date(nowVirtual() * 1000).toLocaleTimeString();
    if (snap) {
      const now = nowVirtual();
      for (const card of document.querySelectorAll(".agent")) {
        const a = snap.agents.find((x) => x.id === card.dataset.agent);
        if (!a) continue;
        const secs = now - a.since;
        card.querySelector(".atimer").textContent = duration(secs);
        card.classList.remove("ok", "warn", "alert");
        card.classList.add(level(a.state, secs));
      }
    }
  }

  function handle(block) {
    let event = "message";
    const data = [];
    for (const line of block.split("\n")) {
      if (line.startsWith("event:")) event = line.slice(6).trim();
      else if (line.startsWith("data:")) data.push(line.slice(5).trim());
    }
    if (event === "snapshot" && data.length) {
      snap = JSON.parse(data.join("\n"));
      receivedAt = Date.now() / 1000;
      render();
      status("live", "live");
      document.body.dataset.ready = "1";
    } else if (event === "problem" && data.length) {
      status("problem", JSON.parse(data.join("\n")).error);
    }
  }

  async function connect() {
    if (!Sup.token()) {
      Sup.askToken($("login"), "", connect);
      status("signed-out", "signed out");
      return;
    }
    controller = new AbortController();
    status("connecting", "connecting…");
    try {
      const res = await Sup.api("/api/wallboard/stream", { signal: controller.signal });
      backoff = 1000;
      const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
      let buf = "";
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buf += value;
        let i;
        while ((i = buf.indexOf("\n\n")) >= 0) {
          handle(buf.slice(0, i));
          buf = buf.slice(i + 2);
        }
      }
      status("connecting", "reconnecting…");
    } catch (err) {
      if (err.status === 401 || err.status === 403) {
        Sup.forget();
        Sup.askToken($("login"), err.message, connect);
        status("signed-out", "signed out");
        return;
      }
      status("offline", "offline, retrying");
    }
    setTimeout(connect, backoff);
    backoff = Math.min(backoff * 2, 30000);
  }

  legend();
  setInterval(tick, 1000);
  connect();
})();
