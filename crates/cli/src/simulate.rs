//! `callrec simulate`: a project's recording policy applied to a scripted call (POLICY.md §9).

use std::path::PathBuf;
use std::process::ExitCode;

use callrec_policy::simulate;

use crate::EXIT_UNREADABLE;

/// Show what a project's recording settings record in a scripted call.
///
/// Prints, as JSON on stdout, the resolved settings, the timeline of who is recorded, the voice
/// receipt takes, the refused events with their reasons, and the outcome (kept, none or
/// discarded). Refused events are outcomes, not errors: the exit status is 0. Unreadable input
/// exits with status 2 and one line on stderr naming the file, the line (for events) and the
/// field, with the valid values where there is a list.
#[derive(Debug, clap::Args)]
#[command(after_long_help = FORMATS)]
pub struct Args {
    /// The global and project recording settings (JSON).
    #[arg(long, value_name = "SETTINGS.json")]
    settings: PathBuf,
    /// The call's events, one JSON object a line.
    #[arg(long, value_name = "EVENTS.jsonl")]
    events: PathBuf,
}

const FORMATS: &str = r#"SETTINGS.json ("global" may be left out; its defaults are shown):
  {"global": {"contact_center": {"record_mode": "both"},
              "customer_service": {"record_mode": "both",
                                   "conference_mode": "agent_and_customer_only"},
              "holding_months": 3},
   "project": {"id": "sales-fr", "kind": "contact_center", "record_mode": "global",
               "start_paused": false, "agents_can_listen_to_others": false,
               "multiple_receipts_per_order": false, "holding_months": null}}

  kind: contact_center | customer_service
  record_mode (contact_center): global, both, agent_only_allow_customer,
      agent_only_forbid_customer, agent_only_receipts_allow_customer,
      agent_only_receipts_forbid_customer
  record_mode (customer_service): global, both, agent_only_allow_customer,
      agent_only_forbid_customer, none
  conference_mode (customer_service only): global, all_participants, none,
      agent_and_customer_only, stop_on_third_party
  agents_can_listen_to_others, multiple_receipts_per_order: contact_center only
  holding_months: null (use the global value) or 1..=120
  Project fields other than kind and record_mode may be left out.

EVENTS.jsonl (t_ms: milliseconds, a non-negative integer, never decreasing):
  {"t_ms": 0, "event": "call_started", "direction": "outbound", "consent": "not_asked"}
  {"t_ms": 1200, "event": "receipt_start", "order_id": "A-17"}
  {"t_ms": 1500, "event": "pause"}
  {"t_ms": 4000, "event": "receipt_stop"}
  {"t_ms": 9000, "event": "party_joined", "party": "p2"}
  {"t_ms": 20000, "event": "call_ended"}

  events: call_started (direction: inbound|outbound, consent: granted|declined|not_asked),
      customer_on, customer_off, pause, resume, receipt_start (order_id), receipt_stop,
      party_joined (party), party_left (party), call_ended
  Blank lines are skipped; refused[].index counts lines from 0.

Output for the files above:
  {"resolved": {"kind": "contact_center", "record_mode": "both", "conference_mode": null,
                "start_paused": false, "agents_can_listen_to_others": false,
                "multiple_receipts_per_order": false, "holding_months": 3},
   "timeline": [{"from_ms": 0, "to_ms": 20000, "agent": true, "customer": true,
                 "third_parties": false}],
   "receipts": [{"order_id": "A-17", "seq": 1, "from_ms": 1200, "to_ms": 4000,
                 "customer": true, "status": "kept"}],
   "refused": [{"index": 2, "t_ms": 1500, "event": "pause", "reason": "receipt_in_progress"}],
   "outcome": "kept"}

The full rules are in POLICY.md; examples for every mode are in examples/policy/."#;

/// Runs the command; prints the outcome or one error line.
pub fn run(args: &Args) -> ExitCode {
    let simulation = match crate::inputs::settings_and_events(&args.settings, &args.events) {
        Ok((settings, events)) => simulate(&settings, &events),
        Err(message) => return fail(&message, EXIT_UNREADABLE),
    };
    match serde_json::to_string_pretty(&simulation) {
        Ok(json) => crate::print(&json),
        Err(e) => fail(&format!("cannot encode the outcome: {e}"), 1),
    }
}

fn fail(message: &str, code: u8) -> ExitCode {
    crate::fail(message, code)
}
