//! What the app keeps between runs besides the queue: the last policy fetched for each
//! project (recording offline needs one: no policy means nothing is recorded; an old one
//! means nothing either, POLICY.md §8) and a few settings (the server's URL, the user).

use rusqlite::{OptionalExtension, params};
use time::OffsetDateTime;

use crate::error::{OutboxError, Result};
use crate::outbox::Outbox;
use crate::stamp;

/// A project's policy as the app last received it from the store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CachedPolicy {
    /// The project.
    pub project_id: String,
    /// The policy's version (the store's ETag).
    pub version: String,
    /// The policy, JSON as the store sent it.
    pub json: String,
    /// When the store last said this policy is current.
    pub confirmed_at: OffsetDateTime,
    /// How many days after that it may be used offline.
    pub offline_days: u8,
}

/// A cached policy's row, in the order [`Outbox::cached_of`] reads it.
const CACHED_POLICY: &str =
    "SELECT project_id, version, json, fetched_at, offline_days FROM cached_policies";

impl CachedPolicy {
    /// Whether it may still be used at `now`, the store being out of reach.
    pub fn usable_at(&self, now: OffsetDateTime) -> bool {
        now <= self.usable_until()
    }

    /// The last instant it may be used offline.
    pub fn usable_until(&self) -> OffsetDateTime {
        self.confirmed_at + time::Duration::days(i64::from(self.offline_days))
    }
}

impl Outbox {
    /// Keeps a policy fetched from the store, replacing the one cached for its project. The
    /// JSON is stored as given.
    pub fn cache_policy(&self, cached: &CachedPolicy) -> Result<()> {
        self.conn
            .execute(
                "INSERT INTO cached_policies (project_id, version, json, fetched_at, offline_days)
                 VALUES (?1, ?2, ?3, ?4, ?5)
                 ON CONFLICT (project_id) DO UPDATE
                 SET version = excluded.version, json = excluded.json,
                     fetched_at = excluded.fetched_at, offline_days = excluded.offline_days",
                params![
                    cached.project_id,
                    cached.version,
                    cached.json,
                    stamp::encode("now", cached.confirmed_at)?,
                    cached.offline_days
                ],
            )
            .map_err(OutboxError::sql("caching a policy", &self.db))?;
        Ok(())
    }

    /// Notes that the store confirmed `project_id`'s cached policy is current at `now` (it
    /// answered 304): the offline age limit counts from here.
    pub fn confirm_policy(&self, project_id: &str, now: OffsetDateTime) -> Result<()> {
        self.conn
            .execute(
                "UPDATE cached_policies SET fetched_at = ?2 WHERE project_id = ?1",
                params![project_id, stamp::encode("now", now)?],
            )
            .map_err(OutboxError::sql("confirming a cached policy", &self.db))?;
        Ok(())
    }

    /// The policy last cached for `project_id`; none if it never was.
    pub fn cached_policy(&self, project_id: &str) -> Result<Option<CachedPolicy>> {
        let row: Option<(String, String, String, String, u8)> = self
            .conn
            .query_row(
                &format!("{CACHED_POLICY} WHERE project_id = ?1"),
                params![project_id],
                |row| {
                    Ok((
                        row.get(0)?,
                        row.get(1)?,
                        row.get(2)?,
                        row.get(3)?,
                        row.get(4)?,
                    ))
                },
            )
            .optional()
            .map_err(OutboxError::sql("reading a cached policy", &self.db))?;
        row.map(|row| self.cached_of(row)).transpose()
    }

    /// Every cached policy, by project.
    pub fn cached_policies(&self) -> Result<Vec<CachedPolicy>> {
        let mut stmt = self
            .conn
            .prepare_cached(&format!("{CACHED_POLICY} ORDER BY project_id"))
            .map_err(OutboxError::sql("listing cached policies", &self.db))?;
        let rows = stmt
            .query_map([], |row| {
                Ok((
                    row.get(0)?,
                    row.get(1)?,
                    row.get(2)?,
                    row.get(3)?,
                    row.get(4)?,
                ))
            })
            .and_then(Iterator::collect::<rusqlite::Result<Vec<_>>>)
            .map_err(OutboxError::sql("listing cached policies", &self.db))?;
        rows.into_iter().map(|row| self.cached_of(row)).collect()
    }

    fn cached_of(
        &self,
        (project_id, version, json, fetched_at, offline_days): (String, String, String, String, u8),
    ) -> Result<CachedPolicy> {
        Ok(CachedPolicy {
            project_id,
            version,
            json,
            confirmed_at: stamp::decode(&self.db, &fetched_at)?,
            offline_days,
        })
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

    fn cached(project: &str, version: &str, json: &str, at: OffsetDateTime) -> CachedPolicy {
        CachedPolicy {
            project_id: project.to_owned(),
            version: version.to_owned(),
            json: json.to_owned(),
            confirmed_at: at,
            offline_days: 7,
        }
    }

    #[test]
    fn a_policy_is_cached_per_project_and_replaced_by_a_newer_fetch() {
        let outbox = outbox();
        assert_eq!(outbox.cached_policy("sales-fr").expect("read"), None);
        let first = datetime!(2025-03-01 09:00 +01:00);
        outbox
            .cache_policy(&cached(
                "sales-fr",
                "v1",
                r#"{"record_mode":"both"}"#,
                first,
            ))
            .expect("cache");
        outbox
            .cache_policy(&cached(
                "support-de",
                "v7",
                r#"{"record_mode":"none"}"#,
                first,
            ))
            .expect("cache");
        let later = datetime!(2025-03-02 09:00 UTC);
        let newer = cached("sales-fr", "v2", r#"{"record_mode":"agent_only"}"#, later);
        outbox.cache_policy(&newer).expect("replace");
        assert_eq!(outbox.cached_policy("sales-fr").expect("read"), Some(newer));
        let other = outbox
            .cached_policy("support-de")
            .expect("read")
            .expect("cached");
        assert_eq!((other.version.as_str(), other.confirmed_at), ("v7", first));
        let all = outbox.cached_policies().expect("list");
        assert_eq!(
            all.iter()
                .map(|c| (c.project_id.as_str(), c.version.as_str()))
                .collect::<Vec<_>>(),
            [("sales-fr", "v2"), ("support-de", "v7")]
        );
    }

    #[test]
    fn a_cached_policy_is_usable_offline_for_its_days_after_the_store_last_confirmed_it() {
        let outbox = outbox();
        let fetched = datetime!(2025-03-01 09:00 UTC);
        let mut policy = cached("sales-fr", "v1", "{}", fetched);
        policy.offline_days = 3;
        outbox.cache_policy(&policy).expect("cache");
        let read = |o: &Outbox| o.cached_policy("sales-fr").expect("read").expect("cached");
        assert!(read(&outbox).usable_at(fetched + time::Duration::days(3)));
        assert!(
            !read(&outbox).usable_at(fetched + time::Duration::days(3) + time::Duration::SECOND)
        );
        // The store says it is still current (304): the days count from there.
        let confirmed = fetched + time::Duration::days(2);
        outbox
            .confirm_policy("sales-fr", confirmed)
            .expect("confirm");
        assert_eq!(read(&outbox).confirmed_at, confirmed);
        assert!(read(&outbox).usable_at(fetched + time::Duration::days(5)));
        assert_eq!(
            read(&outbox).usable_until(),
            fetched + time::Duration::days(5)
        );
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
