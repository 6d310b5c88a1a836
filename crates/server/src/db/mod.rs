//! Storage behind traits: metadata in a [`Database`], audio in a [`BlobStore`]. The embedded
//! default is SQLite plus files under the data folder; a Postgres + S3-compatible pair can
//! implement the same traits without touching the handlers.

mod artifacts;
mod blobs;
mod sqlite;

use std::pin::Pin;

use callrec_policy::Role;
use callrec_protocol::{AuditEntry, FileKind, RecordingSummary};
use time::OffsetDateTime;
use uuid::Uuid;

pub use blobs::FsBlobs;
pub use sqlite::SqliteDb;

use crate::error::Result;

/// The blob key of file `index` of a call while it is being uploaded.
pub(crate) fn part_key(call: &Uuid, index: usize) -> String {
    format!("uploads/{call}/{index}.part")
}

/// The blob key of file `index` of a stored call.
pub(crate) fn final_key(call: &Uuid, index: usize) -> String {
    format!("recordings/{call}/{index}.wav")
}

/// A user account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    /// Stable id.
    pub id: String,
    /// Sign-in name.
    pub username: String,
    /// Argon2 PHC string.
    pub password_hash: String,
    /// Agent, supervisor or admin.
    pub role: Role,
    /// Projects it belongs to (agent) or supervises (supervisor).
    pub projects: Vec<String>,
}

/// A project as stored: its settings JSON is the §9 project object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProjectRow {
    /// The slug.
    pub id: String,
    /// Display name.
    pub name: String,
    /// The project's settings, §9 JSON.
    pub settings_json: String,
}

/// One file of an upload in progress.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UploadFile {
    /// Recording or receipt.
    pub kind: FileKind,
    /// For receipts.
    pub order_id: Option<String>,
    /// For receipts.
    pub seq: Option<u32>,
    /// Expected size.
    pub bytes: u64,
    /// Expected SHA-256.
    pub sha256: String,
    /// Bytes held.
    pub received: u64,
    /// Complete and checked.
    pub verified: bool,
}

/// An upload: its manifest and how far each file has come.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Upload {
    /// The call.
    pub call_id: Uuid,
    /// The authenticated uploader (becomes the recording's agent).
    pub uploader: String,
    /// The manifest as received, canonical JSON (for idempotency checks).
    pub manifest_json: String,
    /// The recording's metadata, computed when the upload started.
    pub summary: RecordingSummary,
    /// Files in manifest order.
    pub files: Vec<UploadFile>,
    /// Stored and visible.
    pub complete: bool,
    /// When the store saw the upload begin.
    pub started_at: OffsetDateTime,
}

/// What one uploader holds in the store: every call it uploaded or is uploading.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Usage {
    /// Declared bytes of all its uploads, finished or not.
    pub bytes: u64,
    /// Uploads not finished yet.
    pub open_uploads: u64,
}

/// A stretch of time during which a policy version was a project's policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PolicyPeriod {
    /// From.
    pub since: OffsetDateTime,
    /// Until (`None`: still in force).
    pub until: Option<OffsetDateTime>,
}

/// A call the telephony platform offered to an agent, as the store saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Offer {
    /// The call's id (the recording of an accepted call carries it).
    pub id: Uuid,
    /// The agent offered the call.
    pub agent_id: String,
    /// Its project.
    pub project_id: String,
    /// The contact.
    pub contact: Option<String>,
    /// Inbound or outbound.
    pub direction: callrec_policy::Direction,
    /// The customer's consent as the platform reported it.
    pub consent: callrec_policy::Consent,
    /// When the store received it.
    pub offered_at: OffsetDateTime,
}

/// An audit log query: newest first (or, with `after`, forward from an entry), filtered.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AuditQuery {
    /// Entries after this id, oldest first.
    pub after: Option<i64>,
    /// Entries before this id (the next page, newest first).
    pub before: Option<i64>,
    /// Only this action.
    pub action: Option<String>,
    /// Only this actor (a user id).
    pub actor: Option<String>,
    /// At or after.
    pub from: Option<OffsetDateTime>,
    /// Before.
    pub to: Option<OffsetDateTime>,
    /// Page size.
    pub limit: u32,
}

/// A stored recording.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recording {
    /// Listing fields.
    pub summary: RecordingSummary,
    /// The sidecar as stored (the agent field set to the uploader, expiry the store's).
    pub sidecar_json: String,
    /// Its files.
    pub files: Vec<StoredFile>,
}

/// One stored audio file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredFile {
    /// Recording or receipt.
    pub kind: FileKind,
    /// For receipts.
    pub order_id: Option<String>,
    /// For receipts.
    pub seq: Option<u32>,
    /// Blob key.
    pub key: String,
    /// Size.
    pub bytes: u64,
}

/// Which recordings a listing may show.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    /// Everything (admin).
    All,
    /// The caller's own recordings and those of the given projects.
    Own {
        /// The caller.
        agent_id: String,
        /// Projects whose recordings the caller may hear.
        projects: Vec<String>,
    },
}

/// A listing request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListQuery {
    /// What the caller may see.
    pub scope: Scope,
    /// Filters.
    pub project: Option<String>,
    /// Filters.
    pub agent: Option<String>,
    /// Filters.
    pub contact: Option<String>,
    /// Started at or after.
    pub from: Option<OffsetDateTime>,
    /// Started before.
    pub to: Option<OffsetDateTime>,
    /// Page size.
    pub limit: u32,
    /// Continue after this (started_at ms, id).
    pub after: Option<(i64, Uuid)>,
}

/// A new audit entry.
#[derive(Debug, Clone)]
pub struct NewAudit<'a> {
    /// Who.
    pub actor: Option<&'a str>,
    /// What.
    pub action: &'a str,
    /// On what.
    pub target: Option<&'a str>,
    /// Details.
    pub detail: serde_json::Value,
}

/// A voice receipt take kept as an artifact of its own (POLICY.md §8).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Receipt {
    /// Its id.
    pub id: Uuid,
    /// The call it was recorded in.
    pub call_id: Uuid,
    /// The call's project.
    pub project_id: String,
    /// The agent who recorded it.
    pub agent_id: String,
    /// The contact.
    pub contact: Option<String>,
    /// The order.
    pub order_id: String,
    /// The take's number for its order in the call.
    pub seq: u32,
    /// Whether the customer is in it.
    pub customer: bool,
    /// When the call started.
    pub started_at: OffsetDateTime,
    /// Start within the call (ms).
    pub from_ms: u64,
    /// End within the call (ms).
    pub to_ms: u64,
    /// When it is deleted.
    pub expires_at: OffsetDateTime,
    /// Blob key.
    pub key: String,
    /// Size.
    pub bytes: u64,
}

/// A receipts query: what the caller may see, filtered, newest first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceiptQuery {
    /// What the caller may see.
    pub scope: Scope,
    /// Only this order.
    pub order_id: Option<String>,
    /// Only this contact.
    pub contact: Option<String>,
    /// Only this project.
    pub project: Option<String>,
    /// Page size.
    pub limit: u32,
    /// Continue after this (started_at ms, id).
    pub after: Option<(i64, Uuid)>,
}

/// A call's or a receipt's dates, for re-dating when a holding time shortens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Dated {
    /// The artifact.
    pub id: Uuid,
    /// When its call started.
    pub started_at: OffsetDateTime,
    /// When it expires now.
    pub expires_at: OffsetDateTime,
}

/// Receipts, legal holds, erasures and re-dating: what the store keeps beside recordings for
/// retention duties (POLICY.md §8). Methods block.
pub trait Artifacts {
    /// A receipt.
    fn receipt(&self, id: &Uuid) -> Result<Option<Receipt>>;
    /// The receipt of take `seq` of `order_id` in a call.
    fn receipt_of_take(&self, call: &Uuid, order_id: &str, seq: u32) -> Result<Option<Receipt>>;
    /// A page of receipts, newest call first.
    fn list_receipts(&self, query: &ReceiptQuery) -> Result<Vec<Receipt>>;
    /// A call's receipts.
    fn receipts_of_call(&self, call: &Uuid) -> Result<Vec<Receipt>>;
    /// Receipts expired at `now` and not held, up to `limit`.
    fn expired_receipts(&self, now: OffsetDateTime, limit: u32) -> Result<Vec<Receipt>>;
    /// Deletes a receipt's row.
    fn delete_receipt(&self, id: &Uuid) -> Result<()>;

    /// Places a hold.
    fn insert_hold(&self, hold: &callrec_protocol::Hold) -> Result<()>;
    /// Lifts an active hold; the hold as it was, `None` if there is no such active hold.
    fn lift_hold(
        &self,
        id: &Uuid,
        by: &str,
        reason: &str,
        at: OffsetDateTime,
    ) -> Result<Option<callrec_protocol::Hold>>;
    /// Holds, the active ones only or all.
    fn holds(&self, active_only: bool) -> Result<Vec<callrec_protocol::Hold>>;
    /// Whether an active hold covers a call (by its id or its contact).
    fn held(&self, call: &Uuid, contact: Option<&str>) -> Result<bool>;

    /// The calls (recordings) of a contact.
    fn calls_of_contact(&self, contact: &str) -> Result<Vec<Uuid>>;
    /// The unfinished uploads of a contact's calls.
    fn open_uploads_of_contact(&self, contact: &str) -> Result<Vec<Uuid>>;
    /// Whether an erasure covers a call: by its id, or by its contact for a call that started
    /// before the contact's recordings were erased.
    fn erased(
        &self,
        call: &Uuid,
        contact: Option<&str>,
        started_at: OffsetDateTime,
    ) -> Result<bool>;
    /// The calls that have receipts of a contact (some may outlive their recording).
    fn receipt_calls_of_contact(&self, contact: &str) -> Result<Vec<Uuid>>;
    /// Keeps an erasure for agents' apps to read.
    fn insert_erasure(&self, erasure: &callrec_protocol::Erasure) -> Result<()>;
    /// Erasures made at or after `since`, oldest first.
    fn erasures_since(&self, since: OffsetDateTime) -> Result<Vec<callrec_protocol::Erasure>>;

    /// The dates of a project's recordings.
    fn recording_dates(&self, project: &str) -> Result<Vec<Dated>>;
    /// The dates of a project's receipts.
    fn receipt_dates(&self, project: &str) -> Result<Vec<Dated>>;
    /// New expiries for recordings (`receipts: false`) or receipts.
    fn set_expiries(&self, receipts: bool, expiries: &[(Uuid, OffsetDateTime)]) -> Result<()>;
}

/// Metadata storage. Methods block: handlers call them on the blocking pool.
pub trait Database: Artifacts + Send + Sync + 'static {
    /// How many users exist (deleted ones excluded).
    fn user_count(&self) -> Result<u64>;
    /// Adds a user; a taken name is a conflict.
    fn insert_user(&self, user: &User) -> Result<()>;
    /// Replaces a user's fields.
    fn update_user(&self, user: &User) -> Result<()>;
    /// Deletes a user (its recordings stay) and its tokens. False when absent.
    fn delete_user(&self, id: &str) -> Result<bool>;
    /// A user by id.
    fn user(&self, id: &str) -> Result<Option<User>>;
    /// A user by name.
    fn user_by_name(&self, username: &str) -> Result<Option<User>>;
    /// Every user.
    fn users(&self) -> Result<Vec<User>>;

    /// Stores a session token's hash.
    fn insert_token(
        &self,
        hash: &str,
        user_id: &str,
        created_at: OffsetDateTime,
        expires_at: OffsetDateTime,
    ) -> Result<()>;
    /// The user a token belongs to, if the token is valid at `now` (not expired, used after
    /// `idle_since`); notes the use.
    fn token_user(
        &self,
        hash: &str,
        now: OffsetDateTime,
        idle_since: OffsetDateTime,
    ) -> Result<Option<User>>;
    /// Ends one session. False when unknown.
    fn delete_token(&self, hash: &str) -> Result<bool>;
    /// Deletes sessions expired at `now` or idle since `idle_since`; returns how many.
    fn purge_tokens(&self, now: OffsetDateTime, idle_since: OffsetDateTime) -> Result<u64>;

    /// The global settings JSON, if ever set.
    fn global_settings(&self) -> Result<Option<String>>;
    /// Replaces the global settings JSON.
    fn set_global_settings(&self, json: &str) -> Result<()>;

    /// Every project.
    fn projects(&self) -> Result<Vec<ProjectRow>>;
    /// One project.
    fn project(&self, id: &str) -> Result<Option<ProjectRow>>;
    /// Adds a project; a taken id is a conflict.
    fn insert_project(&self, project: &ProjectRow) -> Result<()>;
    /// Replaces a project. False when absent.
    fn update_project(&self, project: &ProjectRow) -> Result<bool>;
    /// Deletes a project (its recordings stay until they expire), its memberships, and ends
    /// its policy's period at `now`. False when absent.
    fn delete_project(&self, id: &str, now: OffsetDateTime) -> Result<bool>;

    /// Notes that `version` is the project's policy from `now` on (when it was not already):
    /// the version is kept, the period of the one before ends.
    fn note_policy(
        &self,
        version: &str,
        project_id: &str,
        policy_json: &str,
        now: OffsetDateTime,
    ) -> Result<()>;
    /// A policy version known to the store: (project id, policy JSON).
    fn policy_version(&self, version: &str) -> Result<Option<(String, String)>>;
    /// When a version was a project's policy.
    fn policy_periods(&self, project_id: &str, version: &str) -> Result<Vec<PolicyPeriod>>;

    /// Keeps an offered call.
    fn insert_offer(&self, offer: &Offer) -> Result<()>;
    /// An offered call.
    fn offer(&self, id: &Uuid) -> Result<Option<Offer>>;
    /// Forgets offers made before `before`; returns how many.
    fn purge_offers(&self, before: OffsetDateTime) -> Result<u64>;

    /// An upload, if started.
    fn upload(&self, call_id: &Uuid) -> Result<Option<Upload>>;
    /// Starts an upload.
    fn insert_upload(&self, upload: &Upload) -> Result<()>;
    /// Records how far a file has come.
    fn set_received(
        &self,
        call_id: &Uuid,
        index: usize,
        received: u64,
        verified: bool,
    ) -> Result<()>;
    /// What `uploader` holds in the store.
    fn usage(&self, uploader: &str) -> Result<Usage>;
    /// Unfinished uploads with no chunk since `idle_since`, up to `limit`.
    fn abandoned_uploads(&self, idle_since: OffsetDateTime, limit: u32) -> Result<Vec<Upload>>;
    /// Makes a fully verified upload a stored recording and its receipts, atomically.
    fn complete_upload(
        &self,
        call_id: &Uuid,
        recording: &Recording,
        receipts: &[Receipt],
    ) -> Result<()>;

    /// A stored recording.
    fn recording(&self, id: &Uuid) -> Result<Option<Recording>>;
    /// A page of recordings, newest first.
    fn list(&self, query: &ListQuery) -> Result<Vec<RecordingSummary>>;
    /// Recordings expired at `now` and not held, up to `limit`.
    fn expired(&self, now: OffsetDateTime, limit: u32) -> Result<Vec<Recording>>;
    /// Deletes a recording's rows (and its upload's); also an unfinished upload's.
    fn delete_recording(&self, id: &Uuid) -> Result<()>;
    /// Unfinished uploads of calls expired at `now`, up to `limit`.
    fn expired_uploads(&self, now: OffsetDateTime, limit: u32) -> Result<Vec<Upload>>;

    /// Appends to the audit log.
    fn audit(&self, entry: &NewAudit<'_>) -> Result<()>;
    /// A page of the audit log.
    fn audit_log(&self, query: &AuditQuery) -> Result<Vec<AuditEntry>>;
}

/// An async reader of part of a blob.
pub type BlobReader = Pin<Box<dyn tokio::io::AsyncRead + Send>>;

/// Audio storage. Methods block (except the returned reader): call them on the blocking pool.
pub trait BlobStore: Send + Sync + 'static {
    /// Writes `bytes` at `offset` of the blob being uploaded at `key` (anything past `offset`
    /// from an interrupted earlier write is dropped first) and makes it durable. Returns the
    /// new length.
    fn write_at(&self, key: &str, offset: u64, bytes: &[u8]) -> Result<u64>;
    /// SHA-256 (hex) of a blob.
    fn sha256(&self, key: &str) -> Result<String>;
    /// Gives a blob its final key.
    fn rename(&self, from: &str, to: &str) -> Result<()>;
    /// `len` bytes from `start`.
    fn open_range(&self, key: &str, start: u64, len: u64) -> Result<BlobReader>;
    /// The first `len` bytes of a blob (fewer if it is shorter).
    fn head(&self, key: &str, len: u64) -> Result<Vec<u8>>;
    /// Copies a whole blob into `out`, a buffer at a time; returns its length.
    fn copy_to(&self, key: &str, out: &mut dyn std::io::Write) -> Result<u64>;
    /// Deletes a blob (absent is fine).
    fn delete(&self, key: &str) -> Result<()>;
}
