// What every view shares: the engine's commands and events, the window's own state, the
// notices (each failure said where it happened, kept until dismissed or resolved) and the
// render hook the entry point installs.

import type { IncomingCall, RecordingList, RecordingQuery, ReceiptInfo, HistoryEntry, Snapshot } from "./types";
import { esc } from "./text";

interface Tauri {
  core: { invoke<T>(cmd: string, args?: Record<string, unknown>): Promise<T> };
  event: { listen<T>(event: string, handler: (e: { payload: T }) => void): Promise<() => void> };
}
const tauri = (window as unknown as { __TAURI__: Tauri }).__TAURI__;
export const invoke = tauri.core.invoke;
export const listen = tauri.event.listen;

export type Tab = "phone" | "recordings" | "uploads" | "settings";

/// Where a failure is said: next to the form or control that met it.
export type Place = "app" | "signin" | "dial" | "ring" | "call" | "phone" | "card" | "recordings" | "uploads" | "devices" | "recording" | "sip" | "settings";

/// A failure (or a warning) in words, as the engine gave it: `code` is its `kind`.
export interface Notice { kind: "alert" | "warning"; text: string; code?: string }

export interface Device { name: string; default: boolean }

/// The window's state beside the engine's snapshot.
export const ui = {
  snapshot: null as Snapshot | null,
  tab: "phone" as Tab,
  incoming: null as IncomingCall | null,
  notices: new Map<Place, Notice>(),
  /// Since when the call has been paused (the reminder).
  pausedSince: null as number | null,
  /// The contact card: whose history is shown, the calls and the voice receipts (null while
  /// loading), and the order the receipts are narrowed to.
  card: null as {
    contact: string; entries: HistoryEntry[] | null; receipts: ReceiptInfo[] | null; order?: string; error?: string; receiptsError?: string;
  } | null,
  /// The in-page confirmation of "Customer withdrew consent" is open.
  confirmingWithdrawal: false,
  /// The recordings view: the last search and its pages.
  search: null as { query: RecordingQuery; list: RecordingList | null; error?: string } | null,
  /// Whom the keypad sends to: "" for the customer, else a party's id.
  dtmfTo: "",
  /// The machine's input devices, once listed.
  devices: null as Device[] | null,
};

export const app = () => document.getElementById("app") as HTMLElement;

let renderer: () => void = () => {};

/// Installs the function that draws the window (the entry point's).
export function setRenderer(draw: () => void) {
  renderer = draw;
}

/// Draws the window from the state.
export function render() {
  renderer();
}

/// The engine's `{kind, message}`, or what a thrown value says.
export function errorText(e: unknown): string {
  if (e && typeof e === "object" && "message" in e) return String((e as { message: unknown }).message);
  return String(e);
}

function errorKind(e: unknown): string | undefined {
  return e && typeof e === "object" && "kind" in e ? String((e as { kind: unknown }).kind) : undefined;
}

/// Runs an action of `place`: its earlier failure is cleared; a new one is said there, in the
/// engine's words, until dismissed or until an action of the same place succeeds.
export async function act<T>(place: Place, work: () => Promise<T>): Promise<T | undefined> {
  ui.notices.delete(place);
  try {
    return await work();
  } catch (e) {
    ui.notices.set(place, { kind: "alert", text: errorText(e), code: errorKind(e) });
    render();
    return undefined;
  }
}

/// Says `notice` at `place` (an answer of the engine that is not an error, e.g. a refusal).
export function say(place: Place, notice: Notice) {
  ui.notices.set(place, notice);
  render();
}

/// The notice of `place`, with a button that dismisses it; nothing when there is none.
export function noticeHtml(place: Place): string {
  const n = ui.notices.get(place);
  if (!n) return "";
  return `<div class="${n.kind} notice" role="alert" id="notice-${place}"${n.code ? ` data-code="${esc(n.code)}"` : ""}>
    <span class="notice-text">${esc(n.text)}</span>
    <button type="button" class="dismiss" data-dismiss="${place}" aria-label="Dismiss this message">×</button></div>`;
}

/// Reads the engine's snapshot and redraws. A failure to read it is said at the top.
export async function refresh() {
  try {
    ui.snapshot = await invoke<Snapshot>("snapshot");
    ui.notices.delete("app");
  } catch (e) {
    ui.notices.set("app", { kind: "alert", text: errorText(e), code: errorKind(e) });
  }
  render();
}

/// How long a pause may last before the window reminds the agent to resume (settings).
export const pauseWarningMs = () => Number(localStorage.getItem("pauseWarningMs") ?? 60_000);
