//! The HTTP contract between callrec's desktop app and its central store: the paths, the
//! JSON bodies and the error body, in one place so client and server cannot disagree.
//!
//! It knows nothing of HTTP libraries (no axum, no reqwest): only types and names.
//!
//! # Uploading a call (resumable, idempotent)
//!
//! 1. `PUT /api/v1/calls/{call_id}` with an [`UploadManifest`]: the call's `recording.json`
//!    and the size and sha256 of each of its files. The answer is the [`UploadState`]: for
//!    each file how many bytes the store already holds. Sending the same manifest again is
//!    harmless (the call id makes it idempotent); a different one for the same call is a
//!    conflict (409).
//! 2. For each file not yet complete: `PATCH /api/v1/calls/{call_id}/files/{index}` with
//!    header [`UPLOAD_OFFSET`] equal to the bytes the store holds and the next bytes as the
//!    body (any length, `application/offset+octet-stream`). The answer carries the new offset.
//!    A wrong offset is a 409 whose body gives the right one. When the last byte arrives the
//!    store checks the sha256; a mismatch discards the file (offset back to 0, 422).
//! 3. When every file is complete and verified the call becomes visible; the state says
//!    `complete: true` and the client may delete its local copy.
//!
//! A call already past its expiry is refused with 410: the client deletes it.

pub mod sidecar;

use callrec_policy::{GlobalSettings, Policy, ProjectSettings, Role};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

/// The prefix of every path.
pub const API: &str = "/api/v1";
/// Header carrying a byte offset in resumable uploads.
pub const UPLOAD_OFFSET: &str = "upload-offset";
/// Largest accepted body of one upload request (a chunk), in bytes.
pub const MAX_CHUNK: usize = 8 * 1024 * 1024;
/// Largest accepted file of a call, in bytes (a 16-bit stereo 48 kHz WAV of 6 hours).
pub const MAX_FILE: u64 = 4 * 1024 * 1024 * 1024 - 1;
/// Largest accepted JSON body, in bytes.
pub const MAX_JSON: usize = 1024 * 1024;

/// Paths of the API, for clients (servers route the same strings).
pub mod paths {
    /// `POST`: sign in.
    pub const LOGIN: &str = "/api/v1/login";
    /// `POST`: end the session whose token the request carries.
    pub const LOGOUT: &str = "/api/v1/logout";
    /// `GET`, `PUT`: global settings (admin).
    pub const SETTINGS: &str = "/api/v1/settings";
    /// `GET`, `POST`: projects.
    pub const PROJECTS: &str = "/api/v1/projects";
    /// `GET`, `POST`: users (admin).
    pub const USERS: &str = "/api/v1/users";
    /// `GET`: recordings the caller may hear.
    pub const RECORDINGS: &str = "/api/v1/recordings";
    /// `GET`: the audit log (admin).
    pub const AUDIT: &str = "/api/v1/audit";
    /// `GET`: the OpenAPI document.
    pub const OPENAPI: &str = "/api/v1/openapi.json";
    /// `POST`: the telephony platform offers a call to an agent.
    pub const CALLS: &str = "/api/v1/calls";
    /// `GET` (server-sent events): calls offered to the signed-in agent.
    pub const CALL_EVENTS: &str = "/api/v1/calls/events";
    /// `POST`: which of the calls on an agent's machine must go (erased, expired).
    pub const CALL_STATUS: &str = "/api/v1/calls/status";
    /// `GET`, `POST`: legal holds (admin).
    pub const HOLDS: &str = "/api/v1/holds";
    /// `POST`: deletion on request (admin).
    pub const ERASURES: &str = "/api/v1/erasures";
    /// `GET`: voice receipts the caller may hear, by order id.
    pub const RECEIPTS: &str = "/api/v1/receipts";

    /// `GET`, `PUT`, `DELETE`: one project.
    pub fn project(id: &str) -> String {
        format!("{PROJECTS}/{id}")
    }
    /// `GET`: a project's resolved policy (ETag, If-None-Match).
    pub fn policy(project: &str) -> String {
        format!("{PROJECTS}/{project}/policy")
    }
    /// `GET`, `PUT`, `DELETE`: one user.
    pub fn user(id: &str) -> String {
        format!("{USERS}/{id}")
    }
    /// `PUT`: start or resume a call's upload.
    pub fn call(id: &uuid::Uuid) -> String {
        format!("/api/v1/calls/{id}")
    }
    /// `HEAD`, `PATCH`: one file of a call's upload.
    pub fn call_file(id: &uuid::Uuid, index: usize) -> String {
        format!("/api/v1/calls/{id}/files/{index}")
    }
    /// `GET`: one recording's metadata.
    pub fn recording(id: &uuid::Uuid) -> String {
        format!("{RECORDINGS}/{id}")
    }
    /// `GET` (HTTP Range): a recording's audio.
    pub fn recording_audio(id: &uuid::Uuid) -> String {
        format!("{RECORDINGS}/{id}/audio")
    }
    /// `GET`: a contact's calls in the caller's projects, each saying whether the caller may
    /// hear it.
    pub fn contact_calls(contact: &str) -> String {
        format!("/api/v1/contacts/{contact}/calls")
    }
    /// `GET` (HTTP Range): a voice receipt's audio, by the receipt's id.
    pub fn receipt_audio_by_id(id: &uuid::Uuid) -> String {
        format!("{RECEIPTS}/{id}/audio")
    }
    /// `GET` (HTTP Range): a receipt take's audio.
    pub fn receipt_audio(id: &uuid::Uuid, order_id: &str, seq: u32) -> String {
        format!("{RECORDINGS}/{id}/receipts/{order_id}/{seq}/audio")
    }
}

/// Every error the store returns: a machine code and a sentence for people.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    /// The error.
    pub error: ErrorDetail,
}

/// An error's code and message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorDetail {
    /// Stable machine code, e.g. `invalid_settings`, `unauthorized`, `offset_mismatch`.
    pub code: String,
    /// What went wrong and what to do, in words.
    pub message: String,
    /// For `offset_mismatch`: the offset the store holds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub offset: Option<u64>,
    /// For validation errors: the field at fault (dotted path), so a form can show the
    /// message beside it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
}

/// `POST /login`.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    /// The user name.
    pub username: String,
    /// The password.
    pub password: String,
}

impl std::fmt::Debug for LoginRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoginRequest")
            .field("username", &self.username)
            .field("password", &"<redacted>")
            .finish()
    }
}

/// A user as others see it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserInfo {
    /// The user's id.
    pub id: String,
    /// The user's name.
    pub username: String,
    /// Agent, supervisor or admin.
    pub role: Role,
    /// Projects the user belongs to (agent) or supervises (supervisor).
    #[serde(default)]
    pub projects: Vec<String>,
}

/// The answer to a successful login.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoginResponse {
    /// Bearer token for the `Authorization` header.
    pub token: String,
    /// When the token stops working.
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: OffsetDateTime,
    /// Who signed in.
    pub user: UserInfo,
}

impl std::fmt::Debug for LoginResponse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoginResponse")
            .field("token", &"<redacted>")
            .field("expires_at", &self.expires_at)
            .field("user", &self.user)
            .finish()
    }
}

/// `POST /users`, `PUT /users/{id}`.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserRequest {
    /// The user name (letters, digits, `.`, `_`, `-`).
    pub username: String,
    /// The password (at least 8 characters, 12 for an admin); optional on update (a new one
    /// ends the user's sessions).
    #[serde(default)]
    pub password: Option<String>,
    /// The role.
    pub role: Role,
    /// Project ids.
    #[serde(default)]
    pub projects: Vec<String>,
}

impl std::fmt::Debug for UserRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UserRequest")
            .field("username", &self.username)
            .field("password", &self.password.as_ref().map(|_| "<redacted>"))
            .field("role", &self.role)
            .field("projects", &self.projects)
            .finish()
    }
}

/// A project: its id, its name and its recording settings (POLICY.md §9 format).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Project {
    /// The project's id (a slug).
    pub id: String,
    /// Its display name.
    pub name: String,
    /// Its recording settings.
    #[serde(flatten)]
    pub settings: ProjectSettings,
}

/// A project's resolved policy, as the app caches it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PolicyResponse {
    /// The project.
    pub project_id: String,
    /// The version (also the ETag): a new one each time the project or global settings
    /// change what the project's calls obey.
    pub version: String,
    /// The policy.
    pub policy: Policy,
    /// How many days the app may record under this policy, cached, once the store cannot be
    /// reached (POLICY.md §8: the global `offline_policy_days`), counted from the last time
    /// the store confirmed it.
    #[serde(default = "default_offline_days")]
    pub offline_policy_days: u8,
}

fn default_offline_days() -> u8 {
    callrec_policy::OfflineDays::DEFAULT.get()
}

/// The global settings as the API carries them (POLICY.md §9's `global` object).
pub type Settings = GlobalSettings;

/// One file of a call, as the manifest announces it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ManifestFile {
    /// `recording` or `receipt`.
    pub kind: FileKind,
    /// For receipts: the order id.
    #[serde(default)]
    pub order_id: Option<String>,
    /// For receipts: the take's number.
    #[serde(default)]
    pub seq: Option<u32>,
    /// Size in bytes.
    pub bytes: u64,
    /// SHA-256, lowercase hex.
    pub sha256: String,
}

/// What a call's file is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FileKind {
    /// The main recording.
    Recording,
    /// A voice receipt take.
    Receipt,
}

/// `PUT /calls/{call_id}`: a call to upload.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UploadManifest {
    /// The call's `recording.json`, as written by the recorder.
    pub sidecar: serde_json::Value,
    /// Its files, in the order their indices refer to.
    pub files: Vec<ManifestFile>,
}

/// Where an upload stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UploadState {
    /// The call.
    pub call_id: Uuid,
    /// Bytes held of each file, in manifest order.
    pub files: Vec<FileState>,
    /// Every file is complete and verified: the recording is stored.
    pub complete: bool,
}

/// Bytes held of one file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileState {
    /// Bytes the store holds.
    pub received: u64,
    /// Bytes expected.
    pub bytes: u64,
}

/// A recording in a listing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordingSummary {
    /// The call id.
    pub id: Uuid,
    /// Its project.
    pub project_id: String,
    /// The agent who recorded it.
    pub agent_id: String,
    /// The contact, where known.
    pub contact: Option<String>,
    /// Inbound or outbound.
    pub direction: Option<String>,
    /// When the call started.
    #[serde(with = "time::serde::rfc3339")]
    pub started_at: OffsetDateTime,
    /// Duration in milliseconds.
    pub duration_ms: u64,
    /// Whether there is main audio (outcome kept).
    pub has_audio: bool,
    /// Receipt takes kept.
    pub receipts: u32,
    /// When it will be deleted.
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: OffsetDateTime,
}

/// One call in a contact's history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HistoryEntry {
    /// The call.
    #[serde(flatten)]
    pub summary: RecordingSummary,
    /// The agent's user name.
    pub agent: String,
    /// Whether the caller may listen to it (POLICY.md section 8).
    pub playable: bool,
}

/// A voice receipt take as the store keeps it: an artifact of its own, with its own expiry
/// (POLICY.md §8), found by order id and played on its own.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReceiptInfo {
    /// The receipt's id.
    pub id: Uuid,
    /// The call it was recorded in.
    pub call_id: Uuid,
    /// The call's project.
    pub project_id: String,
    /// The agent who recorded it (user id).
    pub agent_id: String,
    /// The agent's user name.
    pub agent: String,
    /// The contact, where known.
    pub contact: Option<String>,
    /// The order it confirms.
    pub order_id: String,
    /// Its number among the order's takes in the call, from 1.
    pub seq: u32,
    /// Whether the customer's voice is in it.
    pub customer: bool,
    /// When the call started.
    #[serde(with = "time::serde::rfc3339")]
    pub started_at: OffsetDateTime,
    /// Where in the call it lies (ms from the call's start).
    pub from_ms: u64,
    /// Its end.
    pub to_ms: u64,
    /// When it is deleted.
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: OffsetDateTime,
    /// Whether the caller may listen to it.
    pub playable: bool,
}

/// `GET /receipts`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReceiptList {
    /// The receipts the caller may hear, newest call first.
    pub items: Vec<ReceiptInfo>,
    /// Pass as `cursor` for the next page; absent on the last.
    pub next_cursor: Option<String>,
}

/// `GET /receipts` filters: every one optional.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReceiptQuery {
    /// One order.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub order_id: Option<String>,
    /// One contact.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contact: Option<String>,
    /// One project.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub project: Option<String>,
    /// Page size, 1 to 500 (default 50).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<u32>,
    /// The `next_cursor` of the previous page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cursor: Option<String>,
}

/// A legal hold (POLICY.md §8): a recording, or every recording of a contact (present and
/// future), kept past its expiry and refused to deletion on request until lifted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hold {
    /// The hold's id.
    pub id: Uuid,
    /// What it holds.
    #[serde(flatten)]
    pub target: Subject,
    /// Why (a case reference, a dispute).
    pub reason: String,
    /// Who placed it (user id).
    pub placed_by: String,
    /// When.
    #[serde(with = "time::serde::rfc3339")]
    pub placed_at: OffsetDateTime,
    /// When it was lifted, if it was.
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub lifted_at: Option<OffsetDateTime>,
    /// Who lifted it (user id), if it was.
    #[serde(default)]
    pub lifted_by: Option<String>,
    /// Why it was lifted, if it was.
    #[serde(default)]
    pub lift_reason: Option<String>,
}

/// What a hold or an erasure is about: one recording (a call, with its receipts), or every
/// recording of a contact.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Subject {
    /// One call's recording and its receipts.
    Recording(Uuid),
    /// Every recording of a contact.
    Contact(String),
}

/// `POST /holds`, `POST /erasures`: a subject and the reason, which the log keeps.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SubjectRequest {
    /// What.
    #[serde(flatten)]
    pub subject: Subject,
    /// Why (required, non-empty).
    pub reason: String,
}

/// An erasure on request (POLICY.md §8), as agents' apps read it to delete their copies.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Erasure {
    /// What was erased.
    #[serde(flatten)]
    pub subject: Subject,
    /// When.
    #[serde(with = "time::serde::rfc3339")]
    pub erased_at: OffsetDateTime,
    /// The calls deleted from the store.
    pub call_ids: Vec<Uuid>,
    /// Calls kept because a legal hold covers them.
    pub held: Vec<Uuid>,
}

/// One call still on an agent's machine, as the app asks the store about it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LocalCall {
    /// The call.
    pub id: Uuid,
    /// Its project.
    pub project_id: String,
    /// Its contact.
    pub contact: Option<String>,
    /// When it started.
    #[serde(with = "time::serde::rfc3339")]
    pub started_at: OffsetDateTime,
}

/// `POST /calls/status`: the calls on an agent's machine not yet in the store.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CallStatusRequest {
    /// The calls.
    pub calls: Vec<LocalCall>,
}

/// The store's answer: the calls the app must delete now, erased on request or past an
/// expiry a shortened holding time brought forward.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CallStatusResponse {
    /// Delete these local copies.
    pub delete: Vec<Uuid>,
}

/// `GET /recordings`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordingList {
    /// The recordings, newest first, each with its agent's user name.
    pub items: Vec<HistoryEntry>,
    /// Pass as `cursor` for the next page; absent on the last.
    pub next_cursor: Option<String>,
}

/// `GET /recordings` filters: every one optional; dates are RFC 3339 instants.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecordingQuery {
    /// One project.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub project: Option<String>,
    /// One agent, by user name or id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent: Option<String>,
    /// One contact.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contact: Option<String>,
    /// Calls started at or after.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    /// Calls started at or before.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<String>,
    /// Page size, 1 to 500 (default 50).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<u32>,
    /// The `next_cursor` of the previous page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cursor: Option<String>,
}

/// `POST /calls`: a call the telephony platform offers to an agent (admin role).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OfferCall {
    /// The agent's user name.
    pub agent: String,
    /// The contact (customer) id or number.
    pub contact: Option<String>,
    /// The project the call belongs to.
    pub project: String,
    /// Inbound or outbound.
    pub direction: callrec_policy::Direction,
    /// The customer's answer to the consent step.
    pub consent: callrec_policy::Consent,
}

/// A call offered to an agent, as the app receives it (one server-sent event `call`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IncomingCall {
    /// The offer's id.
    pub id: Uuid,
    /// The agent's user id.
    pub agent_id: String,
    /// The contact.
    pub contact: Option<String>,
    /// The project.
    pub project: String,
    /// Inbound or outbound.
    pub direction: callrec_policy::Direction,
    /// The customer's consent.
    pub consent: callrec_policy::Consent,
    /// When it was offered.
    #[serde(with = "time::serde::rfc3339")]
    pub offered_at: OffsetDateTime,
}

/// What happened in a call, as the telephony platform reports it (`POST /calls/{id}/events`):
/// facts the agent's app applies to the recording the instant it hears of them, so §4's
/// conference rules and a withdrawn consent hold on calls recorded from devices, and a call
/// the agent forgot to hang up ends.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case", deny_unknown_fields)]
pub enum CallFact {
    /// A third party joined.
    PartyJoined {
        /// The party's id (any label, unique in the call).
        party: String,
    },
    /// A third party left.
    PartyLeft {
        /// The party's id.
        party: String,
    },
    /// The customer withdrew consent to be recorded.
    ConsentWithdrawn,
    /// The call is over.
    CallEnded,
}

/// A call fact pushed to the agent's app (one server-sent event `call_event`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CallFactEvent {
    /// The call (the offer's id; a call accepted from an offer is recorded under it).
    pub call_id: Uuid,
    /// The agent whose call it is.
    pub agent_id: String,
    /// What happened.
    pub fact: CallFact,
    /// When the store received it.
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
}

/// What an agent's app receives on `GET /calls/events`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Pushed {
    /// A call offered to the agent (event `call`).
    Offer(IncomingCall),
    /// A fact of a call of the agent's (event `call_event`).
    Fact(CallFactEvent),
}

impl Pushed {
    /// The agent it is for.
    pub fn agent_id(&self) -> &str {
        match self {
            Self::Offer(c) => &c.agent_id,
            Self::Fact(f) => &f.agent_id,
        }
    }

    /// The server-sent event's name.
    pub fn event_name(&self) -> &'static str {
        match self {
            Self::Offer(_) => "call",
            Self::Fact(_) => "call_event",
        }
    }
}

/// An audit entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEntry {
    /// Sequence number.
    pub id: i64,
    /// When.
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    /// Who (user id), if anyone.
    pub actor: Option<String>,
    /// What: `login`, `login_failed`, `playback`, `settings_changed`, `project_created`,
    /// `project_changed`, `project_deleted`, `user_created`, `user_changed`, `user_deleted`,
    /// `recording_stored`, `retention_deleted`.
    pub action: String,
    /// On what.
    pub target: Option<String>,
    /// Details.
    pub detail: serde_json::Value,
}
