"use strict";
(() => {
  // src/text.ts
  function esc(v) {
    return String(v ?? "").replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c] ?? c);
  }
  var WHY = {
    recorded: "Recorded now.",
    no_call: "No call.",
    project_records_nothing: "This project does not record calls.",
    stopped_by_conference: "Recording stopped for the rest of the call when a third party joined.",
    discarded_by_conference: "Not recorded: this project keeps no recording of conference calls.",
    paused: "Recording is paused.",
    consent_declined: "The customer declined to be recorded.",
    consent_withdrawn: "The customer withdrew consent: not recorded for the rest of the call.",
    forbidden_by_project: "This project does not record the customer's voice.",
    switched_off: "Customer voice recording is off.",
    receipt_without_customer: "This voice receipt holds your voice only.",
    no_third_parties: "No third party in the call.",
    third_parties_not_recorded: "This project does not record third parties.",
    follows_customer: "Third parties are recorded only while the customer is."
  };
  function sideWhy(reason) {
    return WHY[reason] ?? reason;
  }
  function warningText(w) {
    return w === "receipt_without_customer" ? "This voice receipt will not include the customer's voice." : "Starting a new voice receipt for this order replaces the previous one. Continue?";
  }
  function formatTimer(ms) {
    const s = Math.floor(ms / 1e3);
    const h = Math.floor(s / 3600);
    const mm = String(Math.floor(s % 3600 / 60)).padStart(2, "0");
    const ss = String(s % 60).padStart(2, "0");
    return h > 0 ? `${h}:${mm}:${ss}` : `${mm}:${ss}`;
  }
  function storeBanner(store, time = (t) => new Date(t).toLocaleTimeString()) {
    if (store.state === "offline") {
      const since = store.since ? ` since ${time(store.since)}` : "";
      return { kind: "offline", text: `Offline${since}: the central store cannot be reached. Calls are still recorded under the cached recording settings for as long as they may serve (below), and recordings wait on this computer until the store is back.` };
    }
    if (store.state === "session_expired") {
      return { kind: "expired", text: "Your session has ended: sign in again. Recordings wait on this computer until you do." };
    }
    return null;
  }
  function uploadProgress(u) {
    if (u.waiting_for) return { percent: 0, label: `Waiting for ${u.waiting_for} to sign in on this computer` };
    switch (u.state) {
      case "uploading": {
        if (!u.total_bytes) return { percent: 0, label: "Uploading\u2026" };
        const percent = Math.min(100, Math.floor(u.sent_bytes * 100 / u.total_bytes));
        return { percent, label: `Uploading ${percent}% of ${formatBytes(u.total_bytes)}` };
      }
      case "uploaded":
      case "deleted":
        return { percent: 100, label: "In the store" };
      case "failed":
        return { percent: 0, label: "Refused by the store: needs a person" };
      default:
        return { percent: 0, label: u.attempts > 0 ? `Waiting to retry (attempt ${u.attempts + 1} next)` : "Waiting to upload" };
    }
  }
  function formatBytes(n) {
    if (n < 1024) return `${n} B`;
    if (n < 1024 * 1024) return `${(n / 1024).toFixed(0)} KiB`;
    return `${(n / 1024 / 1024).toFixed(1)} MiB`;
  }
  var RATE_NOTES = {
    8e3: "telephone quality, smallest files",
    16e3: "wideband (recommended)",
    48e3: "full band, largest files"
  };
  function rateLabel(rate) {
    const khz = `${(rate / 1e3).toLocaleString("en", { maximumFractionDigits: 1 })} kHz`;
    return RATE_NOTES[rate] ? `${khz} \xB7 ${RATE_NOTES[rate]}` : khz;
  }
  function dayRange(from, to) {
    const out = {};
    if (from) out.from = (/* @__PURE__ */ new Date(`${from}T00:00:00`)).toISOString();
    if (to) out.to = (/* @__PURE__ */ new Date(`${to}T23:59:59.999`)).toISOString();
    return out;
  }
  function deviceHealthText(device, h) {
    if (!h) return null;
    if (h.lost) {
      return { kind: "alert", text: `${device} lost: the recording holds silence for it until it is back. Reconnecting every second${h.error ? ` (${h.error})` : ""}.` };
    }
    const times = h.losses === 1 ? "once" : `${h.losses} times`;
    return { kind: "note", text: `${device} was lost ${times} during this call and is back; the recording notes the gap.` };
  }
  function lineText(line) {
    const pct = (permille) => `${(permille / 10).toFixed(1)}%`;
    const theirs = line.sent_lost_permille === null ? "" : ` \xB7 the customer's phone misses ${pct(line.sent_lost_permille)} of you`;
    const rtt = line.round_trip_ms === null ? "" : ` \xB7 round trip ${line.round_trip_ms} ms`;
    return {
      text: `Line: you miss ${pct(line.heard_lost_permille)} of the customer${theirs}${rtt} \xB7 buffer ${line.delay_ms} ms`,
      bad: line.poor
    };
  }
  function cachedSettingsLines(cached, day = (t) => new Date(t).toLocaleDateString()) {
    return cached.map((c) => c.usable ? { kind: "note", project: c.project, text: `Project ${c.project}: calls are recorded under the settings the store confirmed on ${day(c.confirmed_at)}, until ${day(c.usable_until)} at the latest.` } : { kind: "alert", project: c.project, text: `Project ${c.project}: calls are not recorded. Its recording settings were last confirmed by the store on ${day(c.confirmed_at)}, more than ${c.offline_days} day${c.offline_days === 1 ? "" : "s"} ago, and may have changed to record less. Recording resumes once the store is reached.` });
  }

  // src/app.ts
  var tauri = window.__TAURI__;
  var invoke = tauri.core.invoke;
  var listen = tauri.event.listen;
  var ui = {
    snapshot: null,
    tab: "phone",
    incoming: null,
    notices: /* @__PURE__ */ new Map(),
    /// Since when the call has been paused (the reminder).
    pausedSince: null,
    /// The contact card: whose history is shown, the calls and the voice receipts (null while
    /// loading), and the order the receipts are narrowed to.
    card: null,
    /// The in-page confirmation of "Customer withdrew consent" is open.
    confirmingWithdrawal: false,
    /// The recordings view: the last search and its pages.
    search: null,
    /// Whom the keypad sends to: "" for the customer, else a party's id.
    dtmfTo: "",
    /// The machine's input devices, once listed.
    devices: null
  };
  var app = () => document.getElementById("app");
  var renderer = () => {
  };
  function setRenderer(draw2) {
    renderer = draw2;
  }
  function render() {
    renderer();
  }
  function errorText(e) {
    if (e && typeof e === "object" && "message" in e) return String(e.message);
    return String(e);
  }
  function errorKind(e) {
    return e && typeof e === "object" && "kind" in e ? String(e.kind) : void 0;
  }
  async function act(place, work) {
    ui.notices.delete(place);
    try {
      return await work();
    } catch (e) {
      ui.notices.set(place, { kind: "alert", text: errorText(e), code: errorKind(e) });
      render();
      return void 0;
    }
  }
  function say(place, notice) {
    ui.notices.set(place, notice);
    render();
  }
  function noticeHtml(place) {
    const n = ui.notices.get(place);
    if (!n) return "";
    return `<div class="${n.kind} notice" role="alert" id="notice-${place}"${n.code ? ` data-code="${esc(n.code)}"` : ""}>
    <span class="notice-text">${esc(n.text)}</span>
    <button type="button" class="dismiss" data-dismiss="${place}" aria-label="Dismiss this message">\xD7</button></div>`;
  }
  async function refresh() {
    try {
      ui.snapshot = await invoke("snapshot");
      ui.notices.delete("app");
    } catch (e) {
      ui.notices.set("app", { kind: "alert", text: errorText(e), code: errorKind(e) });
    }
    render();
  }
  var pauseWarningMs = () => Number(localStorage.getItem("pauseWarningMs") ?? 6e4);

  // src/views/contact.ts
  async function loadHistory(contact) {
    ui.card = { contact, entries: null, receipts: null };
    render();
    const [entries, receipts] = await Promise.allSettled([
      invoke("history", { contact }),
      invoke("receipts", { query: { contact, limit: 100 } })
    ]);
    if (ui.card?.contact !== contact) return;
    ui.card = {
      contact,
      entries: entries.status === "fulfilled" ? entries.value : [],
      error: entries.status === "rejected" ? errorText(entries.reason) : void 0,
      receipts: receipts.status === "fulfilled" ? receipts.value.items : [],
      receiptsError: receipts.status === "rejected" ? `Voice receipts could not be loaded: ${errorText(receipts.reason)}` : void 0
    };
    render();
  }
  async function findOrder(order) {
    if (!ui.card) return;
    const contact = ui.card.contact;
    ui.card = { ...ui.card, order, receipts: null, receiptsError: void 0 };
    render();
    try {
      const query = order ? { contact, order_id: order, limit: 100 } : { contact, limit: 100 };
      const list = await invoke("receipts", { query });
      if (ui.card?.contact === contact) ui.card = { ...ui.card, receipts: list.items };
    } catch (e) {
      if (ui.card?.contact === contact) ui.card = { ...ui.card, receipts: [], receiptsError: `Voice receipts could not be loaded: ${errorText(e)}` };
    }
    render();
  }
  function receiptsHtml() {
    if (!ui.card) return "";
    const rows = (ui.card.receipts ?? []).map((r) => `<tr data-receipt="${esc(r.id)}"><td>${esc(r.order_id)}</td><td>${r.seq}</td>
    <td>${esc(new Date(r.started_at).toLocaleString())}</td><td>${esc(r.agent)}</td><td>${formatTimer(r.to_ms - r.from_ms)}</td>
    <td>${r.customer ? "agent and customer" : "agent only"}</td><td>${esc(new Date(r.expires_at).toLocaleDateString())}</td>
    <td>${r.playable ? `<button type="button" data-play-receipt="${esc(r.id)}" aria-label="Play voice receipt ${esc(r.order_id)} take ${r.seq}">Play</button>` : '<span class="muted">not yours to hear</span>'}</td></tr>`).join("");
    return `<h3>Voice receipts</h3>
    <form class="inline" id="find-order"><label for="order-search">Order id</label><input id="order-search" value="${esc(ui.card.order ?? "")}" placeholder="all orders"><button type="submit">Find</button></form>
    ${ui.card.receiptsError ? `<p class="alert" role="alert">${esc(ui.card.receiptsError)}</p>` : ""}
    ${ui.card.receipts === null ? '<p class="muted">Loading the voice receipts\u2026</p>' : rows ? `<table id="contact-receipts"><thead><tr><th>Order</th><th>Take</th><th>Call</th><th>Agent</th><th>Length</th><th>Voices</th><th>Kept until</th><th></th></tr></thead><tbody>${rows}</tbody></table>` : `<p class="muted" id="contact-receipts">${ui.card.order ? `No voice receipt for order ${esc(ui.card.order)} with this contact.` : "No voice receipts with this contact."}</p>`}`;
  }
  var playCell = (h) => h.playable ? `<button type="button" data-play="${esc(h.id)}">Play</button>` : `<span class="muted">${h.has_audio ? "not yours to hear" : "no audio"}</span>`;
  function contactCard() {
    if (!ui.card) return "";
    const rows = (ui.card.entries ?? []).map((h) => `<tr><td>${esc(new Date(h.started_at).toLocaleString())}</td><td>${esc(h.agent)}</td>
    <td>${formatTimer(h.duration_ms)}</td><td>${h.receipts}</td><td>${playCell(h)}</td></tr>`).join("");
    const callable = ui.snapshot?.takes_calls && !ui.snapshot.call && !ui.snapshot.phone?.dialing;
    return `<section class="card" id="contact-card"><h2>Contact card \xB7 ${esc(ui.card.contact)}</h2>
    ${callable ? `<div class="actions"><button type="button" id="call-contact">Call ${esc(ui.card.contact)}</button></div>` : ""}
    ${ui.card.error ? `<p class="alert">${esc(ui.card.error)}</p>` : ""}
    ${noticeHtml("card")}
    ${ui.card.entries === null ? '<p class="muted">Loading the call history\u2026</p>' : rows ? `<table><thead><tr><th>Date</th><th>Agent</th><th>Duration</th><th>Receipts</th><th></th></tr></thead><tbody>${rows}</tbody></table>` : '<p class="muted">No earlier calls with this contact.</p>'}
    ${receiptsHtml()}</section>`;
  }
  async function play(id, receipt) {
    const player = document.getElementById("player");
    try {
      const bytes = await invoke(receipt ? "play_receipt" : "play", { id });
      const url = URL.createObjectURL(new Blob([bytes], { type: "audio/wav" }));
      const title = receipt ? `Voice receipt ${esc(receipt.order_id)} \xB7 take ${receipt.seq}` : `Recording ${esc(id.slice(0, 8))}`;
      player.innerHTML = `<span id="player-title">${title}</span><audio controls autoplay id="audio" src="${url}"></audio><button type="button" id="close-player">Close</button>`;
      player.hidden = false;
      document.getElementById("close-player")?.addEventListener("click", () => {
        player.hidden = true;
        player.innerHTML = "";
        URL.revokeObjectURL(url);
      });
    } catch (e) {
      say(ui.tab === "recordings" ? "recordings" : "card", { kind: "alert", text: errorText(e) });
    }
  }
  function wirePlay() {
    app().querySelectorAll("[data-play]").forEach((b) => b.addEventListener("click", () => play(b.dataset.play ?? "")));
    app().querySelectorAll("[data-play-receipt]").forEach((b) => b.addEventListener("click", () => {
      const receipt = ui.card?.receipts?.find((r) => r.id === b.dataset.playReceipt);
      if (receipt) void play(receipt.id, receipt);
    }));
    document.getElementById("find-order")?.addEventListener("submit", (ev) => {
      ev.preventDefault();
      void findOrder(document.getElementById("order-search").value.trim());
    });
  }

  // src/views/phone.ts
  var KEYS = ["1", "2", "3", "4", "5", "6", "7", "8", "9", "*", "0", "#"];
  function keypad(id, label) {
    return `<div class="keypad" id="${id}" role="group" aria-label="${esc(label)}">${KEYS.map((k) => `<button type="button" data-key="${esc(k)}">${esc(k)}</button>`).join("")}</div>`;
  }
  function dtmfTargetHtml(sip) {
    const inCall = sip.parties.filter((p) => p.state === "in_call");
    if (!inCall.some((p) => p.id === ui.dtmfTo)) ui.dtmfTo = "";
    if (inCall.length === 0) return "";
    const option = (value, label) => `<option value="${esc(value)}"${value === ui.dtmfTo ? " selected" : ""}>${esc(label)}</option>`;
    return `<div class="field inline"><label for="dtmf-to">Keypad sends to</label><select id="dtmf-to">${option("", "the customer")}${inCall.map((p) => option(p.id, `${p.id} \xB7 ${p.uri}`)).join("")}</select></div>`;
  }
  var partyState = { ringing: "ringing\u2026", in_call: "in the call", left: "left", failed: "did not join" };
  function phoneHtml(call, sip) {
    const third = call.status.third_parties;
    const parties = sip.parties.map((p) => `<tr data-party="${esc(p.id)}"><td>${esc(p.id)}</td><td>${esc(p.uri)}</td><td>${esc(partyState[p.state])}${p.error ? ` <span class="reason">${esc(p.error)}</span>` : ""}</td>
    <td class="${p.state === "in_call" && third.recorded ? "rec-on" : "rec-off"}">${p.state === "in_call" ? third.recorded ? "Recording" : `Not recorded: ${esc(sideWhy(third.reason))}` : ""}</td></tr>`).join("");
    return `<section class="card" id="phone">
      <h2>Phone <span class="muted">\xB7 ${esc(sip.remote)}</span>${sip.held ? ' <span class="badge" id="held">on hold</span>' : ""}</h2>
      <div class="actions">
        <button type="button" id="${sip.held ? "resume-call" : "hold-call"}">${sip.held ? "Resume call" : "Hold call"}</button>
        <button type="button" id="${sip.muted ? "unmute" : "mute"}" aria-pressed="${sip.muted}">${sip.muted ? "Unmute microphone" : "Mute microphone"}</button>
      </div>
      ${(() => {
      const line = lineText(sip.line);
      return `<p class="${line.bad ? "warning" : "muted"}" id="line">${esc(line.text)}</p>`;
    })()}
      ${sip.muted ? '<p class="warning" id="muted-note" role="status">Muted: the customer does not hear you. Muting is not pausing: the call is still recorded (your side as silence).</p>' : ""}
      ${sip.held ? '<p class="muted">On hold: nothing of you is sent. The recording goes on as the controls below say.</p>' : ""}
      ${dtmfTargetHtml(sip)}
      <div class="field"><span>Keypad (sent as tones ${ui.dtmfTo ? `${esc(ui.dtmfTo)}'s` : "the customer's"} system reads; never recorded as tones)</span>${keypad("dtmf", "Send digits")}</div>
      ${sip.digits ? `<p class="muted" id="digits-received">The customer typed: ${esc(sip.digits)}</p>` : ""}
      <form class="inline" id="add-party"><label for="party-to">Add party</label><input id="party-to" placeholder="sip:name@host or number" required><button type="submit">Call into the conference</button></form>
      <form class="inline" id="transfer"><label for="transfer-to">Transfer to</label><input id="transfer-to" placeholder="sip:name@host or number" required><button type="submit">Transfer</button></form>
      ${noticeHtml("phone")}
      ${parties ? `<h3>Parties</h3><table id="parties"><thead><tr><th>Id</th><th>Address</th><th>State</th><th>Recording</th></tr></thead><tbody>${parties}</tbody></table>` : ""}
    </section>`;
  }
  function wirePhone() {
    const click = (id, work) => document.getElementById(id)?.addEventListener("click", async () => {
      await act("phone", work);
      await refresh();
    });
    click("hold-call", () => invoke("hold", { held: true }));
    click("resume-call", () => invoke("hold", { held: false }));
    click("mute", () => invoke("mute", { muted: true }));
    click("unmute", () => invoke("mute", { muted: false }));
    document.getElementById("dtmf-to")?.addEventListener("change", (ev) => {
      ui.dtmfTo = ev.target.value;
      render();
    });
    document.querySelectorAll("#dtmf [data-key]").forEach((b) => b.addEventListener("click", () => act("phone", () => invoke("send_digits", { digits: b.dataset.key, party: ui.dtmfTo || null }))));
    const submit = (id, input, work) => document.getElementById(id)?.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      const to = document.getElementById(input).value.trim();
      if (!to) return;
      document.getElementById(input).value = "";
      await act("phone", () => work(to));
      await refresh();
    });
    submit("add-party", "party-to", (to) => invoke("add_party", { to }));
    submit("transfer", "transfer-to", (to) => invoke("transfer", { to }));
  }

  // src/views/call.ts
  function meter(label, level) {
    return `<div class="meter" role="meter" aria-label="${esc(label)}" aria-valuemin="0" aria-valuemax="100" aria-valuenow="${Math.round(Math.min(1, level[1]) * 100)}"><div style="width:${Math.min(100, level[1] * 100).toFixed(0)}%"></div></div>`;
  }
  function side(title, s, level, device) {
    const health = device ? deviceHealthText(device[0], device[1]) : null;
    return `<div class="side ${s.recorded ? "on" : "off"}" data-side="${esc(title.toLowerCase())}">
    <div>${esc(title)}</div>
    <div class="state">${s.recorded ? "Recording" : "Not recorded"}</div>
    <div class="why">${esc(sideWhy(s.reason))}</div>${level ? meter(`${title} level`, level) : ""}
    ${health ? `<p class="${health.kind === "alert" ? "alert" : "reason"} device-health" role="${health.kind === "alert" ? "alert" : "status"}">${esc(health.text)}</p>` : ""}</div>`;
  }
  function control(id, label, c, extra = "") {
    return `<div class="control">
    <button type="button" id="${id}"${c.enabled ? "" : " disabled"}${c.enabled ? "" : ` aria-describedby="${id}-why"`}>${esc(label)}</button>
    ${c.enabled ? "" : `<p class="reason" id="${id}-why">${esc(c.message ?? "")}</p>`}${extra}</div>`;
  }
  function withdrawal(call) {
    const c = call.controls.consent_withdrawn;
    if (!c.enabled) ui.confirmingWithdrawal = false;
    if (!ui.confirmingWithdrawal) return control("withdraw-consent", "Customer withdrew consent", c);
    return `<div class="control confirm" id="withdraw-confirm" role="alertdialog" aria-labelledby="withdraw-what">
    <p id="withdraw-what"><strong>The customer withdrew consent to be recorded?</strong> From now on neither the customer nor any third party is recorded in this call, and no new voice receipt can be made${call.controls.receipt_stop.enabled ? " (the voice receipt in progress ends now)" : ""}. What was recorded before stays. This cannot be undone.</p>
    <div class="actions"><button type="button" class="danger" id="withdraw-yes">Yes, stop recording the customer</button> <button type="button" id="withdraw-no">Cancel</button></div></div>`;
  }
  function renderCall(call) {
    const paused = call.status.agent.reason === "paused";
    if (paused && ui.pausedSince === null) ui.pausedSince = Date.now();
    if (!paused) ui.pausedSince = null;
    const pauseTooLong = ui.pausedSince !== null && Date.now() - ui.pausedSince > pauseWarningMs();
    const toggle = control("customer-on", "Record customer voice", call.controls.customer_on) + control("customer-off", "Stop recording customer voice", call.controls.customer_off);
    const pauseControl = paused ? control("resume", "Resume recording", call.controls.resume) : control("pause", "Pause recording", call.controls.pause);
    const inReceipt = call.controls.receipt_stop.enabled;
    const receipt = inReceipt ? control("receipt-stop", "Stop voice receipt", call.controls.receipt_stop) : control(
      "receipt-start",
      "Start voice receipt",
      call.controls.receipt_start,
      `<div class="field"><label for="order">Order id</label><input id="order" ${call.controls.receipt_start.enabled ? "" : "disabled"}></div>
       ${call.controls.warnings.map((w) => `<p class="warning">${esc(warningText(w))}</p>`).join("")}`
    );
    const takes = call.takes.map((t) => `<tr><td>${esc(t.order_id)}</td><td>${t.seq}</td><td>${formatTimer(t.from_ms)}</td>
    <td>${t.to_ms === null ? "recording\u2026" : formatTimer(t.to_ms)}</td><td>${t.customer ? "agent and customer" : "agent only"}</td><td>${esc(t.status)}</td></tr>`).join("");
    return `
    <section class="card">
      <div class="bar">
        <strong id="contact">${esc(call.request.contact ?? "unknown contact")}</strong>
        <span>${esc(call.request.project)}</span>
        <span>${call.request.direction === "inbound" ? "Inbound" : "Outbound"}</span>
        ${call.consent_withdrawn_at_ms !== null ? `<span class="badge declined" id="consent">consent: withdrawn at ${formatTimer(call.consent_withdrawn_at_ms)}</span>` : `<span class="badge ${call.request.consent === "declined" ? "declined" : ""}" id="consent">consent: ${esc(call.request.consent.replace("_", " "))}</span>`}
        <span id="timer">${formatTimer(call.elapsed_ms)}</span>
        ${call.policy_source === "cache" ? '<span class="badge">offline: cached recording settings</span>' : ""}
      </div>
    </section>
    ${noticeHtml("call")}
    ${pauseTooLong ? `<p class="warning" role="alert" id="pause-warning">Recording has been paused for over ${Math.round(pauseWarningMs() / 1e3)} seconds. Resume when the sensitive part is over.</p>` : ""}
    <div class="sides">
      ${side("Agent", call.status.agent, call.mic_level, ["Microphone", call.mic_health])}
      ${side("Customer", call.status.customer, call.call_level, ["Call audio", call.call_health])}
      ${side("Third parties", call.status.third_parties)}
    </div>
    ${call.sip ? phoneHtml(call, call.sip) : ""}
    <h2>Controls</h2>
    <div class="controls">${toggle}${pauseControl}${receipt}${withdrawal(call)}</div>
    ${takes ? `<h2>Voice receipts</h2><table><thead><tr><th>Order</th><th>Take</th><th>From</th><th>To</th><th>Voices</th><th>Status</th></tr></thead><tbody>${takes}</tbody></table>` : ""}
    <div class="actions" style="margin-top:1.2rem"><button type="button" class="danger" id="hang-up">Hang up</button></div>
    ${contactCard()}`;
  }
  function wireCall(call) {
    if (call.request.contact && ui.card?.contact !== call.request.contact) void loadHistory(call.request.contact);
    const on = (id, intent) => document.getElementById(id)?.addEventListener("click", () => sendIntent(intent));
    on("customer-on", { intent: "customer_on" });
    on("customer-off", { intent: "customer_off" });
    on("pause", { intent: "pause" });
    on("resume", { intent: "resume" });
    on("receipt-stop", { intent: "receipt_stop" });
    document.getElementById("withdraw-consent")?.addEventListener("click", () => {
      ui.confirmingWithdrawal = true;
      render();
      document.getElementById("withdraw-no")?.focus();
    });
    document.getElementById("withdraw-no")?.addEventListener("click", () => {
      ui.confirmingWithdrawal = false;
      render();
    });
    document.getElementById("withdraw-yes")?.addEventListener("click", () => {
      ui.confirmingWithdrawal = false;
      void sendIntent({ intent: "consent_withdrawn" });
    });
    document.getElementById("receipt-start")?.addEventListener("click", () => {
      const order = document.getElementById("order").value.trim();
      if (!order) {
        say("call", { kind: "alert", text: "Type the order id first." });
        return;
      }
      if (call.replaces.includes(order) && !confirm(warningText("receipt_replaces_previous"))) return;
      sendIntent({ intent: "receipt_start", order_id: order });
    });
    document.getElementById("hang-up")?.addEventListener("click", async () => {
      await act("call", () => invoke("end_call"));
      await refresh();
    });
    if (call.sip) wirePhone();
  }
  async function sendIntent(intent) {
    const answer = await act("call", () => invoke("intent", { intent }));
    if (answer && !answer.accepted) ui.notices.set("call", { kind: "alert", text: answer.message ?? "Refused.", code: answer.reason ?? void 0 });
    await refresh();
  }

  // src/views/ready.ts
  function renderReady(s) {
    const agent = s.takes_calls;
    return `
    <h1>${agent ? "Ready" : "Contact cards"} <span class="muted">\xB7 ${esc(s.user ?? "")}</span></h1>
    ${noticeHtml("dial")}
    ${agent ? "" : `<p class="muted" id="no-calls">Only agents take calls; as a ${esc(s.role)} you look up contacts here and listen in Recordings.</p>`}
    <form class="card" id="dial"${agent ? "" : " hidden"}>
      ${s.phone ? `<p class="muted" id="softphone-status">Softphone on ${esc(s.phone.address)}${s.phone.registration ? ` \xB7 ${esc(s.phone.registration)}` : " \xB7 direct calls (no registrar)"}</p>` : '<p class="muted" id="softphone-status">The softphone is not set up (Settings): calls use your external phone, recorded from the capture devices.</p>'}
      <div class="field"><label for="number">${s.phone ? "SIP address, number or contact" : "Number or contact"}</label><input id="number" required></div>
      ${s.phone ? keypad("dial-pad", "Dial pad") : ""}
      <div class="field"><label for="project">Project</label><input id="project" value="${esc(localStorage.getItem("project") ?? "")}" required></div>
      <button type="submit" id="call-button"${s.phone?.dialing ? " disabled" : ""}>Call</button>
    </form>
    <form class="card" id="lookup">
      <div class="field"><label for="lookup-contact">Contact card</label><input id="lookup-contact" placeholder="number or contact id"></div>
      <button type="submit">Show call history</button>
    </form>
    ${contactCard()}`;
  }
  function wireReady() {
    document.getElementById("lookup")?.addEventListener("submit", (ev) => {
      ev.preventDefault();
      const contact = document.getElementById("lookup-contact").value.trim();
      if (contact) void loadHistory(contact);
    });
    document.getElementById("dial")?.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      const value = (id) => document.getElementById(id).value.trim();
      localStorage.setItem("project", value("project"));
      const request = { project: value("project"), contact: value("number"), direction: "outbound", consent: "not_asked" };
      if (ui.snapshot?.phone) await act("dial", () => invoke("dial", { to: value("number"), request }));
      else await act("dial", () => invoke("start_call", { request }));
      await refresh();
    });
    document.getElementById("call-contact")?.addEventListener("click", () => {
      if (!ui.card) return;
      document.getElementById("number").value = ui.card.contact;
      document.getElementById("dial").requestSubmit();
    });
    document.querySelectorAll("#dial-pad [data-key]").forEach((b) => b.addEventListener("click", () => {
      const number = document.getElementById("number");
      number.value += b.dataset.key ?? "";
      number.focus();
    }));
  }
  function phoneRingHtml(s) {
    const ringing = s.phone?.ringing;
    const dialing = s.phone?.dialing;
    const consentField = (c) => c ? `<span class="badge ${c === "declined" ? "declined" : ""}" id="ring-consent">consent: ${esc(c.replace("_", " "))} (from the call)</span>` : `<label for="ring-consent-choice">Consent step</label><select id="ring-consent-choice"><option value="not_asked">not asked</option><option value="granted">granted</option><option value="declined">declined</option></select>`;
    return `${ringing ? `<section class="ring" role="alert" id="sip-ring"><strong>Incoming call</strong> from <span id="ring-from">${esc(ringing.from)}</span>
      <div class="field inline">${consentField(ringing.consent)}
        <label for="ring-project">Project</label><input id="ring-project" value="${esc(localStorage.getItem("project") ?? "")}" required></div>
      <div class="actions" style="margin-top:.6rem"><button type="button" id="answer">Answer</button> <button type="button" class="danger" id="decline">Reject</button></div></section>` : ""}
    ${dialing ? `<section class="ring" role="status" id="dialing">Calling <strong>${esc(dialing)}</strong>\u2026 <button type="button" id="cancel-dial">Cancel</button>${s.phone?.early_media ? `<p class="why" id="early-media">You hear the callee's line before the answer (early media). Nothing is recorded and nothing of you is sent until the call is answered.</p>` : ""}</section>` : ""}`;
  }
  function wirePhoneRing() {
    document.getElementById("answer")?.addEventListener("click", async () => {
      const project = document.getElementById("ring-project").value.trim();
      if (!project) {
        say("ring", { kind: "alert", text: "Type the call's project first." });
        return;
      }
      localStorage.setItem("project", project);
      const choice = document.getElementById("ring-consent-choice");
      const consent = choice?.value ?? "not_asked";
      ui.tab = "phone";
      await act("ring", () => invoke("answer", { request: { project, contact: null, direction: "inbound", consent } }));
      await refresh();
    });
    document.getElementById("decline")?.addEventListener("click", async () => {
      await act("ring", () => invoke("reject"));
      await refresh();
    });
    document.getElementById("cancel-dial")?.addEventListener("click", async () => {
      await act("dial", () => invoke("cancel_dial"));
      await refresh();
    });
  }
  function ringHtml() {
    if (!ui.incoming) return "";
    return `<section class="ring" role="alert" id="ring"><strong>Incoming call</strong> from ${esc(ui.incoming.contact ?? "unknown")} \xB7 ${esc(ui.incoming.project)}
    ${ui.incoming.consent === "declined" ? '<span class="badge declined">declined recording</span>' : ""}
    <div class="actions" style="margin-top:.6rem"><button type="button" id="accept">Accept</button> <button type="button" class="danger" id="reject">Reject</button></div></section>`;
  }
  function wireRing() {
    document.getElementById("accept")?.addEventListener("click", async () => {
      const call = ui.incoming;
      ui.incoming = null;
      ui.tab = "phone";
      await act("ring", () => invoke("accept_call", { call }));
      await refresh();
    });
    document.getElementById("reject")?.addEventListener("click", () => {
      ui.incoming = null;
      render();
    });
  }

  // src/views/frame.ts
  function tabs(s) {
    const waiting = s.uploads.filter((u) => u.state !== "deleted" && u.state !== "uploaded").length;
    const list = [["phone", s.call ? "Call" : "Phone"]];
    if (s.role === "supervisor" || s.role === "admin") list.push(["recordings", "Recordings"]);
    list.push(["uploads", waiting ? `Uploads (${waiting})` : "Uploads"], ["settings", "Settings"]);
    return list;
  }
  function frame(s, body) {
    const banner = storeBanner(s.store);
    const bannerHtml = !banner ? "" : banner.kind === "offline" ? `<p class="warning" role="status" id="offline-banner">${esc(banner.text)}${s.store.message ? `<br><span class="muted">${esc(s.store.message)}</span>` : ""}</p>
        ${cachedSettingsLines(s.cached_settings).map((l) => `<p class="${l.kind === "alert" ? "alert" : "muted"}" ${l.kind === "alert" ? 'role="alert"' : ""} data-cached-settings="${esc(l.project)}">${esc(l.text)}</p>`).join("")}` : `<p class="alert" role="alert" id="expired-banner">${esc(banner.text)} <button type="button" id="sign-in-again">Sign in again</button></p>`;
    const nav = tabs(s).map(([t, label]) => `<button type="button" class="tab" data-tab="${t}"${t === ui.tab ? ' aria-current="page"' : ""}>${esc(label)}</button>`).join("");
    const link = s.encrypted === false ? ` <span class="badge insecure" id="unencrypted-link" title="Passwords and recordings cross the network unencrypted">unencrypted link (http)</span>` : "";
    return `<nav class="tabs" aria-label="Views">${nav}<span class="who muted">${esc(s.user ?? "")} \xB7 ${esc(s.server ?? "")}</span>${link}</nav>
    ${noticeHtml("app")}${bannerHtml}${ringHtml()}${phoneRingHtml(s)}${noticeHtml("ring")}${body}`;
  }

  // src/views/recordings.ts
  async function runSearch(query, more = false) {
    const previous = more ? ui.search?.list?.items ?? [] : [];
    ui.search = { query, list: more ? ui.search?.list ?? null : null };
    render();
    try {
      const list = await invoke("recordings", { query });
      ui.search = { query, list: { items: [...previous, ...list.items], next_cursor: list.next_cursor } };
    } catch (e) {
      ui.search = { query, list: { items: previous, next_cursor: null }, error: errorText(e) };
    }
    render();
  }
  function renderRecordings() {
    const rows = (ui.search?.list?.items ?? []).map((h) => `<tr><td>${esc(new Date(h.started_at).toLocaleString())}</td><td>${esc(h.project_id)}</td>
    <td>${esc(h.agent)}</td><td>${esc(h.contact ?? "")}</td><td>${formatTimer(h.duration_ms)}</td><td>${h.receipts}</td>
    <td>${esc(new Date(h.expires_at).toLocaleDateString())}</td><td>${playCell(h)}</td></tr>`).join("");
    const list = !ui.search ? "" : ui.search.list === null ? '<p class="muted">Searching\u2026</p>' : rows ? `<table id="recordings"><thead><tr><th>Date</th><th>Project</th><th>Agent</th><th>Contact</th><th>Duration</th><th>Receipts</th><th>Kept until</th><th></th></tr></thead><tbody>${rows}</tbody></table>
      ${ui.search.list.next_cursor ? '<div class="actions"><button type="button" id="more">More</button></div>' : ""}` : '<p class="muted" id="recordings">No recordings match.</p>';
    return `<h1>Recordings</h1>
    <p class="muted">Calls in your projects that you may listen to, newest first.</p>
    <form class="card filters" id="search">
      <div class="field"><label for="f-agent">Agent</label><input id="f-agent" placeholder="user name"></div>
      <div class="field"><label for="f-contact">Contact</label><input id="f-contact" placeholder="number or contact id"></div>
      <div class="field"><label for="f-project">Project</label><input id="f-project" placeholder="project id"></div>
      <div class="field"><label for="f-from">From</label><input id="f-from" type="date"></div>
      <div class="field"><label for="f-to">To</label><input id="f-to" type="date"></div>
      <button type="submit">Search</button>
    </form>
    ${ui.search?.error ? `<p class="alert" role="alert">${esc(ui.search.error)}</p>` : ""}
    ${noticeHtml("recordings")}
    ${list}`;
  }
  function wireRecordings() {
    document.getElementById("search")?.addEventListener("submit", (ev) => {
      ev.preventDefault();
      const value = (id) => document.getElementById(id).value.trim();
      const query = { ...dayRange(value("f-from"), value("f-to")), limit: 50 };
      if (value("f-agent")) query.agent = value("f-agent");
      if (value("f-contact")) query.contact = value("f-contact");
      if (value("f-project")) query.project = value("f-project");
      void runSearch(query);
    });
    document.getElementById("more")?.addEventListener("click", () => {
      if (ui.search?.list?.next_cursor) void runSearch({ ...ui.search.query, cursor: ui.search.list.next_cursor }, true);
    });
  }

  // src/views/settings.ts
  async function fillDevices() {
    if (ui.devices === null) {
      const found = await invoke("devices").catch(() => ({ inputs: [], mic: null, call: null }));
      ui.devices = found.inputs;
      const mic = localStorage.getItem("mic");
      const callAudio = localStorage.getItem("callAudio");
      if (mic !== null || callAudio !== null) await invoke("set_devices", { mic: mic || null, call: callAudio || null }).catch(() => {
      });
      if (mic === null && found.mic) localStorage.setItem("mic", found.mic);
      if (callAudio === null && found.call) localStorage.setItem("callAudio", found.call);
    }
    for (const [id, key] of [["mic-device", "mic"], ["call-device", "callAudio"]]) {
      const select = document.getElementById(id);
      if (!select || select.options.length) continue;
      const chosen = localStorage.getItem(key) ?? "";
      select.innerHTML = `<option value="">System default</option>` + ui.devices.map((d) => `<option value="${esc(d.name)}"${d.name === chosen ? " selected" : ""}>${esc(d.name)}${d.default ? " (default)" : ""}</option>`).join("");
      select.addEventListener("change", async () => {
        localStorage.setItem(key, select.value);
        const mic = document.getElementById("mic-device").value;
        const call = document.getElementById("call-device").value;
        await act("devices", () => invoke("set_devices", { mic: mic || null, call: call || null }));
        if (ui.snapshot?.device_test) await act("devices", () => invoke("test_devices", { on: true }));
      });
    }
  }
  function deviceLevel(id, title, d) {
    return `<div class="device-level" id="${id}"><strong>${esc(title)}</strong> <span class="muted">${esc(d.device ?? "")}</span>
    ${d.error ? `<p class="alert">${esc(d.error)}</p>` : meter(`${title} test level`, d.level)}</div>`;
  }
  function renderSettings(s) {
    const inCall = s.call !== null;
    const test = s.device_test;
    const notInCall = inCall ? '<p class="reason">Not during a call: the call is using the devices.</p>' : "";
    return `<h1>Settings</h1>
    <section class="card" id="settings">
      <h2>Audio devices</h2>
      <div class="field"><label for="mic-device">Microphone</label><select id="mic-device"></select></div>
      <div class="field"><label for="call-device">Call audio (e.g. the monitor of the headset output)</label><select id="call-device"></select></div>
      <p class="muted">Used from the next call on.</p>
      <div class="actions">${test ? '<button type="button" id="test-stop">Stop the test</button>' : `<button type="button" id="test-start"${inCall ? " disabled" : ""}>Test devices</button>`}</div>
      ${notInCall}
      ${test ? `<div id="device-test"><p class="muted">Speak into the microphone and play something through the call audio: each bar should move. Nothing is recorded.</p>
        ${deviceLevel("test-mic", "Microphone", test.mic)}${deviceLevel("test-call", "Call audio", test.call)}</div>` : ""}
      ${noticeHtml("devices")}
    </section>
    <section class="card">
      <h2>Recording</h2>
      <div class="field"><label for="rate">Recording rate</label><select id="rate">${s.rates.map((r) => `<option value="${r}"${r === s.rate ? " selected" : ""}>${esc(rateLabel(r))}</option>`).join("")}</select></div>
      <p class="muted">Used from the next call on.</p>
      <div class="field"><label for="pause-warning-s">Remind me to resume after a pause of (seconds)</label><input id="pause-warning-s" type="number" min="10" max="3600" value="${Math.round(pauseWarningMs() / 1e3)}"></div>
      ${noticeHtml("recording")}
    </section>
    <section class="card" id="softphone">
      <h2>Softphone (SIP)</h2>
      ${s.phone ? `<p id="phone-status">Listening on <code>${esc(s.phone.address)}</code>${s.phone.registration ? ` \xB7 ${esc(s.phone.registration)}` : " \xB7 direct calls, no registrar"}.</p>` : '<p class="muted" id="phone-status">Not set up: calls use an external phone, recorded from the capture devices above.</p>'}
      <form id="sip-account">
        <div class="field"><label for="sip-listen">This computer's SIP address (IP:port peers reach)</label><input id="sip-listen" placeholder="192.0.2.10:5062" value="${esc(localStorage.getItem("sipListen") ?? "")}" required></div>
        <div class="field"><label for="sip-registrar">Registrar (optional)</label><input id="sip-registrar" placeholder="sip:pbx.example:5060" value="${esc(localStorage.getItem("sipRegistrar") ?? "")}"></div>
        <div class="field"><label for="sip-user">SIP user name</label><input id="sip-user" autocomplete="username" value="${esc(localStorage.getItem("sipUser") ?? "")}"></div>
        <div class="field"><label for="sip-password">SIP password (kept in memory only)</label><input id="sip-password" type="password" autocomplete="current-password"></div>
        <button type="submit"${inCall ? " disabled" : ""}>${s.phone ? "Reconnect" : "Connect"}</button>
      </form>
      ${noticeHtml("sip")}
    </section>
    <section class="card">
      <h2>Central store</h2>
      <p>Signed in as <strong id="whoami">${esc(s.user ?? "")}</strong> (${esc(s.role ?? "")}) at <code id="server-address">${esc(s.server ?? "")}</code>.</p>
      <button type="button" id="sign-out"${inCall ? " disabled" : ""}>Sign out</button>
      ${inCall ? '<p class="reason">Not during a call.</p>' : '<p class="muted">To use another store, sign out and sign in there. Recordings waiting for this store must upload first.</p>'}
      ${noticeHtml("settings")}
    </section>`;
  }
  function wireSettings() {
    void fillDevices();
    document.getElementById("test-start")?.addEventListener("click", async () => {
      await act("devices", () => invoke("test_devices", { on: true }));
      await refresh();
    });
    document.getElementById("test-stop")?.addEventListener("click", async () => {
      await act("devices", () => invoke("test_devices", { on: false }));
      await refresh();
    });
    document.getElementById("rate")?.addEventListener("change", async (ev) => {
      await act("recording", () => invoke("set_rate", { rate: Number(ev.target.value) }));
      await refresh();
    });
    document.getElementById("pause-warning-s")?.addEventListener("change", (ev) => {
      const seconds = Number(ev.target.value);
      if (!Number.isFinite(seconds) || seconds < 10 || seconds > 3600) {
        say("recording", { kind: "alert", text: "The pause reminder takes 10 to 3600 seconds." });
        return;
      }
      localStorage.setItem("pauseWarningMs", String(seconds * 1e3));
    });
    document.getElementById("sip-account")?.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      const value = (id) => document.getElementById(id).value.trim();
      localStorage.setItem("sipListen", value("sip-listen"));
      localStorage.setItem("sipRegistrar", value("sip-registrar"));
      localStorage.setItem("sipUser", value("sip-user"));
      const account = { listen: value("sip-listen"), registrar: value("sip-registrar") || null, user: value("sip-user") || null, password: value("sip-password") || null };
      await act("sip", () => invoke("connect_phone", { account }));
      await refresh();
    });
    document.getElementById("sign-out")?.addEventListener("click", async () => {
      await act("settings", () => invoke("sign_out"));
      ui.card = null;
      ui.search = null;
      await refresh();
    });
  }

  // src/views/signin.ts
  function renderSignIn() {
    const server = ui.snapshot?.server ?? localStorage.getItem("server") ?? "http://127.0.0.1:8640";
    app().innerHTML = `
    <h1>Sign in</h1>
    ${noticeHtml("signin")}
    <form class="card" id="signin">
      <div class="field"><label for="server">Server</label><input id="server" value="${esc(server)}" required></div>
      <div class="field"><label for="username">User name</label><input id="username" autocomplete="username" required></div>
      <div class="field"><label for="password">Password</label><input id="password" type="password" autocomplete="current-password" required></div>
      <button type="submit">Sign in</button>
    </form>
    ${ui.snapshot && ui.snapshot.uploads.some((u) => u.state === "queued" || u.state === "uploading" || u.state === "failed") ? `<p class="muted">${ui.snapshot.uploads.length} recording(s) wait on this computer; they upload after you sign in.</p>` : ""}`;
    document.getElementById("signin")?.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      const value = (id) => document.getElementById(id).value;
      localStorage.setItem("server", value("server"));
      const user = await act("signin", () => invoke("sign_in", { server: value("server"), username: value("username"), password: value("password") }));
      if (user !== void 0) ui.tab = "phone";
      await refresh();
    });
  }

  // src/views/uploads.ts
  function progressHtml(u) {
    const p = uploadProgress(u);
    return `<progress max="100" value="${p.percent}" aria-label="upload of ${esc(u.call_id)}"></progress> <span class="progress-label">${esc(p.label)}</span>`;
  }
  function renderUploads(s) {
    const rows = s.uploads.map((u) => `<tr data-upload="${esc(u.call_id)}"><td title="${esc(u.call_id)}">${esc(u.call_id.slice(0, 8))}\u2026</td>
    <td class="progress">${progressHtml(u)}</td><td>${u.attempts}</td><td>${esc(u.last_error ?? "")}</td>
    <td>${u.state === "failed" || u.state === "queued" && u.attempts > 0 ? `<button type="button" data-retry="${esc(u.call_id)}">Retry</button>` : ""}</td></tr>`).join("");
    return `<h1>Uploads</h1>
    ${noticeHtml("uploads")}
    <p class="muted">Every recording stays on this computer until the central store confirms it (or it expires).</p>
    ${rows ? `<table id="uploads"><thead><tr><th>Call</th><th>Progress</th><th>Attempts</th><th>Last error</th><th></th></tr></thead><tbody>${rows}</tbody></table>
      <div class="actions" style="margin-top:.6rem"><button type="button" id="retry">Upload now</button></div>` : '<p class="muted" id="uploads">Every recording is in the store.</p>'}`;
  }
  function wireUploads() {
    document.getElementById("retry")?.addEventListener("click", async () => {
      await act("uploads", () => invoke("upload_now"));
      await refresh();
    });
    app().querySelectorAll("[data-retry]").forEach((b) => b.addEventListener("click", async () => {
      await act("uploads", () => invoke("retry_upload", { callId: b.dataset.retry }));
      await refresh();
    }));
  }

  // src/main.ts
  function draw() {
    const focused = document.activeElement?.id;
    const typed = /* @__PURE__ */ new Map();
    app().querySelectorAll("input, select").forEach((i) => {
      if (i.id) typed.set(i.id, i.value);
    });
    const s = ui.snapshot;
    if (!s?.user) {
      renderSignIn();
    } else {
      if (ui.tab === "recordings" && !tabs(s).some(([t]) => t === "recordings")) ui.tab = "phone";
      const body = ui.tab === "recordings" ? renderRecordings() : ui.tab === "uploads" ? renderUploads(s) : ui.tab === "settings" ? renderSettings(s) : s.call ? renderCall(s.call) : renderReady(s);
      app().innerHTML = frame(s, body);
      app().querySelectorAll("[data-tab]").forEach((b) => b.addEventListener("click", () => {
        ui.tab = b.dataset.tab;
        render();
      }));
      document.getElementById("sign-in-again")?.addEventListener("click", async () => {
        await act("app", () => invoke("sign_out"));
        await refresh();
      });
      wireRing();
      wirePhoneRing();
      wirePlay();
      if (ui.tab === "recordings") wireRecordings();
      else if (ui.tab === "uploads") wireUploads();
      else if (ui.tab === "settings") wireSettings();
      else if (s.call) wireCall(s.call);
      else wireReady();
    }
    app().querySelectorAll("[data-dismiss]").forEach((b) => b.addEventListener("click", () => {
      ui.notices.delete(b.dataset.dismiss);
      render();
    }));
    app().querySelectorAll("input, select").forEach((i) => {
      if (i.id === "dtmf-to") return;
      const value = typed.get(i.id);
      if (value !== void 0 && !i.disabled && !(i instanceof HTMLSelectElement && i.options.length === 0)) i.value = value;
    });
    if (focused) document.getElementById(focused)?.focus();
  }
  function structure(s) {
    if (!s) return "";
    const call = s.call ? { ...s.call, elapsed_ms: 0, mic_level: [0, 0], call_level: [0, 0] } : null;
    const quiet = (d) => ({ ...d, level: [0, 0] });
    const device_test = s.device_test ? { mic: quiet(s.device_test.mic), call: quiet(s.device_test.call) } : null;
    const uploads = s.uploads.map((u) => ({ ...u, sent_bytes: 0 }));
    return JSON.stringify({ ...s, call, device_test, uploads });
  }
  function setMeter(selector, level) {
    const bar = document.querySelector(selector);
    if (!bar) return;
    const percent = Math.min(100, level[1] * 100);
    bar.firstElementChild?.style.setProperty("width", `${percent.toFixed(0)}%`);
    bar.setAttribute("aria-valuenow", percent.toFixed(0));
  }
  function patchLive(s) {
    if (s.call) {
      const timer = document.getElementById("timer");
      if (timer) timer.textContent = formatTimer(s.call.elapsed_ms);
      setMeter('[data-side="agent"] .meter', s.call.mic_level);
      setMeter('[data-side="customer"] .meter', s.call.call_level);
      if (ui.pausedSince !== null && Date.now() - ui.pausedSince > pauseWarningMs() && !document.getElementById("pause-warning")) render();
    }
    if (s.device_test) {
      setMeter("#test-mic .meter", s.device_test.mic.level);
      setMeter("#test-call .meter", s.device_test.call.level);
    }
    for (const u of s.uploads) {
      const cell = document.querySelector(`[data-upload="${CSS.escape(u.call_id)}"] .progress`);
      if (cell) cell.innerHTML = progressHtml(u);
    }
  }
  setRenderer(draw);
  void listen("snapshot", (e) => {
    const same = structure(e.payload) === structure(ui.snapshot);
    if (e.payload.call && !ui.snapshot?.call) ui.tab = "phone";
    ui.snapshot = e.payload;
    if (same) patchLive(ui.snapshot);
    else render();
  });
  void listen("incoming_call", (e) => {
    ui.incoming = e.payload;
    render();
  });
  void refresh();
})();
