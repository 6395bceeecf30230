// Shared by the wallboard and the reports page: the API token and authorised requests.
// The token comes from the page's #token=... fragment (never sent to the server in the URL) or from the
// sign-in form, and is kept in this tab's sessionStorage only.
"use strict";

const Sup = (() => {
  const KEY = "dialer.supervisor.token";

  function token() {
    const m = location.hash.match(/token=([^&]+)/);
    if (m) {
      sessionStorage.setItem(KEY, decodeURIComponent(m[1]));
      history.replaceState(null, "", location.pathname + location.search);
    }
    return sessionStorage.getItem(KEY) || "";
  }

  function forget() {
    sessionStorage.removeItem(KEY);
  }

  function askToken(form, message, onToken) {
    form.hidden = false;
    form.querySelector(".why").textContent = message || "";
    form.onsubmit = (ev) => {
      ev.preventDefault();
      const value = form.querySelector("input").value.trim();
      if (!value) return;
      sessionStorage.setItem(KEY, value);
      form.hidden = true;
      onToken(value);
    };
  }

  async function api(path, options = {}) {
    const res = await fetch(path, {
      ...options,
      headers: { Authorization: "Bearer " + token(), ...(options.headers || {}) },
      cache: "no-store",
    });
    if (!res.ok) {
      let detail = res.statusText;
      try {
        const body = await res.json();
        detail = body.message || (typeof body.detail === "string" ? body.detail : JSON.stringify(body.detail));
      } catch (_) { /* not JSON */ }
      const err = new Error(detail);
      err.status = res.status;
      throw err;
    }
    return res;
  }

  function el(tag, cls, text) {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined && text !== null) e.textContent = String(text);
    return e;
  }

  function pct(v, digits = 1) {
    return v === null || v === undefined ? "–" : (100 * v).toFixed(digits) + "%";
  }

  function duration(s) {
    s = Math.max(0, Math.floor(s));
    const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), r = s % 60;
    const mm = String(m).padStart(h ? 2 : 1, "0"), ss = String(r).padStart(2, "0");
    return h ? `${h}:${mm}:${ss}` : `${mm}:${ss}`;
  }

  return { token, forget, askToken, api, el, pct, duration };
})();
