// Agent desktop. Plain JavaScript, no build step, nothing loaded from elsewhere.
//
// Delivery: the page loads a snapshot (/api/desk/snapshot: state, current call, feed seq), then follows
// the agent's feed over Server-Sent Events from that seq. Every feed message has the next seq: a seq at
// or below the last one is a duplicate and is dropped; a jump means something was missed, and the page
// reloads the snapshot and reconnects after its seq. EventSource reconnects by itself after a network
// drop, sending Last-Event-ID, so the daemon replays what the page missed. Text from the server is only
// ever inserted as text (textContent), never as HTML.
"use strict";

const $ = (id) => document.getElementById(id);

const S = {
  snap: null, lastSeq: 0, es: null, retryTimer: null,
  agent: null, state: "logged_out", since: null, reason: null, pendingPause: null, pendingLogout: false,
  serverNow: 0, localAt: 0, scale: 1, wrapupDeadline: null, features: {}, dispositions: null,
  pauseReasons: [], call: null, callLive: false, hungUp: false, path: [], fields: {}, selected: null,
  preview: null, busy: false, transferFailed: null, systemReasons: [],
  late: null,  // {call_id, until}: the wrap-up ran out; the agent may still dispose that call until then
};

class ApiError extends Error {
  constructor(status, message, data) { super(message); this.status = status; this.data = data || {}; }
}

function detailOf(data) {
  const d = data && data.detail;
  if (Array.isArray(d)) return d.map((e) => `${(e.loc || []).slice(1).join(".")}: ${e.msg}`).join("; ");
  return d ? String(d) : "request failed";
}

async function api(path, body) {
  const opts = { credentials: "same-origin", headers: {} };
  if (body !== undefined) {
    opts.method = "POST";
    opts.headers["Content-Type"] = "application/json";
    opts.body = JSON.stringify(body);
  }
  const r = await fetch(path, opts);
  const text = await r.text();
  let data = {};
  try { data = text ? JSON.parse(text) : {}; } catch (_e) { data = { detail: text }; }
  if (r.status === 401 && path !== "/api/desk/login") {
    stopStream();
    // Only an agent who was logged in on this page has a session that "ended".
    showLogin(S.agent ? "Your session has ended; log in again." : "");
    S.agent = null;
  }
  if (!r.ok) throw new ApiError(r.status, detailOf(data), data);
  return data;
}

function newId() {
  // crypto.randomUUID exists only on https and localhost pages
  return crypto.randomUUID ? crypto.randomUUID() : `${Date.now().toString(36)}-${Math.random().toString(36).slice(2)}`;
}

// A command carries an id of its own. When the network fails before its answer comes (the daemon may
// have applied it), it is sent again with the same id, which the daemon applies once.
async function command(body) {
  const sent = { ...body, id: newId() };
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await api("/api/desk/command", sent);
    } catch (e) {
      if (e instanceof ApiError || attempt >= 3) throw e;
      await new Promise((resolve) => { setTimeout(resolve, 1000 * attempt); });
    }
  }
}

// ---------------------------------------------------------------- time
function serverNow() { return S.serverNow + ((Date.now() - S.localAt) / 1000) * S.scale; }
function mmss(seconds) {
  const s = Math.max(0, Math.floor(seconds));
  const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), r = s % 60;
  const two = (n) => String(n).padStart(2, "0");
  return h ? `${h}:${two(m)}:${two(r)}` : `${two(m)}:${two(r)}`;
}
function localClock(offsetS) {
  const d = new Date(Date.now() + offsetS * 1000);
  return { text: `${String(d.getUTCHours()).padStart(2, "0")}:${String(d.getUTCMinutes()).padStart(2, "0")}`,
           hour: d.getUTCHours() };
}

// ---------------------------------------------------------------- views
function showLogin(message) {
  $("desk-view").hidden = true;
  $("login-view").hidden = false;
  $("login-error").textContent = message || "";
  $("login-agent").focus();
}
function showDesk() {
  $("login-view").hidden = true;
  $("desk-view").hidden = false;
}
function banner(id, text) {
  const el = $(id);
  el.textContent = text || "";
  el.hidden = !text;
}
function showError(text) {
  banner("banner-error", text);
  clearTimeout(showError.timer);
  showError.timer = setTimeout(() => banner("banner-error", ""), 8000);
}
function notice(text) {
  banner("banner-notice", text);
  clearTimeout(notice.timer);
  notice.timer = setTimeout(() => banner("banner-notice", ""), 6000);
}
function setConn(status) {
  $("conn").dataset.status = status;
  $("conn-label").textContent = status;
}

// ---------------------------------------------------------------- snapshot and stream
function applySnapshot(snap) {
  S.snap = snap;
  S.lastSeq = snap.seq;
  S.serverNow = snap.server_now;
  S.localAt = Date.now();
  S.scale = snap.clock_scale || 1;
  S.agent = snap.agent;
  S.features = snap.features || {};
  S.dispositions = snap.dispositions;
  S.pauseReasons = snap.pause_reasons || [];
  S.systemReasons = snap.system_pause_reasons || [];
  setAgentState(snap.agent.state, snap.agent.since, snap.agent.reason, snap.agent.wrapup_deadline);
  S.pendingPause = snap.agent.pending_pause;
  S.pendingLogout = snap.agent.pending_logout;
  $("agent-name").textContent = snap.agent.name;
  $("agent-ext").textContent = snap.agent.extension;
  $("campaign-name").textContent = snap.agent.campaign_id || "";
  $("calls-taken").textContent = String(snap.agent.calls_taken || 0);
  fillPauseReasons();
  S.preview = snap.agent.state === "previewing" ? snap.preview || null : null;
  if (snap.agent.call_id && snap.call && snap.call.call_id === snap.agent.call_id) {
    setCall(snap.call, true);
    S.callLive = snap.call_live;
    S.hungUp = !snap.call_live && snap.agent.state === "wrapup";
  } else if (snap.late && snap.call && snap.call.call_id === snap.late.call_id) {
    setCall(snap.call, true);
    S.late = snap.late;
  } else {
    clearCall();
  }
  if (snap.agent.state === "logged_out") { stopStream(); showLogin(""); return; }
  showDesk();
  render();
  loadCallbacks();
}

// The callbacks this agent kept for themselves ("me"): they come back to this agent as a preview when due.
async function loadCallbacks() {
  $("callbacks-box").hidden = !S.features.callbacks;
  if (!S.features.callbacks) return;
  let got;
  try { got = await api("/api/desk/callbacks"); } catch (_e) { return; }  // the list is a convenience
  const now = serverNow();
  const items = got.callbacks || [];
  $("callbacks-count").textContent = items.length ? `(${items.length})` : "";
  $("callbacks-empty").hidden = items.length > 0;
  const movable = S.features.callback_moves;
  $("callbacks-list").replaceChildren(...items.map((c) => {
    const f = c.lead || {};
    const name = [f.first_name, f.last_name].filter(Boolean).join(" ") || c.lead_id;
    const when = new Date(c.at * 1000).toLocaleString([], { dateStyle: "short", timeStyle: "short" });
    const li = el("li", { class: c.at <= now ? "due" : "" });
    li.append(el("span", {}, `${when}: ${name}, ${c.number}${c.at <= now ? " (due)" : ""}`));
    if (movable) {
      const change = el("button", { type: "button", class: "small", "data-lead": c.lead_id }, "Change");
      change.addEventListener("click", () => editCallback(li, c));
      const give = el("button", { type: "button", class: "small", "data-lead": c.lead_id }, "Give to anyone");
      give.addEventListener("click", () => moveCallback({ lead_id: c.lead_id, owner: "anyone" }));
      li.append(" ", change, " ", give);
    }
    return li;
  }));
}

// A form in place of the list item: a new time, and whether the agent keeps the callback.
function editCallback(li, c) {
  const at = el("input", { type: "datetime-local", value: localInput(new Date(c.at * 1000)), "data-lead": c.lead_id });
  const keep = el("select", {});
  keep.append(el("option", { value: "mine" }, "for me"), el("option", { value: "anyone" }, "for anyone"));
  const save = el("button", { type: "button", class: "small primary" }, "Save");
  const cancel = el("button", { type: "button", class: "small" }, "Cancel");
  save.addEventListener("click", () => {
    if (!at.value) { showError("Choose the callback date and time."); return; }
    moveCallback({ lead_id: c.lead_id, at: new Date(at.value).toISOString(), owner: keep.value });
  });
  cancel.addEventListener("click", () => loadCallbacks());
  li.replaceChildren(at, " ", keep, " ", save, " ", cancel);
  at.focus();
}

async function moveCallback(body) {
  let done = false;
  try { await api("/api/desk/callbacks/move", body); done = true; } catch (e) { showError(e.message); }
  await loadCallbacks();  // the list as it is now, then the word that it changed
  if (done) notice(body.owner === "anyone" ? "Callback handed to any agent." : "Callback moved.");
}

function localInput(d) {  // the value of a datetime-local input: local time, to the minute
  const pad = (n) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

// The customer's wall clock in an IANA zone, for the callback time they ask for ("tomorrow at 10:30" is
// their 10:30). Intl formats an instant in a zone; the reverse is found from the zone's offset at it.
function zoneParts(ms, zone) {
  const f = new Intl.DateTimeFormat("en-US", { timeZone: zone, hourCycle: "h23", year: "numeric", month: "2-digit",
                                              day: "2-digit", hour: "2-digit", minute: "2-digit", second: "2-digit" });
  return Object.fromEntries(f.formatToParts(new Date(ms)).map((p) => [p.type, p.value]));
}

function zoneInput(ms, zone) {  // a datetime-local value: the wall time in `zone` at instant `ms`
  const p = zoneParts(ms, zone);
  return `${p.year}-${p.month}-${p.day}T${p.hour}:${p.minute}`;
}

function zoneInstant(value, zone) {  // the instant (ms) a datetime-local value means as a wall time in `zone`
  const [day, time] = value.split("T");
  const [y, mo, d] = day.split("-").map(Number);
  const [h, mi] = time.split(":").map(Number);
  const wall = Date.UTC(y, mo - 1, d, h, mi);
  const offset = (ms) => { const p = zoneParts(ms, zone);
    return Date.UTC(+p.year, +p.month - 1, +p.day, +p.hour, +p.minute, +p.second) - Math.floor(ms / 1000) * 1000; };
  const first = wall - offset(wall);
  return wall - offset(first);  // again at the first guess: the offset may differ across a DST change
}

function customerZone() { return S.call && S.call.local_time ? S.call.local_time.zone : null; }

function stopStream() {
  if (S.es) { S.es.close(); S.es = null; }
  clearTimeout(S.retryTimer);
}

function connect() {
  stopStream();
  setConn("connecting");
  const es = new EventSource(`/api/desk/events?after=${S.lastSeq}`);
  S.es = es;
  es.onopen = () => setConn("live");
  es.onmessage = (e) => onFeed(JSON.parse(e.data));
  es.addEventListener("ping", () => { api("/api/desk/heartbeat", {}).catch(() => {}); });
  es.addEventListener("gap", () => { stopStream(); resync(); });
  es.addEventListener("expired", () => { stopStream(); showLogin("Your session has ended; log in again."); });
  es.onerror = () => {
    if (es !== S.es) return;
    if (es.readyState === EventSource.CLOSED) { setConn("offline"); retryLater(); }
    else setConn("reconnecting");
  };
}

async function resync() {
  setConn("resyncing");
  try {
    applySnapshot(await api("/api/desk/snapshot"));
    if (S.state !== "logged_out") connect();
  } catch (e) {
    if (e.status !== 401) { setConn("offline"); retryLater(); }
  }
}

function retryLater() {
  clearTimeout(S.retryTimer);
  S.retryTimer = setTimeout(resync, 2000);
}

function onFeed(msg) {
  if (msg.seq <= S.lastSeq) return;  // a duplicate (replayed after a reconnect)
  if (msg.seq > S.lastSeq + 1) { stopStream(); resync(); return; }  // a gap: rebuild from a snapshot
  S.lastSeq = msg.seq;
  switch (msg.kind) {
    case "state":
      setAgentState(msg.state, msg.since, msg.reason, msg.wrapup_deadline);
      if (msg.state === "ready" || msg.state === "paused") { S.pendingPause = null; if (S.call && !lateOpen()) clearCall(); }
      // a lead is on screen only while previewing or dialing it: a pause, or a Dial the contact rules refused,
      // leaves the agent READY or PAUSED with the lead given back, and its card must go
      if (msg.state !== "previewing" && msg.state !== "dialing") S.preview = null;
      if (msg.state === "logged_out") { stopStream(); clearCall(); showLogin("You are logged out."); return; }
      break;
    case "screenpop": {
      const { seq: _s, kind: _k, ...pop } = msg;
      if (lateOpen() && S.call.call_id !== pop.call_id) {
        notice("A new call came in: the last call stays without your disposition.");
        clearCall();
      }
      setCall(pop, false);
      S.callLive = true;
      banner("banner-notice", "");
      // The daemon sends no state message for the reservation; the pop is it.
      if (S.state === "ready") setAgentState("reserved", serverNow(), null);
      $("lead-panel").dataset.shownAt = String(Date.now());
      break;
    }
    case "connected":
      if (S.call && S.call.call_id === msg.call_id) S.callLive = true;
      if (S.agent) { S.agent.calls_taken = (S.agent.calls_taken || 0) + 1; $("calls-taken").textContent = String(S.agent.calls_taken); }
      if (["reserved", "ready", "dialing"].includes(S.state)) setAgentState("talking", serverNow(), null);
      break;
    case "customer_hung_up":
      if (S.call && S.call.call_id === msg.call_id) { S.hungUp = true; S.callLive = false; }
      break;
    case "call_cancelled":
      if (S.call && S.call.call_id === msg.call_id) clearCall();
      notice("The customer was lost before the call reached you.");
      break;
    case "pause_pending": S.pendingPause = msg.reason; break;
    case "logout_pending": S.pendingLogout = true; break;
    case "wrapup_timeout":
      if (msg.late_until && S.call && S.call.call_id === msg.call_id) {
        S.late = { call_id: msg.call_id, until: msg.late_until };
        notice(msg.why === "shutdown"
          ? "The dialer is restarting: the call was closed without your disposition. Save it below once the dialer is back."
          : "Wrap-up time ran out: the call was closed without your disposition. You can still save it below.");
        break;
      }
      notice(msg.why === "shutdown"
        ? "The dialer is stopping: the call was closed without your disposition."
        : "Wrap-up time ran out: the call was closed without your disposition.");
      clearCall();
      break;
    case "presence":
      if (!msg.online) banner("banner-offline", msg.paused
        ? "Your desktop lost contact with the dialer, so you were paused. Press Ready when you are back."
        : "Your desktop lost contact with the dialer.");
      break;
    case "preview": { const { seq: _s, kind: _k, ...p } = msg; S.preview = p; if (p.callback) loadCallbacks(); break; }
    case "preview_withdrawn":  // the campaign was paused or stopped: the lead went back undialed
      if (S.preview && S.preview.lead_id === msg.lead_id) {
        if (S.preview.callback) loadCallbacks();  // the agent's own callback waits in their list again
        S.preview = null;
      }
      notice(`The lead on screen was withdrawn, not dialed: ${msg.reason}.`);
      break;
    case "callbacks_due":  // the daemon's word to a paused agent: callbacks they kept are due
      notice(`${msg.count === 1 ? "A callback you kept is" : `${msg.count} callbacks you kept are`} due: go Ready to call back.`);
      loadCallbacks();
      break;
    case "dial_failed":
      if (S.call && S.call.call_id === msg.call_id) clearCall();
      notice(`The call did not connect (${String(msg.outcome || "failed").replace(/_/g, " ")}).`);
      break;
    case "transferred":
      if (S.call && S.call.call_id === msg.call_id) S.callLive = false;
      notice(`Call transferred to ${msg.target}. Finish the wrap-up.`);
      break;
    case "transfer_failed": {
      S.transferFailed = msg.call_id;
      const next = msg.next === "you" ? "The customer is coming back to you."
        : msg.next === "supervisor" ? "The customer goes to the supervisor."
        : "Nobody could take the customer: the call was ended. Finish the wrap-up.";
      notice(`Transfer failed: ${msg.reason} (${msg.target}). ${next}`);
      break;
    }
    case "error": showError(msg.error); break;
    default: break;
  }
  render();
}

// ---------------------------------------------------------------- agent state
const STATE_LABEL = { logged_out: "Logged out", paused: "Paused", ready: "Ready", reserved: "Connecting",
                      previewing: "Preview", dialing: "Dialing", talking: "Talking", wrapup: "Wrap-up" };
const BUSY = ["reserved", "dialing", "talking", "wrapup"];

// `wrapupDeadline`: when the dialer ends the wrap-up (its clock), from the state message or the snapshot. The
// page counts down to it, not to the campaign's timeout as last read: a supervisor may have changed that since.
function setAgentState(state, since, reason, wrapupDeadline) {
  S.state = state;
  S.since = since;
  S.reason = reason;
  S.wrapupDeadline = state === "wrapup" && typeof wrapupDeadline === "number" ? wrapupDeadline : null;
  if (S.agent) S.agent.state = state;
}

function fillPauseReasons() {
  const sel = $("pause-reason");
  const keep = sel.value;
  sel.replaceChildren(new Option("Pause reason…", ""));
  for (const r of S.pauseReasons) sel.add(new Option(r.label, r.code));
  sel.value = keep;
}

function reasonLabel(code) {
  const r = [...S.pauseReasons, ...S.systemReasons].find((x) => x.code === code);
  return r ? r.label : code || "";
}

// ---------------------------------------------------------------- the call
function draftKey() { return "desk-draft"; }

function saveDraft() {
  if (!S.call) return;
  const draft = { call_id: S.call.call_id, path: S.path, fields: S.fields, selected: S.selected,
                  notes: $("notes").value };
  try { sessionStorage.setItem(draftKey(), JSON.stringify(draft)); } catch (_e) { /* private mode */ }
}

function loadDraft(callId) {
  try {
    const d = JSON.parse(sessionStorage.getItem(draftKey()) || "null");
    return d && d.call_id === callId ? d : null;
  } catch (_e) { return null; }
}

function setCall(pop, restore) {
  const same = S.call && S.call.call_id === pop.call_id;
  S.call = pop;
  S.preview = null;
  if (pop.dispositions) S.dispositions = pop.dispositions;
  if (same) return;
  S.hungUp = false;
  const script = pop.script && typeof pop.script === "object" ? pop.script : null;
  S.path = script ? [script.start] : [];
  S.fields = {};
  S.selected = null;
  $("notes").value = "";
  $("dispo-reason-text").value = "";
  const d = restore ? loadDraft(pop.call_id) : null;
  if (d) {
    S.path = d.path && d.path.length ? d.path : S.path;
    S.fields = d.fields || {};
    S.selected = d.selected || null;
    $("notes").value = d.notes || "";
  }
  defaultCallback();
}

function lateOpen() { return !!(S.late && S.call && S.call.call_id === S.late.call_id); }

function clearCall() {
  S.call = null;
  S.late = null;
  S.hungUp = false;
  S.callLive = false;
  S.path = [];
  S.fields = {};
  S.selected = null;
  try { sessionStorage.removeItem(draftKey()); } catch (_e) { /* ignore */ }
}

function steps() { return (S.call && S.call.script && S.call.script.steps) || {}; }
function currentStepId() { return S.path[S.path.length - 1]; }

function goStep(id) {
  const st = steps()[id];
  if (!st) return;
  S.path.push(id);
  if (st.disposition) selectCode(st.disposition, false);
  saveDraft();
  render();
}

function backStep() {
  if (S.path.length > 1) S.path.pop();
  saveDraft();
  render();
}

function walkedReasons() {
  const out = [];
  for (const id of S.path) for (const r of (steps()[id] || {}).reasons || []) out.push(r);
  return out.length ? out : (S.dispositions ? S.dispositions.reasons : []);
}

function collectedFieldNames() {
  const names = [];
  for (const id of S.path) for (const c of (steps()[id] || {}).collect || []) names.push(c.name);
  return names;
}

// ---------------------------------------------------------------- dispositions
function codeSpec(code) { return S.dispositions ? S.dispositions.codes.find((c) => c.code === code) : null; }

function selectCode(code, focus) {
  if (!codeSpec(code)) return;
  S.selected = code;
  saveDraft();
  render();
  if (focus && codeSpec(code).kind === "callback") $("callback-at").focus();
}

function defaultCallback() {
  const zone = customerZone();
  const ms = Date.now() + 3600 * 1000;
  if (zone) {  // the next whole hour of the customer's clock
    const p = zoneParts(ms, zone);
    $("callback-at").value = `${p.year}-${p.month}-${p.day}T${p.hour}:00`;
    return;
  }
  const d = new Date(ms);
  d.setMinutes(0, 0, 0);
  $("callback-at").value = localInput(d);
}

async function saveDisposition() {
  if (!S.call || !S.selected || S.busy) return;
  const spec = codeSpec(S.selected);
  const fields = { notes: $("notes").value.trim() };
  for (const name of collectedFieldNames()) if (S.fields[name]) fields[name] = S.fields[name];
  if (spec.kind === "refused") {
    fields.reason = $("dispo-reason").value;
    if (fields.reason === "other") fields.reason_text = $("dispo-reason-text").value.trim();
  }
  if (spec.kind === "callback") {
    const v = $("callback-at").value;
    if (!v) { showError("Choose the callback date and time."); return; }
    const zone = customerZone();  // the time the customer asked for, on their clock when we know their zone
    fields.callback_at = new Date(zone ? zoneInstant(v, zone) : new Date(v).getTime()).toISOString();
    fields.callback_owner = document.querySelector("input[name=callback-owner]:checked").value;
  }
  for (const k of Object.keys(fields)) if (!fields[k]) delete fields[k];
  S.busy = true;
  try {
    await command({ type: "disposition", call_id: S.call.call_id, code: S.selected, fields,
                     script_path: S.path });
    notice(`Saved: ${spec.label}`);
    clearCall();
    loadCallbacks();  // a callback for "me" joins the list
  } catch (e) {
    showError(e.message);
  } finally {
    S.busy = false;
    render();
  }
}

// ---------------------------------------------------------------- rendering
function el(tag, attrs, text) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === "class") e.className = v; else if (k.startsWith("data-")) e.setAttribute(k, v); else e[k] = v;
  }
  if (text !== undefined && text !== null) e.textContent = String(text);
  return e;
}

const LEAD_FIRST = ["tariff", "former_tariff", "arpu", "cancel_reason", "cancelled_at", "device", "order_item"];
const LEAD_HIDDEN = new Set(["first_name", "last_name", "name", "timezone"]);
const FIELD_LABEL = { arpu: "ARPU", subscriber_id: "Subscriber ID", tenure_months: "Tenure (months)",
                      months_since_cancel: "Months since cancel", order_id: "Order ID" };
function fieldLabel(k) { return FIELD_LABEL[k] || k.replace(/_/g, " "); }
function codeLabel(code) { const c = codeSpec(code); return c ? c.label : code; }
const KIND_LABEL = { opening: "Opening", offer: "Offer", objection: "Objection", agreement: "Agreement",
                     refusal: "Refusal", closing: "Closing", info: "Note" };

function render() {
  const busy = BUSY.includes(S.state);
  $("state-badge").dataset.state = S.state;
  $("state-label").textContent = STATE_LABEL[S.state] || S.state;
  $("state-reason").textContent = S.state === "paused" && S.reason ? `— ${reasonLabel(S.reason)}` : "";
  $("btn-ready").disabled = S.state !== "paused";
  $("btn-pause").textContent = busy ? "Pause after this call" : "Pause";
  $("btn-pause").disabled = S.state === "logged_out" || (busy && !!S.pendingPause);
  banner("banner-pending", S.pendingLogout ? "You will be logged out after this call."
    : S.pendingPause ? `Pause after this call: ${reasonLabel(S.pendingPause)}` : "");
  banner("banner-hungup", S.call && S.hungUp ? "Customer hung up — finish the wrap-up and choose a disposition." : "");
  const hasCall = !!S.call;
  $("idle-panel").hidden = hasCall;
  $("lead-panel").hidden = !hasCall;
  $("script-panel").hidden = !hasCall;
  $("dispo-panel").hidden = !hasCall;
  if (!hasCall) renderIdle(); else { renderLead(); renderScript(); renderDispo(); }
  tick();
}

function renderIdle() {
  $("idle-message").textContent = S.state === "ready" ? "Waiting for the next call…"
    : S.state === "previewing" ? "Read the lead, then dial it or skip it."
    : S.state === "dialing" ? "Dialing: your phone rings first, then the customer's."
    : S.state === "paused" ? "You are paused. Press Ready to take calls." : "";
  const p = S.preview;
  $("preview-card").hidden = !p;
  if (p) {
    const f = p.lead || {};
    $("preview-name").textContent = [f.first_name, f.last_name].filter(Boolean).join(" ") || p.lead_id;
    const cb = p.callback;  // a scheduled callback: the one this agent kept for themselves, or anyone's
    $("preview-callback").hidden = !cb;
    if (cb) {
      const when = new Date(cb.at * 1000).toLocaleString([], { dateStyle: "short", timeStyle: "short" });
      $("preview-callback").textContent = `${cb.mine ? "Your callback" : "A callback"}, set for ${when}`;
    }
    const dl = $("preview-fields");
    dl.replaceChildren();
    for (const [k, v] of [["number", p.number], ...Object.entries(f).filter(([k]) => !LEAD_HIDDEN.has(k))]) {
      dl.append(el("dt", {}, fieldLabel(k)), el("dd", {}, v));
    }
  }
  $("btn-preview-dial").disabled = !S.features.preview;
  $("btn-preview-skip").disabled = !S.features.preview;
  $("btn-manual-dial").disabled = !S.features.manual_dial;
  $("manual-number").disabled = !S.features.manual_dial;
  $("manual-form").title = S.features.manual_dial ? "" : "Manual dialing is not enabled on this dialer";
}

function renderLead() {
  const c = S.call, f = c.lead || {};
  $("lead-name").textContent = f.name || [f.first_name, f.last_name].filter(Boolean).join(" ") || c.lead_id || "";
  $("lead-number").textContent = c.number || "";
  $("lead-attempt").textContent = c.attempt ? `attempt ${c.attempt}` : "";
  $("lead-campaign").textContent = c.campaign_title || c.campaign_id || "";
  const dl = $("lead-fields");
  dl.replaceChildren();
  const keys = [...LEAD_FIRST.filter((k) => k in f), ...Object.keys(f).filter((k) => !LEAD_FIRST.includes(k) && !LEAD_HIDDEN.has(k))];
  for (const k of keys) {
    dl.append(el("dt", {}, fieldLabel(k)), el("dd", { "data-field": k }, f[k]));
  }
  const hist = $("lead-history");
  hist.replaceChildren();
  for (const h of c.history || []) {
    const when = new Date(h.at * 1000).toLocaleString([], { dateStyle: "short", timeStyle: "short" });
    const what = [h.disposition ? codeLabel(h.disposition) : "no disposition", h.reason ? `(${h.reason.replace(/_/g, " ")})` : ""].join(" ");
    const li = el("li", {}, `${when} · ${h.campaign_id} · ${what}`);
    if (h.notes) li.append(el("div", { class: "muted" }, h.notes));
    hist.append(li);
  }
  if (!hist.children.length) hist.append(el("li", { class: "muted" }, "No earlier contact."));
}

function renderScript() {
  const script = S.call.script;
  const box = $("script-step");
  if (!script || typeof script !== "object" || !steps()[currentStepId()]) {
    $("script-path").replaceChildren();
    $("step-kind").textContent = "";
    $("step-title").textContent = "No script for this campaign";
    $("step-text").textContent = typeof script === "string" ? script : "";
    $("step-customer").hidden = true;
    $("step-reasons").hidden = true;
    $("step-collect").hidden = true;
    $("script-choices").replaceChildren();
    $("btn-back").hidden = true;
    return;
  }
  const all = steps(), id = currentStepId(), st = all[id];
  const path = $("script-path");
  path.replaceChildren();
  S.path.forEach((sid, i) => {
    if (i) path.append(el("span", { class: "sep" }, "›"));
    path.append(el("span", { class: `crumb kind-${(all[sid] || {}).kind}` }, (all[sid] || {}).title || sid));
  });
  box.dataset.kind = st.kind;
  box.dataset.step = id;
  $("step-kind").textContent = KIND_LABEL[st.kind] || st.kind;
  $("step-title").textContent = st.kind === "objection" ? "Retention answer" : st.title;
  $("step-customer").hidden = st.kind !== "objection";
  $("step-customer").textContent = st.kind === "objection" ? `Customer: “${st.title}”` : "";
  $("step-text").textContent = st.text || "";
  if (st.error) $("step-text").append(el("div", { class: "form-error" }, st.error));
  const reasons = $("step-reasons");
  reasons.hidden = !(st.reasons && st.reasons.length);
  reasons.replaceChildren();
  for (const r of st.reasons || []) {
    const b = el("button", { type: "button", class: "reason", "data-reason": r.code }, r.label);
    if (S.fields.reason === r.code) b.classList.add("on");
    b.addEventListener("click", () => {
      S.fields.reason = r.code;
      if (st.disposition) S.selected = st.disposition;
      saveDraft();
      render();
    });
    reasons.append(b);
  }
  const collect = $("step-collect");
  collect.hidden = !(st.collect && st.collect.length);
  collect.replaceChildren();
  for (const c of st.collect || []) {
    const type = { datetime: "datetime-local", date: "date", time: "time", phone: "tel" }[c.type] || "text";
    const input = el("input", { type, id: `collect-${c.name}`, value: S.fields[c.name] || "" });
    input.dataset.collect = c.name;
    input.addEventListener("input", () => { S.fields[c.name] = input.value; saveDraft(); });
    collect.append(el("label", { htmlFor: input.id }, c.label + (c.required ? " *" : "")), input);
  }
  const choices = $("script-choices");
  choices.replaceChildren();
  for (const n of st.next || []) {
    const target = all[n];
    if (!target) continue;
    const b = el("button", { type: "button", class: `choice kind-${target.kind}`, "data-step": n }, target.title);
    b.prepend(el("small", {}, KIND_LABEL[target.kind] || target.kind));
    b.addEventListener("click", () => goStep(n));
    choices.append(b);
  }
  $("btn-back").hidden = S.path.length <= 1;
}

function renderDispo() {
  const codes = $("dispo-codes");
  codes.replaceChildren();
  for (const c of (S.dispositions && S.dispositions.codes) || []) {
    const b = el("button", { type: "button", class: `code kind-${c.kind}`, "data-code": c.code });
    b.append(el("kbd", {}, c.key), el("span", {}, c.label));
    if (S.selected === c.code) b.classList.add("on");
    b.addEventListener("click", () => selectCode(c.code, true));
    codes.append(b);
  }
  const spec = S.selected ? codeSpec(S.selected) : null;
  const refused = !!spec && spec.kind === "refused";
  $("dispo-reason-box").hidden = !refused;
  if (refused) {
    const sel = $("dispo-reason");
    const want = S.fields.reason || sel.value;
    sel.replaceChildren(new Option("Choose the reason…", ""));
    for (const r of walkedReasons()) sel.add(new Option(r.label, r.code));
    sel.value = want || "";
    $("dispo-reason-text").hidden = sel.value !== "other";
  }
  $("callback-box").hidden = !(spec && spec.kind === "callback");
  $("callback-zone").textContent = customerZone() ? `(the customer's time, ${customerZone()})` : "(your time)";
  const late = lateOpen();
  const wrap = S.state === "wrapup" || late;
  const save = $("btn-save");
  save.disabled = !spec || !wrap || S.busy;
  save.textContent = !spec ? "Choose a disposition" : late ? `Save late: ${spec.label}`
    : wrap ? `Save: ${spec.label}` : "Save when the call ends";
  $("wrapup-title").textContent = late ? "Wrap-up ran out: save the disposition within" : "Wrap-up";
  $("btn-transfer").disabled = S.state !== "talking" || !S.features.transfer;
  $("btn-transfer").title = S.features.transfer ? "" : "Transfer is not enabled on this dialer";
  $("wrapup").hidden = !wrap;
}

function tick() {
  if (S.since !== null && S.since !== undefined && S.state !== "logged_out") {
    $("state-timer").textContent = mmss((serverNow() - S.since) / S.scale);
  } else {
    $("state-timer").textContent = "";
  }
  if (lateOpen()) {
    const left = (S.late.until - serverNow()) / S.scale;
    if (left <= 0) { clearCall(); render(); return; }
    $("wrapup-left").textContent = mmss(left);
    $("wrapup-bar").style.width = "0%";
    $("wrapup").classList.add("late");
  } else if (S.state === "wrapup" && S.wrapupDeadline !== null) {
    const left = (S.wrapupDeadline - serverNow()) / S.scale;
    const whole = S.wrapupDeadline - S.since;  // the wrap-up's full length, on the dialer's clock
    $("wrapup-left").textContent = mmss(left);
    $("wrapup-bar").style.width = `${whole > 0 ? Math.max(0, Math.min(100, (100 * left * S.scale) / whole)) : 0}%`;
    $("wrapup").classList.toggle("late", left < 15);
  }
  const auto = S.preview && S.state === "previewing" ? S.preview.auto_dial_at : undefined;
  $("preview-auto").hidden = auto === undefined;
  if (auto !== undefined) {  // the campaign dials a previewed lead by itself after preview_auto_dial_s
    $("preview-auto").textContent = `Dialing by itself in ${Math.max(0, Math.ceil((auto - serverNow()) / S.scale))} s`;
  }
  if (S.call && S.call.local_time) {
    const lt = localClock(S.call.local_time.offset_s);
    const out = lt.hour < 8 || lt.hour >= 21;
    $("lead-local").textContent = `local time ${lt.text} · ${S.call.local_time.zone}`;
    $("lead-local").classList.toggle("late", out);
  } else if (S.call) {
    $("lead-local").textContent = "local time unknown";
  }
}

// ---------------------------------------------------------------- actions
async function act(fn) {
  try { await fn(); } catch (e) { if (e.status !== 401) showError(e.message); }
  render();
}

function wire() {
  $("login-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    $("login-error").textContent = "";
    const body = { agent_id: $("login-agent").value.trim(), password: $("login-password").value };
    if (!$("login-campaign").hidden && $("login-campaign").value) body.campaign_id = $("login-campaign").value;
    try {
      await api("/api/desk/login", body);
      $("login-password").value = "";
      banner("banner-offline", "");
      await resync();
    } catch (e) {
      if (e.data.campaigns) {  // this agent works several campaigns: let them pick one
        const sel = $("login-campaign");
        sel.replaceChildren(...e.data.campaigns.map((c) => new Option(c, c)));
        sel.hidden = false;
        $("login-campaign-label").hidden = false;
        $("login-error").textContent = "Choose the campaign to work, then log in.";
      } else {
        $("login-error").textContent = e.message;
      }
    }
  });
  $("btn-ready").addEventListener("click", () => act(async () => {
    banner("banner-offline", "");
    await command({ type: "ready" });
  }));
  $("btn-pause").addEventListener("click", () => act(async () => {
    const reason = $("pause-reason").value;
    if (!reason) { $("pause-reason").focus(); throw new ApiError(0, "Choose a pause reason first."); }
    const busy = BUSY.includes(S.state);
    await command({ type: "pause", reason, after_call: busy });
    if (busy) S.pendingPause = reason;
  }));
  $("btn-logout").addEventListener("click", () => act(async () => {
    const r = await api("/api/desk/logout", {});
    if (r.done) { stopStream(); clearCall(); showLogin("You are logged out."); } else S.pendingLogout = true;
  }));
  $("btn-back").addEventListener("click", backStep);
  $("btn-save").addEventListener("click", saveDisposition);
  $("notes").addEventListener("input", saveDraft);
  $("dispo-reason").addEventListener("change", () => {
    S.fields.reason = $("dispo-reason").value;
    $("dispo-reason-text").hidden = S.fields.reason !== "other";
    saveDraft();
  });
  $("btn-dnc").addEventListener("click", () => act(async () => {
    if (!S.call) return;
    await api("/api/desk/dnc", { call_id: S.call.call_id, notes: $("notes").value.slice(0, 500) });
    if (codeSpec("dnc")) S.selected = "dnc";
    notice("Do-not-call request recorded. This number will not be called again.");
    saveDraft();
  }));
  $("btn-transfer").addEventListener("click", () => act(async () => {
    const t = await api("/api/desk/transfer-targets");
    const sel = $("transfer-target");
    sel.replaceChildren();
    if (t.supervisor) sel.add(new Option("Supervisor", "supervisor"));
    for (const a of t.agents) sel.add(new Option(`${a.name} (${a.state})`, a.id));
    sel.hidden = false;
    $("btn-transfer-go").hidden = false;
  }));
  $("btn-transfer-go").addEventListener("click", () => act(async () => {
    const callId = S.call.call_id;
    await api("/api/desk/transfer", { call_id: callId, target: $("transfer-target").value });
    $("transfer-target").hidden = true;
    $("btn-transfer-go").hidden = true;
    // A `transfer_failed` that arrived on the feed meanwhile says more than this.
    if (S.transferFailed !== callId) notice("Call transferred.");
  }));
  $("btn-preview-dial").addEventListener("click", () => act(async () => {
    if (!S.preview) return;
    await api("/api/desk/preview/dial", { lead_id: S.preview.lead_id, number_index: S.preview.number_index || 0 });
    notice("Dialing…");
  }));
  $("btn-preview-skip").addEventListener("click", () => act(async () => {
    if (!S.preview) return;
    await api("/api/desk/preview/skip", { lead_id: S.preview.lead_id, reason: $("preview-skip-reason").value });
    S.preview = null;
  }));
  $("manual-form").addEventListener("submit", (ev) => {
    ev.preventDefault();
    act(async () => {
      const r = await api("/api/desk/dial", { number: $("manual-number").value.trim() });
      notice(`Dialing ${r.number}…`);
    });
  });
  document.addEventListener("keydown", (ev) => {
    if (!S.call || ev.ctrlKey || ev.altKey || ev.metaKey) return;
    const t = ev.target;
    if (t && (t.tagName === "INPUT" || t.tagName === "TEXTAREA" || t.tagName === "SELECT")) return;
    if (/^[0-9]$/.test(ev.key) && S.dispositions) {
      const c = S.dispositions.codes.find((x) => x.key === ev.key);
      if (c) { ev.preventDefault(); selectCode(c.code, false); }
    } else if (ev.key === "Enter" && S.selected && (S.state === "wrapup" || lateOpen())) {
      ev.preventDefault();
      saveDisposition();
    }
  });
  setInterval(tick, 500);
}

async function boot() {
  wire();
  try {
    applySnapshot(await api("/api/desk/snapshot"));
    if (S.state !== "logged_out") connect();
  } catch (e) {
    if (e.status !== 401) { showLogin(""); showError(e.message); }
  }
}

document.addEventListener("DOMContentLoaded", boot);
