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

use callrec_audio::{InputHealth, KeypadMasked, Level, MaskedStretches, Meter, Read, Source};
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
    /// Samples still to drop: a source added after its first frame was written.
    skip: u64,
    /// The call's frame of the source's first sample (a source that joins later).
    first: u64,
    /// Where the source's keypad tones were silenced (POLICY.md §8), on its own sample clock.
    masked: MaskedStretches,
    /// How many of those are noted in the recording already.
    masked_noted: usize,
}

impl Fifo {
    /// `source` with its keypad tones masked before anything of it is written.
    fn new(source: Box<dyn Source>) -> Result<Self> {
        let masked = KeypadMasked::new(source)?;
        Ok(Self {
            masked: masked.stretches(),
            source: Box::new(masked),
            buf: Vec::new(),
            scratch: vec![0.0; 4096],
            before_start: 0,
            skip: 0,
            first: 0,
            masked_noted: 0,
        })
    }

    /// A source whose first sample is frame `first`, joining a writer at frame `position`:
    /// silence stands in before its first sample, and what it has for frames already written
    /// is dropped.
    fn joining(source: Box<dyn Source>, first: u64, position: u64) -> Result<Self> {
        let mut fifo = Self::new(source)?;
        fifo.first = first;
        fifo.skip = position.saturating_sub(first);
        fifo.buf.resize(
            usize::try_from(first.saturating_sub(position)).unwrap_or(0),
            0.0,
        );
        Ok(fifo)
    }

    /// The stretches masked in this input not yet noted, as the call's frames `[from, to)`
    /// up to `end`; they count as noted from now on.
    fn masked_frames(&mut self, end: u64) -> Vec<(u64, u64)> {
        let new = self.masked.since(self.masked_noted);
        self.masked_noted += new.len();
        new.into_iter()
            .map(|(from, to)| {
                let frame = |n: u64| (self.first + n).saturating_sub(self.before_start).min(end);
                (frame(from), frame(to))
            })
            .filter(|(from, to)| to > from)
            .collect()
    }

    /// Moves whatever the source has ready into the queue.
    fn pull(&mut self) -> Result<()> {
        loop {
            match self.source.read(&mut self.scratch)? {
                Read::Samples(n) => {
                    let drop = usize::try_from(self.skip).unwrap_or(usize::MAX).min(n);
                    self.skip -= drop as u64;
                    self.buf.extend_from_slice(&self.scratch[drop..n]);
                }
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
    /// When the customer withdrew consent (ms from the call's origin), if they did.
    pub consent_withdrawn_at_ms: Option<u64>,
}

/// An event for the writer: applied at `at_ms` (a scripted instant) or at the instant it
/// arrives, numbered `index` in refusals or after the previous one.
struct Command {
    event: Event,
    at_ms: Option<u64>,
    index: Option<usize>,
    reply: Sender<std::result::Result<Applied, Refusal>>,
}

/// A remote input that joins the call from `from_ms` on.
struct Joining {
    remote: Remote,
    source: Box<dyn Source>,
    from_ms: u64,
}

/// What the writer is asked to do.
enum Ask {
    Event(Command),
    Join(Joining),
    /// A stretch that explains a side's audio (a mute, a hold) begins or ends now.
    Mark(Mark),
}

/// See [`LiveCall::mark`].
struct Mark {
    side: String,
    reason: String,
    on: bool,
}

/// How long the writer holds audio back behind the clock, so an event or an input that
/// arrives just after its instant still finds its frames unwritten.
const HOLD_BACK_MS: u64 = 60;

/// How long after the hang-up the writer waits for an input that delivers nothing more.
const END_STARVED: Duration = Duration::from_secs(2);

/// A call being recorded live. Dropping it without [`LiveCall::finish`] ends the call where it
/// is and completes the recording anyway.
pub struct LiveCall {
    commands: Sender<Ask>,
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
        Self::spawn(
            dir,
            policy,
            info,
            rate,
            agent,
            vec![(Remote::Mixed, remote)],
            true,
        )
    }

    /// Starts recording into `dir` from sources whose first sample is t_ms 0 (a softphone's
    /// legs, started on the call's clock): nothing they delivered is dropped. Each remote input
    /// is one voice ([`Remote::Customer`], [`Remote::Party`]); more join with
    /// [`LiveCall::add_remote`]. All at `rate`.
    pub fn start_on_clock(
        dir: &Path,
        policy: Policy,
        info: CallInfo,
        rate: u32,
        agent: Box<dyn Source>,
        remotes: Vec<(Remote, Box<dyn Source>)>,
    ) -> Result<Self> {
        Self::spawn(dir, policy, info, rate, agent, remotes, false)
    }

    fn spawn(
        dir: &Path,
        policy: Policy,
        info: CallInfo,
        rate: u32,
        agent: Box<dyn Source>,
        remotes: Vec<(Remote, Box<dyn Source>)>,
        drop_earlier: bool,
    ) -> Result<Self> {
        let mixed = remotes.iter().any(|(r, _)| *r == Remote::Mixed);
        let recorder = Recorder::create_with(dir, policy, info, rate, mixed)?;
        let health = [
            agent.health(),
            remotes.first().and_then(|(_, s)| s.health()),
        ];
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
            .spawn(move || run(recorder, agent, remotes, drop_earlier, &inbox, &shared))
            .map_err(RecorderError::io("starting the writer thread for", dir))?;
        Ok(Self {
            commands,
            state,
            writer: Some(writer),
        })
    }

    /// Adds a remote voice whose first sample (at the call's rate) is instant `from_ms`:
    /// a party whose leg was answered then. Its `party_joined` is the caller's to send.
    pub fn add_remote(&self, remote: Remote, source: Box<dyn Source>, from_ms: u64) -> Result<()> {
        self.commands
            .send(Ask::Join(Joining {
                remote,
                source,
                from_ms,
            }))
            .map_err(|_| RecorderError::Journal {
                path: std::path::PathBuf::from("(live call)"),
                why: "the call's writer has stopped".into(),
            })
    }

    /// Begins (`on`) or ends a stretch of `side`'s audio that `reason` explains (`muted`,
    /// `held`), now; `recording.json` notes it (POLICY.md §8: the timeline tells what each
    /// side's audio holds). A stretch still open at the hang-up ends with the call; beginning
    /// one already open, or ending one that is not, changes nothing.
    pub fn mark(&self, side: &str, reason: &str, on: bool) -> Result<()> {
        self.commands
            .send(Ask::Mark(Mark {
                side: side.to_owned(),
                reason: reason.to_owned(),
                on,
            }))
            .map_err(|_| RecorderError::Journal {
                path: std::path::PathBuf::from("(live call)"),
                why: "the call's writer has stopped".into(),
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

    /// Applies an event at `at_ms` (a fact of the call whose instant is known exactly, e.g. a
    /// party's leg answered), numbered after the previous one.
    pub fn event_at(
        &self,
        at_ms: u64,
        event: Event,
    ) -> Result<std::result::Result<Applied, Refusal>> {
        self.send(Command {
            event,
            at_ms: Some(at_ms),
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
        self.commands
            .send(Ask::Event(command))
            .map_err(|_| stopped())?;
        answer.recv().map_err(|_| stopped())
    }

    /// The call as it stands.
    pub fn state(&self) -> LiveState {
        self.state
            .lock()
            .map(|s| s.clone())
            .unwrap_or_else(|e| e.into_inner().clone())
    }

    /// Ends the call now, if `call_ended` has not come: from this instant no frame of any
    /// side is recorded, whatever the inputs still deliver. The writer goes on until it has
    /// written every frame up to the end ([`LiveCall::finish`] waits for that).
    pub fn end(&self) -> Result<()> {
        // Only a call still in progress is ended here: a second call_ended would be
        // recorded as a refused event.
        if self.state().phase != Phase::Ended {
            let _ = self.event(Event::CallEnded)?;
        }
        Ok(())
    }

    /// Ends the call now (if `call_ended` has not come) and waits for the recording to be
    /// complete.
    pub fn finish(mut self) -> Result<Sidecar> {
        self.end()?;
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
            let _ = self.end();
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
        consent_withdrawn_at_ms: call.withdrawn_at(),
    }
}

/// The writer thread: until the call has ended and its last frame is written.
fn run(
    mut recorder: Recorder,
    agent: Box<dyn Source>,
    remotes: Vec<(Remote, Box<dyn Source>)>,
    drop_earlier: bool,
    inbox: &Receiver<Ask>,
    shared: &Mutex<LiveState>,
) -> Result<Sidecar> {
    let rate = recorder.rate();
    let mut agent = Fifo::new(agent)?;
    let mut remotes: Vec<(Remote, Fifo)> = remotes
        .into_iter()
        .map(|(r, s)| Ok((r, Fifo::new(s)?)))
        .collect::<Result<_>>()?;
    if drop_earlier {
        // Whatever the devices captured before the start is not part of the call.
        for fifo in std::iter::once(&mut agent).chain(remotes.iter_mut().map(|(_, f)| f)) {
            fifo.pull()?;
            fifo.before_start = fifo.buf.len() as u64;
            fifo.buf.clear();
        }
    }
    let (mut agent_meter, mut remote_meter) = (
        Meter::new(rate as usize / 20),
        Meter::new(rate as usize / 20),
    );
    let (mut agent_level, mut remote_level) = (Level::default(), Level::default());
    let start = Instant::now();
    let mut index = 0;
    let health_of = |agent: &Fifo, remotes: &[(Remote, Fifo)]| {
        [
            agent.source.health(),
            remotes.first().and_then(|(_, f)| f.source.health()),
        ]
    };
    let mut health = health_of(&agent, &remotes);
    let mut heard = Vec::new();
    // Since when the call has ended but an input delivers nothing more.
    let mut starved: Option<Instant> = None;
    // Stretches begun and not yet ended (side, reason, from).
    let mut marks: Vec<(String, String, u64)> = Vec::new();
    // When next to journal the keypad stretches masked so far.
    let mut next_notes_ms = 1_000;
    loop {
        let now_ms = u64::try_from(start.elapsed().as_millis()).unwrap_or(u64::MAX);
        while let Ok(ask) = inbox.try_recv() {
            let command = match ask {
                Ask::Event(command) => command,
                Ask::Join(joining) => {
                    let first = frame_at(joining.from_ms, rate);
                    let fifo = Fifo::joining(joining.source, first, recorder.position())?;
                    remotes.push((joining.remote, fifo));
                    continue;
                }
                Ask::Mark(mark) => {
                    let open = marks
                        .iter()
                        .position(|(side, reason, _)| *side == mark.side && *reason == mark.reason);
                    match (open, mark.on) {
                        (None, true) => marks.push((mark.side, mark.reason, now_ms)),
                        (Some(i), false) => {
                            let (side, reason, from_ms) = marks.remove(i);
                            recorder.note(callrec_protocol::sidecar::Note {
                                side,
                                from_ms,
                                to_ms: now_ms,
                                reason,
                            })?;
                        }
                        _ => {}
                    }
                    continue;
                }
            };
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
        for (_, fifo) in &mut remotes {
            fifo.pull()?;
        }
        let now_health = health_of(&agent, &remotes);
        if now_health != health {
            health = now_health;
            let state = snapshot(&recorder, now_ms, agent_level, remote_level, &health);
            if let Ok(mut s) = shared.lock() {
                *s = state;
            }
        }
        let mut n = remotes
            .iter()
            .map(|(_, f)| f.buf.len())
            .fold(agent.buf.len(), usize::min);
        let end = (recorder.call().phase() == Phase::Ended)
            .then(|| recorder.call().end_ms().map(|t| frame_at(t, rate)))
            .flatten();
        if let Some(end) = end {
            let missing = usize::try_from(end.saturating_sub(recorder.position())).unwrap_or(0);
            let short = std::iter::once(&mut agent)
                .chain(remotes.iter_mut().map(|(_, f)| f))
                .filter(|f| f.buf.len() < missing)
                .count();
            if short == 0 {
                starved = None;
            } else if starved.get_or_insert_with(Instant::now).elapsed() > END_STARVED {
                // An input stopped for good before the hang-up (its leg or device is gone):
                // silence stands in, rather than the recording never completing.
                tracing::warn!(
                    inputs = short,
                    "inputs stopped before the call's end; silence fills the rest"
                );
                let position = recorder.position();
                let sides = std::iter::once(("agent".to_owned(), &mut agent))
                    .chain(remotes.iter_mut().map(|(r, f)| (side_name(r), f)));
                let mut gaps = Vec::new();
                for (side, fifo) in sides {
                    if fifo.buf.len() < missing {
                        gaps.push(crate::sidecar::DeviceGap {
                            side,
                            from_ms: crate::recorder::ms_at(position + fifo.buf.len() as u64, rate),
                            to_ms: crate::recorder::ms_at(end, rate),
                            error: Some("the input stopped before the hang-up".into()),
                        });
                        fifo.buf.resize(missing, 0.0);
                    }
                }
                for gap in gaps {
                    recorder.note_gap(gap)?;
                }
            }
        }
        let limit = end.unwrap_or_else(|| frame_at(now_ms.saturating_sub(HOLD_BACK_MS), rate));
        let left = usize::try_from(limit.saturating_sub(recorder.position())).unwrap_or(usize::MAX);
        n = n.min(left);
        agent_meter.feed(&agent.buf[..n], |l| agent_level = l);
        heard.clear();
        heard.resize(n, 0.0);
        for (_, fifo) in &remotes {
            for (h, s) in heard.iter_mut().zip(&fifo.buf[..n]) {
                *h += s;
            }
        }
        remote_meter.feed(&heard, |l| remote_level = l);
        let inputs: Vec<(&Remote, &[f32])> =
            remotes.iter().map(|(r, f)| (r, &f.buf[..n])).collect();
        recorder.write(&agent.buf[..n], &inputs)?;
        agent.buf.drain(..n);
        for (_, fifo) in &mut remotes {
            fifo.buf.drain(..n);
        }
        if n > 0 {
            let state = snapshot(&recorder, now_ms, agent_level, remote_level, &health);
            if let Ok(mut s) = shared.lock() {
                *s = state;
            }
        }
        if let Some(end) = end
            && recorder.position() >= end
        {
            note_gaps(&mut recorder, &agent, &remotes, end)?;
            note_masked(&mut recorder, &mut agent, &mut remotes, end)?;
            let end_ms = crate::recorder::ms_at(end, rate);
            for (side, reason, from_ms) in marks.drain(..) {
                recorder.note(callrec_protocol::sidecar::Note {
                    side,
                    from_ms: from_ms.min(end_ms),
                    to_ms: end_ms,
                    reason,
                })?;
            }
            break;
        }
        if n > 0 && now_ms >= next_notes_ms {
            // Stretches masked so far go into the journal as they complete.
            note_masked(&mut recorder, &mut agent, &mut remotes, u64::MAX)?;
            next_notes_ms = now_ms + 1_000;
        }
        std::thread::sleep(TICK);
    }
    recorder.finish()
}

/// How a side is named in `recording.json`'s gaps and notes.
pub(crate) fn side_name(remote: &Remote) -> String {
    match remote {
        Remote::Mixed => "remote".to_owned(),
        Remote::Customer => "customer".to_owned(),
        Remote::Party(id) => format!("party {id}"),
    }
}

/// Lists in the recording where each side's device was lost (silence stood in for it),
/// on the events' clock; a gap still open at the hang-up ends with the call.
fn note_gaps(
    recorder: &mut Recorder,
    agent: &Fifo,
    remotes: &[(Remote, Fifo)],
    end: u64,
) -> Result<()> {
    let rate = recorder.rate();
    let sides = std::iter::once(("agent".to_owned(), agent))
        .chain(remotes.iter().map(|(r, f)| (side_name(r), f)));
    for (side, fifo) in sides {
        let Some(health) = fifo.source.health() else {
            continue;
        };
        let on_clock = |sample: u64| {
            crate::recorder::ms_at(sample.saturating_sub(fifo.before_start).min(end), rate)
        };
        for &(from, to) in &health.gaps {
            recorder.note_gap(crate::sidecar::DeviceGap {
                side: side.clone(),
                from_ms: on_clock(from),
                to_ms: if health.lost && Some(&(from, to)) == health.gaps.last() {
                    crate::recorder::ms_at(end, rate)
                } else {
                    on_clock(to)
                },
                error: health.error.clone(),
            })?;
        }
    }
    Ok(())
}

/// Notes in the recording (and its journal, so a crash keeps them) where each side's keypad
/// tones were silenced since the last call, up to frame `end`.
fn note_masked(
    recorder: &mut Recorder,
    agent: &mut Fifo,
    remotes: &mut [(Remote, Fifo)],
    end: u64,
) -> Result<()> {
    let rate = recorder.rate();
    let sides = std::iter::once(("agent".to_owned(), agent))
        .chain(remotes.iter_mut().map(|(r, f)| (side_name(r), f)));
    for (side, fifo) in sides {
        for (from, to) in fifo.masked_frames(end) {
            recorder.note(callrec_protocol::sidecar::Note {
                side: side.clone(),
                from_ms: crate::recorder::ms_at(from, rate),
                to_ms: crate::recorder::ms_at(to, rate),
                reason: "keypad_tones_masked".into(),
            })?;
        }
    }
    Ok(())
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
