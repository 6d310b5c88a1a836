//! `callrec call` and `callrec answer`: real SIP calls, recorded by the same engine the app
//! runs, each side from its own RTP leg.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use callrec_audio::{AtRate, Playback, Source, WavSource, live_input_quick};
use callrec_policy::{Event, TimedEvent};
use callrec_recorder::{CallInfo, LiveCall, Remote, Sidecar};
use callrec_sip::g711::RATE as G711_RATE;
use callrec_sip::media::{Bridge, CallClock, EarlyMedia};
use callrec_sip::phone::{Call, Connected, Ended, Phone};
use callrec_sip::sdp::Agreed;
use tokio_util::sync::CancellationToken;

use crate::EXIT_UNREADABLE;

/// What both commands share: the policy, the script, the agent's voice and the output.
#[derive(Debug, clap::Args)]
pub struct Common {
    /// The global and project recording settings (see `callrec simulate --help`).
    #[arg(long, value_name = "SETTINGS.json")]
    settings: PathBuf,
    /// The call's events, one JSON object a line; t_ms 0 is the moment the call is answered.
    /// A call_ended event hangs up (BYE); without one, the call lasts until the peer hangs up.
    #[arg(long, value_name = "EVENTS.jsonl")]
    events: PathBuf,
    /// The agent's voice from a WAV file (any rate; silence once it ends).
    #[arg(long, value_name = "AGENT.wav", conflicts_with = "mic")]
    agent_file: Option<PathBuf>,
    /// The agent's voice from an input device (a name from `callrec devices`).
    #[arg(long, value_name = "DEVICE")]
    mic: Option<String>,
    /// Play what the agent hears on this output device (a name from `callrec devices`): the
    /// callee's early media while it rings (never recorded), then the call.
    #[arg(long, value_name = "DEVICE")]
    headset: Option<String>,
    /// Where to write the recording, exactly as `callrec record` does.
    #[arg(long, value_name = "DIR")]
    out: PathBuf,
    /// Frames per second of the recording.
    #[arg(long, default_value_t = 16_000, value_parser = clap::value_parser!(u32).range(8_000..=48_000))]
    rate: u32,
    /// Keypad digits to send at an offset from the answer, as RFC 4733 events
    /// (e.g. --dtmf 1500=4711#; repeatable). Digits are never tones in the recording.
    #[arg(long, value_name = "MS=DIGITS", value_parser = parse_dtmf)]
    dtmf: Vec<(u64, String)>,
    /// A third party to call into the conference (repeatable, each with its --party-at).
    /// Parties are p1, p2, ... in the order given; each one's party_joined is the moment its
    /// leg answers, its party_left the moment it hangs up. Everybody hears everybody.
    #[arg(long, value_name = "URI")]
    party_to: Vec<String>,
    /// Register at this registrar first (digest authentication; the password comes from
    /// CALLREC_SIP_PASSWORD) and keep the registration fresh; calls then go through it as
    /// that user, answering its challenges.
    #[arg(long, value_name = "URI", requires = "user")]
    register: Option<String>,
    /// The SIP user name to register.
    #[arg(long, value_name = "NAME")]
    user: Option<String>,
    /// When to call each --party-to, in ms from the answer (in the same order).
    #[arg(long, value_name = "MS")]
    party_at: Vec<u64>,
    /// Hold the customer from FROM to TO ms after the answer (re-INVITE a=sendonly, then
    /// a=sendrecv; repeatable). Nothing of the agent is sent meanwhile.
    #[arg(long, value_name = "FROM-TO", value_parser = parse_span)]
    hold: Vec<(u64, u64)>,
    /// Transfer the customer to this URI (blind transfer, REFER) at --transfer-at; the
    /// call ends once the customer's new call is answered.
    #[arg(long, value_name = "URI", requires = "transfer_at")]
    transfer_to: Option<String>,
    /// When to transfer, in ms from the answer.
    #[arg(long, value_name = "MS", requires = "transfer_to")]
    transfer_at: Option<u64>,
}

fn parse_span(text: &str) -> Result<(u64, u64), String> {
    let bad = || format!("expected FROM-TO in ms with FROM < TO (e.g. 1000-2500), got {text:?}");
    let (from, to) = text.split_once('-').ok_or_else(bad)?;
    let (from, to): (u64, u64) = (
        from.parse().map_err(|_| bad())?,
        to.parse().map_err(|_| bad())?,
    );
    if from >= to {
        return Err(bad());
    }
    Ok((from, to))
}

/// How long to wait for the customer's transferred call to be answered.
const TRANSFER_WAIT: Duration = Duration::from_secs(30);

/// How long a party's phone may ring before its call is cancelled.
const PARTY_RING: Duration = Duration::from_secs(30);

fn parse_dtmf(text: &str) -> Result<(u64, String), String> {
    let bad =
        || format!("expected MS=DIGITS with digits from 0-9*#A-D (e.g. 1500=4711#), got {text:?}");
    let (ms, digits) = text.split_once('=').ok_or_else(bad)?;
    let ms = ms.parse().map_err(|_| bad())?;
    if digits.is_empty()
        || digits
            .chars()
            .any(|c| callrec_sip::dtmf::event_of(c).is_none())
    {
        return Err(bad());
    }
    Ok((ms, digits.to_owned()))
}

/// Place a SIP call and record it.
///
/// Calls the URI directly (no registrar), offering PCMU and PCMA; once the callee answers,
/// its audio is the remote side and the agent's (AGENT.wav or the microphone) is sent and
/// recorded as the agent side. The events apply at their offsets from the answer.
#[derive(Debug, clap::Args)]
pub struct CallArgs {
    /// Whom to call, e.g. sip:bob@127.0.0.1:5070.
    #[arg(long, value_name = "URI")]
    to: String,
    /// The local SIP address (port 0: any free port).
    #[arg(long, default_value = "127.0.0.1:0", value_name = "IP:PORT")]
    bind: SocketAddr,
    /// How long to let it ring before cancelling (seconds).
    #[arg(long, default_value_t = 60, value_name = "SECONDS")]
    ring_timeout: u64,
    #[command(flatten)]
    common: Common,
}

/// Wait for one SIP call, answer it at once, and record it.
#[derive(Debug, clap::Args)]
pub struct AnswerArgs {
    /// Where to listen for the call (UDP and TCP).
    #[arg(long, value_name = "IP:PORT")]
    listen: SocketAddr,
    #[command(flatten)]
    common: Common,
}

/// Runs `callrec call`.
pub fn call(args: &CallArgs) -> ExitCode {
    run(
        &args.common,
        Side::Call(
            args.to.clone(),
            args.bind,
            Duration::from_secs(args.ring_timeout),
        ),
    )
}

/// Runs `callrec answer`.
pub fn answer(args: &AnswerArgs) -> ExitCode {
    run(&args.common, Side::Answer(args.listen))
}

/// The registrar, user and password to register with, if asked.
fn registration(common: &Common) -> Result<Option<(String, String, String)>, String> {
    match (&common.register, &common.user) {
        (Some(registrar), Some(user)) => match std::env::var("CALLREC_SIP_PASSWORD") {
            Ok(password) => Ok(Some((registrar.clone(), user.clone(), password))),
            Err(_) => Err(
                "--register needs the SIP password in CALLREC_SIP_PASSWORD (not on the command line)"
                    .into(),
            ),
        },
        _ => Ok(None),
    }
}

enum Side {
    Call(String, SocketAddr, Duration),
    Answer(SocketAddr),
}

fn run(common: &Common, side: Side) -> ExitCode {
    let local = match &side {
        Side::Call(_, bind, _) => (*bind, "--bind"),
        Side::Answer(listen) => (*listen, "--listen"),
    };
    if local.0.ip().is_unspecified() {
        // The address goes into SDP and Contact, where 0.0.0.0 means "on hold" and
        // "unreachable".
        return crate::fail(
            &format!(
                "{} {}: give the address peers reach this machine at (e.g. 192.0.2.10:5060); 0.0.0.0 cannot be announced in SDP or Contact",
                local.1, local.0
            ),
            EXIT_UNREADABLE,
        );
    }
    let register = match registration(common) {
        Ok(register) => register,
        Err(message) => return crate::fail(&message, EXIT_UNREADABLE),
    };
    let (settings, events) =
        match crate::inputs::settings_and_events(&common.settings, &common.events) {
            Ok(x) => x,
            Err(message) => return crate::fail(&message, EXIT_UNREADABLE),
        };
    if common.party_to.len() != common.party_at.len() {
        return crate::fail(
            &format!(
                "{} --party-to but {} --party-at: give each party its offset (e.g. --party-to sip:p@127.0.0.1:5070 --party-at 3000)",
                common.party_to.len(),
                common.party_at.len()
            ),
            EXIT_UNREADABLE,
        );
    }
    if let Some((line, _)) = events
        .iter()
        .find(|(_, e)| matches!(e.event, Event::PartyJoined { .. } | Event::PartyLeft { .. }))
    {
        return crate::fail(
            &format!(
                "{} line {}: party_joined and party_left come from the parties' own legs in a SIP call; call them with --party-to and --party-at instead",
                common.events.display(),
                line + 1
            ),
            EXIT_UNREADABLE,
        );
    }
    let agent = match agent_source(common) {
        Ok(source) => source,
        Err(message) => return crate::fail(&message, EXIT_UNREADABLE),
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => return crate::fail(&format!("starting the network runtime: {e}"), 1),
    };
    let info = CallInfo {
        call_id: uuid::Uuid::now_v7(),
        project_id: settings.project.id.clone(),
        policy_version: None,
        agent: String::new(),
        contact: match &side {
            Side::Call(to, _, _) => Some(to.clone()),
            Side::Answer(_) => None,
        },
        origin_at: time::OffsetDateTime::now_utc(),
    };
    let session = u64::from(info.call_id.as_u128() as u32);
    let script = Script {
        session,
        policy: settings.resolve(),
        events,
        info,
        out: common.out.clone(),
        headset: common.headset.clone(),
        rate: common.rate,
        dtmf: common.dtmf.clone(),
        parties: common
            .party_to
            .iter()
            .zip(&common.party_at)
            .enumerate()
            .map(|(i, (to, &at))| (format!("p{}", i + 1), to.clone(), at))
            .collect(),
        holds: common.hold.clone(),
        transfer: common.transfer_to.clone().zip(common.transfer_at),
    };
    match runtime.block_on(connect_and_record(side, register, agent, script)) {
        Ok(sidecar) => crate::record::summary(&common.out, &sidecar),
        Err(message) => crate::fail(&message, 1),
    }
}

fn agent_source(common: &Common) -> Result<Box<dyn Source>, String> {
    match &common.agent_file {
        Some(path) => {
            let wav = WavSource::open(path).map_err(|e| e.to_string())?;
            Ok(Box::new(
                AtRate::new(wav, G711_RATE).map_err(|e| e.to_string())?,
            ))
        }
        None => live_input_quick(common.mic.as_deref(), G711_RATE).map_err(|e| e.to_string()),
    }
}

struct Script {
    policy: callrec_policy::Policy,
    events: Vec<(usize, TimedEvent)>,
    info: CallInfo,
    out: PathBuf,
    /// The output device that plays what the agent hears.
    headset: Option<String>,
    rate: u32,
    dtmf: Vec<(u64, String)>,
    /// The SDP session id of the call's legs.
    session: u64,
    /// Third parties: id, URI, when to call (ms from the answer).
    parties: Vec<(String, String, u64)>,
    /// When the customer is held (ms from the answer).
    holds: Vec<(u64, u64)>,
    /// Where and when to transfer the customer.
    transfer: Option<(String, u64)>,
}

async fn connect_and_record(
    side: Side,
    register: Option<(String, String, String)>,
    agent: Box<dyn Source>,
    script: Script,
) -> Result<Sidecar, String> {
    let text = |e: callrec_sip::SipError| e.to_string();
    let session = script.session;
    let bind = match &side {
        Side::Call(_, bind, _) => *bind,
        Side::Answer(listen) => *listen,
    };
    let phone = Phone::bind(bind).await.map_err(text)?;
    if let Some((registrar, user, password)) = register {
        phone
            .register(&registrar, &user, &password, 300)
            .await
            .map_err(text)?;
    }
    let connected = match side {
        Side::Call(to, _, ring_for) => {
            // The callee's early media goes to the headset while it rings, if there is one.
            let (early, heard) = EarlyMedia::new();
            let _playing = match &script.headset {
                Some(name) => Some(Playback::open(Some(name), heard).map_err(|e| e.to_string())?),
                None => None,
            };
            let connected = phone
                .dial(
                    &to,
                    ring_for,
                    CancellationToken::new(),
                    session,
                    Some(&early),
                )
                .await
                .map_err(text)?;
            if early.packets() > 0 {
                tracing::info!(
                    packets = early.packets(),
                    "early media played before the answer, not recorded"
                );
            }
            if let Some(playback) = &_playing {
                tracing::debug!(health = ?playback.health(), "the headset while it rang");
            }
            connected
        }
        Side::Answer(_) => {
            let incoming = phone
                .next_incoming()
                .await
                .ok_or("the phone stopped before a call arrived")?;
            tracing::info!(from = %incoming.from, "a call arrived");
            phone.accept(incoming, session).await.map_err(text)?
        }
    };
    let Connected { call, rtp, agreed } = connected;
    if let Ok(local) = rtp.rtp.local_addr() {
        tracing::info!(rtp = %local, peer = %agreed.remote, codec = agreed.codec.name(), "the call is up");
    }
    let sending = call.peer();
    let phone = Arc::new(phone);
    let call = Arc::new(call);
    let result = record(&phone, &call, rtp, agreed, agent, sending, script).await;
    if result.is_err() && call.ended().is_none() {
        // Whatever failed here, the peer's call must not be left up.
        let _ = call.hang_up().await;
    }
    drop(phone);
    result
}

/// The answered call, recorded: t_ms 0 is now.
async fn record(
    phone: &Arc<Phone>,
    call: &Arc<Call>,
    rtp: callrec_sip::media::RtpPorts,
    agreed: Agreed,
    agent: Box<dyn Source>,
    sending: callrec_sip::media::Peer,
    script: Script,
) -> Result<Sidecar, String> {
    let clock = CallClock::start();
    let (bridge, sent) = Bridge::start(agent, clock);
    let customer = bridge.add_leg(rtp, agreed, sending);
    let headset = match &script.headset {
        Some(name) => {
            Some(Playback::open(Some(name), bridge.headset()).map_err(|e| e.to_string())?)
        }
        None => None,
    };
    let leg = Arc::new(customer.leg);
    for (at, digits) in script.dtmf.clone() {
        let leg = Arc::clone(&leg);
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(at).saturating_sub(clock.elapsed())).await;
            if let Err(e) = leg.send_digits(&digits) {
                tracing::warn!(error = %e, "sending digits");
            }
        });
    }
    for &(from, to) in &script.holds {
        let (call, leg) = (Arc::clone(call), Arc::clone(&leg));
        tokio::spawn(async move {
            for (at, held) in [(from, true), (to, false)] {
                tokio::time::sleep(Duration::from_millis(at).saturating_sub(clock.elapsed())).await;
                if call.ended().is_some() {
                    return;
                }
                // Nothing of the agent goes out from the moment of the hold; on resume,
                // only once the peer has agreed.
                if held {
                    leg.set_held(true);
                }
                match call.hold(held).await {
                    Ok(()) if !held => leg.set_held(false),
                    Ok(()) => {}
                    Err(e) => {
                        // The peer did not agree: the call stays as it was.
                        leg.set_held(!held);
                        tracing::warn!(error = %e, held, "holding the call");
                    }
                }
            }
        });
    }
    if let Some((target, at)) = script.transfer.clone() {
        let call = Arc::clone(call);
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(at).saturating_sub(clock.elapsed())).await;
            if call.ended().is_some() {
                return;
            }
            tracing::info!(%target, "transferring the customer");
            match call.transfer(&target, TRANSFER_WAIT).await {
                Ok(()) => tracing::info!(%target, "the customer was transferred"),
                Err(e) => tracing::warn!(error = %e, "the transfer failed"),
            }
        });
    }
    let rate = script.rate;
    let live = LiveCall::start_on_clock(
        &script.out,
        script.policy,
        script.info,
        rate,
        at_rate(sent, rate)?,
        vec![(Remote::Customer, at_rate(customer.heard, rate)?)],
    )
    .map_err(|e| e.to_string())?;
    let live = Arc::new(live);
    let bridge = Arc::new(bridge);
    let over = CancellationToken::new();
    let parties: Vec<_> = script
        .parties
        .iter()
        .cloned()
        .map(|(id, to, at)| {
            let party = Party {
                phone: Arc::clone(phone),
                bridge: Arc::clone(&bridge),
                live: Arc::clone(&live),
                over: over.clone(),
                session: script.session,
                rate,
            };
            tokio::spawn(party.run(id, to, at))
        })
        .collect();
    let mut ended_by_peer = false;
    for (index, timed) in &script.events {
        let due = Duration::from_millis(timed.t_ms);
        let wait = due.saturating_sub(clock.elapsed());
        tokio::select! {
            () = tokio::time::sleep(wait) => {}
            how = call.wait_ended() => {
                tracing::info!(?how, "the call ended before the script did");
                ended_by_peer = how != Ended::ByUs;
                break;
            }
        }
        if timed.event == Event::CallEnded {
            // The recording ends at the hang-up, before anything goes on the network: whatever
            // the peer does next (answering the BYE late or never), nothing more is recorded.
            live.scripted(*index, timed.t_ms, Event::CallEnded)
                .map_err(|e| e.to_string())?
                .map_err(|r| r.reason.message().to_owned())?;
            if let Err(e) = call.hang_up().await {
                tracing::warn!(error = %e, "hanging up");
            }
            break;
        }
        // A refusal is part of the outcome, as in `callrec record`.
        let _ = live
            .scripted(*index, timed.t_ms, timed.event.clone())
            .map_err(|e| e.to_string())?;
    }
    if call.ended().is_none() && !ended_by_peer {
        // The script has no call_ended: the call lasts until the peer hangs up.
        let how = call.wait_ended().await;
        tracing::info!(?how, "the call ended");
    }
    // However it ended, the recording ends now, not once the parties are gone.
    live.end().map_err(|e| e.to_string())?;
    // The figures of the call itself (the legs run on until the recording is complete).
    let stats = leg.stats();
    // The parties' calls end with the customer's.
    over.cancel();
    for party in parties {
        let _ = party.await;
    }
    // The legs keep running until the recording has every frame up to the hang-up.
    let live = Arc::into_inner(live).ok_or("a party still holds the call")?;
    let sidecar = tokio::task::spawn_blocking(move || live.finish())
        .await
        .map_err(|e| e.to_string())?
        .map_err(|e| e.to_string())?;
    let received = leg.received_digits();
    drop(leg);
    drop(bridge);
    if !received.is_empty() {
        tracing::info!(digits = %received, "the peer sent digits");
    }
    if let Some(playback) = headset {
        tracing::info!(device = playback.name(), health = ?playback.health(), "the headset");
    }
    tracing::info!(
        sent = stats.sent,
        received = stats.received,
        lost = stats.jitter.lost,
        late = stats.jitter.late,
        ignored = stats.ignored,
        delay_ms = stats.jitter.delay.as_millis() as u64,
        "RTP"
    );
    match stats.peer {
        Some(peer) => tracing::info!(
            lost = peer.cumulative_lost,
            lost_share = format!("{:.1}%", f64::from(peer.fraction_lost) * 100.0 / 256.0),
            jitter_ms = peer.jitter.as_millis() as u64,
            rtt_ms = peer
                .round_trip
                .map(|r| format!("{:.1}", r.as_secs_f64() * 1_000.0)),
            "the peer's RTCP report of callrec's stream"
        ),
        None => tracing::info!("no RTCP report from the peer"),
    }
    Ok(sidecar)
}

fn at_rate(source: Box<dyn Source>, rate: u32) -> Result<Box<dyn Source>, String> {
    Ok(Box::new(
        AtRate::new(source, rate).map_err(|e| e.to_string())?,
    ))
}

/// A third party called into the conference.
struct Party {
    phone: Arc<Phone>,
    bridge: Arc<Bridge>,
    live: Arc<LiveCall>,
    /// Cancelled when the customer's call is over.
    over: CancellationToken,
    session: u64,
    rate: u32,
}

impl Party {
    /// Calls `to` at `at` ms; once it answers it is in the mix and recorded as party `id`
    /// (as §4 allows) until it hangs up or the call ends.
    async fn run(self, id: String, to: String, at: u64) {
        let wait = Duration::from_millis(at).saturating_sub(self.bridge.clock().elapsed());
        tokio::select! {
            () = tokio::time::sleep(wait) => {}
            () = self.over.cancelled() => return,
        }
        tracing::info!(party = %id, %to, "calling a third party");
        if let Err(e) = self.join(&id, &to).await {
            tracing::warn!(party = %id, %to, error = %e, "the third party did not join");
        }
    }

    async fn join(&self, id: &str, to: &str) -> Result<(), String> {
        let Connected { call, rtp, agreed } = self
            .phone
            .dial(to, PARTY_RING, self.over.clone(), self.session, None)
            .await
            .map_err(|e| e.to_string())?;
        let sending = call.peer();
        let joined = self.bridge.add_leg(rtp, agreed, sending);
        let party = id.to_owned();
        self.live
            .add_remote(
                Remote::Party(id.to_owned()),
                at_rate(joined.heard, self.rate)?,
                joined.at_ms,
            )
            .map_err(|e| e.to_string())?;
        let _ = self
            .live
            .event_at(
                joined.at_ms,
                Event::PartyJoined {
                    party: party.clone(),
                },
            )
            .map_err(|e| e.to_string())?;
        tracing::info!(party = %id, at_ms = joined.at_ms, "the third party joined");
        tokio::select! {
            how = call.wait_ended() => {
                let left = joined.leg.leave();
                tracing::info!(party = %id, ?how, at_ms = left, "the third party left");
                let _ = self
                    .live
                    .event_at(left, Event::PartyLeft { party })
                    .map_err(|e| e.to_string())?;
            }
            () = self.over.cancelled() => {
                if let Err(e) = call.hang_up().await {
                    tracing::warn!(party = %id, error = %e, "hanging up the third party");
                }
            }
        }
        Ok(())
    }
}
