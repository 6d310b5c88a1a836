// The agent window. It renders the engine's snapshot and forwards clicks; it decides
// nothing about recording: every control's availability and reason come from the engine.
// No framework: a few views rebuilt from each snapshot (a call's state fits in one screen).

import type { CallView, HistoryEntry, IncomingCall, IntentAnswer, Snapshot, SideStatus, Control, Intent } from "./types";
import { esc, sideLabel, sideWhy, warningText, formatTimer } from "./text";

interface Tauri {
  core: { invoke<T>(cmd: string, args?: Record<string, unknown>): Promise<T> };
  event: { listen<T>(event: string, handler: (e: { payload: T }) => void): Promise<() => void> };
}
const tauri = (window as unknown as { __TAURI__: Tauri }).__TAURI__;
const invoke = tauri.core.invoke;

/// How long a pause may last before the window reminds the agent to resume.
const PAUSE_WARNING_MS = Number(localStorage.getItem("pauseWarningMs") ?? 60_000);

let snapshot: Snapshot | null = null;
let incoming: IncomingCall | null = null;
let message: { kind: "alert" | "warning"; text: string } | null = null;
let pausedSince: number | null = null;
/// The contact card: whose history is shown, and the calls (null while loading).
let card: { contact: string; entries: HistoryEntry[] | null; error?: string } | null = null;

async function loadHistory(contact: string) {
  card = { contact, entries: null };
  render();
  try {
    card = { contact, entries: await invoke<HistoryEntry[]>("history", { contact }) };
  } catch (e) {
    card = { contact, entries: [], error: errorText(e) };
  }
  render();
}

function contactCard(): string {
  if (!card) return "";
  const rows = (card.entries ?? []).map((h) => `<tr><td>${esc(new Date(h.started_at).toLocaleString())}</td><td>${esc(h.agent)}</td>
    <td>${formatTimer(h.duration_ms)}</td><td>${h.receipts}</td>
    <td>${h.playable ? `<button type="button" data-play="${esc(h.id)}">Play</button>` : '<span class="muted">not yours to hear</span>'}</td></tr>`).join("");
  return `<section class="card" id="contact-card"><h2>Contact card · ${esc(card.contact)}</h2>
    ${card.error ? `<p class="alert">${esc(card.error)}</p>` : ""}
    ${card.entries === null ? '<p class="muted">Loading the call history…</p>'
      : rows ? `<table><thead><tr><th>Date</th><th>Agent</th><th>Duration</th><th>Receipts</th><th></th></tr></thead><tbody>${rows}</tbody></table>`
      : '<p class="muted">No earlier calls with this contact.</p>'}</section>`;
}

/// Plays a recording in the player bar (outside the re-rendered view, so it keeps playing).
async function play(id: string) {
  const player = document.getElementById("player") as HTMLElement;
  try {
    const bytes = await invoke<ArrayBuffer>("play", { id });
    const url = URL.createObjectURL(new Blob([bytes], { type: "audio/wav" }));
    player.innerHTML = `<span>Recording ${esc(id.slice(0, 8))}</span><audio controls autoplay id="audio" src="${url}"></audio><button type="button" id="close-player">Close</button>`;
    player.hidden = false;
    document.getElementById("close-player")?.addEventListener("click", () => { player.hidden = true; player.innerHTML = ""; URL.revokeObjectURL(url); });
  } catch (e) {
    message = { kind: "alert", text: errorText(e) };
    render();
  }
}

function wireCard() {
  app().querySelectorAll<HTMLButtonElement>("[data-play]").forEach((b) => b.addEventListener("click", () => play(b.dataset.play ?? "")));
}

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

function renderSignIn() {
  const server = localStorage.getItem("server") ?? "http://127.0.0.1:8640";
  app().innerHTML = `
    <h1>Sign in</h1>
    ${message ? `<p class="${message.kind}" role="alert">${esc(message.text)}</p>` : ""}
    <form class="card" id="signin">
      <div class="field"><label for="server">Server</label><input id="server" value="${esc(server)}" required></div>
      <div class="field"><label for="username">User name</label><input id="username" autocomplete="username" required></div>
      <div class="field"><label for="password">Password</label><input id="password" type="password" autocomplete="current-password" required></div>
      <button type="submit">Sign in</button>
    </form>`;
  document.getElementById("signin")?.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const value = (id: string) => (document.getElementById(id) as HTMLInputElement).value;
    localStorage.setItem("server", value("server"));
    await act(() => invoke<string>("sign_in", { server: value("server"), username: value("username"), password: value("password") }));
    await refresh();
  });
}

function side(title: string, s: SideStatus, level?: [number, number]): string {
  const meter = level ? `<div class="meter" aria-label="${esc(title)} level"><div style="width:${Math.min(100, level[1] * 100).toFixed(0)}%"></div></div>` : "";
  return `<div class="side ${s.recorded ? "on" : "off"}" data-side="${esc(title.toLowerCase())}">
    <div>${esc(title)}</div>
    <div class="state">${s.recorded ? "Recording" : "Not recorded"}</div>
    <div class="why">${esc(sideWhy(s.reason))}</div>${meter}</div>`;
}

function control(id: string, label: string, c: Control, extra = ""): string {
  return `<div class="control">
    <button type="button" id="${id}"${c.enabled ? "" : " disabled"}${c.enabled ? "" : ` aria-describedby="${id}-why"`}>${esc(label)}</button>
    ${c.enabled ? "" : `<p class="reason" id="${id}-why">${esc(c.message ?? "")}</p>`}${extra}</div>`;
}

function renderCall(call: CallView) {
  const paused = call.status.agent.reason === "paused";
  if (paused && pausedSince === null) pausedSince = Date.now();
  if (!paused) pausedSince = null;
  const pauseTooLong = pausedSince !== null && Date.now() - pausedSince > PAUSE_WARNING_MS;
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
  app().innerHTML = `
    <section class="card">
      <div class="bar">
        <strong id="contact">${esc(call.request.contact ?? "unknown contact")}</strong>
        <span>${esc(call.request.project)}</span>
        <span>${call.request.direction === "inbound" ? "Inbound" : "Outbound"}</span>
        <span class="badge ${call.request.consent === "declined" ? "declined" : ""}" id="consent">consent: ${esc(call.request.consent.replace("_", " "))}</span>
        <span id="timer">${formatTimer(call.elapsed_ms)}</span>
        ${call.policy_source === "cache" ? '<span class="badge">offline: cached recording settings</span>' : ""}
      </div>
    </section>
    ${message ? `<p class="${message.kind}" role="alert">${esc(message.text)}</p>` : ""}
    ${pauseTooLong ? `<p class="warning" role="alert" id="pause-warning">Recording has been paused for over ${Math.round(PAUSE_WARNING_MS / 1000)} seconds. Resume when the sensitive part is over.</p>` : ""}
    <div class="sides">
      ${side("Agent", call.status.agent, call.mic_level)}
      ${side("Customer", call.status.customer, call.call_level)}
      ${side("Third parties", call.status.third_parties)}
    </div>
    <h2>Controls</h2>
    <div class="controls">${toggle}${pauseControl}${receipt}</div>
    ${takes ? `<h2>Voice receipts</h2><table><thead><tr><th>Order</th><th>Take</th><th>From</th><th>To</th><th>Voices</th><th>Status</th></tr></thead><tbody>${takes}</tbody></table>` : ""}
    <div class="actions" style="margin-top:1.2rem"><button type="button" class="danger" id="hang-up">Hang up</button></div>
    ${contactCard()}`;
  wireCard();
  if (call.request.contact && card?.contact !== call.request.contact) void loadHistory(call.request.contact);
  const on = (id: string, intent: Intent) => document.getElementById(id)?.addEventListener("click", () => sendIntent(intent));
  on("customer-on", { intent: "customer_on" });
  on("customer-off", { intent: "customer_off" });
  on("pause", { intent: "pause" });
  on("resume", { intent: "resume" });
  on("receipt-stop", { intent: "receipt_stop" });
  document.getElementById("receipt-start")?.addEventListener("click", () => {
    const order = (document.getElementById("order") as HTMLInputElement).value.trim();
    if (!order) { message = { kind: "alert", text: "Type the order id first." }; render(); return; }
    if (call.replaces.includes(order) && !confirm(warningText("receipt_replaces_previous"))) return;
    sendIntent({ intent: "receipt_start", order_id: order });
  });
  document.getElementById("hang-up")?.addEventListener("click", async () => { await act(() => invoke("end_call")); await refresh(); });
}

interface Device { name: string; default: boolean }
let devices: Device[] | null = null;

/// The device pickers: the machine's inputs, the choice kept for the next start.
async function fillDevices() {
  if (devices === null) {
    devices = await invoke<Device[]>("devices").catch(() => []);
    const mic = localStorage.getItem("mic");
    const callAudio = localStorage.getItem("callAudio");
    if (mic !== null || callAudio !== null) await invoke("set_devices", { mic: mic || null, call: callAudio || null }).catch(() => {});
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
    });
  }
}

async function sendIntent(intent: Intent) {
  const answer = await act(() => invoke<IntentAnswer>("intent", { intent }));
  if (answer && !answer.accepted) message = { kind: "alert", text: answer.message ?? "Refused." };
  await refresh();
}

function renderIdle(s: Snapshot) {
  const ring = incoming ? `<section class="ring" role="alert" id="ring"><strong>Incoming call</strong> from ${esc(incoming.contact ?? "unknown")} · ${esc(incoming.project)}
      ${incoming.consent === "declined" ? '<span class="badge declined">declined recording</span>' : ""}
      <div class="actions" style="margin-top:.6rem"><button type="button" id="accept">Accept</button> <button type="button" class="danger" id="reject">Reject</button></div></section>` : "";
  const uploads = s.uploads.map((u) => `<tr><td>${esc(u.call_id)}</td><td>${esc(u.state)}</td><td>${u.attempts}</td><td>${esc(u.last_error ?? "")}</td></tr>`).join("");
  app().innerHTML = `
    <h1>Ready <span class="muted">· ${esc(s.user ?? "")}</span></h1>
    ${ring}
    ${message ? `<p class="${message.kind}" role="alert">${esc(message.text)}</p>` : ""}
    <form class="card" id="dial">
      <div class="field"><label for="number">Number or contact</label><input id="number" required></div>
      <div class="field"><label for="project">Project</label><input id="project" value="${esc(localStorage.getItem("project") ?? "")}" required></div>
      <button type="submit">Call</button>
    </form>
    <form class="card" id="lookup">
      <div class="field"><label for="lookup-contact">Contact card</label><input id="lookup-contact" placeholder="number or contact id"></div>
      <button type="submit">Show call history</button>
    </form>
    ${contactCard()}
    <details class="card" id="settings"><summary>Audio devices</summary>
      <div class="field"><label for="mic-device">Microphone</label><select id="mic-device"></select></div>
      <div class="field"><label for="call-device">Call audio (e.g. the monitor of the headset output)</label><select id="call-device"></select></div>
      <p class="muted">Used from the next call on.</p>
    </details>
    <h2>Uploads</h2>
    ${uploads ? `<table id="uploads"><thead><tr><th>Call</th><th>State</th><th>Attempts</th><th>Last error</th></tr></thead><tbody>${uploads}</tbody></table>
      <div class="actions" style="margin-top:.6rem"><button type="button" id="retry">Upload now</button></div>` : '<p class="muted" id="uploads">Every recording is in the store.</p>'}`;
  wireCard();
  void fillDevices();
  document.getElementById("lookup")?.addEventListener("submit", (ev) => {
    ev.preventDefault();
    const contact = (document.getElementById("lookup-contact") as HTMLInputElement).value.trim();
    if (contact) void loadHistory(contact);
  });
  document.getElementById("dial")?.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const value = (id: string) => (document.getElementById(id) as HTMLInputElement).value.trim();
    localStorage.setItem("project", value("project"));
    await act(() => invoke("start_call", { request: { project: value("project"), contact: value("number"), direction: "outbound", consent: "not_asked" } }));
    await refresh();
  });
  document.getElementById("accept")?.addEventListener("click", async () => {
    const call = incoming;
    incoming = null;
    await act(() => invoke("accept_call", { call }));
    await refresh();
  });
  document.getElementById("reject")?.addEventListener("click", () => { incoming = null; render(); });
  document.getElementById("retry")?.addEventListener("click", async () => { await act(() => invoke("upload_now")); await refresh(); });
}

function render() {
  // A refresh must never lose what the agent is typing: keep every field's value and the
  // focus across the re-render.
  const focused = document.activeElement?.id;
  const typed = new Map<string, string>();
  app().querySelectorAll("input").forEach((i) => { if (i.id) typed.set(i.id, i.value); });
  if (!snapshot?.user) renderSignIn();
  else if (snapshot.call) renderCall(snapshot.call);
  else renderIdle(snapshot);
  app().querySelectorAll("input").forEach((i) => {
    const value = typed.get(i.id);
    if (value !== undefined && !i.disabled) i.value = value;
  });
  if (focused) document.getElementById(focused)?.focus();
}

async function refresh() {
  const s = await act(() => invoke<Snapshot>("snapshot"));
  if (s) snapshot = s;
  render();
}

/// The snapshot without what changes every tick (timer, meters): when only those changed,
/// the view is patched in place instead of rebuilt (a call refreshes several times a second).
function structure(s: Snapshot | null): string {
  if (!s) return "";
  const call = s.call ? { ...s.call, elapsed_ms: 0, mic_level: [0, 0], call_level: [0, 0] } : null;
  return JSON.stringify({ ...s, call });
}

function patchLive(call: CallView) {
  const timer = document.getElementById("timer");
  if (timer) timer.textContent = formatTimer(call.elapsed_ms);
  const meters: [string, [number, number]][] = [["agent", call.mic_level], ["customer", call.call_level]];
  for (const [side, level] of meters) {
    const bar = document.querySelector<HTMLElement>(`[data-side="${side}"] .meter > div`);
    if (bar) bar.style.width = `${Math.min(100, level[1] * 100).toFixed(0)}%`;
  }
  // A pause that has just become too long needs the full view (its warning).
  if (pausedSince !== null && Date.now() - pausedSince > PAUSE_WARNING_MS && !document.getElementById("pause-warning")) render();
}

tauri.event.listen<Snapshot>("snapshot", (e) => {
  const same = structure(e.payload) === structure(snapshot) && message === null;
  snapshot = e.payload;
  if (same && snapshot.call) patchLive(snapshot.call);
  else render();
});
tauri.event.listen<IncomingCall>("incoming_call", (e) => { incoming = e.payload; render(); });
void refresh();
export { sideLabel };
