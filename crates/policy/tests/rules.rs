//! Every row of POLICY.md's tables and every refusal code, as scripted calls.

mod common;

use callrec_policy::{ConferenceMode as Conf, Named, Policy, RecordMode as M, TakeStatus, Verdict};
use common::{cc, cs, reasons, run, timeline};
use rstest::rstest;

fn tl(spec: &[(u64, u64, &str)]) -> Vec<(u64, u64, String)> {
    spec.iter()
        .map(|(a, b, s)| (*a, *b, (*s).to_owned()))
        .collect()
}

// §3: who is recorded at the start of a call, per mode.
#[rstest]
#[case::cc_both(cc(M::Both), "AC-")]
#[case::cc_allow(cc(M::AgentOnlyAllowCustomer), "A--")]
#[case::cc_forbid(cc(M::AgentOnlyForbidCustomer), "A--")]
#[case::cc_receipts_allow(cc(M::AgentOnlyReceiptsAllowCustomer), "A--")]
#[case::cc_receipts_forbid(cc(M::AgentOnlyReceiptsForbidCustomer), "A--")]
#[case::cs_both(cs(M::Both, Conf::AllParticipants), "AC-")]
#[case::cs_allow(cs(M::AgentOnlyAllowCustomer, Conf::AllParticipants), "A--")]
#[case::cs_forbid(cs(M::AgentOnlyForbidCustomer, Conf::AllParticipants), "A--")]
#[case::cs_none(cs(M::None, Conf::AllParticipants), "---")]
fn sides_at_start(#[case] policy: Policy, #[case] sides: &str) {
    let call = run(policy, "0 start; 1000 end");
    assert_eq!(timeline(&call.outcome()), tl(&[(0, 1000, sides)]));
    let expected = if sides == "---" {
        Verdict::None
    } else {
        Verdict::Kept
    };
    assert_eq!(call.outcome().outcome, expected);
}

// §3: the customer toggle, per mode: on at 100, off at 200.
#[rstest]
#[case::cc_both(cc(M::Both), &[(0, 1000, "AC-")], &["customer_always_recorded", "customer_always_recorded"])]
#[case::cc_allow(cc(M::AgentOnlyAllowCustomer), &[(0, 100, "A--"), (100, 200, "AC-"), (200, 1000, "A--")], &[])]
#[case::cc_forbid(cc(M::AgentOnlyForbidCustomer), &[(0, 1000, "A--")], &["customer_recording_forbidden", "customer_recording_forbidden"])]
#[case::cc_receipts_allow(cc(M::AgentOnlyReceiptsAllowCustomer), &[(0, 100, "A--"), (100, 200, "AC-"), (200, 1000, "A--")], &[])]
#[case::cc_receipts_forbid(cc(M::AgentOnlyReceiptsForbidCustomer), &[(0, 1000, "A--")], &["customer_recording_forbidden", "customer_recording_forbidden"])]
#[case::cs_allow(cs(M::AgentOnlyAllowCustomer, Conf::None), &[(0, 100, "A--"), (100, 200, "AC-"), (200, 1000, "A--")], &[])]
#[case::cs_none(cs(M::None, Conf::None), &[(0, 1000, "---")], &["recording_disabled", "recording_disabled"])]
fn customer_toggle(
    #[case] policy: Policy,
    #[case] expected: &[(u64, u64, &str)],
    #[case] refused: &[&str],
) {
    let call = run(policy, "0 start; 100 on; 200 off; 1000 end");
    assert_eq!(timeline(&call.outcome()), tl(expected));
    assert_eq!(reasons(&call), refused);
}

// §3 and §5: whether a voice receipt records the customer, per mode, with the agent's toggle
// off and on; afterwards the customer returns to the toggle's state.
#[rstest]
#[case::both(M::Both, false, true)]
#[case::allow_toggle_off(M::AgentOnlyAllowCustomer, false, false)]
#[case::allow_toggle_on(M::AgentOnlyAllowCustomer, true, true)]
#[case::forbid(M::AgentOnlyForbidCustomer, false, false)]
#[case::receipts_allow_toggle_off(M::AgentOnlyReceiptsAllowCustomer, false, true)]
#[case::receipts_allow_toggle_on(M::AgentOnlyReceiptsAllowCustomer, true, true)]
#[case::receipts_forbid(M::AgentOnlyReceiptsForbidCustomer, false, true)]
fn receipt_customer(#[case] mode: M, #[case] toggle_on: bool, #[case] in_receipt: bool) {
    let script = if toggle_on {
        "0 start; 50 on; 100 receipt A; 200 stop; 1000 end"
    } else {
        "0 start; 100 receipt A; 200 stop; 1000 end"
    };
    let call = run(cc(mode), script);
    let outcome = call.outcome();
    assert_eq!(outcome.receipts.len(), 1);
    let take = &outcome.receipts[0];
    assert_eq!(
        (take.from_ms, take.to_ms, take.customer),
        (100, 200, in_receipt)
    );
    let before = if mode == M::Both || toggle_on {
        "AC-"
    } else {
        "A--"
    };
    let during = if in_receipt { "AC-" } else { "A--" };
    let mut want = vec![(0, 100, before), (100, 200, during), (200, 1000, before)];
    if toggle_on {
        want.insert(0, (0, 50, "A--"));
        want[1].0 = 50;
    }
    let want = merge(&want);
    assert_eq!(timeline(&outcome), want);
}

fn merge(spec: &[(u64, u64, &str)]) -> Vec<(u64, u64, String)> {
    let mut out: Vec<(u64, u64, String)> = Vec::new();
    for &(a, b, s) in spec {
        match out.last_mut() {
            Some(last) if last.2 == s => last.1 = b,
            _ => out.push((a, b, s.to_owned())),
        }
    }
    out
}

// §6: every refusal code, from a minimal call that provokes it.
#[rstest]
#[case::call_not_started(cc(M::Both), "0 pause", "call_not_started")]
#[case::call_not_started_end(cc(M::Both), "0 end", "call_not_started")]
#[case::call_not_started_party(cc(M::Both), "0 join p", "call_not_started")]
#[case::call_already_started(cc(M::Both), "0 start; 5 start", "call_already_started")]
#[case::call_over(cc(M::Both), "0 start; 5 end; 6 pause", "call_over")]
#[case::call_over_restart(cc(M::Both), "0 start; 5 end; 6 start", "call_over")]
#[case::call_over_party(cc(M::Both), "0 start; 5 end; 6 leave p", "call_over")]
#[case::call_over_end(cc(M::Both), "0 start; 5 end; 6 end", "call_over")]
#[case::recording_disabled(
    cs(M::None, Conf::AllParticipants),
    "0 start; 5 pause",
    "recording_disabled"
)]
#[case::customer_always_recorded(cc(M::Both), "0 start; 5 off", "customer_always_recorded")]
#[case::customer_recording_forbidden(
    cc(M::AgentOnlyForbidCustomer),
    "0 start; 5 on",
    "customer_recording_forbidden"
)]
#[case::consent_declined_toggle(
    cc(M::AgentOnlyAllowCustomer),
    "0 start declined; 5 on",
    "consent_declined"
)]
#[case::consent_declined_receipt(
    cc(M::AgentOnlyReceiptsForbidCustomer),
    "0 start declined; 5 receipt A",
    "consent_declined"
)]
#[case::already_on(cc(M::AgentOnlyAllowCustomer), "0 start; 1 on; 2 on", "already_on")]
#[case::already_off(cc(M::AgentOnlyAllowCustomer), "0 start; 1 off", "already_off")]
#[case::already_paused(cc(M::Both), "0 start; 1 pause; 2 pause", "already_paused")]
#[case::not_paused(cc(M::Both), "0 start; 1 resume", "not_paused")]
#[case::recording_paused(cc(M::Both), "0 start; 1 pause; 2 receipt A", "recording_paused")]
#[case::receipts_unavailable(
    cs(M::Both, Conf::AllParticipants),
    "0 start; 1 receipt A",
    "receipts_unavailable"
)]
#[case::receipt_in_progress_receipt(
    cc(M::Both),
    "0 start; 1 receipt A; 2 receipt B",
    "receipt_in_progress"
)]
#[case::receipt_in_progress_pause(
    cc(M::Both),
    "0 start; 1 receipt A; 2 pause",
    "receipt_in_progress"
)]
#[case::receipt_in_progress_toggle(
    cc(M::AgentOnlyReceiptsAllowCustomer),
    "0 start; 1 receipt A; 2 on",
    "receipt_in_progress"
)]
#[case::no_receipt_in_progress(cc(M::Both), "0 start; 1 stop", "no_receipt_in_progress")]
#[case::recording_stopped(
    cs(M::Both, Conf::StopOnThirdParty),
    "0 start; 1 join p; 2 pause",
    "recording_stopped"
)]
#[case::recording_discarded(
    cs(M::Both, Conf::None),
    "0 start; 1 join p; 2 pause",
    "recording_discarded"
)]
#[case::unknown_party(cc(M::Both), "0 start; 1 leave p", "unknown_party")]
#[case::unknown_party_left_already(
    cc(M::Both),
    "0 start; 1 join p; 2 leave p; 3 leave p",
    "unknown_party"
)]
#[case::party_already_present(cc(M::Both), "0 start; 1 join p; 2 join p", "party_already_present")]
fn every_refusal_code(#[case] policy: Policy, #[case] script: &str, #[case] reason: &str) {
    let call = run(policy, script);
    assert_eq!(reasons(&call), [reason]);
}

// §6: when several reasons apply, the first in the table's order is given.
#[rstest]
#[case::disabled_before_discarded(
    cs(M::None, Conf::None),
    "0 start declined; 1 join p; 2 on",
    "recording_disabled"
)]
#[case::discarded_before_consent(
    cs(M::AgentOnlyAllowCustomer, Conf::None),
    "0 start declined; 1 join p; 2 on",
    "recording_discarded"
)]
#[case::stopped_before_consent(
    cs(M::AgentOnlyAllowCustomer, Conf::StopOnThirdParty),
    "0 start declined; 1 join p; 2 on",
    "recording_stopped"
)]
#[case::consent_before_always(cc(M::Both), "0 start declined; 1 off", "consent_declined")]
#[case::consent_before_forbidden(
    cc(M::AgentOnlyForbidCustomer),
    "0 start declined; 1 on",
    "consent_declined"
)]
#[case::always_before_receipt(
    cc(M::Both),
    "0 start; 1 receipt A; 2 off",
    "customer_always_recorded"
)]
#[case::forbidden_before_receipt(
    cc(M::AgentOnlyReceiptsForbidCustomer),
    "0 start; 1 receipt A; 2 on",
    "customer_recording_forbidden"
)]
#[case::receipt_before_already_on(
    cc(M::AgentOnlyAllowCustomer),
    "0 start; 1 on; 2 receipt A; 3 on",
    "receipt_in_progress"
)]
#[case::receipt_before_already_off(
    cc(M::AgentOnlyAllowCustomer),
    "0 start; 2 receipt A; 3 off",
    "receipt_in_progress"
)]
#[case::pause_disabled_first(
    cs(M::None, Conf::StopOnThirdParty),
    "0 start; 1 join p; 2 pause",
    "recording_disabled"
)]
#[case::pause_receipt_before_not_paused(
    cc(M::Both),
    "0 start; 1 receipt A; 2 resume",
    "receipt_in_progress"
)]
#[case::receipt_unavailable_before_consent(
    cs(M::Both, Conf::AllParticipants),
    "0 start declined; 1 receipt A",
    "receipts_unavailable"
)]
#[case::consent_before_paused(
    cc(M::Both),
    "0 start declined; 1 pause; 2 receipt A",
    "consent_declined"
)]
#[case::not_started_before_party(cc(M::Both), "0 leave p", "call_not_started")]
#[case::over_before_party(cc(M::Both), "0 start; 1 join p; 2 end; 3 join p", "call_over")]
fn refusal_order(#[case] policy: Policy, #[case] script: &str, #[case] reason: &str) {
    let call = run(policy, script);
    assert_eq!(reasons(&call), [reason]);
}

// §6: party events are facts, accepted even in stopped, discarded and `none` calls.
#[rstest]
#[case::stopped(cs(M::Both, Conf::StopOnThirdParty))]
#[case::discarded(cs(M::Both, Conf::None))]
#[case::none(cs(M::None, Conf::None))]
fn party_events_always_accepted(#[case] policy: Policy) {
    let call = run(
        policy,
        "0 start; 1 join p; 2 join q; 3 leave p; 4 join p; 5 leave q; 9 end",
    );
    assert!(call.refusals().is_empty(), "{:?}", call.refusals());
}

// §4: conference modes on a customer-service call: a party joins at 100 and leaves at 400,
// with a pause from 200 to 300.
#[rstest]
#[case::all_participants(Conf::AllParticipants, &[(0, 100, "AC-"), (100, 200, "ACT"), (200, 300, "---"), (300, 400, "ACT"), (400, 1000, "AC-")], Verdict::Kept, &[])]
#[case::agent_and_customer_only(Conf::AgentAndCustomerOnly, &[(0, 200, "AC-"), (200, 300, "---"), (300, 1000, "AC-")], Verdict::Kept, &[])]
#[case::stop_on_third_party(Conf::StopOnThirdParty, &[(0, 100, "AC-"), (100, 1000, "---")], Verdict::Kept, &["recording_stopped", "recording_stopped"])]
#[case::none(Conf::None, &[(0, 1000, "---")], Verdict::Discarded, &["recording_discarded", "recording_discarded"])]
fn conference(
    #[case] conf: Conf,
    #[case] expected: &[(u64, u64, &str)],
    #[case] verdict: Verdict,
    #[case] refused: &[&str],
) {
    let call = run(
        cs(M::Both, conf),
        "0 start; 100 join p; 200 pause; 300 resume; 400 leave p; 1000 end",
    );
    let outcome = call.outcome();
    assert_eq!(timeline(&outcome), tl(expected));
    assert_eq!(outcome.outcome, verdict);
    assert_eq!(reasons(&call), refused);
}

#[test]
fn all_participants_follow_the_customer_toggle_and_consent() {
    let script = "0 start; 100 join p; 200 on; 300 off; 1000 end";
    let call = run(cs(M::AgentOnlyAllowCustomer, Conf::AllParticipants), script);
    assert_eq!(
        timeline(&call.outcome()),
        tl(&[(0, 200, "A--"), (200, 300, "ACT"), (300, 1000, "A--")])
    );
    let call = run(
        cs(M::Both, Conf::AllParticipants),
        "0 start declined; 100 join p; 1000 end",
    );
    assert_eq!(timeline(&call.outcome()), tl(&[(0, 1000, "A--")]));
}

#[test]
fn stopped_recording_never_restarts() {
    let call = run(
        cs(M::Both, Conf::StopOnThirdParty),
        "0 start; 100 join p; 200 leave p; 300 resume; 400 on; 1000 end",
    );
    assert_eq!(
        timeline(&call.outcome()),
        tl(&[(0, 100, "AC-"), (100, 1000, "---")])
    );
}

#[test]
fn conference_none_discards_even_an_unrecorded_call() {
    let policy = Policy {
        start_paused: true,
        ..cs(M::Both, Conf::None)
    };
    let call = run(policy, "0 start; 100 join p; 1000 end");
    let outcome = call.outcome();
    assert_eq!(outcome.outcome, Verdict::Discarded);
    assert_eq!(timeline(&outcome), tl(&[(0, 1000, "---")]));
}

#[rstest]
#[case::stop(Conf::StopOnThirdParty)]
#[case::none(Conf::None)]
fn record_mode_none_is_neither_stopped_nor_discarded(#[case] conf: Conf) {
    let call = run(cs(M::None, conf), "0 start; 100 join p; 1000 end");
    assert_eq!(call.outcome().outcome, Verdict::None);
    assert_eq!(call.halt(), None);
}

#[test]
fn contact_center_never_records_third_parties_and_goes_on() {
    let call = run(cc(M::Both), "0 start; 100 join p; 200 leave p; 1000 end");
    assert_eq!(timeline(&call.outcome()), tl(&[(0, 1000, "AC-")]));
    assert!(call.refusals().is_empty());
}

// §3: pause, start_paused and consent.
#[test]
fn start_paused_begins_with_nothing_recorded_until_resume() {
    let policy = Policy {
        start_paused: true,
        ..cc(M::AgentOnlyAllowCustomer)
    };
    let call = run(policy, "0 start; 100 on; 300 resume; 500 pause; 1000 end");
    assert_eq!(
        timeline(&call.outcome()),
        tl(&[(0, 300, "---"), (300, 500, "AC-"), (500, 1000, "---")])
    );
    assert!(call.refusals().is_empty(), "the toggle works while paused");
}

#[test]
fn toggle_while_paused_applies_on_resume() {
    let call = run(
        cc(M::AgentOnlyReceiptsAllowCustomer),
        "0 start; 100 pause; 200 on; 300 resume; 1000 end",
    );
    assert_eq!(
        timeline(&call.outcome()),
        tl(&[(0, 100, "A--"), (100, 300, "---"), (300, 1000, "AC-")])
    );
}

#[rstest]
#[case::cc_both(cc(M::Both))]
#[case::cs_both_all(cs(M::Both, Conf::AllParticipants))]
#[case::receipts_forbid(cc(M::AgentOnlyReceiptsForbidCustomer))]
fn declined_consent_is_never_recorded(#[case] policy: Policy) {
    let call = run(
        policy,
        "0 start declined; 100 join p; 200 receipt A; 300 on; 1000 end",
    );
    let outcome = call.outcome();
    assert!(
        outcome
            .timeline
            .iter()
            .all(|i| !i.customer && !i.third_parties)
    );
    assert!(outcome.receipts.is_empty());
}

// §5: receipts.
#[test]
fn receipt_overwrites_earlier_take_of_same_order_unless_multiple() {
    let script = "0 start; 100 receipt A; 200 stop; 300 receipt B; 400 stop; 500 receipt A; 600 stop; 700 receipt A; 1000 end";
    let statuses = |policy| {
        run(policy, script)
            .outcome()
            .receipts
            .iter()
            .map(|t| (t.order_id.clone(), t.seq, t.status, t.to_ms))
            .collect::<Vec<_>>()
    };
    use TakeStatus::{Kept, Overwritten};
    let a = || "A".to_owned();
    let b = || "B".to_owned();
    assert_eq!(
        statuses(cc(M::Both)),
        [
            (a(), 1, Overwritten, 200),
            (b(), 1, Kept, 400),
            (a(), 2, Overwritten, 600),
            (a(), 3, Kept, 1000)
        ]
    );
    let multiple = Policy {
        multiple_receipts_per_order: true,
        ..cc(M::Both)
    };
    assert_eq!(
        statuses(multiple),
        [
            (a(), 1, Kept, 200),
            (b(), 1, Kept, 400),
            (a(), 2, Kept, 600),
            (a(), 3, Kept, 1000)
        ]
    );
}

#[test]
fn call_end_closes_a_receipt_at_the_same_instant_even_at_zero_length() {
    let call = run(cc(M::Both), "0 start; 500 receipt A; 500 end");
    let take = &call.outcome().receipts[0];
    assert_eq!(
        (take.from_ms, take.to_ms, take.status),
        (500, 500, TakeStatus::Kept)
    );
    assert!(call.receipt_in_progress().is_none());
}

#[test]
fn a_refused_receipt_start_does_not_overwrite() {
    let call = run(
        cc(M::Both),
        "0 start; 1 receipt A; 2 stop; 3 pause; 4 receipt A; 9 end",
    );
    let outcome = call.outcome();
    assert_eq!(outcome.receipts.len(), 1);
    assert_eq!(outcome.receipts[0].status, TakeStatus::Kept);
}

// §7: the outcome's boundaries.
#[test]
fn a_call_that_never_started_has_an_empty_timeline() {
    let call = run(cc(M::Both), "0 pause; 5 end");
    let outcome = call.outcome();
    assert!(outcome.timeline.is_empty());
    assert_eq!(outcome.outcome, Verdict::None);
    assert_eq!(reasons(&call), ["call_not_started", "call_not_started"]);
    let call = run(cc(M::Both), "");
    assert!(call.outcome().timeline.is_empty());
}

#[test]
fn an_unended_call_runs_to_its_last_event_refused_or_not() {
    let call = run(cc(M::Both), "100 start; 500 receipt A; 700 stop; 900 stop");
    let outcome = call.outcome();
    assert_eq!(timeline(&outcome), tl(&[(100, 900, "AC-")]));
    let call = run(cc(M::Both), "100 start; 500 receipt A; 900 pause");
    let outcome = call.outcome();
    assert_eq!(timeline(&outcome), tl(&[(100, 900, "AC-")]));
    assert_eq!(
        outcome.receipts[0].to_ms, 900,
        "an open take closes at the end"
    );
}

#[test]
fn events_after_the_end_do_not_extend_the_call() {
    let call = run(cc(M::Both), "0 start; 500 end; 900 pause");
    assert_eq!(timeline(&call.outcome()), tl(&[(0, 500, "AC-")]));
}

#[test]
fn zero_length_intervals_are_dropped_and_equal_ones_merged() {
    let call = run(
        cc(M::AgentOnlyAllowCustomer),
        "0 start; 0 on; 100 pause; 100 resume; 200 off; 200 on; 1000 end",
    );
    assert_eq!(timeline(&call.outcome()), tl(&[(0, 1000, "AC-")]));
    let call = run(cc(M::Both), "0 start; 0 pause; 1000 end");
    let outcome = call.outcome();
    assert_eq!(timeline(&outcome), tl(&[(0, 1000, "---")]));
    assert_eq!(outcome.outcome, Verdict::None);
}

#[test]
fn reason_names_and_messages_are_complete() {
    use callrec_policy::Reason;
    assert_eq!(Reason::ALL.len(), 19, "POLICY.md §6 lists 19 reason codes");
    for r in Reason::ALL {
        assert!(r.message().ends_with('.'), "{r}");
        assert_eq!(Reason::from_name(r.name()), Some(*r));
    }
}

// §3 (new): consent withdrawn during the call.
#[test]
fn a_withdrawal_stops_the_customer_for_the_rest_of_the_call_and_refuses_what_would_record_them() {
    let call = run(
        cc(M::AgentOnlyReceiptsAllowCustomer),
        "0 start granted; 100 on; 400 withdraw; 500 on; 600 receipt A; 700 withdraw; 1000 end",
    );
    assert_eq!(
        timeline(&call.outcome()),
        tl(&[(0, 100, "A--"), (100, 400, "AC-"), (400, 1000, "A--")])
    );
    assert_eq!(
        reasons(&call),
        ["consent_declined", "consent_declined", "consent_declined"],
        "the toggle, a new receipt and a second withdrawal"
    );
    assert!(call.consent_withdrawn());
}

#[test]
fn a_withdrawal_during_a_receipt_ends_the_take_there_kept_with_its_customer_flag() {
    let call = run(
        cc(M::Both),
        "0 start granted; 100 receipt A; 300 withdraw; 350 stop; 1000 end",
    );
    let outcome = call.outcome();
    assert_eq!(outcome.receipts.len(), 1);
    let take = &outcome.receipts[0];
    assert_eq!((take.from_ms, take.to_ms), (100, 300));
    assert!(take.customer, "the customer flag as it was");
    assert_eq!(take.status, TakeStatus::Kept);
    assert_eq!(reasons(&call), ["no_receipt_in_progress"]);
    assert_eq!(
        timeline(&outcome),
        tl(&[(0, 300, "AC-"), (300, 1000, "A--")])
    );
    // At the very start of a take: kept at zero length.
    let call = run(cc(M::Both), "0 start; 100 receipt A; 100 withdraw; 200 end");
    let take = &call.outcome().receipts[0];
    assert_eq!(
        (take.from_ms, take.to_ms, take.status),
        (100, 100, TakeStatus::Kept)
    );
}

#[rstest]
#[case::paused(
    cs(M::Both, Conf::AllParticipants),
    "0 start; 100 pause; 200 withdraw; 1000 end"
)]
#[case::mode_none(cs(M::None, Conf::AllParticipants), "0 start; 200 withdraw; 1000 end")]
#[case::stopped(
    cs(M::Both, Conf::StopOnThirdParty),
    "0 start; 100 join p1; 200 withdraw; 1000 end"
)]
#[case::discarded(
    cs(M::Both, Conf::None),
    "0 start; 100 join p1; 200 withdraw; 1000 end"
)]
fn a_withdrawal_is_a_fact_accepted_in_any_state_of_the_call(
    #[case] policy: Policy,
    #[case] script: &str,
) {
    let call = run(policy, script);
    assert!(reasons(&call).is_empty(), "{:?}", reasons(&call));
    assert!(call.consent_withdrawn());
}

#[rstest]
#[case::before_the_call("0 withdraw; 10 start; 20 end", "call_not_started")]
#[case::after_the_call("0 start; 10 end; 20 withdraw", "call_over")]
#[case::declined_at_the_start("0 start declined; 10 withdraw; 20 end", "consent_declined")]
fn a_withdrawal_is_refused_outside_the_call_or_when_consent_was_never_given(
    #[case] script: &str,
    #[case] reason: &str,
) {
    let call = run(cc(M::Both), script);
    assert_eq!(reasons(&call), [reason]);
}

#[test]
fn third_parties_follow_the_customer_out_when_consent_is_withdrawn() {
    let call = run(
        cs(M::Both, Conf::AllParticipants),
        "0 start granted; 100 join p1; 300 withdraw; 1000 end",
    );
    assert_eq!(
        timeline(&call.outcome()),
        tl(&[(0, 100, "AC-"), (100, 300, "ACT"), (300, 1000, "A--")])
    );
}
