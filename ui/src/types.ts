// The engine's types as the window receives them (serde's JSON of callrec-agent's
// Snapshot). Keep in step with crates/agent/src/session.rs and crates/policy.

export type Reason = string;
export type SideReason =
  | "recorded" | "no_call" | "project_records_nothing" | "stopped_by_conference" | "discarded_by_conference"
  | "paused" | "consent_declined" | "consent_withdrawn" | "forbidden_by_project" | "switched_off" | "receipt_without_customer"
  | "no_third_parties" | "third_parties_not_recorded" | "follows_customer";
export type Warning = "receipt_without_customer" | "receipt_replaces_previous";

export interface SideStatus { recorded: boolean; reason: SideReason }
export interface Control { enabled: boolean; reason: Reason | null; message: string | null }
export interface Controls {
  customer_on: Control; customer_off: Control; pause: Control; resume: Control;
  receipt_start: Control; receipt_stop: Control; consent_withdrawn: Control; warnings: Warning[];
}
export interface Take { order_id: string; seq: number; from_ms: number; to_ms: number | null; customer: boolean; status: "kept" | "overwritten" }
export interface CallRequest { project: string; contact: string | null; direction: "inbound" | "outbound"; consent: "granted" | "declined" | "not_asked" }
export interface CallView {
  call_id: string; request: CallRequest; policy_source: "store" | "cache"; elapsed_ms: number;
  status: { agent: SideStatus; customer: SideStatus; third_parties: SideStatus };
  controls: Controls; mic_level: [number, number]; call_level: [number, number];
  mic_health: DeviceHealth | null; call_health: DeviceHealth | null; takes: Take[]; replaces: string[];
  consent_withdrawn_at_ms: number | null;
  sip: SipCallView | null;
}
export type Consent = "granted" | "declined" | "not_asked";
export interface RingView { from: string; consent: Consent | null }
export interface PhoneView { address: string; registration: string | null; ringing: RingView | null; dialing: string | null; early_media: boolean }
export interface PartyView { id: string; uri: string; state: "ringing" | "in_call" | "left" | "failed"; error: string | null }
export interface LineView { heard_lost_permille: number; delay_ms: number; sent_lost_permille: number | null; round_trip_ms: number | null; poor: boolean }
export interface SipCallView { remote: string; held: boolean; muted: boolean; parties: PartyView[]; digits: string; line: LineView }
export interface DeviceHealth { lost: boolean; losses: number; reconnects: number; error: string | null }
export interface UploadView {
  call_id: string; state: "queued" | "uploading" | "uploaded" | "deleted" | "failed"; attempts: number; last_error: string | null; waiting_for: string | null;
  sent_bytes: number; total_bytes: number | null;
}
export type StoreState = "unknown" | "online" | "offline" | "session_expired";
export interface StoreView { state: StoreState; since: string | null; message: string | null }
export interface DeviceLevel { device: string | null; level: [number, number]; error: string | null }
export interface DeviceTestView { mic: DeviceLevel; call: DeviceLevel }
export interface Snapshot {
  user: string | null; role: "agent" | "supervisor" | "admin" | "platform" | null; takes_calls: boolean; server: string | null; encrypted: boolean | null; store: StoreView; rate: number; rates: number[];
  device_test: DeviceTestView | null; call: CallView | null; phone: PhoneView | null; uploads: UploadView[];
  cached_settings: CachedSettings[];
}
/// A project's recording settings cached for calls while the store cannot be reached.
export interface CachedSettings { project: string; confirmed_at: string; offline_days: number; usable_until: string; usable: boolean }
export interface RecordingQuery { project?: string; agent?: string; contact?: string; from?: string; to?: string; limit?: number; cursor?: string }
export interface RecordingList { items: HistoryEntry[]; next_cursor: string | null }
export interface IncomingCall { id: string; agent_id: string; contact: string | null; project: string; direction: "inbound" | "outbound"; consent: "granted" | "declined" | "not_asked"; offered_at: string }
export interface IntentAnswer { accepted: boolean; reason: Reason | null; message: string | null }
export type Intent =
  | { intent: "customer_on" } | { intent: "customer_off" } | { intent: "pause" } | { intent: "resume" }
  | { intent: "receipt_start"; order_id: string } | { intent: "receipt_stop" } | { intent: "consent_withdrawn" };
export interface HistoryEntry {
  id: string; project_id: string; agent_id: string; agent: string; contact: string | null; direction: string | null;
  started_at: string; duration_ms: number; has_audio: boolean; receipts: number; expires_at: string; playable: boolean;
}
export interface ReceiptInfo {
  id: string; call_id: string; project_id: string; agent_id: string; agent: string; contact: string | null; order_id: string; seq: number;
  customer: boolean; started_at: string; from_ms: number; to_ms: number; expires_at: string; playable: boolean;
}
export interface ReceiptList { items: ReceiptInfo[]; next_cursor: string | null }
export interface ReceiptQuery { order_id?: string; contact?: string; project?: string; limit?: number; cursor?: string }
