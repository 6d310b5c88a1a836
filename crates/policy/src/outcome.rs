//! The policy's result for a call (POLICY.md §7).

use serde::{Deserialize, Serialize};

use crate::call::{Call, Halt, Refusal, Sides, TakeStatus};

/// A maximal stretch of the call during which the recorded sides do not change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Interval {
    /// Start, inclusive.
    pub from_ms: u64,
    /// End, exclusive.
    pub to_ms: u64,
    /// Whether the agent is recorded.
    pub agent: bool,
    /// Whether the customer is recorded.
    pub customer: bool,
    /// Whether third parties are recorded.
    pub third_parties: bool,
}

impl Interval {
    /// The interval's sides.
    pub fn sides(&self) -> Sides {
        Sides {
            agent: self.agent,
            customer: self.customer,
            third_parties: self.third_parties,
        }
    }
}

/// A receipt take as the outcome reports it: always closed.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ReceiptTake {
    /// The order it confirms.
    pub order_id: String,
    /// Its number among that order's takes in the call, from 1.
    pub seq: u32,
    /// Start.
    pub from_ms: u64,
    /// End (the call's end for a take still open there).
    pub to_ms: u64,
    /// Whether the customer's voice is in it.
    pub customer: bool,
    /// Kept or overwritten.
    pub status: TakeStatus,
}

/// What the call leaves behind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// Something was recorded.
    Kept,
    /// Nothing was recorded.
    None,
    /// The call became a conference under conference mode `none`: nothing is kept.
    Discarded,
}

/// The outcome of a call (POLICY.md §7).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Outcome {
    /// Maximal intervals covering the call, each with the sides recorded.
    pub timeline: Vec<Interval>,
    /// Every receipt take, in the order started.
    pub receipts: Vec<ReceiptTake>,
    /// Every refused event.
    pub refused: Vec<Refusal>,
    /// Kept, none or discarded.
    pub outcome: Verdict,
}

impl Call {
    /// The instant of `call_started`, once the call has started.
    pub fn started_ms(&self) -> Option<u64> {
        self.started_ms
    }

    /// The instant the call's outcome ends at: `call_ended`, or else the latest event seen.
    pub fn end_ms(&self) -> Option<u64> {
        self.started_ms?;
        Some(self.ended_ms.unwrap_or(self.last_ms))
    }

    /// The call's outcome so far: as if it ended at the latest event if it has not ended.
    pub fn outcome(&self) -> Outcome {
        let end = self.end_ms().unwrap_or(0);
        let discarded = self.halt() == Some(Halt::Discarded);
        let mut timeline: Vec<Interval> = Vec::new();
        let bounds = self
            .changes
            .iter()
            .zip(self.changes.iter().skip(1).map(|(t, _)| *t).chain([end]));
        for (&(from_ms, sides), to_ms) in bounds {
            if to_ms <= from_ms {
                continue;
            }
            let sides = if discarded { Sides::NONE } else { sides };
            match timeline.last_mut() {
                Some(last) if last.sides() == sides && last.to_ms == from_ms => last.to_ms = to_ms,
                _ => timeline.push(Interval {
                    from_ms,
                    to_ms,
                    agent: sides.agent,
                    customer: sides.customer,
                    third_parties: sides.third_parties,
                }),
            }
        }
        let receipts = self
            .takes
            .iter()
            .map(|t| ReceiptTake {
                order_id: t.order_id.clone(),
                seq: t.seq,
                from_ms: t.from_ms,
                to_ms: t.to_ms.unwrap_or(end),
                customer: t.customer,
                status: t.status,
            })
            .collect();
        let outcome = if discarded {
            Verdict::Discarded
        } else if timeline.iter().any(|i| i.sides().any()) {
            Verdict::Kept
        } else {
            Verdict::None
        };
        Outcome {
            timeline,
            receipts,
            refused: self.refused.clone(),
            outcome,
        }
    }
}
