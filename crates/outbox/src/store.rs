//! What the app keeps between runs besides the queue: the last policy fetched for each
//! project (recording offline needs one: no policy means nothing is recorded) and a few
//! settings (the server's URL, the session token).

use rusqlite::{OptionalExtension, params};
use time::OffsetDateTime;

use crate::error::{OutboxError, Result};
use crate::outbox::Outbox;
use crate::stamp;

impl Outbox {
    /// Keeps `policy_json`, version `version` of `project_id`'s policy fetched at `now`,
    /// replacing the one cached before. The JSON is stored as given.
    pub fn cache_policy(
        &self,
        project_id: &str,
        version: &str,
        policy_json: &str,
        now: OffsetDateTime,
    ) -> Result<()> {
        self.conn
            .execute(
                "INSERT INTO cached_policies (project_id, version, json, fetched_at)
                 VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (project_id) DO UPDATE
                 SET version = excluded.version, json = excluded.json,
                     fetched_at = excluded.fetched_at",
                params![project_id, version, policy_json, stamp::encode("now", now)?],
            )
            .map_err(OutboxError::sql("caching a policy", &self.db))?;
        Ok(())
    }

    /// The policy last cached for `project_id`: its version, its JSON and when it was
    /// fetched; none if it never was.
    pub fn cached_policy(
        &self,
        project_id: &str,
    ) -> Result<Option<(String, String, OffsetDateTime)>> {
        let row: Option<(String, String, String)> = self
            .conn
            .query_row(
                "SELECT version, json, fetched_at FROM cached_policies WHERE project_id = ?1",
                params![project_id],
                |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)),
            )
            .optional()
            .map_err(OutboxError::sql("reading a cached policy", &self.db))?;
        row.map(|(version, json, fetched_at)| {
            Ok((version, json, stamp::decode(&self.db, &fetched_at)?))
        })
        .transpose()
    }

    /// Sets the app setting `key` to `value`.
    pub fn set_setting(&self, key: &str, value: &str) -> Result<()> {
        self.conn
            .execute(
                "INSERT INTO settings (key, value) VALUES (?1, ?2)
                 ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                params![key, value],
            )
            .map_err(OutboxError::sql("saving a setting", &self.db))?;
        Ok(())
    }

    /// Forgets the app setting `key` (nothing happens if it was never set).
    pub fn remove_setting(&self, key: &str) -> Result<()> {
        self.conn
            .execute("DELETE FROM settings WHERE key = ?1", params![key])
            .map_err(OutboxError::sql("removing a setting", &self.db))?;
        Ok(())
    }

    /// The app setting `key`, if it was ever set.
    pub fn setting(&self, key: &str) -> Result<Option<String>> {
        self.conn
            .query_row(
                "SELECT value FROM settings WHERE key = ?1",
                params![key],
                |row| row.get(0),
            )
            .optional()
            .map_err(OutboxError::sql("reading a setting", &self.db))
    }
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;

    fn outbox() -> Outbox {
        Outbox::open_in_memory().expect("in-memory outbox")
    }

    #[test]
    fn a_policy_is_cached_per_project_and_replaced_by_a_newer_fetch() {
        let outbox = outbox();
        assert_eq!(outbox.cached_policy("sales-fr").expect("read"), None);
        let first = datetime!(2025-03-01 09:00 +01:00);
        outbox
            .cache_policy("sales-fr", "v1", r#"{"record_mode":"both"}"#, first)
            .expect("cache");
        outbox
            .cache_policy("support-de", "v7", r#"{"record_mode":"none"}"#, first)
            .expect("cache");
        let later = datetime!(2025-03-02 09:00 UTC);
        outbox
            .cache_policy("sales-fr", "v2", r#"{"record_mode":"agent_only"}"#, later)
            .expect("replace");
        assert_eq!(
            outbox.cached_policy("sales-fr").expect("read"),
            Some((
                "v2".to_owned(),
                r#"{"record_mode":"agent_only"}"#.to_owned(),
                later
            ))
        );
        let (version, _, fetched_at) = outbox
            .cached_policy("support-de")
            .expect("read")
            .expect("cached");
        assert_eq!((version.as_str(), fetched_at), ("v7", first));
    }

    #[test]
    fn a_removed_setting_is_gone_and_others_stay() {
        let outbox = outbox();
        outbox.set_setting("session_token", "t0k3n").expect("set");
        outbox
            .set_setting("server_url", "https://rec.example")
            .expect("set");
        outbox.remove_setting("session_token").expect("remove");
        outbox
            .remove_setting("never_set")
            .expect("remove a missing one");
        assert_eq!(outbox.setting("session_token").expect("read"), None);
        assert_eq!(
            outbox.setting("server_url").expect("read").as_deref(),
            Some("https://rec.example")
        );
    }

    #[test]
    fn settings_are_kept_by_key_and_overwritten() {
        let outbox = outbox();
        assert_eq!(outbox.setting("server_url").expect("read"), None);
        outbox
            .set_setting("server_url", "https://old.example")
            .expect("set");
        outbox.set_setting("session_token", "t0k3n").expect("set");
        outbox
            .set_setting("server_url", "https://rec.example")
            .expect("overwrite");
        assert_eq!(
            outbox.setting("server_url").expect("read").as_deref(),
            Some("https://rec.example")
        );
        assert_eq!(
            outbox.setting("session_token").expect("read").as_deref(),
            Some("t0k3n")
        );
    }
}
