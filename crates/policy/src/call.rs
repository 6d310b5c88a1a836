//! The per-call state machine (POLICY.md §3–§6): an event at an instant goes in, the change
//! or the refusal comes out. Pure: no clock, no IO; time is an argument.

use serde::{Deserialize, Serialize};

use crate::event::{Consent, Direction, Event, EventName};
use crate::reason::Reason;
use crate::settings::{ConferenceMode, Policy, ProjectKind, RecordMode};

/// Which sides are recorded at an instant (POLICY.md §2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub struct Sides {
    /// The local microphone.
    pub agent: bool,
    /// The original remote party.
    pub customer: bool,
    /// Anyone who joined later.
    pub third_parties: bool,
}

impl Sides {
    /// No side recorded.
    pub const NONE: Self = Self {
        agent: false,
        customer: false,
        third_parties: false,
    };

    /// Whether any side is recorded.
    pub fn any(self) -> bool {
        self.agent || self.customer || self.third_parties
    }

    /// Whether a remote input that carries every remote voice mixed (a call-audio device)
    /// may be recorded: only when each voice in it may be, so the customer must be recorded,
    /// and third parties too if any is in the call. Records less rather than leak one voice.
    pub fn mixed_remote(self, parties_present: bool) -> bool {
        self.customer && (!parties_present || self.third_parties)
    }

    /// Whether one third party's own input may be recorded: third parties are, and this one
    /// is in the call.
    pub fn party(self, present: bool) -> bool {
        self.third_parties && present
    }
}

#[cfg(test)]
mod sides_tests {
    use super::Sides;

    #[test]
    fn a_mixed_remote_input_is_recorded_only_when_every_voice_in_it_may_be() {
        let s = |customer, third_parties| Sides {
            agent: true,
            customer,
            third_parties,
        };
        assert!(s(true, false).mixed_remote(false), "customer alone");
        assert!(
            !s(true, false).mixed_remote(true),
            "a third party who may not be recorded is in the mix"
        );
        assert!(s(true, true).mixed_remote(true));
        assert!(!s(false, false).mixed_remote(false));
        assert!(
            s(false, true).party(true)
                && !s(false, true).party(false)
                && !s(true, false).party(true)
        );
    }
}

/// Where the call is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    /// No `call_started` yet.
    NotStarted,
    /// Between `call_started` and `call_ended`.
    InCall,
    /// After `call_ended`.
    Ended,
}

/// A conference rule that ended recording for the rest of the call (POLICY.md §4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Halt {
    /// `stop_on_third_party`: nothing more is recorded.
    Stopped,
    /// Conference `none`: the whole call's recording is thrown away.
    Discarded,
}

/// Whether a receipt take is kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TakeStatus {
    /// The take is (or will be) kept and uploaded.
    Kept,
    /// A later take of the same order replaced it: it is deleted, never uploaded.
    Overwritten,
}

/// One voice receipt take (POLICY.md §5).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct Take {
    /// The order it confirms.
    pub order_id: String,
    /// Its number among the takes of that order in this call, from 1.
    pub seq: u32,
    /// When it started.
    pub from_ms: u64,
    /// When it stopped; `None` while in progress.
    pub to_ms: Option<u64>,
    /// Whether the customer's voice is in it.
    pub customer: bool,
    /// Kept or overwritten.
    pub status: TakeStatus,
}

/// An accepted event's consequences, for whoever writes audio.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Applied {
    /// The sides recorded from this instant on.
    pub sides: Sides,
    /// Index (into [`Call::takes`]) of the take this event started.
    pub take_started: Option<usize>,
    /// Index of the take this event closed (`receipt_stop`, or `call_ended` during a receipt).
    pub take_stopped: Option<usize>,
    /// Indices of earlier takes this event marked overwritten: delete their audio.
    pub takes_overwritten: Vec<usize>,
    /// The call's recording was discarded by this event: delete everything recorded so far.
    pub discarded: bool,
}

/// A refused event, as the outcome lists it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Refusal {
    /// The event's position in the call's stream of events, from 0.
    pub index: usize,
    /// Its instant.
    pub t_ms: u64,
    /// Its name.
    pub event: EventName,
    /// Why it was refused.
    pub reason: Reason,
}

/// One call under one policy.
///
/// Instants never go back: an event given an instant earlier than the previous event's is
/// applied at the previous event's instant (callers that read untrusted input reject
/// decreasing times before they get here).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Call {
    policy: Policy,
    pub(crate) phase: Phase,
    direction: Option<Direction>,
    consent: Consent,
    /// The customer withdrew consent during the call (POLICY.md §3).
    withdrawn: bool,
    paused: bool,
    /// The customer setting outside receipts: the agent's toggle, or the mode's fixed value.
    customer_toggle: bool,
    /// Index of the take in progress.
    receipt: Option<usize>,
    halt: Option<Halt>,
    /// Third parties present now, in order of arrival.
    parties: Vec<String>,
    /// Whether any third party is present, from each instant it changed.
    presence: Vec<(u64, bool)>,
    /// When consent was withdrawn, if it was.
    withdrawn_at: Option<u64>,
    pub(crate) takes: Vec<Take>,
    /// `(instant, sides from then on)`, one entry per accepted event since `call_started`.
    pub(crate) changes: Vec<(u64, Sides)>,
    pub(crate) refused: Vec<Refusal>,
    pub(crate) started_ms: Option<u64>,
    pub(crate) ended_ms: Option<u64>,
    /// The latest instant seen, refused events included.
    pub(crate) last_ms: u64,
    next_index: usize,
}

impl Call {
    /// A call that has not started yet, under `policy`.
    pub fn new(policy: Policy) -> Self {
        Self {
            policy,
            phase: Phase::NotStarted,
            direction: None,
            consent: Consent::NotAsked,
            withdrawn: false,
            paused: false,
            customer_toggle: false,
            receipt: None,
            halt: None,
            parties: Vec::new(),
            presence: Vec::new(),
            withdrawn_at: None,
            takes: Vec::new(),
            changes: Vec::new(),
            refused: Vec::new(),
            started_ms: None,
            ended_ms: None,
            last_ms: 0,
            next_index: 0,
        }
    }

    /// The policy the call obeys.
    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    /// Applies `event` at `at_ms`; the event is numbered with the next index.
    pub fn apply(&mut self, at_ms: u64, event: &Event) -> Result<Applied, Refusal> {
        self.apply_numbered(self.next_index, at_ms, event)
    }

    /// Applies `event` at `at_ms`, numbering it `index` in refusals (for inputs whose numbering
    /// has gaps, such as a file's line numbers); later events are numbered from `index + 1`.
    pub fn apply_numbered(
        &mut self,
        index: usize,
        at_ms: u64,
        event: &Event,
    ) -> Result<Applied, Refusal> {
        let at = at_ms.max(self.last_ms);
        self.last_ms = at;
        self.next_index = index + 1;
        if let Err(reason) = self.check(event) {
            let refusal = Refusal {
                index,
                t_ms: at,
                event: event.name(),
                reason,
            };
            self.refused.push(refusal.clone());
            return Err(refusal);
        }
        let mut applied = self.accept(at, event);
        applied.sides = self.sides();
        if self.phase != Phase::NotStarted {
            self.changes.push((at, applied.sides));
        }
        Ok(applied)
    }

    /// Would `event` be accepted now? `Err` holds the reason it would be refused
    /// (the first that applies, in POLICY.md §6's order).
    pub fn check(&self, event: &Event) -> Result<(), Reason> {
        use Event as E;
        match (self.phase, event) {
            (Phase::NotStarted, E::CallStarted { .. }) => return Ok(()),
            (Phase::NotStarted, _) => return Err(Reason::CallNotStarted),
            (Phase::Ended, _) => return Err(Reason::CallOver),
            (Phase::InCall, E::CallStarted { .. }) => return Err(Reason::CallAlreadyStarted),
            (Phase::InCall, _) => {}
        }
        let mode = self.policy.record_mode;
        let recording_halted = || -> Result<(), Reason> {
            if mode == RecordMode::None {
                return Err(Reason::RecordingDisabled);
            }
            match self.halt {
                Some(Halt::Discarded) => Err(Reason::RecordingDiscarded),
                Some(Halt::Stopped) => Err(Reason::RecordingStopped),
                None => Ok(()),
            }
        };
        let fail_if = |cond: bool, reason: Reason| if cond { Err(reason) } else { Ok(()) };
        let in_receipt = self.receipt.is_some();
        let refused_consent = self.customer_refused();
        match event {
            E::CallStarted { .. } | E::CallEnded => Ok(()),
            E::CustomerOn | E::CustomerOff => {
                recording_halted()?;
                fail_if(refused_consent, Reason::ConsentDeclined)?;
                fail_if(mode == RecordMode::Both, Reason::CustomerAlwaysRecorded)?;
                fail_if(
                    !mode.agent_may_toggle_customer(),
                    Reason::CustomerRecordingForbidden,
                )?;
                fail_if(in_receipt, Reason::ReceiptInProgress)?;
                let on = matches!(event, E::CustomerOn);
                match (on, self.customer_toggle) {
                    (true, true) => Err(Reason::AlreadyOn),
                    (false, false) => Err(Reason::AlreadyOff),
                    _ => Ok(()),
                }
            }
            E::Pause | E::Resume => {
                recording_halted()?;
                fail_if(in_receipt, Reason::ReceiptInProgress)?;
                match (matches!(event, E::Pause), self.paused) {
                    (true, true) => Err(Reason::AlreadyPaused),
                    (false, false) => Err(Reason::NotPaused),
                    _ => Ok(()),
                }
            }
            E::ReceiptStart { .. } => {
                fail_if(
                    self.policy.kind != ProjectKind::ContactCenter,
                    Reason::ReceiptsUnavailable,
                )?;
                fail_if(refused_consent, Reason::ConsentDeclined)?;
                fail_if(in_receipt, Reason::ReceiptInProgress)?;
                fail_if(self.paused, Reason::RecordingPaused)
            }
            E::ReceiptStop => fail_if(!in_receipt, Reason::NoReceiptInProgress),
            E::PartyJoined { party } => {
                fail_if(self.parties.contains(party), Reason::PartyAlreadyPresent)
            }
            E::PartyLeft { party } => fail_if(!self.parties.contains(party), Reason::UnknownParty),
            // A fact of the call: accepted paused, stopped, discarded or in mode `none`.
            E::ConsentWithdrawn => fail_if(refused_consent, Reason::ConsentDeclined),
        }
    }

    /// Whether the customer refuses to be recorded: consent declined at the start, or
    /// withdrawn since.
    pub fn customer_refused(&self) -> bool {
        self.consent == Consent::Declined || self.withdrawn
    }

    /// Whether the customer withdrew consent during the call.
    pub fn consent_withdrawn(&self) -> bool {
        self.withdrawn
    }

    /// When the customer withdrew consent, if they did.
    pub fn withdrawn_at(&self) -> Option<u64> {
        self.withdrawn_at
    }

    /// Whether any third party was in the call, from each instant that changed (in order).
    pub fn party_presence(&self) -> &[(u64, bool)] {
        &self.presence
    }

    /// Changes the state for an event [`Self::check`] accepted.
    fn accept(&mut self, at: u64, event: &Event) -> Applied {
        let mut applied = Applied::default();
        match event {
            Event::CallStarted { direction, consent } => {
                self.phase = Phase::InCall;
                self.started_ms = Some(at);
                self.direction = Some(*direction);
                self.consent = *consent;
                self.paused = self.policy.start_paused;
                self.customer_toggle = self.policy.record_mode == RecordMode::Both;
            }
            Event::CustomerOn => self.customer_toggle = true,
            Event::CustomerOff => self.customer_toggle = false,
            Event::Pause => self.paused = true,
            Event::Resume => self.paused = false,
            Event::ReceiptStart { order_id } => {
                let mut seq = 1;
                for (i, take) in self.takes.iter_mut().enumerate() {
                    if take.order_id == *order_id {
                        seq += 1;
                        if !self.policy.multiple_receipts_per_order
                            && take.status == TakeStatus::Kept
                        {
                            take.status = TakeStatus::Overwritten;
                            applied.takes_overwritten.push(i);
                        }
                    }
                }
                let mode = self.policy.record_mode;
                self.takes.push(Take {
                    order_id: order_id.clone(),
                    seq,
                    from_ms: at,
                    to_ms: None,
                    customer: mode.receipt_forces_customer()
                        || (mode.agent_may_toggle_customer() && self.customer_toggle),
                    status: TakeStatus::Kept,
                });
                self.receipt = Some(self.takes.len() - 1);
                applied.take_started = self.receipt;
            }
            Event::ReceiptStop => applied.take_stopped = self.close_receipt(at),
            Event::PartyJoined { party } => {
                self.parties.push(party.clone());
                self.presence.push((at, true));
                if self.halt.is_none() && self.policy.record_mode != RecordMode::None {
                    self.halt = match self.policy.conference_mode {
                        Some(ConferenceMode::StopOnThirdParty) => Some(Halt::Stopped),
                        Some(ConferenceMode::None) => Some(Halt::Discarded),
                        _ => None,
                    };
                    applied.discarded = self.halt == Some(Halt::Discarded);
                }
            }
            Event::PartyLeft { party } => {
                self.parties.retain(|p| p != party);
                self.presence.push((at, !self.parties.is_empty()));
            }
            Event::ConsentWithdrawn => {
                self.withdrawn = true;
                self.withdrawn_at = Some(at);
                // A receipt in progress ends here and is kept, its customer flag as it was.
                applied.take_stopped = self.close_receipt(at);
            }
            Event::CallEnded => {
                self.phase = Phase::Ended;
                self.ended_ms = Some(at);
                applied.take_stopped = self.close_receipt(at);
            }
        }
        applied
    }

    fn close_receipt(&mut self, at: u64) -> Option<usize> {
        let i = self.receipt.take()?;
        self.takes[i].to_ms = Some(at);
        Some(i)
    }

    /// The sides recorded now.
    pub fn sides(&self) -> Sides {
        if self.phase != Phase::InCall
            || self.policy.record_mode == RecordMode::None
            || self.halt.is_some()
            || self.paused
        {
            return Sides::NONE;
        }
        let customer = !self.customer_refused()
            && match self.receipt {
                Some(i) => self.takes[i].customer,
                None => self.customer_toggle,
            };
        let third_parties = customer
            && !self.parties.is_empty()
            && self.policy.conference_mode == Some(ConferenceMode::AllParticipants);
        Sides {
            agent: true,
            customer,
            third_parties,
        }
    }

    /// Where the call is in its life.
    pub fn phase(&self) -> Phase {
        self.phase
    }

    /// Whether recording is paused.
    pub fn is_paused(&self) -> bool {
        self.paused
    }

    /// The customer setting that applies outside receipts (the agent's toggle, or the mode's
    /// fixed value): what a resume or the end of a receipt returns to.
    pub fn customer_toggle(&self) -> bool {
        self.customer_toggle
    }

    /// The take in progress, if any.
    pub fn receipt_in_progress(&self) -> Option<&Take> {
        self.receipt.map(|i| &self.takes[i])
    }

    /// Whether a conference rule stopped or discarded the recording.
    pub fn halt(&self) -> Option<Halt> {
        self.halt
    }

    /// The customer's consent, as `call_started` gave it.
    pub fn consent(&self) -> Consent {
        self.consent
    }

    /// The call's direction, once started.
    pub fn direction(&self) -> Option<Direction> {
        self.direction
    }

    /// Third parties in the call now.
    pub fn parties(&self) -> &[String] {
        &self.parties
    }

    /// Every receipt take so far, in the order started.
    pub fn takes(&self) -> &[Take] {
        &self.takes
    }

    /// Every refused event so far.
    pub fn refusals(&self) -> &[Refusal] {
        &self.refused
    }
}
