//! Shared helpers: policies by kind and mode, and calls written as short scripts.
#![allow(dead_code)]

use callrec_policy::{
    Call, ConferenceMode, Consent, Direction, Event, HoldingMonths, Outcome, Policy, ProjectKind,
    RecordMode,
};

/// A contact-center policy in `mode`, other settings off.
pub fn cc(mode: RecordMode) -> Policy {
    Policy {
        kind: ProjectKind::ContactCenter,
        record_mode: mode,
        conference_mode: None,
        start_paused: false,
        agents_can_listen_to_others: false,
        multiple_receipts_per_order: false,
        holding_months: HoldingMonths::DEFAULT,
        receipt_holding_months: Some(HoldingMonths::DEFAULT),
    }
}

/// A customer-service policy in `mode` with conference mode `conference`.
pub fn cs(mode: RecordMode, conference: ConferenceMode) -> Policy {
    Policy {
        kind: ProjectKind::CustomerService,
        conference_mode: Some(conference),
        receipt_holding_months: None,
        ..cc(mode)
    }
}

/// One event from a script word list: `start [consent]`, `on`, `off`, `pause`, `resume`,
/// `receipt ORDER`, `stop`, `join P`, `leave P`, `withdraw`, `end`.
pub fn event(words: &[&str]) -> Event {
    match words {
        ["start"] => event(&["start", "not_asked"]),
        ["start", consent] => Event::CallStarted {
            direction: Direction::Outbound,
            consent: match *consent {
                "granted" => Consent::Granted,
                "declined" => Consent::Declined,
                _ => Consent::NotAsked,
            },
        },
        ["on"] => Event::CustomerOn,
        ["off"] => Event::CustomerOff,
        ["pause"] => Event::Pause,
        ["resume"] => Event::Resume,
        ["receipt", order] => Event::ReceiptStart {
            order_id: (*order).to_owned(),
        },
        ["stop"] => Event::ReceiptStop,
        ["join", p] => Event::PartyJoined {
            party: (*p).to_owned(),
        },
        ["leave", p] => Event::PartyLeft {
            party: (*p).to_owned(),
        },
        ["withdraw"] => Event::ConsentWithdrawn,
        ["end"] => Event::CallEnded,
        other => panic!("bad script words {other:?}"),
    }
}

/// Runs a script of `T WORDS` lines separated by `;` (e.g. `0 start; 100 pause; 900 end`).
pub fn run(policy: Policy, script: &str) -> Call {
    let mut call = Call::new(policy);
    for step in script.split(';').map(str::trim).filter(|s| !s.is_empty()) {
        let words: Vec<&str> = step.split_whitespace().collect();
        let t: u64 = words[0].parse().expect("time");
        let _ = call.apply(t, &event(&words[1..]));
    }
    call
}

/// The outcome's timeline as `(from, to, "ACT")` with A/C/T for each recorded side, `-`
/// otherwise: compact to compare in tables.
pub fn timeline(outcome: &Outcome) -> Vec<(u64, u64, String)> {
    outcome
        .timeline
        .iter()
        .map(|i| {
            let f = |on: bool, c: char| if on { c } else { '-' };
            (
                i.from_ms,
                i.to_ms,
                [f(i.agent, 'A'), f(i.customer, 'C'), f(i.third_parties, 'T')]
                    .iter()
                    .collect(),
            )
        })
        .collect()
}

/// The reasons of the outcome's refusals, in order.
pub fn reasons(call: &Call) -> Vec<&'static str> {
    use callrec_policy::Named;
    call.refusals().iter().map(|r| r.reason.name()).collect()
}
