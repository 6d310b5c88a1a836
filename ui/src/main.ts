// The agent window. It renders the engine's snapshot and forwards clicks; it decides
// nothing about recording: every control's availability and reason come from the engine.
// No framework: a few views rebuilt from each snapshot (a call's state fits in one screen),
// with what changes every tick (timer, meters, progress) patched in place. Each view lives
// in views/; what they share (state, commands, notices) in app.ts.

import { act, app, invoke, listen, pauseWarningMs, refresh, render, setRenderer, type Tab, ui, type Place } from "./app";
import { formatTimer } from "./text";
import type { DeviceLevel, IncomingCall, Snapshot } from "./types";
import { renderCall, wireCall } from "./views/call";
import { wirePlay } from "./views/contact";
import { frame, tabs } from "./views/frame";
import { renderReady, wirePhoneRing, wireReady, wireRing } from "./views/ready";
import { renderRecordings, wireRecordings } from "./views/recordings";
import { renderSettings, wireSettings } from "./views/settings";
import { renderSignIn } from "./views/signin";
import { progressHtml, renderUploads, wireUploads } from "./views/uploads";

function draw() {
  // A refresh must never lose what the agent is typing: keep every field's value and the
  // focus across the re-render.
  const focused = document.activeElement?.id;
  const typed = new Map<string, string>();
  app().querySelectorAll<HTMLInputElement | HTMLSelectElement>("input, select").forEach((i) => { if (i.id) typed.set(i.id, i.value); });
  const s = ui.snapshot;
  if (!s?.user) {
    renderSignIn();
  } else {
    if (ui.tab === "recordings" && !tabs(s).some(([t]) => t === "recordings")) ui.tab = "phone";
    const body = ui.tab === "recordings" ? renderRecordings()
      : ui.tab === "uploads" ? renderUploads(s)
      : ui.tab === "settings" ? renderSettings(s)
      : s.call ? renderCall(s.call) : renderReady(s);
    app().innerHTML = frame(s, body);
    app().querySelectorAll<HTMLButtonElement>("[data-tab]").forEach((b) => b.addEventListener("click", () => {
      ui.tab = b.dataset.tab as Tab;
      render();
    }));
    document.getElementById("sign-in-again")?.addEventListener("click", async () => { await act("app", () => invoke("sign_out")); await refresh(); });
    wireRing();
    wirePhoneRing();
    wirePlay();
    if (ui.tab === "recordings") wireRecordings();
    else if (ui.tab === "uploads") wireUploads();
    else if (ui.tab === "settings") wireSettings();
    else if (s.call) wireCall(s.call);
    else wireReady();
  }
  // A notice stays until the agent dismisses it (or the same place's next action succeeds).
  app().querySelectorAll<HTMLButtonElement>("[data-dismiss]").forEach((b) => b.addEventListener("click", () => {
    ui.notices.delete(b.dataset.dismiss as Place);
    render();
  }));
  app().querySelectorAll<HTMLInputElement | HTMLSelectElement>("input, select").forEach((i) => {
    // The keypad's target is kept in ui.dtmfTo (which drops a party that left), not retyped.
    if (i.id === "dtmf-to") return;
    const value = typed.get(i.id);
    if (value !== undefined && !i.disabled && !(i instanceof HTMLSelectElement && i.options.length === 0)) i.value = value;
  });
  if (focused) document.getElementById(focused)?.focus();
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
void listen<Snapshot>("snapshot", (e) => {
  const same = structure(e.payload) === structure(ui.snapshot);
  // A call that begins (accepted elsewhere, or from the dial form) takes the window.
  if (e.payload.call && !ui.snapshot?.call) ui.tab = "phone";
  ui.snapshot = e.payload;
  if (same) patchLive(ui.snapshot);
  else render();
});
void listen<IncomingCall>("incoming_call", (e) => { ui.incoming = e.payload; render(); });
void refresh();
