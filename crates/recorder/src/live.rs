//! The live path: two sources that deliver in real time, and events that arrive while the
//! call runs (the agent's clicks, the call's facts), each applied at the instant it arrives.
//!
//! A [`LiveCall`] owns a writer thread: it drains the sources every few milliseconds, applies
//! the events sent to it at the call clock's current instant (before the audio they affect is
//! written: audio reaches the writer later than events do), writes through a [`Recorder`],
//! meters both sides, and publishes a [`LiveState`] for the window to show.

use std::path::Path;
use std::sync::mpsc::{Receiver, Sender, channel};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use callrec_audio::{InputHealth, Level, Meter, Read, Source};
use callrec_policy::{Applied, Controls, Event, Phase, Policy, Refusal, SidesStatus, TimedEvent};

use crate::error::{RecorderError, Result};
use crate::recorder::{Recorder, Remote, frame_at};
use crate::sidecar::{CallInfo, Sidecar};

/// How often the writer drains the sources.
const TICK: Duration = Duration::from_millis(10);

struct Fifo {
    source: Box<dyn Source>,
    buf: Vec<f32>,
    scratch: Vec<f32>,
    /// Samples the source delivered before the call's first frame.
    before_start: u64,
}

impl Fifo {
    fn new(source: Box<dyn Source>) -> Self {
        Self {
            source,
            buf: Vec::new(),
            scratch: vec![0.0; 4096],
            before_start: 0,
        }
    }

    /// Moves whatever the source has ready into the queue.
    fn pull(&mut self) -> Result<()> {
        loop {
            match self.source.read(&mut self.scratch)? {
                Read::Samples(n) => self.buf.extend_from_slice(&self.scratch[..n]),
                Read::Pending | Read::End => return Ok(()),
            }
        }
    }
}

/// What a live call looks like now: what the window shows.
#[derive(Debug, Clone, PartialEq)]
pub struct LiveState {
    /// Milliseconds since the call's origin.
    pub elapsed_ms: u64,
    /// Whether the call is in progress, over, or not started.
    pub phase: Phase,
    /// Each side: recorded now, and why (not).
    pub status: SidesStatus,
    /// The agent's controls, with reasons.
    pub controls: Controls,
    /// The latest level of the microphone (before the policy's gate: the agent sees the
    /// microphone works even while not recorded).
    pub agent_level: Level,
    /// The latest level of the call audio.
    pub remote_level: Level,
    /// The microphone's device: lost now, reconnected after a loss (`None`: not a device).
    pub agent_health: Option<InputHealth>,
    /// The call audio's device.
    pub remote_health: Option<InputHealth>,
    /// The receipt takes so far.
    pub takes: Vec<callrec_policy::Take>,
    /// Order ids whose next voice receipt would replace a kept take (ask before).
    pub replaces: Vec<String>,
}

/// An event for the writer: applied at `at_ms` (a scripted instant) or at the instant it
/// arrives, numbered `index` in refusals or after the previous one.
struct Command {
    event: Event,
    at_ms: Option<u64>,
    index: Option<usize>,
    reply: Sender<std::result::Result<Applied, Refusal>>,
}

/// A call being recorded live. Dropping it without [`LiveCall::finish`] ends the call where it
/// is and completes the recording anyway.
pub struct LiveCall {
    commands: Sender<Command>,
    state: Arc<Mutex<LiveState>>,
    writer: Option<JoinHandle<Result<Sidecar>>>,
}

impl LiveCall {
    /// Starts recording into `dir`: audio captured from now on is t_ms 0. `agent` and
    /// `remote` (the call audio, [`Remote::Mixed`]) must already be at `rate`.
    pub fn start(
        dir: &Path,
        policy: Policy,
        info: CallInfo,
        rate: u32,
        agent: Box<dyn Source>,
        remote: Box<dyn Source>,
    ) -> Result<Self> {
        let recorder = Recorder::create(dir, policy, info, rate)?;
        let health = [agent.health(), remote.health()];
        let state = Arc::new(Mutex::new(snapshot(
            &recorder,
            0,
            Level::default(),
            Level::default(),
            &health,
        )));
        let (commands, inbox) = channel();
        let shared = Arc::clone(&state);
        let writer = std::thread::Builder::new()
            .name("callrec-writer".into())
            .spawn(move || run(recorder, agent, remote, &inbox, &shared))
            .map_err(RecorderError::io("starting the writer thread for", dir))?;
        Ok(Self {
            commands,
            state,
            writer: Some(writer),
        })
    }

    /// Applies an event now; returns the engine's answer (a refusal is not an error).
    pub fn event(&self, event: Event) -> Result<std::result::Result<Applied, Refusal>> {
        self.send(Command {
            event,
            at_ms: None,
            index: None,
            reply: channel().0,
        })
    }

    /// Applies a scripted event at its own instant (not earlier than the call's present),
    /// numbered `index` in refusals.
    pub fn scripted(
        &self,
        index: usize,
        at_ms: u64,
        event: Event,
    ) -> Result<std::result::Result<Applied, Refusal>> {
        self.send(Command {
            event,
            at_ms: Some(at_ms),
            index: Some(index),
            reply: channel().0,
        })
    }

    fn send(&self, mut command: Command) -> Result<std::result::Result<Applied, Refusal>> {
        let (reply, answer) = channel();
        command.reply = reply;
        let stopped = || RecorderError::Journal {
            path: std::path::PathBuf::from("(live call)"),
            why: "the call's writer has stopped".into(),
        };
        self.commands.send(command).map_err(|_| stopped())?;
        answer.recv().map_err(|_| stopped())
    }

    /// The call as it stands.
    pub fn state(&self) -> LiveState {
        self.state
            .lock()
            .map(|s| s.clone())
            .unwrap_or_else(|e| e.into_inner().clone())
    }

    /// Ends the call now (if `call_ended` has not come) and waits for the recording to be
    /// complete.
    pub fn finish(mut self) -> Result<Sidecar> {
        // Only a call still in progress is ended here: a second call_ended would be
        // recorded as a refused event.
        if self.state().phase != Phase::Ended {
            let _ = self.event(Event::CallEnded);
        }
        self.join()
    }

    fn join(&mut self) -> Result<Sidecar> {
        let writer = self.writer.take().ok_or_else(|| RecorderError::Journal {
            path: std::path::PathBuf::from("(live call)"),
            why: "the call was already finished".into(),
        })?;
        writer.join().map_err(|_| RecorderError::Journal {
            path: std::path::PathBuf::from("(live call)"),
            why: "the writer thread panicked".into(),
        })?
    }
}

impl Drop for LiveCall {
    fn drop(&mut self) {
        if self.writer.is_some() {
            if self.state().phase != Phase::Ended {
                let _ = self.event(Event::CallEnded);
            }
            let _ = self.join();
        }
    }
}

fn snapshot(
    recorder: &Recorder,
    elapsed_ms: u64,
    agent: Level,
    remote: Level,
    health: &[Option<InputHealth>; 2],
) -> LiveState {
    let call = recorder.call();
    LiveState {
        agent_health: health[0].clone(),
        remote_health: health[1].clone(),
        elapsed_ms,
        phase: call.phase(),
        status: call.status(),
        controls: call.controls(),
        agent_level: agent,
        remote_level: remote,
        takes: call.takes().to_vec(),
        replaces: call
            .takes()
            .iter()
            .map(|t| t.order_id.clone())
            .filter(|id| {
                call.receipt_warnings(Some(id))
                    .contains(&callrec_policy::Warning::ReceiptReplacesPrevious)
            })
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect(),
    }
}

/// The writer thread: until the call has ended and its last frame is written.
fn run(
    mut recorder: Recorder,
    agent: Box<dyn Source>,
    remote: Box<dyn Source>,
    inbox: &Receiver<Command>,
    shared: &Mutex<LiveState>,
) -> Result<Sidecar> {
    let rate = recorder.rate();
    let (mut agent, mut remote) = (Fifo::new(agent), Fifo::new(remote));
    // Whatever the devices captured before the start is not part of the call.
    for fifo in [&mut agent, &mut remote] {
        fifo.pull()?;
        fifo.before_start = fifo.buf.len() as u64;
        fifo.buf.clear();
    }
    let (mut agent_meter, mut remote_meter) = (
        Meter::new(rate as usize / 20),
        Meter::new(rate as usize / 20),
    );
    let (mut agent_level, mut remote_level) = (Level::default(), Level::default());
    let start = Instant::now();
    let mut index = 0;
    let mut health = [agent.source.health(), remote.source.health()];
    loop {
        let now_ms = u64::try_from(start.elapsed().as_millis()).unwrap_or(u64::MAX);
        while let Ok(command) = inbox.try_recv() {
            let at = command.at_ms.unwrap_or(now_ms);
            let i = command.index.unwrap_or(index);
            let answer = recorder.event_numbered(i, at, &command.event)?;
            index = i + 1;
            // Publish the new state before answering, so whoever asked sees its effect.
            let state = snapshot(&recorder, now_ms, agent_level, remote_level, &health);
            if let Ok(mut s) = shared.lock() {
                *s = state;
            }
            let _ = command.reply.send(answer);
        }
        agent.pull()?;
        remote.pull()?;
        let now_health = [agent.source.health(), remote.source.health()];
        if now_health != health {
            health = now_health;
            let state = snapshot(&recorder, now_ms, agent_level, remote_level, &health);
            if let Ok(mut s) = shared.lock() {
                *s = state;
            }
        }
        let mut n = agent.buf.len().min(remote.buf.len());
        let end = (recorder.call().phase() == Phase::Ended)
            .then(|| recorder.call().end_ms().map(|t| frame_at(t, rate)))
            .flatten();
        if let Some(end) = end {
            let left =
                usize::try_from(end.saturating_sub(recorder.position())).unwrap_or(usize::MAX);
            n = n.min(left);
        }
        agent_meter.feed(&agent.buf[..n], |l| agent_level = l);
        remote_meter.feed(&remote.buf[..n], |l| remote_level = l);
        recorder.write(&agent.buf[..n], &[(&Remote::Mixed, &remote.buf[..n])])?;
        agent.buf.drain(..n);
        remote.buf.drain(..n);
        if n > 0 {
            let state = snapshot(&recorder, now_ms, agent_level, remote_level, &health);
            if let Ok(mut s) = shared.lock() {
                *s = state;
            }
        }
        if let Some(end) = end
            && recorder.position() >= end
        {
            note_gaps(&mut recorder, [&agent, &remote], end);
            break;
        }
        std::thread::sleep(TICK);
    }
    recorder.finish()
}

/// Lists in the recording where each side's device was lost (silence stood in for it),
/// on the events' clock; a gap still open at the hang-up ends with the call.
fn note_gaps(recorder: &mut Recorder, sides: [&Fifo; 2], end: u64) {
    let rate = recorder.rate();
    for (fifo, side) in sides.into_iter().zip(["agent", "remote"]) {
        let Some(health) = fifo.source.health() else {
            continue;
        };
        let on_clock = |sample: u64| {
            crate::recorder::ms_at(sample.saturating_sub(fifo.before_start).min(end), rate)
        };
        for &(from, to) in &health.gaps {
            recorder.note_gap(crate::sidecar::DeviceGap {
                side: side.into(),
                from_ms: on_clock(from),
                to_ms: if health.lost && Some(&(from, to)) == health.gaps.last() {
                    crate::recorder::ms_at(end, rate)
                } else {
                    on_clock(to)
                },
                error: health.error.clone(),
            });
        }
    }
}

/// Records a scripted live call: each event of `events` is sent when its `t_ms` has elapsed.
/// `events` must contain a `call_ended`.
pub fn record_live(
    dir: &Path,
    policy: Policy,
    info: CallInfo,
    rate: u32,
    agent: Box<dyn Source>,
    remote: Box<dyn Source>,
    events: &[(usize, TimedEvent)],
) -> Result<Sidecar> {
    if !events.iter().any(|(_, e)| e.event == Event::CallEnded) {
        return Err(RecorderError::Journal {
            path: dir.to_owned(),
            why: "a live recording needs a call_ended event to know when to stop".into(),
        });
    }
    let call = LiveCall::start(dir, policy, info, rate, agent, remote)?;
    let start = Instant::now();
    for (index, e) in events {
        let due = start + Duration::from_millis(e.t_ms);
        std::thread::sleep(due.saturating_duration_since(Instant::now()));
        // Refusals are part of the outcome.
        let _ = call.scripted(*index, e.t_ms, e.event.clone())?;
        if e.event == Event::CallEnded {
            break;
        }
    }
    call.finish()
}
