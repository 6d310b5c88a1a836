// The agent window. It renders the engine's snapshot and forwards clicks; it decides
// nothing about recording: every control's availability and reason come from the engine.
// No framework: a few views rebuilt from each snapshot (a call's state fits in one screen),
// with what changes every tick (timer, meters, progress) patched in place.

import type {
  CallView, Consent, Control, DeviceHealth, DeviceLevel, HistoryEntry, IncomingCall, Intent, IntentAnswer, PartyView, ReceiptInfo, ReceiptList,
  RecordingList, RecordingQuery, SideStatus, SipCallView, Snapshot, UploadView,
} from "./types";
import { cachedSettingsLines, dayRange, deviceHealthText, esc, formatTimer, lineText, rateLabel, sideWhy, storeBanner, uploadProgress, warningText } from "./text";

interface Tauri {
  core: { invoke<T>(cmd: string, args?: Record<string, unknown>): Promise<T> };
  event: { listen<T>(event: string, handler: (e: { payload: T }) => void): Promise<() => void> };
}
const tauri = (window as unknown as { __TAURI__: Tauri }).__TAURI__;
const invoke = tauri.core.invoke;

type Tab = "phone" | "recordings" | "uploads" | "settings";

/// How long a pause may last before the window reminds the agent to resume (settings).
const pauseWarningMs = () => Number(localStorage.getItem("pauseWarningMs") ?? 60_000);

let snapshot: Snapshot | null = null;
let tab: Tab = "phone";
let incoming: IncomingCall | null = null;
let message: { kind: "alert" | "warning"; text: string } | null = null;
let pausedSince: number | null = null;
/// The contact card: whose history is shown, the calls and the voice receipts (null while
/// loading), and the order the receipts are narrowed to.
let card: {
  contact: string; entries: HistoryEntry[] | null; receipts: ReceiptInfo[] | null; order?: string; error?: string; receiptsError?: string;
} | null = null;
/// The in-page confirmation of "Customer withdrew consent" is open.
let confirmingWithdrawal = false;
/// The recordings view: the last search and its pages.
let search: { query: RecordingQuery; list: RecordingList | null; error?: string } | null = null;

const app = () => document.getElementById("app") as HTMLElement;

function errorText(e: unknown): string {
  if (e && typeof e === "object" && "message" in e) return String((e as { message: unknown }).message);
  return String(e);
}

async function act<T>(work: () => Promise<T>): Promise<T | undefined> {
  try {
    message = null;
    return await work();
  } catch (e) {
    message = { kind: "alert", text: errorText(e) };
    render();
    return undefined;
  }
}

const messageHtml = () => (message ? `<p class="${message.kind}" role="alert" id="message">${esc(message.text)}</p>` : "");

// ---- Recordings: the contact card, the supervisors' list, the player ---------------------

async function loadHistory(contact: string) {
  card = { contact, entries: null, receipts: null };
  render();
  const [entries, receipts] = await Promise.allSettled([
    invoke<HistoryEntry[]>("history", { contact }),
    invoke<ReceiptList>("receipts", { query: { contact, limit: 100 } }),
  ]);
  if (card?.contact !== contact) return;
  card = {
    contact,
    entries: entries.status === "fulfilled" ? entries.value : [],
    error: entries.status === "rejected" ? errorText(entries.reason) : undefined,
    receipts: receipts.status === "fulfilled" ? receipts.value.items : [],
    receiptsError: receipts.status === "rejected" ? `Voice receipts could not be loaded: ${errorText(receipts.reason)}` : undefined,
  };
  render();
}

/// Narrows the contact card's voice receipts to one order (the store searches by order id).
async function findOrder(order: string) {
  if (!card) return;
  const contact = card.contact;
  card = { ...card, order, receipts: null, receiptsError: undefined };
  render();
  try {
    const query = order ? { contact, order_id: order, limit: 100 } : { contact, limit: 100 };
    const list = await invoke<ReceiptList>("receipts", { query });
    if (card?.contact === contact) card = { ...card, receipts: list.items };
  } catch (e) {
    if (card?.contact === contact) card = { ...card, receipts: [], receiptsError: `Voice receipts could not be loaded: ${errorText(e)}` };
  }
  render();
}

function receiptsHtml(): string {
  if (!card) return "";
  const rows = (card.receipts ?? []).map((r) => `<tr data-receipt="${esc(r.id)}"><td>${esc(r.order_id)}</td><td>${r.seq}</td>
    <td>${esc(new Date(r.started_at).toLocaleString())}</td><td>${esc(r.agent)}</td><td>${formatTimer(r.to_ms - r.from_ms)}</td>
    <td>${r.customer ? "agent and customer" : "agent only"}</td><td>${esc(new Date(r.expires_at).toLocaleDateString())}</td>
    <td>${r.playable ? `<button type="button" data-play-receipt="${esc(r.id)}" aria-label="Play voice receipt ${esc(r.order_id)} take ${r.seq}">Play</button>` : '<span class="muted">not yours to hear</span>'}</td></tr>`).join("");
  return `<h3>Voice receipts</h3>
    <form class="inline" id="find-order"><label for="order-search">Order id</label><input id="order-search" value="${esc(card.order ?? "")}" placeholder="all orders"><button type="submit">Find</button></form>
    ${card.receiptsError ? `<p class="alert" role="alert">${esc(card.receiptsError)}</p>` : ""}
    ${card.receipts === null ? '<p class="muted">Loading the voice receipts…</p>'
      : rows ? `<table id="contact-receipts"><thead><tr><th>Order</th><th>Take</th><th>Call</th><th>Agent</th><th>Length</th><th>Voices</th><th>Kept until</th><th></th></tr></thead><tbody>${rows}</tbody></table>`
      : `<p class="muted" id="contact-receipts">${card.order ? `No voice receipt for order ${esc(card.order)} with this contact.` : "No voice receipts with this contact."}</p>`}`;
}

const playCell = (h: HistoryEntry) => (h.playable
  ? `<button type="button" data-play="${esc(h.id)}">Play</button>`
  : `<span class="muted">${h.has_audio ? "not yours to hear" : "no audio"}</span>`);

function contactCard(): string {
  if (!card) return "";
  const rows = (card.entries ?? []).map((h) => `<tr><td>${esc(new Date(h.started_at).toLocaleString())}</td><td>${esc(h.agent)}</td>
    <td>${formatTimer(h.duration_ms)}</td><td>${h.receipts}</td><td>${playCell(h)}</td></tr>`).join("");
  // The call button: from the Ready view, for an agent (the dial form does the rest).
  const callable = snapshot?.takes_calls && !snapshot.call && !snapshot.phone?.dialing;
  return `<section class="card" id="contact-card"><h2>Contact card · ${esc(card.contact)}</h2>
    ${callable ? `<div class="actions"><button type="button" id="call-contact">Call ${esc(card.contact)}</button></div>` : ""}
    ${card.error ? `<p class="alert">${esc(card.error)}</p>` : ""}
    ${card.entries === null ? '<p class="muted">Loading the call history…</p>'
      : rows ? `<table><thead><tr><th>Date</th><th>Agent</th><th>Duration</th><th>Receipts</th><th></th></tr></thead><tbody>${rows}</tbody></table>`
      : '<p class="muted">No earlier calls with this contact.</p>'}
    ${receiptsHtml()}</section>`;
}

/// Plays a recording, or a voice receipt on its own, in the player bar (outside the
/// re-rendered view, so it keeps playing).
async function play(id: string, receipt?: ReceiptInfo) {
  const player = document.getElementById("player") as HTMLElement;
  try {
    const bytes = await invoke<ArrayBuffer>(receipt ? "play_receipt" : "play", { id });
    const url = URL.createObjectURL(new Blob([bytes], { type: "audio/wav" }));
    const title = receipt ? `Voice receipt ${esc(receipt.order_id)} · take ${receipt.seq}` : `Recording ${esc(id.slice(0, 8))}`;
    player.innerHTML = `<span id="player-title">${title}</span><audio controls autoplay id="audio" src="${url}"></audio><button type="button" id="close-player">Close</button>`;
    player.hidden = false;
    document.getElementById("close-player")?.addEventListener("click", () => { player.hidden = true; player.innerHTML = ""; URL.revokeObjectURL(url); });
  } catch (e) {
    message = { kind: "alert", text: errorText(e) };
    render();
  }
}

function wirePlay() {
  app().querySelectorAll<HTMLButtonElement>("[data-play]").forEach((b) => b.addEventListener("click", () => play(b.dataset.play ?? "")));
  app().querySelectorAll<HTMLButtonElement>("[data-play-receipt]").forEach((b) => b.addEventListener("click", () => {
    const receipt = card?.receipts?.find((r) => r.id === b.dataset.playReceipt);
    if (receipt) void play(receipt.id, receipt);
  }));
  document.getElementById("find-order")?.addEventListener("submit", (ev) => {
    ev.preventDefault();
    void findOrder((document.getElementById("order-search") as HTMLInputElement).value.trim());
  });
}

async function runSearch(query: RecordingQuery, more = false) {
  const previous = more ? search?.list?.items ?? [] : [];
  search = { query, list: more ? search?.list ?? null : null };
  render();
  try {
    const list = await invoke<RecordingList>("recordings", { query });
    search = { query, list: { items: [...previous, ...list.items], next_cursor: list.next_cursor } };
  } catch (e) {
    search = { query, list: { items: previous, next_cursor: null }, error: errorText(e) };
  }
  render();
}

function renderRecordings() {
  const rows = (search?.list?.items ?? []).map((h) => `<tr><td>${esc(new Date(h.started_at).toLocaleString())}</td><td>${esc(h.project_id)}</td>
    <td>${esc(h.agent)}</td><td>${esc(h.contact ?? "")}</td><td>${formatTimer(h.duration_ms)}</td><td>${h.receipts}</td>
    <td>${esc(new Date(h.expires_at).toLocaleDateString())}</td><td>${playCell(h)}</td></tr>`).join("");
  const list = !search ? "" : search.list === null ? '<p class="muted">Searching…</p>'
    : rows ? `<table id="recordings"><thead><tr><th>Date</th><th>Project</th><th>Agent</th><th>Contact</th><th>Duration</th><th>Receipts</th><th>Kept until</th><th></th></tr></thead><tbody>${rows}</tbody></table>
      ${search.list.next_cursor ? '<div class="actions"><button type="button" id="more">More</button></div>' : ""}`
    : '<p class="muted" id="recordings">No recordings match.</p>';
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
    ${search?.error ? `<p class="alert" role="alert">${esc(search.error)}</p>` : ""}
    ${list}`;
}

function wireRecordings() {
  document.getElementById("search")?.addEventListener("submit", (ev) => {
    ev.preventDefault();
    const value = (id: string) => (document.getElementById(id) as HTMLInputElement).value.trim();
    const query: RecordingQuery = { ...dayRange(value("f-from"), value("f-to")), limit: 50 };
    if (value("f-agent")) query.agent = value("f-agent");
    if (value("f-contact")) query.contact = value("f-contact");
    if (value("f-project")) query.project = value("f-project");
    void runSearch(query);
  });
  document.getElementById("more")?.addEventListener("click", () => {
    if (search?.list?.next_cursor) void runSearch({ ...search.query, cursor: search.list.next_cursor }, true);
  });
}

// ---- Sign-in ------------------------------------------------------------------------------

function renderSignIn() {
  const server = snapshot?.server ?? localStorage.getItem("server") ?? "http://127.0.0.1:8640";
  app().innerHTML = `
    <h1>Sign in</h1>
    ${messageHtml()}
    <form class="card" id="signin">
      <div class="field"><label for="server">Server</label><input id="server" value="${esc(server)}" required></div>
      <div class="field"><label for="username">User name</label><input id="username" autocomplete="username" required></div>
      <div class="field"><label for="password">Password</label><input id="password" type="password" autocomplete="current-password" required></div>
      <button type="submit">Sign in</button>
    </form>
    ${snapshot && snapshot.uploads.some((u) => u.state === "queued" || u.state === "uploading" || u.state === "failed")
      ? `<p class="muted">${snapshot.uploads.length} recording(s) wait on this computer; they upload after you sign in.</p>` : ""}`;
  document.getElementById("signin")?.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const value = (id: string) => (document.getElementById(id) as HTMLInputElement).value;
    localStorage.setItem("server", value("server"));
    const user = await act(() => invoke<string>("sign_in", { server: value("server"), username: value("username"), password: value("password") }));
    if (user !== undefined) tab = "phone";
    await refresh();
  });
}

// ---- The call -----------------------------------------------------------------------------

function meter(label: string, level: [number, number]): string {
  return `<div class="meter" role="meter" aria-label="${esc(label)}" aria-valuemin="0" aria-valuemax="100" aria-valuenow="${Math.round(Math.min(1, level[1]) * 100)}"><div style="width:${Math.min(100, level[1] * 100).toFixed(0)}%"></div></div>`;
}

function side(title: string, s: SideStatus, level?: [number, number], device?: [string, DeviceHealth | null]): string {
  const health = device ? deviceHealthText(device[0], device[1]) : null;
  return `<div class="side ${s.recorded ? "on" : "off"}" data-side="${esc(title.toLowerCase())}">
    <div>${esc(title)}</div>
    <div class="state">${s.recorded ? "Recording" : "Not recorded"}</div>
    <div class="why">${esc(sideWhy(s.reason))}</div>${level ? meter(`${title} level`, level) : ""}
    ${health ? `<p class="${health.kind === "alert" ? "alert" : "reason"} device-health" role="${health.kind === "alert" ? "alert" : "status"}">${esc(health.text)}</p>` : ""}</div>`;
}

function control(id: string, label: string, c: Control, extra = ""): string {
  return `<div class="control">
    <button type="button" id="${id}"${c.enabled ? "" : " disabled"}${c.enabled ? "" : ` aria-describedby="${id}-why"`}>${esc(label)}</button>
    ${c.enabled ? "" : `<p class="reason" id="${id}-why">${esc(c.message ?? "")}</p>`}${extra}</div>`;
}

/// "Customer withdrew consent": a control like the others, and before it acts an in-page
/// confirmation that says what will happen (it cannot be undone).
function withdrawal(call: CallView): string {
  const c = call.controls.consent_withdrawn;
  if (!c.enabled) confirmingWithdrawal = false;
  if (!confirmingWithdrawal) return control("withdraw-consent", "Customer withdrew consent", c);
  return `<div class="control confirm" id="withdraw-confirm" role="alertdialog" aria-labelledby="withdraw-what">
    <p id="withdraw-what"><strong>The customer withdrew consent to be recorded?</strong> From now on neither the customer nor any third party is recorded in this call, and no new voice receipt can be made${call.controls.receipt_stop.enabled ? " (the voice receipt in progress ends now)" : ""}. What was recorded before stays. This cannot be undone.</p>
    <div class="actions"><button type="button" class="danger" id="withdraw-yes">Yes, stop recording the customer</button> <button type="button" id="withdraw-no">Cancel</button></div></div>`;
}

function renderCall(call: CallView): string {
  const paused = call.status.agent.reason === "paused";
  if (paused && pausedSince === null) pausedSince = Date.now();
  if (!paused) pausedSince = null;
  const pauseTooLong = pausedSince !== null && Date.now() - pausedSince > pauseWarningMs();
  // Both halves of "Toggle customer voice call recording", each as the engine says.
  const toggle = control("customer-on", "Record customer voice", call.controls.customer_on)
    + control("customer-off", "Stop recording customer voice", call.controls.customer_off);
  const pauseControl = paused ? control("resume", "Resume recording", call.controls.resume) : control("pause", "Pause recording", call.controls.pause);
  const inReceipt = call.controls.receipt_stop.enabled;
  const receipt = inReceipt
    ? control("receipt-stop", "Stop voice receipt", call.controls.receipt_stop)
    : control("receipt-start", "Start voice receipt", call.controls.receipt_start,
      `<div class="field"><label for="order">Order id</label><input id="order" ${call.controls.receipt_start.enabled ? "" : "disabled"}></div>
       ${call.controls.warnings.map((w) => `<p class="warning">${esc(warningText(w))}</p>`).join("")}`);
  const takes = call.takes.map((t) => `<tr><td>${esc(t.order_id)}</td><td>${t.seq}</td><td>${formatTimer(t.from_ms)}</td>
    <td>${t.to_ms === null ? "recording…" : formatTimer(t.to_ms)}</td><td>${t.customer ? "agent and customer" : "agent only"}</td><td>${esc(t.status)}</td></tr>`).join("");
  return `
    <section class="card">
      <div class="bar">
        <strong id="contact">${esc(call.request.contact ?? "unknown contact")}</strong>
        <span>${esc(call.request.project)}</span>
        <span>${call.request.direction === "inbound" ? "Inbound" : "Outbound"}</span>
        ${call.consent_withdrawn_at_ms !== null
          ? `<span class="badge declined" id="consent">consent: withdrawn at ${formatTimer(call.consent_withdrawn_at_ms)}</span>`
          : `<span class="badge ${call.request.consent === "declined" ? "declined" : ""}" id="consent">consent: ${esc(call.request.consent.replace("_", " "))}</span>`}
        <span id="timer">${formatTimer(call.elapsed_ms)}</span>
        ${call.policy_source === "cache" ? '<span class="badge">offline: cached recording settings</span>' : ""}
      </div>
    </section>
    ${messageHtml()}
    ${pauseTooLong ? `<p class="warning" role="alert" id="pause-warning">Recording has been paused for over ${Math.round(pauseWarningMs() / 1000)} seconds. Resume when the sensitive part is over.</p>` : ""}
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

function wireCall(call: CallView) {
  if (call.request.contact && card?.contact !== call.request.contact) void loadHistory(call.request.contact);
  const on = (id: string, intent: Intent) => document.getElementById(id)?.addEventListener("click", () => sendIntent(intent));
  on("customer-on", { intent: "customer_on" });
  on("customer-off", { intent: "customer_off" });
  on("pause", { intent: "pause" });
  on("resume", { intent: "resume" });
  on("receipt-stop", { intent: "receipt_stop" });
  document.getElementById("withdraw-consent")?.addEventListener("click", () => {
    confirmingWithdrawal = true;
    render();
    document.getElementById("withdraw-no")?.focus();
  });
  document.getElementById("withdraw-no")?.addEventListener("click", () => { confirmingWithdrawal = false; render(); });
  document.getElementById("withdraw-yes")?.addEventListener("click", () => {
    confirmingWithdrawal = false;
    void sendIntent({ intent: "consent_withdrawn" });
  });
  document.getElementById("receipt-start")?.addEventListener("click", () => {
    const order = (document.getElementById("order") as HTMLInputElement).value.trim();
    if (!order) { message = { kind: "alert", text: "Type the order id first." }; render(); return; }
    if (call.replaces.includes(order) && !confirm(warningText("receipt_replaces_previous"))) return;
    sendIntent({ intent: "receipt_start", order_id: order });
  });
  document.getElementById("hang-up")?.addEventListener("click", async () => { await act(() => invoke("end_call")); await refresh(); });
  if (call.sip) wirePhone();
}

// ---- The softphone: keypad, hold, mute, parties, transfer ---------------------------------

const KEYS = ["1", "2", "3", "4", "5", "6", "7", "8", "9", "*", "0", "#"];

function keypad(id: string, label: string): string {
  return `<div class="keypad" id="${id}" role="group" aria-label="${esc(label)}">${KEYS.map((k) => `<button type="button" data-key="${esc(k)}">${esc(k)}</button>`).join("")}</div>`;
}

/// Whom the keypad sends to: "" for the customer, else a party's id.
let dtmfTo = "";

function dtmfTargetHtml(sip: SipCallView): string {
  const inCall = sip.parties.filter((p) => p.state === "in_call");
  if (!inCall.some((p) => p.id === dtmfTo)) dtmfTo = "";
  if (inCall.length === 0) return "";
  const option = (value: string, label: string) => `<option value="${esc(value)}"${value === dtmfTo ? " selected" : ""}>${esc(label)}</option>`;
  return `<div class="field inline"><label for="dtmf-to">Keypad sends to</label><select id="dtmf-to">${option("", "the customer")}${inCall.map((p) => option(p.id, `${p.id} · ${p.uri}`)).join("")}</select></div>`;
}

const partyState: Record<PartyView["state"], string> = { ringing: "ringing…", in_call: "in the call", left: "left", failed: "did not join" };

function phoneHtml(call: CallView, sip: SipCallView): string {
  const third = call.status.third_parties;
  const parties = sip.parties.map((p) => `<tr data-party="${esc(p.id)}"><td>${esc(p.id)}</td><td>${esc(p.uri)}</td><td>${esc(partyState[p.state])}${p.error ? ` <span class="reason">${esc(p.error)}</span>` : ""}</td>
    <td class="${p.state === "in_call" && third.recorded ? "rec-on" : "rec-off"}">${p.state === "in_call" ? (third.recorded ? "Recording" : `Not recorded: ${esc(sideWhy(third.reason))}`) : ""}</td></tr>`).join("");
  return `<section class="card" id="phone">
      <h2>Phone <span class="muted">· ${esc(sip.remote)}</span>${sip.held ? ' <span class="badge" id="held">on hold</span>' : ""}</h2>
      <div class="actions">
        <button type="button" id="${sip.held ? "resume-call" : "hold-call"}">${sip.held ? "Resume call" : "Hold call"}</button>
        <button type="button" id="${sip.muted ? "unmute" : "mute"}" aria-pressed="${sip.muted}">${sip.muted ? "Unmute microphone" : "Mute microphone"}</button>
      </div>
      ${(() => { const line = lineText(sip.line); return `<p class="${line.bad ? "warning" : "muted"}" id="line">${esc(line.text)}</p>`; })()}
      ${sip.muted ? '<p class="warning" id="muted-note" role="status">Muted: the customer does not hear you. Muting is not pausing: the call is still recorded (your side as silence).</p>' : ""}
      ${sip.held ? '<p class="muted">On hold: nothing of you is sent. The recording goes on as the controls below say.</p>' : ""}
      ${dtmfTargetHtml(sip)}
      <div class="field"><span>Keypad (sent as tones ${dtmfTo ? `${esc(dtmfTo)}'s` : "the customer's"} system reads; never recorded as tones)</span>${keypad("dtmf", "Send digits")}</div>
      ${sip.digits ? `<p class="muted" id="digits-received">The customer typed: ${esc(sip.digits)}</p>` : ""}
      <form class="inline" id="add-party"><label for="party-to">Add party</label><input id="party-to" placeholder="sip:name@host or number" required><button type="submit">Call into the conference</button></form>
      <form class="inline" id="transfer"><label for="transfer-to">Transfer to</label><input id="transfer-to" placeholder="sip:name@host or number" required><button type="submit">Transfer</button></form>
      ${parties ? `<h3>Parties</h3><table id="parties"><thead><tr><th>Id</th><th>Address</th><th>State</th><th>Recording</th></tr></thead><tbody>${parties}</tbody></table>` : ""}
    </section>`;
}

function wirePhone() {
  const click = (id: string, work: () => Promise<unknown>) => document.getElementById(id)?.addEventListener("click", async () => { await act(work); await refresh(); });
  click("hold-call", () => invoke("hold", { held: true }));
  click("resume-call", () => invoke("hold", { held: false }));
  click("mute", () => invoke("mute", { muted: true }));
  click("unmute", () => invoke("mute", { muted: false }));
  document.getElementById("dtmf-to")?.addEventListener("change", (ev) => { dtmfTo = (ev.target as HTMLSelectElement).value; render(); });
  document.querySelectorAll<HTMLButtonElement>("#dtmf [data-key]").forEach((b) => b.addEventListener("click", () => act(() => invoke("send_digits", { digits: b.dataset.key, party: dtmfTo || null }))));
  const submit = (id: string, input: string, work: (to: string) => Promise<unknown>) => document.getElementById(id)?.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const to = (document.getElementById(input) as HTMLInputElement).value.trim();
    if (!to) return;
    (document.getElementById(input) as HTMLInputElement).value = "";
    await act(() => work(to));
    await refresh();
  });
  submit("add-party", "party-to", (to) => invoke("add_party", { to }));
  submit("transfer", "transfer-to", (to) => invoke("transfer", { to }));
}

async function sendIntent(intent: Intent) {
  const answer = await act(() => invoke<IntentAnswer>("intent", { intent }));
  if (answer && !answer.accepted) message = { kind: "alert", text: answer.message ?? "Refused." };
  await refresh();
}

// ---- Ready: dial, ring, contact card ------------------------------------------------------

function renderReady(s: Snapshot): string {
  const agent = s.takes_calls;
  return `
    <h1>${agent ? "Ready" : "Contact cards"} <span class="muted">· ${esc(s.user ?? "")}</span></h1>
    ${messageHtml()}
    ${agent ? "" : `<p class="muted" id="no-calls">Only agents take calls; as a ${esc(s.role)} you look up contacts here and listen in Recordings.</p>`}
    <form class="card" id="dial"${agent ? "" : " hidden"}>
      ${s.phone ? `<p class="muted" id="softphone-status">Softphone on ${esc(s.phone.address)}${s.phone.registration ? ` · ${esc(s.phone.registration)}` : " · direct calls (no registrar)"}</p>`
        : '<p class="muted" id="softphone-status">The softphone is not set up (Settings): calls use your external phone, recorded from the capture devices.</p>'}
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
    const contact = (document.getElementById("lookup-contact") as HTMLInputElement).value.trim();
    if (contact) void loadHistory(contact);
  });
  document.getElementById("dial")?.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const value = (id: string) => (document.getElementById(id) as HTMLInputElement).value.trim();
    localStorage.setItem("project", value("project"));
    const request = { project: value("project"), contact: value("number"), direction: "outbound", consent: "not_asked" };
    if (snapshot?.phone) await act(() => invoke("dial", { to: value("number"), request }));
    else await act(() => invoke("start_call", { request }));
    await refresh();
  });
  document.getElementById("call-contact")?.addEventListener("click", () => {
    if (!card) return;
    (document.getElementById("number") as HTMLInputElement).value = card.contact;
    (document.getElementById("dial") as HTMLFormElement).requestSubmit();
  });
  document.querySelectorAll<HTMLButtonElement>("#dial-pad [data-key]").forEach((b) => b.addEventListener("click", () => {
    const number = document.getElementById("number") as HTMLInputElement;
    number.value += b.dataset.key ?? "";
    number.focus();
  }));
}

/// The softphone's ring (an inbound SIP call) and the call being placed.
function phoneRingHtml(s: Snapshot): string {
  const ringing = s.phone?.ringing;
  const dialing = s.phone?.dialing;
  const consentField = (c: Consent | null) => (c
    ? `<span class="badge ${c === "declined" ? "declined" : ""}" id="ring-consent">consent: ${esc(c.replace("_", " "))} (from the call)</span>`
    : `<label for="ring-consent-choice">Consent step</label><select id="ring-consent-choice"><option value="not_asked">not asked</option><option value="granted">granted</option><option value="declined">declined</option></select>`);
  return `${ringing ? `<section class="ring" role="alert" id="sip-ring"><strong>Incoming call</strong> from <span id="ring-from">${esc(ringing.from)}</span>
      <div class="field inline">${consentField(ringing.consent)}
        <label for="ring-project">Project</label><input id="ring-project" value="${esc(localStorage.getItem("project") ?? "")}" required></div>
      <div class="actions" style="margin-top:.6rem"><button type="button" id="answer">Answer</button> <button type="button" class="danger" id="decline">Reject</button></div></section>` : ""}
    ${dialing ? `<section class="ring" role="status" id="dialing">Calling <strong>${esc(dialing)}</strong>… <button type="button" id="cancel-dial">Cancel</button>${s.phone?.early_media ? `<p class="why" id="early-media">You hear the callee's line before the answer (early media). Nothing is recorded and nothing of you is sent until the call is answered.</p>` : ""}</section>` : ""}`;
}

function wirePhoneRing() {
  document.getElementById("answer")?.addEventListener("click", async () => {
    const project = (document.getElementById("ring-project") as HTMLInputElement).value.trim();
    if (!project) { message = { kind: "alert", text: "Type the call's project first." }; render(); return; }
    localStorage.setItem("project", project);
    const choice = document.getElementById("ring-consent-choice") as HTMLSelectElement | null;
    const consent = (choice?.value ?? "not_asked") as Consent;
    tab = "phone";
    await act(() => invoke("answer", { request: { project, contact: null, direction: "inbound", consent } }));
    await refresh();
  });
  document.getElementById("decline")?.addEventListener("click", async () => { await act(() => invoke("reject")); await refresh(); });
  document.getElementById("cancel-dial")?.addEventListener("click", async () => { await act(() => invoke("cancel_dial")); await refresh(); });
}

function ringHtml(): string {
  if (!incoming) return "";
  return `<section class="ring" role="alert" id="ring"><strong>Incoming call</strong> from ${esc(incoming.contact ?? "unknown")} · ${esc(incoming.project)}
    ${incoming.consent === "declined" ? '<span class="badge declined">declined recording</span>' : ""}
    <div class="actions" style="margin-top:.6rem"><button type="button" id="accept">Accept</button> <button type="button" class="danger" id="reject">Reject</button></div></section>`;
}

function wireRing() {
  document.getElementById("accept")?.addEventListener("click", async () => {
    const call = incoming;
    incoming = null;
    tab = "phone";
    await act(() => invoke("accept_call", { call }));
    await refresh();
  });
  document.getElementById("reject")?.addEventListener("click", () => { incoming = null; render(); });
}

// ---- Uploads ------------------------------------------------------------------------------

function progressHtml(u: UploadView): string {
  const p = uploadProgress(u);
  return `<progress max="100" value="${p.percent}" aria-label="upload of ${esc(u.call_id)}"></progress> <span class="progress-label">${esc(p.label)}</span>`;
}

function renderUploads(s: Snapshot): string {
  const rows = s.uploads.map((u) => `<tr data-upload="${esc(u.call_id)}"><td title="${esc(u.call_id)}">${esc(u.call_id.slice(0, 8))}…</td>
    <td class="progress">${progressHtml(u)}</td><td>${u.attempts}</td><td>${esc(u.last_error ?? "")}</td>
    <td>${u.state === "failed" || (u.state === "queued" && u.attempts > 0) ? `<button type="button" data-retry="${esc(u.call_id)}">Retry</button>` : ""}</td></tr>`).join("");
  return `<h1>Uploads</h1>
    ${messageHtml()}
    <p class="muted">Every recording stays on this computer until the central store confirms it (or it expires).</p>
    ${rows ? `<table id="uploads"><thead><tr><th>Call</th><th>Progress</th><th>Attempts</th><th>Last error</th><th></th></tr></thead><tbody>${rows}</tbody></table>
      <div class="actions" style="margin-top:.6rem"><button type="button" id="retry">Upload now</button></div>` : '<p class="muted" id="uploads">Every recording is in the store.</p>'}`;
}

function wireUploads() {
  document.getElementById("retry")?.addEventListener("click", async () => { await act(() => invoke("upload_now")); await refresh(); });
  app().querySelectorAll<HTMLButtonElement>("[data-retry]").forEach((b) => b.addEventListener("click", async () => {
    await act(() => invoke("retry_upload", { callId: b.dataset.retry }));
    await refresh();
  }));
}

// ---- Settings -----------------------------------------------------------------------------

interface Device { name: string; default: boolean }
interface Devices { inputs: Device[]; mic: string | null; call: string | null }
let devices: Device[] | null = null;

/// The device pickers: the machine's inputs, the choice kept for the next start (the
/// window's own choice, else what the app was started with).
async function fillDevices() {
  if (devices === null) {
    const found = await invoke<Devices>("devices").catch(() => ({ inputs: [], mic: null, call: null }));
    devices = found.inputs;
    const mic = localStorage.getItem("mic");
    const callAudio = localStorage.getItem("callAudio");
    if (mic !== null || callAudio !== null) await invoke("set_devices", { mic: mic || null, call: callAudio || null }).catch(() => {});
    if (mic === null && found.mic) localStorage.setItem("mic", found.mic);
    if (callAudio === null && found.call) localStorage.setItem("callAudio", found.call);
  }
  for (const [id, key] of [["mic-device", "mic"], ["call-device", "callAudio"]] as const) {
    const select = document.getElementById(id) as HTMLSelectElement | null;
    if (!select || select.options.length) continue;
    const chosen = localStorage.getItem(key) ?? "";
    select.innerHTML = `<option value="">System default</option>` + devices.map((d) => `<option value="${esc(d.name)}"${d.name === chosen ? " selected" : ""}>${esc(d.name)}${d.default ? " (default)" : ""}</option>`).join("");
    select.addEventListener("change", async () => {
      localStorage.setItem(key, select.value);
      const mic = (document.getElementById("mic-device") as HTMLSelectElement).value;
      const call = (document.getElementById("call-device") as HTMLSelectElement).value;
      await act(() => invoke("set_devices", { mic: mic || null, call: call || null }));
      // A running test follows the new choice.
      if (snapshot?.device_test) await act(() => invoke("test_devices", { on: true }));
    });
  }
}

function deviceLevel(id: string, title: string, d: DeviceLevel): string {
  return `<div class="device-level" id="${id}"><strong>${esc(title)}</strong> <span class="muted">${esc(d.device ?? "")}</span>
    ${d.error ? `<p class="alert">${esc(d.error)}</p>` : meter(`${title} test level`, d.level)}</div>`;
}

function renderSettings(s: Snapshot): string {
  const inCall = s.call !== null;
  const test = s.device_test;
  const notInCall = inCall ? '<p class="reason">Not during a call: the call is using the devices.</p>' : "";
  return `<h1>Settings</h1>
    ${messageHtml()}
    <section class="card" id="settings">
      <h2>Audio devices</h2>
      <div class="field"><label for="mic-device">Microphone</label><select id="mic-device"></select></div>
      <div class="field"><label for="call-device">Call audio (e.g. the monitor of the headset output)</label><select id="call-device"></select></div>
      <p class="muted">Used from the next call on.</p>
      <div class="actions">${test
        ? '<button type="button" id="test-stop">Stop the test</button>'
        : `<button type="button" id="test-start"${inCall ? " disabled" : ""}>Test devices</button>`}</div>
      ${notInCall}
      ${test ? `<div id="device-test"><p class="muted">Speak into the microphone and play something through the call audio: each bar should move. Nothing is recorded.</p>
        ${deviceLevel("test-mic", "Microphone", test.mic)}${deviceLevel("test-call", "Call audio", test.call)}</div>` : ""}
    </section>
    <section class="card">
      <h2>Recording</h2>
      <div class="field"><label for="rate">Recording rate</label><select id="rate">${s.rates.map((r) => `<option value="${r}"${r === s.rate ? " selected" : ""}>${esc(rateLabel(r))}</option>`).join("")}</select></div>
      <p class="muted">Used from the next call on.</p>
      <div class="field"><label for="pause-warning-s">Remind me to resume after a pause of (seconds)</label><input id="pause-warning-s" type="number" min="10" max="3600" value="${Math.round(pauseWarningMs() / 1000)}"></div>
    </section>
    <section class="card" id="softphone">
      <h2>Softphone (SIP)</h2>
      ${s.phone ? `<p id="phone-status">Listening on <code>${esc(s.phone.address)}</code>${s.phone.registration ? ` · ${esc(s.phone.registration)}` : " · direct calls, no registrar"}.</p>` : '<p class="muted" id="phone-status">Not set up: calls use an external phone, recorded from the capture devices above.</p>'}
      <form id="sip-account">
        <div class="field"><label for="sip-listen">This computer's SIP address (IP:port peers reach)</label><input id="sip-listen" placeholder="192.0.2.10:5062" value="${esc(localStorage.getItem("sipListen") ?? "")}" required></div>
        <div class="field"><label for="sip-registrar">Registrar (optional)</label><input id="sip-registrar" placeholder="sip:pbx.example:5060" value="${esc(localStorage.getItem("sipRegistrar") ?? "")}"></div>
        <div class="field"><label for="sip-user">SIP user name</label><input id="sip-user" autocomplete="username" value="${esc(localStorage.getItem("sipUser") ?? "")}"></div>
        <div class="field"><label for="sip-password">SIP password (kept in memory only)</label><input id="sip-password" type="password" autocomplete="current-password"></div>
        <button type="submit"${inCall ? " disabled" : ""}>${s.phone ? "Reconnect" : "Connect"}</button>
      </form>
    </section>
    <section class="card">
      <h2>Central store</h2>
      <p>Signed in as <strong id="whoami">${esc(s.user ?? "")}</strong> (${esc(s.role ?? "")}) at <code id="server-address">${esc(s.server ?? "")}</code>.</p>
      <button type="button" id="sign-out"${inCall ? " disabled" : ""}>Sign out</button>
      ${inCall ? '<p class="reason">Not during a call.</p>' : '<p class="muted">To use another store, sign out and sign in there. Recordings waiting for this store must upload first.</p>'}
    </section>`;
}

function wireSettings() {
  void fillDevices();
  document.getElementById("test-start")?.addEventListener("click", async () => { await act(() => invoke("test_devices", { on: true })); await refresh(); });
  document.getElementById("test-stop")?.addEventListener("click", async () => { await act(() => invoke("test_devices", { on: false })); await refresh(); });
  document.getElementById("rate")?.addEventListener("change", async (ev) => {
    await act(() => invoke("set_rate", { rate: Number((ev.target as HTMLSelectElement).value) }));
    await refresh();
  });
  document.getElementById("pause-warning-s")?.addEventListener("change", (ev) => {
    const seconds = Number((ev.target as HTMLInputElement).value);
    if (!Number.isFinite(seconds) || seconds < 10 || seconds > 3600) {
      message = { kind: "alert", text: "The pause reminder takes 10 to 3600 seconds." };
      render();
      return;
    }
    localStorage.setItem("pauseWarningMs", String(seconds * 1000));
  });
  document.getElementById("sip-account")?.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const value = (id: string) => (document.getElementById(id) as HTMLInputElement).value.trim();
    localStorage.setItem("sipListen", value("sip-listen"));
    localStorage.setItem("sipRegistrar", value("sip-registrar"));
    localStorage.setItem("sipUser", value("sip-user"));
    const account = { listen: value("sip-listen"), registrar: value("sip-registrar") || null, user: value("sip-user") || null, password: value("sip-password") || null };
    await act(() => invoke("connect_phone", { account }));
    await refresh();
  });
  document.getElementById("sign-out")?.addEventListener("click", async () => {
    await act(() => invoke("sign_out"));
    card = null;
    search = null;
    await refresh();
  });
}

// ---- The frame: header, banners, tabs -----------------------------------------------------

function tabs(s: Snapshot): [Tab, string][] {
  const waiting = s.uploads.filter((u) => u.state !== "deleted" && u.state !== "uploaded").length;
  const list: [Tab, string][] = [["phone", s.call ? "Call" : "Phone"]];
  if (s.role === "supervisor" || s.role === "admin") list.push(["recordings", "Recordings"]);
  list.push(["uploads", waiting ? `Uploads (${waiting})` : "Uploads"], ["settings", "Settings"]);
  return list;
}

function frame(s: Snapshot, body: string): string {
  const banner = storeBanner(s.store);
  const bannerHtml = !banner ? ""
    : banner.kind === "offline"
      ? `<p class="warning" role="status" id="offline-banner">${esc(banner.text)}${s.store.message ? `<br><span class="muted">${esc(s.store.message)}</span>` : ""}</p>
        ${cachedSettingsLines(s.cached_settings).map((l) => `<p class="${l.kind === "alert" ? "alert" : "muted"}" ${l.kind === "alert" ? 'role="alert"' : ""} data-cached-settings="${esc(l.project)}">${esc(l.text)}</p>`).join("")}`
      : `<p class="alert" role="alert" id="expired-banner">${esc(banner.text)} <button type="button" id="sign-in-again">Sign in again</button></p>`;
  const nav = tabs(s).map(([t, label]) => `<button type="button" class="tab" data-tab="${t}"${t === tab ? ' aria-current="page"' : ""}>${esc(label)}</button>`).join("");
  // Plain HTTP is allowed to this machine's own store (and a test lab): the agent still sees it.
  const link = s.encrypted === false
    ? ` <span class="badge insecure" id="unencrypted-link" title="Passwords and recordings cross the network unencrypted">unencrypted link (http)</span>`
    : "";
  return `<nav class="tabs" aria-label="Views">${nav}<span class="who muted">${esc(s.user ?? "")} · ${esc(s.server ?? "")}</span>${link}</nav>
    ${bannerHtml}${ringHtml()}${phoneRingHtml(s)}${body}`;
}

function render() {
  // A refresh must never lose what the agent is typing: keep every field's value and the
  // focus across the re-render.
  const focused = document.activeElement?.id;
  const typed = new Map<string, string>();
  app().querySelectorAll<HTMLInputElement | HTMLSelectElement>("input, select").forEach((i) => { if (i.id) typed.set(i.id, i.value); });
  const s = snapshot;
  if (!s?.user) {
    renderSignIn();
  } else {
    if (tab === "recordings" && !tabs(s).some(([t]) => t === "recordings")) tab = "phone";
    const body = tab === "recordings" ? renderRecordings()
      : tab === "uploads" ? renderUploads(s)
      : tab === "settings" ? renderSettings(s)
      : s.call ? renderCall(s.call) : renderReady(s);
    app().innerHTML = frame(s, body);
    app().querySelectorAll<HTMLButtonElement>("[data-tab]").forEach((b) => b.addEventListener("click", () => {
      tab = b.dataset.tab as Tab;
      message = null;
      render();
    }));
    document.getElementById("sign-in-again")?.addEventListener("click", async () => { await act(() => invoke("sign_out")); await refresh(); });
    wireRing();
    wirePhoneRing();
    wirePlay();
    if (tab === "recordings") wireRecordings();
    else if (tab === "uploads") wireUploads();
    else if (tab === "settings") wireSettings();
    else if (s.call) wireCall(s.call);
    else wireReady();
  }
  app().querySelectorAll<HTMLInputElement | HTMLSelectElement>("input, select").forEach((i) => {
    // The keypad's target is kept in dtmfTo (which drops a party that left), not retyped.
    if (i.id === "dtmf-to") return;
    const value = typed.get(i.id);
    if (value !== undefined && !i.disabled && !(i instanceof HTMLSelectElement && i.options.length === 0)) i.value = value;
  });
  if (focused) document.getElementById(focused)?.focus();
}

async function refresh() {
  const s = await act(() => invoke<Snapshot>("snapshot"));
  if (s) snapshot = s;
  render();
}

/// The snapshot without what changes every tick (timer, meters, bytes sent): when only
/// those changed, the view is patched in place instead of rebuilt.
function structure(s: Snapshot | null): string {
  if (!s) return "";
  const call = s.call ? { ...s.call, elapsed_ms: 0, mic_level: [0, 0], call_level: [0, 0] } : null;
  const quiet = (d: DeviceLevel) => ({ ...d, level: [0, 0] });
  const device_test = s.device_test ? { mic: quiet(s.device_test.mic), call: quiet(s.device_test.call) } : null;
  const uploads = s.uploads.map((u) => ({ ...u, sent_bytes: 0 }));
  return JSON.stringify({ ...s, call, device_test, uploads });
}

function setMeter(selector: string, level: [number, number]) {
  const bar = document.querySelector<HTMLElement>(selector);
  if (!bar) return;
  const percent = Math.min(100, level[1] * 100);
  (bar.firstElementChild as HTMLElement | null)?.style.setProperty("width", `${percent.toFixed(0)}%`);
  bar.setAttribute("aria-valuenow", percent.toFixed(0));
}

function patchLive(s: Snapshot) {
  if (s.call) {
    const timer = document.getElementById("timer");
    if (timer) timer.textContent = formatTimer(s.call.elapsed_ms);
    setMeter('[data-side="agent"] .meter', s.call.mic_level);
    setMeter('[data-side="customer"] .meter', s.call.call_level);
    // A pause that has just become too long needs the full view (its warning).
    if (pausedSince !== null && Date.now() - pausedSince > pauseWarningMs() && !document.getElementById("pause-warning")) render();
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

tauri.event.listen<Snapshot>("snapshot", (e) => {
  const same = structure(e.payload) === structure(snapshot) && message === null;
  // A call that begins (accepted elsewhere, or from the dial form) takes the window.
  if (e.payload.call && !snapshot?.call) tab = "phone";
  snapshot = e.payload;
  if (same) patchLive(snapshot);
  else render();
});
tauri.event.listen<IncomingCall>("incoming_call", (e) => { incoming = e.payload; render(); });
void refresh();
