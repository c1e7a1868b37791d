// The status page's live channel (server-sent events). Everything received is written with
// textContent only: SMS texts and caller names are hostile and must never become markup.
"use strict";
(function () {
  const $ = (sel, root) => (root || document).querySelector(sel);
  const $$ = (sel, root) => Array.from((root || document).querySelectorAll(sel));
  const csrf = () => ($("meta[name=csrf-token]") || {}).content || "";
  const STALE_MS = 12000;

  function el(tag, text, cls) {
    const e = document.createElement(tag);
    if (text !== undefined && text !== null) e.textContent = String(text);
    if (cls) e.className = cls;
    return e;
  }
  function fill(list, items, render) {
    if (!list) return;
    list.replaceChildren(...items.map(render));
  }
  function get(obj, path) {
    return path.split(".").reduce((o, k) => (o == null ? undefined : o[k]), obj);
  }
  function bytes(n) {
    n = Number(n) || 0;
    const units = ["B", "KiB", "MiB", "GiB", "TiB"];
    let i = 0;
    while (n >= 1024 && i < units.length - 1) { n /= 1024; i++; }
    return n.toFixed(i ? 1 : 0) + " " + units[i];
  }
  function bars(signal) {
    if (typeof signal !== "number" || signal === 99) return "▁▁▁▁▁";
    const n = signal >= 20 ? 5 : signal >= 15 ? 4 : signal >= 10 ? 3 : signal >= 5 ? 2 : 1;
    return "▮".repeat(n) + "▯".repeat(5 - n);
  }
  function when(iso) {
    if (!iso) return "";
    const d = new Date(iso);
    if (isNaN(d)) return String(iso);
    const today = new Date().toDateString() === d.toDateString();
    const opts = today ? { hour: "2-digit", minute: "2-digit" }
                       : { day: "numeric", month: "numeric", hour: "2-digit", minute: "2-digit" };
    return d.toLocaleString(document.documentElement.lang || undefined, opts);
  }
  function setState(node, state) {
    node.textContent = state || "–";
    node.className = "state state-" + (state || "none");
  }

  function renderDashboard(d) {
    const modem = (d.parts || {}).modem || {};
    const info = modem.info || {};
    const view = {
      modem: { state: modem.state, detail: modem.detail, signal: info.signal, registration: info.registration,
               operator: info.operator, sim: info.sim, last_error: modem.last_error,
               queue: (d.today || {}).queued },
      sync: (d.parts || {}).sync || { state: "off", detail: "" },
      line: d.line || {}, today: d.today || {}, last_ack: d.last_ack,
      store_bytes: d.store_bytes, free_bytes: d.free_bytes,
    };
    $$("[data-k]").forEach((node) => {
      const key = node.dataset.k;
      if (key === "paused") { node.hidden = !d.paused; return; }
      if (key === "modem.bars") { node.textContent = bars(info.signal); return; }
      let v = get(view, key);
      if (node.classList.contains("state")) { setState(node, v); return; }
      if (node.dataset.fmt === "bytes") v = bytes(v);
      if (node.dataset.fmt === "time") v = when(v);
      node.textContent = v === undefined || v === null || v === "" ? "–" : String(v);
    });
    fill($("[data-list=calls]"), d.calls || [], (c) =>
      el("li", [when(c.started_at), c.direction, c.number || c.caller_name || "–", c.outcome || "…"].join(" ")));
    fill($("[data-list=backlog]"), d.backlog || [], (b) => el("li", b.stream + ": " + b.waiting + " (since " + when(b.oldest) + ")"));
    renderAlerts(d.alerts || []);
  }

  function renderAlerts(alerts) {
    const list = $("#alert-list");
    if (!list) return;
    if (!alerts.length) { list.replaceChildren(el("li", list.dataset.empty, "none")); return; }
    fill(list, alerts, (a) => {
      const li = el("li", null, "alert " + a.state);
      const name = list.getAttribute("data-name-" + a.kind) || a.kind;
      li.append(el("strong", name), document.createTextNode(" — " + a.detail + " "));
      li.append(el("span", a.state === "open" ? "⚠ open" : "✓ " + list.dataset.acked, "badge"));
      if (a.state === "open") {
        const form = el("form", null, "inline");
        form.method = "post"; form.action = "/alerts/ack";
        const t = el("input"); t.type = "hidden"; t.name = "csrf_token"; t.value = csrf();
        const id = el("input"); id.type = "hidden"; id.name = "id"; id.value = a.alert_id;
        const b = el("button", list.dataset.ack); b.type = "submit";
        form.append(t, id, b);
        li.append(" ", form);
      }
      return li;
    });
  }

  function renderPop(card) {
    const pop = $("#caller-pop");
    if (!pop) return;
    const c = card.contact;
    const name = c && c.name ? c.name : card.name_on_line;
    $("[data-pop=name]", pop).textContent = name || pop.dataset.unknown;
    $("[data-pop=number]", pop).textContent = card.number || card.number_absent_reason || "";
    $("[data-pop=language]", pop).textContent = c && c.language ? pop.dataset.languageLabel + ": " + c.language : "";
    const note = $("[data-pop=note]", pop);
    note.textContent = c && c.note ? c.note : "";
    note.hidden = !(c && c.note);
    fill($("[data-pop=pending]", pop), card.pending || [], (p) => el("li", p.kind + " " + p.status + ": " + p.text));
    fill($("[data-pop=complaints]", pop), card.complaints || [], (p) => el("li", p.reference + " " + p.status));
    fill($("[data-pop=calls]", pop), card.calls || [], (p) => el("li", when(p.started_at) + " " + p.direction + " " + (p.outcome || "")));
    fill($("[data-pop=messages]", pop), card.messages || [], (p) => el("li", when(p.created_at) + " " + p.box + ": " + p.text));
    $("[data-pop=dial-number]", pop).value = card.number || "";
    $("[data-pop=save-number]", pop).value = card.number || "";
    $("[data-pop=dial-form]", pop).hidden = !card.number;
    $("[data-pop=save-contact]", pop).hidden = !!c || !card.number;
    const latency = Date.now() - (card.published_ms || Date.now());
    pop.dataset.latencyMs = String(latency);  // measured by the browser tests, not shown to the desk
    pop.dataset.callId = String(card.call_id);
    pop.hidden = false;
    const announce = $("#pop-announce");
    if (announce) announce.textContent = announce.dataset.label + ": " + (name || pop.dataset.unknown) + " " + (card.number || "");
  }

  function connect() {
    const status = $("#live-status");
    if (!status) return;
    let last = 0;
    let source = null;
    const fresh = () => { last = Date.now(); status.textContent = status.dataset.live; status.classList.add("fresh"); };
    const open = () => {
      if (source) source.close();
      source = new EventSource("/live");
      source.addEventListener("dashboard", (e) => { fresh(); renderDashboard(JSON.parse(e.data)); });
      source.addEventListener("caller_pop", (e) => { fresh(); renderPop(JSON.parse(e.data)); });
      source.addEventListener("line_state", (e) => {
        fresh();
        const s = JSON.parse(e.data);
        const node = $("[data-k='line.state']");
        if (node) setState(node, s.state);
      });
      source.addEventListener("sms_in", () => fresh());
      source.addEventListener("tick", () => fresh());
      source.addEventListener("logout", () => { source.close(); window.location.assign("/login"); });
    };
    open();
    setInterval(() => {
      if (Date.now() - last > STALE_MS) {
        status.textContent = status.dataset.stale;
        status.classList.remove("fresh");
        if (!source || source.readyState === EventSource.CLOSED) open();
      }
    }, 2000);
    const close = $("[data-pop=close]");
    if (close) close.addEventListener("click", () => { $("#caller-pop").hidden = true; });
  }

  document.addEventListener("DOMContentLoaded", () => {
    $$("[data-fmt=bytes]").forEach((n) => { n.textContent = bytes(n.textContent); });
    $$(".state").forEach((n) => setState(n, n.textContent.trim()));
    $$("time[datetime]").forEach((n) => { n.textContent = when(n.getAttribute("datetime")); });
    $$("[data-fmt=time]").forEach((n) => { const v = n.textContent.trim(); if (v !== "–") n.textContent = when(v); });
    connect();
  });
})();
