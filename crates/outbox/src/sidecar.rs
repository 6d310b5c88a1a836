//! What the outbox reads from a call folder's `recording.json`: the call's id and its expiry.
//!
//! The rest of the file belongs to the recorder and the central store; reading only these
//! two fields keeps the outbox working whatever else the format gains.

use std::path::{Path, PathBuf};

use serde_json::Value;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use uuid::Uuid;

use crate::error::{OutboxError, Result};

/// The metadata file the recorder writes last, once a call's folder is complete.
pub const SIDECAR: &str = "recording.json";

/// The fields of `recording.json` the outbox needs. Both must be present; `expires_at` may
/// be `null` (kept until someone deletes it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CallIds {
    pub call_id: Uuid,
    pub expires_at: Option<OffsetDateTime>,
}

/// The ids of the call recorded in the folder `dir`.
pub(crate) fn read(dir: &Path) -> Result<CallIds> {
    let path: PathBuf = dir.join(SIDECAR);
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(OutboxError::NoSidecar {
                dir: dir.to_owned(),
            });
        }
        Err(e) => return Err(OutboxError::io("reading", &path)(e)),
    };
    parse(&text).map_err(|why| OutboxError::BadSidecar { path, why })
}

/// The ids in `text`, or what is wrong with it, naming the field.
fn parse(text: &str) -> std::result::Result<CallIds, String> {
    let value: Value = serde_json::from_str(text).map_err(|e| e.to_string())?;
    let field = |name: &str| {
        value
            .get(name)
            .ok_or_else(|| format!("field `{name}` is missing"))
    };
    let call_id = match field("call_id")? {
        Value::String(id) => Uuid::parse_str(id)
            .map_err(|e| format!("field `call_id`: {id:?} is not a UUID: {e}"))?,
        other => return Err(format!("field `call_id`: {other} is not a UUID string")),
    };
    let expires_at = match field("expires_at")? {
        Value::Null => None,
        Value::String(t) => Some(OffsetDateTime::parse(t, &Rfc3339).map_err(|e| {
            format!("field `expires_at`: {t:?} is not an RFC 3339 date and time: {e}")
        })?),
        other => {
            return Err(format!(
                "field `expires_at`: {other} is neither null nor a date"
            ));
        }
    };
    Ok(CallIds {
        call_id,
        expires_at,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;
    use time::macros::datetime;

    const ID: &str = "0192f0c1-7e3a-7cc0-8000-000000000001";

    fn read_text(text: &str) -> Result<CallIds> {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join(SIDECAR), text).expect("write");
        read(dir.path())
    }

    #[test]
    fn reads_the_id_and_the_expiry_and_ignores_the_rest() {
        let ids = read_text(&format!(
            r#"{{"format": 1, "call_id": "{ID}", "agent": "a1",
                "expires_at": "2025-06-01T10:00:00+02:00", "outcome": "kept"}}"#
        ))
        .expect("complete");
        assert_eq!(ids.call_id, Uuid::parse_str(ID).expect("uuid"));
        assert_eq!(ids.expires_at, Some(datetime!(2025-06-01 08:00 UTC)));
    }

    #[test]
    fn a_null_expiry_means_kept_until_deleted() {
        let ids =
            read_text(&format!(r#"{{"call_id": "{ID}", "expires_at": null}}"#)).expect("complete");
        assert_eq!(ids.expires_at, None);
    }

    #[rstest]
    #[case::empty("", "EOF")]
    #[case::truncated(r#"{"call_id": "0192f0c1-7e3a-7cc0-8000-0000"#, "EOF")]
    #[case::not_an_object("[1, 2]", "field `call_id` is missing")]
    #[case::no_call_id(r#"{"expires_at": null}"#, "field `call_id` is missing")]
    #[case::no_expiry(
        r#"{"call_id": "0192f0c1-7e3a-7cc0-8000-000000000001"}"#,
        "field `expires_at` is missing"
    )]
    #[case::bad_id(r#"{"call_id": "call-7", "expires_at": null}"#, "field `call_id`")]
    #[case::numeric_id(r#"{"call_id": 7, "expires_at": null}"#, "field `call_id`")]
    #[case::bad_expiry(
        r#"{"call_id": "0192f0c1-7e3a-7cc0-8000-000000000001", "expires_at": "June"}"#,
        "field `expires_at`: \"June\""
    )]
    fn refuses_an_incomplete_file_saying_what_is_missing(#[case] text: &str, #[case] says: &str) {
        let err = read_text(text).expect_err("incomplete");
        let msg = err.to_string();
        assert!(matches!(err, OutboxError::BadSidecar { .. }), "{msg}");
        assert!(msg.contains(SIDECAR) && msg.contains(says), "{msg}");
    }

    #[test]
    fn a_folder_without_the_file_is_not_complete() {
        let dir = tempfile::tempdir().expect("tempdir");
        let err = read(dir.path()).expect_err("no recording.json");
        assert!(matches!(err, OutboxError::NoSidecar { .. }), "{err}");
        assert!(err.to_string().contains(&dir.path().display().to_string()));
    }
}
