//! `recording.json`: the metadata that travels with a recorded call, from the recorder to
//! the central store.

use callrec_policy::{Consent, Direction, Interval, Policy, ReceiptTake, Refusal, Verdict};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

/// The version of the `recording.json` format.
pub const FORMAT: u32 = 1;

/// Who and what a call is, known when it starts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CallInfo {
    /// The call's id (UUID v7: sortable by time).
    pub call_id: Uuid,
    /// The project the call belongs to.
    pub project_id: Option<String>,
    /// The version of the project's policy the call obeyed (from the central store).
    pub policy_version: Option<String>,
    /// The agent's user id; empty offline (the store sets it to the uploader).
    pub agent: String,
    /// The contact (customer) id, where known.
    pub contact: Option<String>,
    /// Wall-clock time of the audio's origin (t_ms 0).
    #[serde(with = "time::serde::rfc3339")]
    pub origin_at: OffsetDateTime,
}

/// One written file, as the sidecar describes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileEntry {
    /// Path relative to the recording's folder.
    pub file: String,
    /// SHA-256 of the whole file, hex.
    pub sha256: String,
    /// Size in bytes.
    pub bytes: u64,
    /// Stereo frames of audio.
    pub frames: u64,
    /// Duration in milliseconds.
    pub duration_ms: u64,
}

/// A receipt take with its file (none for an overwritten take).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReceiptEntry {
    /// The take as the policy reports it.
    #[serde(flatten)]
    pub take: ReceiptTake,
    /// Its file, when kept.
    pub file: Option<FileEntry>,
}

/// A stretch of the call where an input device was lost (unplugged, its sound server
/// restarted): the recording holds exact silence for that side there, not a stall.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeviceGap {
    /// `agent` (the microphone) or `remote` (the call audio).
    pub side: String,
    /// From (on the events' clock).
    pub from_ms: u64,
    /// To.
    pub to_ms: u64,
    /// What the device or its driver said.
    pub error: Option<String>,
}

/// Why a side's audio is silent (or altered) over a stretch the policy alone would not explain
/// (POLICY.md §7 says who may be recorded; this says what the audio holds).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Note {
    /// `agent`, `customer`, `remote` (a call-audio input carrying every remote voice) or
    /// `party ID`.
    pub side: String,
    /// From (on the events' clock).
    pub from_ms: u64,
    /// To.
    pub to_ms: u64,
    /// Why: `mixed_with_unrecorded_third_party` (a call-audio device carries every remote
    /// voice mixed: while a third party who may not be recorded is in the call, the whole
    /// remote side is silence), `consent_withdrawn`, `muted`, `held`,
    /// `keypad_tones_masked`.
    pub reason: String,
}

/// `recording.json`: everything the central store needs to keep, list and expire a call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sidecar {
    /// [`FORMAT`].
    pub format: u32,
    /// Who and what.
    #[serde(flatten)]
    pub info: CallInfo,
    /// Inbound or outbound.
    pub direction: Option<Direction>,
    /// The customer's consent.
    pub consent: Consent,
    /// When the call started.
    #[serde(with = "time::serde::rfc3339::option")]
    pub started_at: Option<OffsetDateTime>,
    /// When it ended.
    #[serde(with = "time::serde::rfc3339::option")]
    pub ended_at: Option<OffsetDateTime>,
    /// The instant (on the events' clock) the recording's first frame stands for.
    pub recording_origin_ms: Option<u64>,
    /// Whether the call was recovered after a crash.
    pub recovered: bool,
    /// Frames per second of every file.
    pub rate: u32,
    /// The resolved policy the call obeyed.
    pub policy: Policy,
    /// Months the recording is kept.
    pub holding_months: u8,
    /// When it must be deleted everywhere.
    #[serde(with = "time::serde::rfc3339::option")]
    pub expires_at: Option<OffsetDateTime>,
    /// Who was recorded when (instants on the events' clock).
    pub timeline: Vec<Interval>,
    /// Every receipt take.
    pub receipts: Vec<ReceiptEntry>,
    /// Refused events.
    pub refused: Vec<Refusal>,
    /// Kept, none or discarded.
    pub outcome: Verdict,
    /// The main recording, when kept.
    pub recording: Option<FileEntry>,
    /// Where a device was lost during the call (empty: never).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub device_gaps: Vec<DeviceGap>,
    /// Stretches where a side's audio holds less than the timeline's policy would (why it is
    /// silent there); the timeline itself already says what each side's audio holds.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<Note>,
}
