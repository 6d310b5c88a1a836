//! `callrec simulate` as a pure function (POLICY.md §9): settings and an EVENTS.jsonl text in,
//! the §7 outcome with the resolved policy out.

use serde::Serialize;

use crate::call::{Call, Refusal};
use crate::error::InputError;
use crate::event::TimedEvent;
use crate::outcome::{Interval, Outcome, ReceiptTake, Verdict};
use crate::settings::{Policy, SettingsFile};

/// An unreadable line of an EVENTS.jsonl text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {error}")]
pub struct EventsError {
    /// 1-based line number, as editors show it.
    pub line: usize,
    /// What is wrong with it.
    pub error: InputError,
}

/// Reads an EVENTS.jsonl text: one event a line, blank lines skipped, times never decreasing.
/// Each event comes with its 0-based physical line index.
pub fn parse_events(text: &str) -> Result<Vec<(usize, TimedEvent)>, EventsError> {
    let mut events: Vec<(usize, TimedEvent)> = Vec::new();
    for (index, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let at = |error| EventsError {
            line: index + 1,
            error,
        };
        let event = TimedEvent::from_json(line).map_err(at)?;
        if let Some((_, previous)) = events.last()
            && event.t_ms < previous.t_ms
        {
            return Err(at(InputError::field(
                "t_ms",
                format!(
                    "{} is earlier than the previous event's {}; times must never decrease",
                    event.t_ms, previous.t_ms
                ),
            )));
        }
        events.push((index, event));
    }
    Ok(events)
}

/// The output of `callrec simulate`, field for field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Simulation {
    /// The project's resolved policy.
    pub resolved: Policy,
    /// See [`Outcome::timeline`].
    pub timeline: Vec<Interval>,
    /// See [`Outcome::receipts`].
    pub receipts: Vec<ReceiptTake>,
    /// See [`Outcome::refused`].
    pub refused: Vec<Refusal>,
    /// See [`Outcome::outcome`].
    pub outcome: Verdict,
}

/// Runs a call's events through its project's policy.
pub fn simulate(settings: &SettingsFile, events: &[(usize, TimedEvent)]) -> Simulation {
    let resolved = settings.resolve();
    let mut call = Call::new(resolved);
    for (index, e) in events {
        // Refusals are part of the outcome, not errors.
        let _ = call.apply_numbered(*index, e.t_ms, &e.event);
    }
    let Outcome {
        timeline,
        receipts,
        refused,
        outcome,
    } = call.outcome();
    Simulation {
        resolved,
        timeline,
        receipts,
        refused,
        outcome,
    }
}
