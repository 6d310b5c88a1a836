//! Properties over random policies and random calls: the privacy guarantees of POLICY.md hold
//! whatever the agent clicks and whatever happens in the call.

mod common;

use callrec_policy::{
    Call, ConferenceMode, Consent, Direction, Event, HoldingMonths, Phase, Policy, ProjectKind,
    RecordMode, Sides, Verdict,
};
use proptest::prelude::*;

fn policy() -> impl Strategy<Value = Policy> {
    let cc_mode = prop::sample::select(RecordMode::for_kind(ProjectKind::ContactCenter));
    let cs_mode = prop::sample::select(RecordMode::for_kind(ProjectKind::CustomerService));
    let conf = prop::sample::select(vec![
        ConferenceMode::AllParticipants,
        ConferenceMode::None,
        ConferenceMode::AgentAndCustomerOnly,
        ConferenceMode::StopOnThirdParty,
    ]);
    let cc = (cc_mode, any::<bool>(), any::<bool>(), any::<bool>()).prop_map(
        |(record_mode, start_paused, listen, multiple)| Policy {
            kind: ProjectKind::ContactCenter,
            record_mode,
            conference_mode: None,
            start_paused,
            agents_can_listen_to_others: listen,
            multiple_receipts_per_order: multiple,
            holding_months: HoldingMonths::DEFAULT,
            receipt_holding_months: Some(HoldingMonths::DEFAULT),
        },
    );
    let cs = (cs_mode, conf, any::<bool>()).prop_map(|(record_mode, conf, start_paused)| Policy {
        kind: ProjectKind::CustomerService,
        record_mode,
        conference_mode: Some(conf),
        start_paused,
        agents_can_listen_to_others: false,
        multiple_receipts_per_order: false,
        holding_months: HoldingMonths::DEFAULT,
        receipt_holding_months: None,
    });
    prop_oneof![cc, cs]
}

fn event() -> impl Strategy<Value = Event> {
    let consent =
        prop::sample::select(vec![Consent::Granted, Consent::Declined, Consent::NotAsked]);
    let direction = prop::sample::select(vec![Direction::Inbound, Direction::Outbound]);
    let order = prop::sample::select(vec!["A", "B", "C"]).prop_map(str::to_owned);
    let party = prop::sample::select(vec!["p1", "p2", "p3"]).prop_map(str::to_owned);
    prop_oneof![
        1 => (direction, consent).prop_map(|(direction, consent)| Event::CallStarted { direction, consent }),
        3 => Just(Event::CustomerOn),
        3 => Just(Event::CustomerOff),
        3 => Just(Event::Pause),
        3 => Just(Event::Resume),
        3 => order.prop_map(|order_id| Event::ReceiptStart { order_id }),
        3 => Just(Event::ReceiptStop),
        2 => party.clone().prop_map(|party| Event::PartyJoined { party }),
        2 => party.prop_map(|party| Event::PartyLeft { party }),
        1 => Just(Event::ConsentWithdrawn),
        1 => Just(Event::CallEnded),
    ]
}

/// A call: a `call_started` near the front most of the time, then random events at
/// non-decreasing instants (steps of 0 included, so several events share an instant).
fn call_events() -> impl Strategy<Value = Vec<(u64, Event)>> {
    let start = (
        prop::sample::select(vec![Direction::Inbound, Direction::Outbound]),
        prop::sample::select(vec![Consent::Granted, Consent::Declined, Consent::NotAsked]),
    )
        .prop_map(|(direction, consent)| Event::CallStarted { direction, consent });
    (
        prop::collection::vec((0u64..3, event()), 0..4),
        prop::option::weighted(0.9, start),
        prop::collection::vec((0u64..500, event()), 0..40),
    )
        .prop_map(|(before, start, after)| {
            let mut t = 0;
            let mut events = Vec::new();
            for (dt, e) in before.into_iter().chain(start.map(|s| (1, s))).chain(after) {
                t += dt;
                events.push((t, e));
            }
            events
        })
}

/// Everything about a call's state that an event may change (the refusal log and the
/// latest instant aside).
fn snapshot(call: &Call) -> impl PartialEq + std::fmt::Debug + use<> {
    (
        call.phase(),
        call.is_paused(),
        call.customer_toggle(),
        call.receipt_in_progress().cloned(),
        call.halt(),
        call.parties().to_vec(),
        call.takes().to_vec(),
        call.sides(),
        call.controls(),
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn refused_events_change_nothing(policy in policy(), events in call_events()) {
        let mut call = Call::new(policy);
        for (t, e) in &events {
            let before = snapshot(&call);
            let expected = call.check(e);
            let result = call.apply(*t, e);
            prop_assert_eq!(result.is_ok(), expected.is_ok());
            if let Err(refusal) = result {
                prop_assert_eq!(Err(refusal.reason), expected);
                prop_assert_eq!(&before, &snapshot(&call));
            }
        }
    }

    #[test]
    fn privacy_holds_at_every_instant(policy in policy(), events in call_events()) {
        let mut call = Call::new(policy);
        let mut consent = Consent::NotAsked;
        for (t, e) in &events {
            if let (Ok(_), Event::CallStarted { consent: c, .. }) = (call.apply(*t, e), e) {
                consent = *c;
            }
            let sides = call.sides();
            let in_call = call.phase() == Phase::InCall;
            // Nothing outside the call, in mode none, while paused, after a stop or discard.
            if !in_call || policy.record_mode == RecordMode::None || call.is_paused() || call.halt().is_some() {
                prop_assert_eq!(sides, Sides::NONE);
            } else {
                prop_assert!(sides.agent, "the agent is recorded whenever recording runs");
            }
            if consent == Consent::Declined || call.consent_withdrawn() {
                prop_assert!(!sides.customer && !sides.third_parties);
            }
            let receipt = call.receipt_in_progress().is_some();
            if policy.record_mode == RecordMode::AgentOnlyForbidCustomer
                || (policy.record_mode == RecordMode::AgentOnlyReceiptsForbidCustomer && !receipt)
            {
                prop_assert!(!sides.customer, "forbidden customer recorded");
            }
            if sides.third_parties {
                prop_assert_eq!(policy.conference_mode, Some(ConferenceMode::AllParticipants));
                prop_assert!(sides.customer && !call.parties().is_empty());
            }
        }
    }

    #[test]
    fn outcome_is_consistent(policy in policy(), events in call_events()) {
        let mut call = Call::new(policy);
        let mut started = None;
        let mut consent = Consent::NotAsked;
        let mut withdrawn_at = None;
        for (t, e) in &events {
            match (call.apply(*t, e), e) {
                (Ok(_), Event::CallStarted { consent: c, .. }) => {
                    started = Some(*t);
                    consent = *c;
                }
                (Ok(_), Event::ConsentWithdrawn) => withdrawn_at = Some(*t),
                _ => {}
            }
        }
        let outcome = call.outcome();
        let tl = &outcome.timeline;
        // From a withdrawal on, the customer and third parties are never in the timeline.
        if let Some(at) = withdrawn_at {
            for i in tl.iter().filter(|i| i.to_ms > at) {
                prop_assert!(!i.customer && !i.third_parties, "{:?} after withdrawal at {}", i, at);
            }
        }
        match (started, call.end_ms()) {
            (Some(start), Some(end)) if end > start => {
                // Contiguous, merged, covering the call exactly.
                prop_assert_eq!(tl.first().map(|i| i.from_ms), Some(start));
                prop_assert_eq!(tl.last().map(|i| i.to_ms), Some(end));
                for pair in tl.windows(2) {
                    prop_assert_eq!(pair[0].to_ms, pair[1].from_ms);
                    prop_assert_ne!(pair[0].sides(), pair[1].sides());
                }
                let last_event = events.last().map(|(t, _)| *t);
                if call.phase() != Phase::Ended {
                    prop_assert_eq!(Some(end), last_event);
                }
            }
            _ => prop_assert!(tl.is_empty()),
        }
        for i in tl {
            prop_assert!(i.from_ms < i.to_ms, "empty interval kept");
            if consent == Consent::Declined {
                prop_assert!(!i.customer && !i.third_parties);
            }
            if i.third_parties {
                prop_assert!(i.customer);
                prop_assert_eq!(policy.conference_mode, Some(ConferenceMode::AllParticipants));
            }
            // Outside receipts, a forbid mode never records the customer. (Back-to-back takes
            // make one interval of the timeline: it is covered by their union.)
            if i.customer && policy.record_mode == RecordMode::AgentOnlyReceiptsForbidCustomer {
                let takes: Vec<(u64, u64)> = outcome.receipts.iter().map(|r| (r.from_ms, r.to_ms)).collect();
                prop_assert!(covered(&takes, i.from_ms, i.to_ms), "{:?} outside the receipts {:?}", i, takes);
            }
            if policy.record_mode == RecordMode::AgentOnlyForbidCustomer || policy.record_mode == RecordMode::None {
                prop_assert!(!i.customer);
            }
        }
        let any = tl.iter().any(|i| i.sides().any());
        match outcome.outcome {
            Verdict::Discarded => {
                prop_assert_eq!(policy.conference_mode, Some(ConferenceMode::None));
                prop_assert!(!any, "a discarded call keeps nothing");
            }
            Verdict::Kept => prop_assert!(any),
            Verdict::None => prop_assert!(!any),
        }
        for r in &outcome.receipts {
            prop_assert!(r.from_ms <= r.to_ms);
            prop_assert_eq!(policy.kind, ProjectKind::ContactCenter);
        }
        // Takes never overlap, and `seq` counts each order's takes from 1.
        for pair in outcome.receipts.windows(2) {
            prop_assert!(pair[0].to_ms <= pair[1].from_ms);
        }
        for (i, r) in outcome.receipts.iter().enumerate() {
            let earlier = outcome.receipts[..i].iter().filter(|o| o.order_id == r.order_id).count();
            prop_assert_eq!(r.seq as usize, earlier + 1);
            let later_same = outcome.receipts[i + 1..].iter().any(|o| o.order_id == r.order_id);
            let kept = r.status == callrec_policy::TakeStatus::Kept;
            prop_assert_eq!(kept, policy.multiple_receipts_per_order || !later_same);
        }
    }
}

/// Whether `[from, to)` lies within the union of `spans` (each `[start, end)`).
fn covered(spans: &[(u64, u64)], from: u64, to: u64) -> bool {
    let mut at = from;
    while at < to {
        match spans
            .iter()
            .filter(|&&(start, end)| start <= at && at < end)
            .map(|&(_, end)| end)
            .max()
        {
            Some(end) => at = end,
            None => return false,
        }
    }
    true
}
