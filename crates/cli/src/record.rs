//! `callrec record`: a scripted call recorded through the real engine, from files or devices.

use std::path::PathBuf;
use std::process::ExitCode;

use callrec_audio::{Source, live_input};
use callrec_recorder::{CallInfo, RecorderError, ReplayInputs, Sidecar, record_live, replay};

use crate::EXIT_UNREADABLE;

/// Record a scripted call: the events of EVENTS.jsonl applied to real audio by the same
/// engine the desktop app runs.
///
/// From files (the default): every input's first sample is t_ms 0; the audio is replayed as
/// fast as the machine allows. With --live: from input devices, each event applied when its
/// t_ms has elapsed, until call_ended.
///
/// Writes DIR/recording.wav (16-bit stereo, left = agent, right = customer and recorded third
/// parties; only when the outcome is `kept`), DIR/receipts/<order_id>-<seq>.wav for each kept
/// voice receipt take, and DIR/recording.json (the outcome, the call's metadata, each file's
/// sha256, size and duration). A DIR that already holds a recording is refused.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The global and project recording settings (see `callrec simulate --help`).
    #[arg(long, value_name = "SETTINGS.json")]
    settings: PathBuf,
    /// The call's events, one JSON object a line.
    #[arg(long, value_name = "EVENTS.jsonl")]
    events: PathBuf,
    /// The agent's voice (WAV, any rate, mono or stereo).
    #[arg(long, value_name = "AGENT.wav", required_unless_present = "live")]
    agent: Option<PathBuf>,
    /// The customer's voice (WAV).
    #[arg(long, value_name = "CUSTOMER.wav", required_unless_present = "live")]
    customer: Option<PathBuf>,
    /// A third party's voice, heard while that party is in the call (repeatable).
    #[arg(long, value_name = "ID=PARTY.wav", value_parser = parse_party)]
    party: Vec<(String, PathBuf)>,
    /// The contact's id, stored with the recording.
    #[arg(long)]
    contact: Option<String>,
    /// Where to write the recording (created; must not hold one already).
    #[arg(long, value_name = "DIR")]
    out: PathBuf,
    /// Frames per second of the recording.
    #[arg(long, default_value_t = 16_000, value_parser = clap::value_parser!(u32).range(8_000..=48_000))]
    rate: u32,
    /// Replay the files at the speed of a real call instead of as fast as possible.
    #[arg(long, conflicts_with = "live")]
    realtime: bool,
    /// Record from input devices instead of files.
    #[arg(long, conflicts_with_all = ["agent", "customer", "party"])]
    live: bool,
    /// With --live: the agent's microphone (a name from `callrec devices`; default device if
    /// left out).
    #[arg(long, requires = "live", value_name = "NAME")]
    agent_device: Option<String>,
    /// With --live: the call audio (e.g. the monitor of the headset output).
    #[arg(long, requires = "live", value_name = "NAME")]
    customer_device: Option<String>,
}

fn parse_party(text: &str) -> Result<(String, PathBuf), String> {
    match text.split_once('=') {
        Some((id, path)) if !id.is_empty() && !path.is_empty() => Ok((id.to_owned(), path.into())),
        _ => Err(format!(
            "expected ID=PATH (e.g. p2=interpreter.wav), got {text:?}"
        )),
    }
}

/// Runs the command.
pub fn run(args: &Args) -> ExitCode {
    let (settings, events) = match crate::inputs::settings_and_events(&args.settings, &args.events)
    {
        Ok(x) => x,
        Err(message) => return crate::fail(&message, EXIT_UNREADABLE),
    };
    let info = CallInfo {
        call_id: uuid::Uuid::now_v7(),
        project_id: settings.project.id.clone(),
        policy_version: None,
        agent: String::new(),
        contact: args.contact.clone(),
        origin_at: time::OffsetDateTime::now_utc(),
    };
    let policy = settings.resolve();
    let result = if args.live {
        open_live(args).and_then(|(agent, remote)| {
            record_live(&args.out, policy, info, args.rate, agent, remote, &events)
        })
    } else {
        let inputs = ReplayInputs {
            agent: args.agent.clone().unwrap_or_default(),
            customer: args.customer.clone().unwrap_or_default(),
            parties: args.party.clone(),
        };
        replay(
            &args.out,
            policy,
            info,
            args.rate,
            &inputs,
            &events,
            args.realtime,
        )
    };
    match result {
        Ok(sidecar) => summary(&args.out, &sidecar),
        Err(e @ RecorderError::AlreadyRecorded(_)) => crate::fail(
            &format!(
                "{e}; if a crash interrupted it, `callrec recover {}` completes it",
                args.out.display()
            ),
            EXIT_UNREADABLE,
        ),
        Err(e @ RecorderError::Audio(_)) => crate::fail(&e.to_string(), EXIT_UNREADABLE),
        Err(e) => crate::fail(&e.to_string(), 1),
    }
}

type Sources = (Box<dyn Source>, Box<dyn Source>);

fn open_live(args: &Args) -> callrec_recorder::Result<Sources> {
    Ok((
        live_input(args.agent_device.as_deref(), args.rate)?,
        live_input(args.customer_device.as_deref(), args.rate)?,
    ))
}

/// Prints what a finished recording holds.
pub(crate) fn summary(dir: &std::path::Path, sidecar: &Sidecar) -> ExitCode {
    let value = serde_json::json!({
        "dir": dir,
        "outcome": sidecar.outcome,
        "recovered": sidecar.recovered,
        "recording": sidecar.recording,
        "receipts": sidecar.receipts.iter().filter_map(|r| r.file.as_ref()).collect::<Vec<_>>(),
        "refused": sidecar.refused.len(),
        "expires_at": sidecar.expires_at.map(|t| t.format(&time::format_description::well_known::Rfc3339).unwrap_or_default()),
    });
    match serde_json::to_string_pretty(&value) {
        Ok(json) => crate::print(&json),
        Err(e) => crate::fail(&e.to_string(), 1),
    }
}
