//! The controls view: enabled exactly when the engine would accept, with reasons and warnings;
//! and the per-side status an agent sees.

mod common;

use callrec_policy::{
    ConferenceMode as Conf, Control, Event, Policy, Reason, RecordMode as M, SideReason, Warning,
};
use common::{cc, cs, run};

fn disabled(c: Control) -> Option<Reason> {
    assert_eq!(c.enabled, c.reason.is_none());
    assert_eq!(c.message, c.reason.map(Reason::message));
    c.reason
}

#[test]
fn before_the_call_everything_is_disabled() {
    let call = run(cc(M::AgentOnlyAllowCustomer), "");
    let c = call.controls();
    for control in [
        c.customer_on,
        c.customer_off,
        c.pause,
        c.resume,
        c.receipt_start,
        c.receipt_stop,
    ] {
        assert_eq!(disabled(control), Some(Reason::CallNotStarted));
    }
}

#[test]
fn allow_mode_offers_customer_on_then_off() {
    let mut call = run(cc(M::AgentOnlyAllowCustomer), "0 start");
    let c = call.controls();
    assert_eq!(disabled(c.customer_on), None);
    assert_eq!(disabled(c.customer_off), Some(Reason::AlreadyOff));
    assert_eq!(disabled(c.pause), None);
    assert_eq!(disabled(c.resume), Some(Reason::NotPaused));
    assert_eq!(disabled(c.receipt_stop), Some(Reason::NoReceiptInProgress));
    assert_eq!(c.warnings, [Warning::ReceiptWithoutCustomer]);
    call.apply(5, &Event::CustomerOn).expect("accepted");
    let c = call.controls();
    assert_eq!(disabled(c.customer_on), Some(Reason::AlreadyOn));
    assert!(c.warnings.is_empty(), "a receipt now includes the customer");
}

#[test]
fn during_a_receipt_only_stop_is_offered() {
    let call = run(
        cc(M::AgentOnlyReceiptsAllowCustomer),
        "0 start; 1 receipt A",
    );
    let c = call.controls();
    assert_eq!(disabled(c.receipt_stop), None);
    assert_eq!(disabled(c.receipt_start), Some(Reason::ReceiptInProgress));
    assert_eq!(disabled(c.pause), Some(Reason::ReceiptInProgress));
    assert_eq!(disabled(c.customer_on), Some(Reason::ReceiptInProgress));
}

#[test]
fn forbid_mode_warns_that_a_receipt_holds_the_agent_alone() {
    let call = run(cc(M::AgentOnlyForbidCustomer), "0 start");
    let c = call.controls();
    assert_eq!(
        disabled(c.customer_on),
        Some(Reason::CustomerRecordingForbidden)
    );
    assert_eq!(c.warnings, [Warning::ReceiptWithoutCustomer]);
}

#[test]
fn a_second_receipt_for_an_order_warns_it_replaces_the_first() {
    let call = run(cc(M::Both), "0 start; 1 receipt A; 2 stop");
    assert_eq!(
        call.receipt_warnings(Some("A")),
        [Warning::ReceiptReplacesPrevious]
    );
    assert!(call.receipt_warnings(Some("B")).is_empty());
    let multiple = Policy {
        multiple_receipts_per_order: true,
        ..cc(M::Both)
    };
    let call = run(multiple, "0 start; 1 receipt A; 2 stop");
    assert!(call.receipt_warnings(Some("A")).is_empty());
}

#[test]
fn controls_agree_with_the_engine_in_every_state() {
    // Walk a busy call; at each step, every control's availability must equal what the
    // engine says of the matching event.
    let script = "0 start; 1 pause; 2 on; 3 resume; 4 receipt A; 5 stop; 6 off; 7 join p; 8 end";
    for policy in [
        cc(M::AgentOnlyAllowCustomer),
        cc(M::AgentOnlyReceiptsForbidCustomer),
        cs(M::Both, Conf::StopOnThirdParty),
        cs(M::None, Conf::None),
    ] {
        let mut call = callrec_policy::Call::new(policy);
        for step in script.split(';') {
            let words: Vec<&str> = step.split_whitespace().collect();
            let c = call.controls();
            let pairs = [
                (c.customer_on, Event::CustomerOn),
                (c.customer_off, Event::CustomerOff),
                (c.pause, Event::Pause),
                (c.resume, Event::Resume),
                (c.receipt_stop, Event::ReceiptStop),
            ];
            for (control, event) in pairs {
                assert_eq!(control.reason, call.check(&event).err(), "{event:?}");
            }
            let t = words[0].parse().expect("time");
            let _ = call.apply(t, &common::event(&words[1..]));
        }
    }
}

#[test]
fn status_explains_each_side() {
    let call = run(cc(M::AgentOnlyAllowCustomer), "0 start");
    let s = call.status();
    assert!(s.agent.recorded);
    assert_eq!(s.customer.reason, SideReason::SwitchedOff);
    assert_eq!(s.third_parties.reason, SideReason::NoThirdParties);

    let call = run(cc(M::AgentOnlyForbidCustomer), "0 start");
    assert_eq!(
        call.status().customer.reason,
        SideReason::ForbiddenByProject
    );

    let call = run(cc(M::Both), "0 start declined; 1 pause");
    let s = call.status();
    assert_eq!(
        (s.agent.recorded, s.agent.reason),
        (false, SideReason::Paused)
    );
    assert_eq!(s.customer.reason, SideReason::Paused);

    let call = run(cc(M::Both), "0 start declined");
    assert_eq!(call.status().customer.reason, SideReason::ConsentDeclined);

    let call = run(cs(M::Both, Conf::AgentAndCustomerOnly), "0 start; 1 join p");
    let s = call.status();
    assert!(s.customer.recorded);
    assert_eq!(s.third_parties.reason, SideReason::ThirdPartiesNotRecorded);

    let call = run(
        cs(M::AgentOnlyAllowCustomer, Conf::AllParticipants),
        "0 start; 1 join p",
    );
    assert_eq!(
        call.status().third_parties.reason,
        SideReason::FollowsCustomer
    );

    let call = run(cs(M::Both, Conf::AllParticipants), "0 start; 1 join p");
    assert!(call.status().third_parties.recorded);

    let call = run(cs(M::Both, Conf::StopOnThirdParty), "0 start; 1 join p");
    assert_eq!(call.status().agent.reason, SideReason::StoppedByConference);

    let call = run(cc(M::AgentOnlyForbidCustomer), "0 start; 1 receipt A");
    assert_eq!(
        call.status().customer.reason,
        SideReason::ReceiptWithoutCustomer
    );

    let call = run(cs(M::None, Conf::None), "0 start");
    assert_eq!(
        call.status().agent.reason,
        SideReason::ProjectRecordsNothing
    );

    // The status's `recorded` flags are exactly the engine's sides.
    let sides = call.sides();
    let s = call.status();
    assert_eq!(
        (
            s.agent.recorded,
            s.customer.recorded,
            s.third_parties.recorded
        ),
        (sides.agent, sides.customer, sides.third_parties)
    );
}
