//! Call events (POLICY.md §6): the facts of a call and the agent's controls.

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;

use crate::error::InputError;
use crate::json::Object;
use crate::names::{Named, list, named_enum};

named_enum! {
    /// Which way the call was placed.
    pub enum Direction {
        /// The customer called in.
        Inbound => "inbound",
        /// The agent called out.
        Outbound => "outbound",
    }
}

named_enum! {
    /// What the customer said to the recording-consent step, if they were asked.
    pub enum Consent {
        /// The customer agreed to be recorded.
        Granted => "granted",
        /// The customer declined: never recorded in this call.
        Declined => "declined",
        /// The customer was not asked.
        NotAsked => "not_asked",
    }
}

impl Consent {
    /// What a call's consent is when two sources report it (the telephony platform and the
    /// agent): a decline from either stands, since it records less; otherwise `self`.
    pub fn or_declined_by(self, other: Self) -> Self {
        if other == Self::Declined {
            Self::Declined
        } else {
            self
        }
    }
}

#[cfg(test)]
mod consent_tests {
    use super::Consent::{Declined, Granted, NotAsked};

    #[test]
    fn a_decline_from_either_source_stands() {
        assert_eq!(Granted.or_declined_by(Declined), Declined);
        assert_eq!(Declined.or_declined_by(Granted), Declined);
        assert_eq!(Granted.or_declined_by(NotAsked), Granted);
        assert_eq!(NotAsked.or_declined_by(Granted), NotAsked);
    }
}

named_enum! {
    /// The name of an event, as it appears in the `event` field.
    pub enum EventName {
        /// See [`Event::CallStarted`].
        CallStarted => "call_started",
        /// See [`Event::CustomerOn`].
        CustomerOn => "customer_on",
        /// See [`Event::CustomerOff`].
        CustomerOff => "customer_off",
        /// See [`Event::Pause`].
        Pause => "pause",
        /// See [`Event::Resume`].
        Resume => "resume",
        /// See [`Event::ReceiptStart`].
        ReceiptStart => "receipt_start",
        /// See [`Event::ReceiptStop`].
        ReceiptStop => "receipt_stop",
        /// See [`Event::PartyJoined`].
        PartyJoined => "party_joined",
        /// See [`Event::PartyLeft`].
        PartyLeft => "party_left",
        /// See [`Event::ConsentWithdrawn`].
        ConsentWithdrawn => "consent_withdrawn",
        /// See [`Event::CallEnded`].
        CallEnded => "call_ended",
    }
}

/// One event of a call.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Event {
    /// The call is connected.
    CallStarted {
        /// Inbound or outbound.
        direction: Direction,
        /// The customer's answer to the consent step.
        consent: Consent,
    },
    /// The agent switches customer recording on.
    CustomerOn,
    /// The agent switches customer recording off.
    CustomerOff,
    /// The agent pauses recording.
    Pause,
    /// The agent resumes recording.
    Resume,
    /// The agent starts a voice receipt for an order.
    ReceiptStart {
        /// The order the receipt confirms.
        order_id: String,
    },
    /// The agent stops the voice receipt in progress.
    ReceiptStop,
    /// A third party joins (conference).
    PartyJoined {
        /// The party's id (an opaque label).
        party: String,
    },
    /// A third party leaves.
    PartyLeft {
        /// The party's id.
        party: String,
    },
    /// The customer withdraws their consent to be recorded (POLICY.md §3): from this instant
    /// the call is as if consent had been declined.
    ConsentWithdrawn,
    /// The call is over.
    CallEnded,
}

impl Event {
    /// The event's name.
    pub fn name(&self) -> EventName {
        match self {
            Self::CallStarted { .. } => EventName::CallStarted,
            Self::CustomerOn => EventName::CustomerOn,
            Self::CustomerOff => EventName::CustomerOff,
            Self::Pause => EventName::Pause,
            Self::Resume => EventName::Resume,
            Self::ReceiptStart { .. } => EventName::ReceiptStart,
            Self::ReceiptStop => EventName::ReceiptStop,
            Self::PartyJoined { .. } => EventName::PartyJoined,
            Self::PartyLeft { .. } => EventName::PartyLeft,
            Self::ConsentWithdrawn => EventName::ConsentWithdrawn,
            Self::CallEnded => EventName::CallEnded,
        }
    }

    /// Reads an event object without its time (the fields other than `t_ms`).
    pub fn from_json_value(value: &Value) -> Result<Self, InputError> {
        read_event(&Object::new(value, "")?, &[])
    }
}

/// The fields of `name`'s event besides `t_ms` and `event`.
fn fields_of(name: EventName) -> &'static [&'static str] {
    match name {
        EventName::CallStarted => &["direction", "consent"],
        EventName::ReceiptStart => &["order_id"],
        EventName::PartyJoined | EventName::PartyLeft => &["party"],
        _ => &[],
    }
}

fn read_event(o: &Object<'_>, extra: &[&str]) -> Result<Event, InputError> {
    let name = o
        .name("event", EventName::ALL)?
        .ok_or_else(|| o.missing("event", &format!("valid values: {}", list(EventName::ALL))))?;
    let allowed: Vec<&str> = extra
        .iter()
        .chain(&["event"])
        .chain(fields_of(name))
        .copied()
        .collect();
    o.deny_unknown(&allowed, &format!("a {name} event"))?;
    let text = |key: &str| -> Result<String, InputError> {
        o.nonempty_str(key)?
            .map(str::to_owned)
            .ok_or_else(|| o.missing(key, &format!("a {name} event needs a non-empty string")))
    };
    Ok(match name {
        EventName::CallStarted => Event::CallStarted {
            direction: o.name("direction", Direction::ALL)?.ok_or_else(|| {
                o.missing(
                    "direction",
                    &format!("valid values: {}", list(Direction::ALL)),
                )
            })?,
            consent: o.name("consent", Consent::ALL)?.ok_or_else(|| {
                o.missing("consent", &format!("valid values: {}", list(Consent::ALL)))
            })?,
        },
        EventName::CustomerOn => Event::CustomerOn,
        EventName::CustomerOff => Event::CustomerOff,
        EventName::Pause => Event::Pause,
        EventName::Resume => Event::Resume,
        EventName::ReceiptStart => Event::ReceiptStart {
            order_id: text("order_id")?,
        },
        EventName::ReceiptStop => Event::ReceiptStop,
        EventName::PartyJoined => Event::PartyJoined {
            party: text("party")?,
        },
        EventName::PartyLeft => Event::PartyLeft {
            party: text("party")?,
        },
        EventName::ConsentWithdrawn => Event::ConsentWithdrawn,
        EventName::CallEnded => Event::CallEnded,
    })
}

/// An event at its instant, in milliseconds from the call's common origin: one line of an
/// EVENTS.jsonl file.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct TimedEvent {
    /// Milliseconds from the origin.
    pub t_ms: u64,
    /// What happened.
    #[serde(flatten)]
    pub event: Event,
}

impl TimedEvent {
    /// Reads one event object with its `t_ms`.
    pub fn from_json_value(value: &Value) -> Result<Self, InputError> {
        let o = Object::new(value, "")?;
        let t_ms = o
            .integer(
                "t_ms",
                0..=u64::MAX,
                "a non-negative integer (milliseconds)",
            )?
            .ok_or_else(|| o.missing("t_ms", "every event needs a non-negative integer time"))?;
        let event = read_event(&o, &["t_ms"])?;
        Ok(Self { t_ms, event })
    }

    /// Parses one line of JSON.
    pub fn from_json(line: &str) -> Result<Self, InputError> {
        Self::from_json_value(&serde_json::from_str(line)?)
    }
}

impl<'de> Deserialize<'de> for Event {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Self::from_json_value(&Value::deserialize(d)?).map_err(serde::de::Error::custom)
    }
}

impl<'de> Deserialize<'de> for TimedEvent {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Self::from_json_value(&Value::deserialize(d)?).map_err(serde::de::Error::custom)
    }
}
