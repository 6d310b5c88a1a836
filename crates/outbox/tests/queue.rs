//! Queueing call folders and reading the queue back, on a real SQLite file.

mod common;

use std::collections::HashSet;

use callrec_outbox::{OutboxError, State};
use common::{Machine, T0, at, id};
use time::macros::datetime;
use uuid::Uuid;

#[test]
fn a_call_is_queued_due_now_with_its_expiry_and_absolute_folder() {
    let m = Machine::new();
    let expires = datetime!(2025-06-01 10:00 +02:00);
    let dir = m.call(1, Some(expires));
    // A relative spelling of the folder is stored as the absolute path it names.
    let relative = dir.join("receipts").join("..");
    let entry = m.outbox.enqueue(&relative, T0).expect("enqueue");
    assert_eq!(entry.call_id, id(1));
    assert_eq!(entry.dir, dir.canonicalize().expect("canonical"));
    assert!(entry.dir.is_absolute());
    assert_eq!(entry.state, State::Queued);
    assert_eq!(entry.attempts, 0);
    assert_eq!((entry.created_at, entry.next_attempt_at), (T0, Some(T0)));
    assert_eq!(entry.expires_at, Some(expires));
    assert_eq!((entry.last_error, entry.uploaded_at), (None, None));
}

#[test]
fn queueing_the_same_call_again_returns_the_entry_it_already_has() {
    let m = Machine::new();
    let first = m.queued(1, None, T0);
    m.outbox.start_attempt(id(1), at(1)).expect("start");
    let again = m.outbox.enqueue(&first.dir, at(5)).expect("enqueue again");
    assert_eq!(again.created_at, T0, "not a new entry");
    assert_eq!(again.state, State::Uploading, "nor a reset one");
    assert_eq!(m.outbox.list().expect("list").len(), 1);
}

#[test]
fn a_folder_the_recorder_has_not_finished_is_refused_and_not_queued() {
    let m = Machine::new();
    let dir = m.call(1, None);
    std::fs::remove_file(dir.join(callrec_outbox::SIDECAR)).expect("remove recording.json");
    let err = m.outbox.enqueue(&dir, T0).expect_err("no recording.json");
    assert!(matches!(err, OutboxError::NoSidecar { .. }), "{err}");
    assert!(
        err.to_string().contains(&dir.display().to_string()),
        "{err}"
    );

    std::fs::write(dir.join(callrec_outbox::SIDECAR), r#"{"call_id": "0000"#).expect("write");
    let err = m
        .outbox
        .enqueue(&dir, T0)
        .expect_err("truncated recording.json");
    assert!(matches!(err, OutboxError::BadSidecar { .. }), "{err}");

    let missing = m.tmp.path().join("no-such-call");
    let err = m.outbox.enqueue(&missing, T0).expect_err("no folder");
    assert!(err.to_string().contains("no-such-call"), "{err}");
    assert_eq!(m.outbox.list().expect("list"), []);
}

#[test]
fn due_lists_what_is_waiting_oldest_first_and_not_before_its_time() {
    let m = Machine::new();
    m.queued(3, None, at(0));
    m.queued(1, None, at(1));
    m.queued(2, None, at(2));
    m.outbox.start_attempt(id(1), at(3)).expect("start");
    m.outbox
        .attempt_failed(id(1), "connection refused", Some(at(10)))
        .expect("retry later");
    m.in_state(4, State::Failed);
    m.in_state(5, State::Deleted);

    let due = |t| -> Vec<Uuid> {
        let entries = m.outbox.due(t).expect("due");
        entries.into_iter().map(|e| e.call_id).collect()
    };
    assert_eq!(due(at(-1)), Vec::<Uuid>::new());
    assert_eq!(due(at(0)), [id(3)]);
    assert_eq!(due(at(9)), [id(3), id(2)]);
    // Equal to `next_attempt_at` is due; the instant's offset does not matter.
    let ten_past_in_paris = datetime!(2025-03-01 10:10 +01:00);
    assert_eq!(due(ten_past_in_paris), [id(3), id(1), id(2)]);
}

#[test]
fn list_is_newest_first_and_pending_count_skips_deleted_and_failed() {
    let m = Machine::new();
    m.queued(1, None, at(0));
    m.in_state(2, State::Failed);
    m.in_state(3, State::Deleted);
    m.queued(4, None, at(4));
    m.queued(5, None, at(5));
    m.outbox.start_attempt(id(5), at(6)).expect("start");
    let listed: Vec<_> = m
        .outbox
        .list()
        .expect("list")
        .into_iter()
        .map(|e| e.call_id)
        .collect();
    // Calls 2 and 3 were queued at T0 like call 1: ties go by call id.
    assert_eq!(listed, [id(5), id(4), id(3), id(2), id(1)]);
    assert_eq!(m.outbox.pending_count().expect("count"), 3);
}

#[test]
fn two_hundred_calls_are_each_listed_once() {
    let m = Machine::new();
    for n in 1..=200 {
        m.queued(n, None, at(i64::try_from(n % 7).expect("small")));
    }
    // A second pass over every folder, as a restart's recovery scan would do.
    for n in 1..=200 {
        m.outbox
            .enqueue(&m.call(n, None), at(100))
            .expect("enqueue again");
    }
    let listed = m.outbox.list().expect("list");
    assert_eq!(listed.len(), 200);
    let ids: HashSet<_> = listed.iter().map(|e| e.call_id).collect();
    assert_eq!(ids, (1..=200).map(id).collect());
    assert!(
        listed
            .windows(2)
            .all(|w| w[0].created_at >= w[1].created_at)
    );
    assert_eq!(m.outbox.pending_count().expect("count"), 200);
    assert_eq!(m.outbox.due(at(100)).expect("due").len(), 200);
}

#[test]
fn get_answers_none_for_a_call_never_queued() {
    let m = Machine::new();
    assert_eq!(m.outbox.get(id(9)).expect("get"), None);
    let err = m.outbox.start_attempt(id(9), T0).expect_err("unknown");
    assert!(matches!(err, OutboxError::UnknownCall { .. }), "{err}");
    assert!(
        err.to_string().contains(&m.db.display().to_string()),
        "{err}"
    );
}
