// Words the agent reads. Pure functions: unit-tested without a window.
import type { CachedSettings, DeviceHealth, LineView, SideReason, StoreView, UploadView, Warning } from "./types";

export function esc(v: unknown): string {
  return String(v ?? "").replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c] ?? c);
}

const WHY: Record<SideReason, string> = {
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
  follows_customer: "Third parties are recorded only while the customer is.",
};

export function sideWhy(reason: SideReason): string {
  return WHY[reason] ?? reason;
}

export function sideLabel(recorded: boolean): string {
  return recorded ? "Recording" : "Not recorded";
}

export function warningText(w: Warning): string {
  return w === "receipt_without_customer"
    ? "This voice receipt will not include the customer's voice."
    : "Starting a new voice receipt for this order replaces the previous one. Continue?";
}

export function formatTimer(ms: number): string {
  const s = Math.floor(ms / 1000);
  const h = Math.floor(s / 3600);
  const mm = String(Math.floor((s % 3600) / 60)).padStart(2, "0");
  const ss = String(s % 60).padStart(2, "0");
  return h > 0 ? `${h}:${mm}:${ss}` : `${mm}:${ss}`;
}

/// The banner over every view when the store is out of reach or the session has ended;
/// `null` while all is well. `time` formats the outage's start (injected for tests).
export function storeBanner(store: StoreView, time: (iso: string) => string = (t) => new Date(t).toLocaleTimeString()):
  { kind: "offline" | "expired"; text: string } | null {
  if (store.state === "offline") {
    const since = store.since ? ` since ${time(store.since)}` : "";
    return { kind: "offline", text: `Offline${since}: the central store cannot be reached. Calls are still recorded under the cached recording settings for as long as they may serve (below), and recordings wait on this computer until the store is back.` };
  }
  if (store.state === "session_expired") {
    return { kind: "expired", text: "Your session has ended: sign in again. Recordings wait on this computer until you do." };
  }
  return null;
}

/// An upload's bar: how full, and what it says.
export function uploadProgress(u: UploadView): { percent: number; label: string } {
  if (u.waiting_for) return { percent: 0, label: `Waiting for ${u.waiting_for} to sign in on this computer` };
  switch (u.state) {
    case "uploading": {
      if (!u.total_bytes) return { percent: 0, label: "Uploading…" };
      const percent = Math.min(100, Math.floor((u.sent_bytes * 100) / u.total_bytes));
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

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(0)} KiB`;
  return `${(n / 1024 / 1024).toFixed(1)} MiB`;
}

const RATE_NOTES: Record<number, string> = {
  8000: "telephone quality, smallest files",
  16000: "wideband (recommended)",
  48000: "full band, largest files",
};

/// A recording rate (one of those the engine offers) in words.
export function rateLabel(rate: number): string {
  const khz = `${(rate / 1000).toLocaleString("en", { maximumFractionDigits: 1 })} kHz`;
  return RATE_NOTES[rate] ? `${khz} · ${RATE_NOTES[rate]}` : khz;
}

/// A date-picker day range (`YYYY-MM-DD`, the agent's own time zone) as the store's
/// RFC 3339 bounds: from the first millisecond of `from` to the last of `to`.
export function dayRange(from: string, to: string): { from?: string; to?: string } {
  const out: { from?: string; to?: string } = {};
  if (from) out.from = new Date(`${from}T00:00:00`).toISOString();
  if (to) out.to = new Date(`${to}T23:59:59.999`).toISOString();
  return out;
}

/// What the agent is told about a device lost during the call; `null` when it never was.
export function deviceHealthText(device: string, h: DeviceHealth | null): { kind: "alert" | "note"; text: string } | null {
  if (!h) return null;
  if (h.lost) {
    return { kind: "alert", text: `${device} lost: the recording holds silence for it until it is back. Reconnecting every second${h.error ? ` (${h.error})` : ""}.` };
  }
  const times = h.losses === 1 ? "once" : `${h.losses} times`;
  return { kind: "note", text: `${device} was lost ${times} during this call and is back; the recording notes the gap.` };
}

/// The line to the customer: what the agent misses of the customer and, once its phone
/// reported (RTCP), what it misses of the agent, and the round trip; `bad` when the engine
/// says the line is poor.
export function lineText(line: LineView): { text: string; bad: boolean } {
  const pct = (permille: number) => `${(permille / 10).toFixed(1)}%`;
  const theirs = line.sent_lost_permille === null ? "" : ` · the customer's phone misses ${pct(line.sent_lost_permille)} of you`;
  const rtt = line.round_trip_ms === null ? "" : ` · round trip ${line.round_trip_ms} ms`;
  return {
    text: `Line: you miss ${pct(line.heard_lost_permille)} of the customer${theirs}${rtt} · buffer ${line.delay_ms} ms`,
    bad: line.poor,
  };
}

/// While the store cannot be reached: for each project's cached recording settings, whether
/// calls are recorded under them and until when, or, past the age limit, that they are not
/// (in red: calls in that project go unrecorded until the store is reached). `day` formats
/// a date (injected for tests).
export function cachedSettingsLines(cached: CachedSettings[], day: (iso: string) => string = (t) => new Date(t).toLocaleDateString()):
  { kind: "alert" | "note"; project: string; text: string }[] {
  return cached.map((c) => c.usable
    ? { kind: "note", project: c.project, text: `Project ${c.project}: calls are recorded under the settings the store confirmed on ${day(c.confirmed_at)}, until ${day(c.usable_until)} at the latest.` }
    : { kind: "alert", project: c.project, text: `Project ${c.project}: calls are not recorded. Its recording settings were last confirmed by the store on ${day(c.confirmed_at)}, more than ${c.offline_days} day${c.offline_days === 1 ? "" : "s"} ago, and may have changed to record less. Recording resumes once the store is reached.` });
}
