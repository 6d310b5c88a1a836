// Words the agent reads. Pure functions: unit-tested without a window.
import type { SideReason, Warning } from "./types";

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
