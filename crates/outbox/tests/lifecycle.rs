//! The states an entry goes through, and when its folder leaves the machine: only once the
//! store has confirmed it, or once it has expired.

mod common;

use callrec_outbox::{EXPIRED, Entry, OutboxError, Result, State};
use common::{Machine, T0, at, id};
use rstest::rstest;
use time::macros::datetime;
use uuid::Uuid;

#[derive(Debug, Clone, Copy)]
enum Op {
    Start,
    Retry,
    GiveUp,
    Uploaded,
    Expired,
    RetryNow,
}

fn apply(m: &Machine, op: Op) -> Result<Entry> {
    let o = &m.outbox;
    match op {
        Op::Start => o.start_attempt(id(1), at(10)),
        Op::Retry => o.attempt_failed(id(1), "503 busy", Some(at(20))),
        Op::GiveUp => o.attempt_failed(id(1), "403 forbidden", None),
        Op::Uploaded => o.uploaded(id(1), at(10)),
        Op::Expired => o.expired(id(1)),
        Op::RetryNow => o.retry(id(1), at(30)),
    }
}

/// Every operation from every resting state: the state it leads to, or `None` for refused.
/// Whatever happens, the folder is on disk exactly as long as the entry is not `deleted`.
#[rstest]
#[case(State::Queued, Op::Start, Some(State::Uploading))]
#[case(State::Uploading, Op::Start, Some(State::Uploading))]
#[case(State::Failed, Op::Start, None)]
#[case(State::Deleted, Op::Start, None)]
#[case(State::Queued, Op::Retry, None)]
#[case(State::Uploading, Op::Retry, Some(State::Queued))]
#[case(State::Failed, Op::Retry, None)]
#[case(State::Deleted, Op::Retry, None)]
#[case(State::Queued, Op::GiveUp, None)]
#[case(State::Uploading, Op::GiveUp, Some(State::Failed))]
#[case(State::Queued, Op::Uploaded, None)]
#[case(State::Uploading, Op::Uploaded, Some(State::Deleted))]
#[case(State::Failed, Op::Uploaded, None)]
#[case(State::Deleted, Op::Uploaded, Some(State::Deleted))]
#[case(State::Queued, Op::Expired, Some(State::Deleted))]
#[case(State::Uploading, Op::Expired, Some(State::Deleted))]
#[case(State::Failed, Op::Expired, Some(State::Deleted))]
#[case(State::Deleted, Op::Expired, Some(State::Deleted))]
#[case(State::Queued, Op::RetryNow, Some(State::Queued))]
#[case(State::Uploading, Op::RetryNow, None)]
#[case(State::Failed, Op::RetryNow, Some(State::Queued))]
#[case(State::Deleted, Op::RetryNow, None)]
fn transitions(#[case] from: State, #[case] op: Op, #[case] to: Option<State>) {
    let m = Machine::new();
    let before = m.in_state(1, from);
    let result = apply(&m, op);
    let after = m.outbox.get(id(1)).expect("get").expect("still listed");
    match to {
        Some(to) => {
            assert_eq!(result.expect("allowed").state, to);
            assert_eq!(after.state, to);
        }
        None => {
            let err = result.expect_err("refused");
            assert!(
                matches!(err, OutboxError::WrongState { state, .. } if state == from),
                "{err}"
            );
            assert!(err.to_string().contains(&id(1).to_string()), "{err}");
            assert_eq!(after, before, "a refused operation changes nothing");
        }
    }
    assert_eq!(
        after.dir.exists(),
        after.state != State::Deleted,
        "{after:?}"
    );
}

#[test]
fn a_call_retried_then_confirmed_keeps_its_story() {
    let m = Machine::new();
    let o = &m.outbox;
    let dir = m.queued(1, None, T0).dir;
    let e = o.start_attempt(id(1), at(1)).expect("start");
    assert_eq!((e.attempts, e.last_attempt_at), (1, Some(at(1))));
    let e = o
        .attempt_failed(id(1), "connection refused", Some(at(5)))
        .expect("retry later");
    assert_eq!(e.state, State::Queued);
    assert_eq!(e.last_error.as_deref(), Some("connection refused"));
    assert_eq!(e.next_attempt_at, Some(at(5)));
    assert!(o.due(at(4)).expect("due").is_empty());
    assert_eq!(o.due(at(5)).expect("due").len(), 1);
    assert!(dir.exists(), "a failed attempt deletes nothing");

    let e = o.start_attempt(id(1), at(5)).expect("start again");
    assert_eq!((e.attempts, e.last_attempt_at), (2, Some(at(5))));
    assert!(dir.exists(), "an attempt in progress deletes nothing");
    let e = o.uploaded(id(1), at(6)).expect("confirmed");
    assert_eq!(e.state, State::Deleted);
    assert_eq!(e.uploaded_at, Some(at(6)));
    assert_eq!((e.last_error, e.next_attempt_at), (None, None));
    assert_eq!(e.attempts, 2);
    assert!(!dir.exists(), "confirmed, so removed");
    assert_eq!(o.pending_count().expect("count"), 0);
}

#[test]
fn a_permanent_failure_keeps_the_folder_and_the_error_for_a_person() {
    let m = Machine::new();
    let e = m.in_state(1, State::Failed);
    assert_eq!(e.last_error.as_deref(), Some("403 not your project"));
    assert_eq!(e.next_attempt_at, None);
    assert!(e.dir.join("recording.wav").exists());
    assert!(m.outbox.due(at(1000)).expect("due").is_empty());
}

#[test]
fn a_folder_that_cannot_be_removed_leaves_the_call_uploaded_until_a_retry_removes_it() {
    let m = Machine::new();
    let dir = m.queued(1, None, T0).dir;
    m.outbox.start_attempt(id(1), at(1)).expect("start");
    // A file where the folder was: removing it as a folder fails.
    std::fs::remove_dir_all(&dir).expect("remove folder");
    std::fs::write(&dir, b"not a folder").expect("write file");

    let err = m.outbox.uploaded(id(1), at(2)).expect_err("cannot remove");
    assert!(matches!(err, OutboxError::Io { .. }), "{err}");
    assert!(
        err.to_string().contains(&dir.display().to_string()),
        "{err}"
    );
    let e = m.outbox.get(id(1)).expect("get").expect("listed");
    assert_eq!((e.state, e.uploaded_at), (State::Uploaded, Some(at(2))));
    assert!(dir.exists());
    assert_eq!(
        m.outbox.pending_count().expect("count"),
        1,
        "still on this machine"
    );
    assert!(
        m.outbox.due(at(9)).expect("due").is_empty(),
        "not uploaded twice"
    );

    std::fs::remove_file(&dir).expect("clear the way");
    let e = m.outbox.uploaded(id(1), at(3)).expect("retry the removal");
    assert_eq!((e.state, e.uploaded_at), (State::Deleted, Some(at(2))));
}

#[test]
fn a_folder_already_gone_is_no_obstacle_to_confirming() {
    let m = Machine::new();
    let dir = m.queued(1, None, T0).dir;
    m.outbox.start_attempt(id(1), at(1)).expect("start");
    std::fs::remove_dir_all(&dir).expect("remove folder");
    let e = m.outbox.uploaded(id(1), at(2)).expect("confirmed");
    assert_eq!(e.state, State::Deleted);
}

/// Expiry removes a recording whatever its state, uploaded or not.
#[rstest]
fn the_sweep_removes_what_has_expired_uploaded_or_not(
    #[values(State::Queued, State::Uploading, State::Uploaded, State::Failed)] state: State,
) {
    let m = Machine::new();
    let expires = datetime!(2025-06-01 10:00 +02:00);
    let dir = m.queued(1, Some(expires), T0).dir;
    if state != State::Queued {
        m.outbox.start_attempt(id(1), at(1)).expect("start");
    }
    if state == State::Failed {
        m.outbox.attempt_failed(id(1), "400", None).expect("fail");
    }
    if state == State::Uploaded {
        // Confirmed, but its folder could not be removed at the time.
        std::fs::rename(&dir, m.tmp.path().join("aside")).expect("move aside");
        std::fs::write(&dir, b"not a folder").expect("write file");
        m.outbox.uploaded(id(1), at(2)).expect_err("cannot remove");
        std::fs::remove_file(&dir).expect("remove file");
        std::fs::rename(m.tmp.path().join("aside"), &dir).expect("move back");
    }
    assert_eq!(m.state(1), state);
    let not_yet = m.queued(2, Some(expires + time::Duration::SECOND), T0).dir;
    let never = m.queued(3, None, T0).dir;

    let just_before = datetime!(2025-06-01 07:59:59.999 UTC);
    assert_eq!(
        m.outbox.sweep_expired(just_before).expect("sweep"),
        Vec::<Uuid>::new()
    );
    assert!(dir.exists());

    let at_expiry = datetime!(2025-06-01 08:00 UTC);
    assert_eq!(m.outbox.sweep_expired(at_expiry).expect("sweep"), [id(1)]);
    let e = m.outbox.get(id(1)).expect("get").expect("listed");
    assert_eq!(e.state, State::Deleted);
    assert_eq!(e.last_error.as_deref(), Some(EXPIRED));
    assert!(!dir.exists());
    assert!(not_yet.exists() && never.exists());
    assert_eq!(m.state(2), State::Queued);
    assert_eq!(
        m.outbox.sweep_expired(at_expiry).expect("sweep again"),
        Vec::<Uuid>::new()
    );
}

#[test]
fn one_folder_that_cannot_be_removed_does_not_stop_the_sweep() {
    let m = Machine::new();
    let stuck = m.queued(1, Some(at(10)), T0).dir;
    let other = m.queued(2, Some(at(20)), T0).dir;
    std::fs::remove_dir_all(&stuck).expect("remove folder");
    std::fs::write(&stuck, b"not a folder").expect("write file");

    let err = m.outbox.sweep_expired(at(30)).expect_err("one failed");
    let OutboxError::ExpiryIncomplete {
        deleted,
        failed,
        first,
    } = err
    else {
        panic!("expected ExpiryIncomplete, got {err}");
    };
    assert_eq!((deleted, failed), (vec![id(2)], 1));
    assert!(
        first.to_string().contains(&stuck.display().to_string()),
        "{first}"
    );
    assert!(!other.exists());
    assert_eq!(m.state(1), State::Queued, "left to be swept again");

    std::fs::remove_file(&stuck).expect("clear the way");
    assert_eq!(m.outbox.sweep_expired(at(30)).expect("sweep"), [id(1)]);
}

#[test]
fn the_store_saying_gone_removes_the_call_even_without_an_expiry_date() {
    let m = Machine::new();
    let dir = m.in_state(1, State::Uploading).dir;
    let e = m.outbox.expired(id(1)).expect("410");
    assert_eq!(
        (e.state, e.last_error.as_deref()),
        (State::Deleted, Some(EXPIRED))
    );
    assert!(!dir.exists());
    assert_eq!(m.outbox.pending_count().expect("count"), 0);
}
