//! The offline path: WAV files in, a recorded call folder out, as fast as the machine allows.

use std::path::{Path, PathBuf};
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::time::{Duration, Instant};

use callrec_audio::{AtRate, KeypadMasked, MaskedStretches, Read, Source, WavSource};
use callrec_policy::{Phase, Policy, TimedEvent};

use crate::error::{RecorderError, Result};
use crate::recorder::{Recorder, Remote, frame_at};
use crate::sidecar::{CallInfo, Sidecar};

/// Frames per write: large enough to amortise per-call costs, small enough to stay in cache.
const BLOCK: usize = 4096;

/// The audio of a call, one file per voice; every file's first sample is t_ms 0.
#[derive(Debug, Clone)]
pub struct ReplayInputs {
    /// The agent's microphone.
    pub agent: PathBuf,
    /// The customer.
    pub customer: PathBuf,
    /// Third parties by id, each heard only while in the call.
    pub parties: Vec<(String, PathBuf)>,
}

/// Blocks each input's worker may run ahead of the writer.
const AHEAD: usize = 3;

/// One input file, decoded and resampled on its own thread (inputs are independent, so a
/// call's voices are prepared in parallel), handed over in blocks whose buffers are recycled.
struct Input {
    remote: Option<Remote>,
    /// Where its keypad tones were silenced (its samples are the call's frames).
    masked: MaskedStretches,
    /// How many of those are noted in the recording already.
    noted: usize,
    full: Receiver<Result<(Vec<f32>, usize)>>,
    free: SyncSender<Vec<f32>>,
    buf: Vec<f32>,
    ended: bool,
}

impl Input {
    fn open(path: &Path, remote: Option<Remote>, rate: u32) -> Result<Self> {
        // Keypad tones are silenced before anything of the input is written (POLICY.md §8).
        let mut source = KeypadMasked::new(AtRate::new(WavSource::open(path)?, rate)?)?;
        let masked = source.stretches();
        let (free, free_rx) = sync_channel::<Vec<f32>>(AHEAD + 1);
        let (full_tx, full) = sync_channel(AHEAD + 1);
        for _ in 0..AHEAD {
            let _ = free.send(vec![0.0; BLOCK]);
        }
        std::thread::spawn(move || {
            let mut ended = false;
            // Ends when the writer drops its side of the channels.
            while let Ok(mut buf) = free_rx.recv() {
                let block = fill(&mut source, &mut buf, &mut ended).map(|real| (buf, real));
                let failed = block.is_err();
                if full_tx.send(block).is_err() || failed {
                    return;
                }
            }
        });
        Ok(Self {
            remote,
            masked,
            noted: 0,
            full,
            free,
            buf: vec![0.0; BLOCK],
            ended: false,
        })
    }

    /// The next block (silence once the file has ended); returns how many samples came
    /// from the file.
    fn next(&mut self) -> Result<usize> {
        let (buf, real) = self.full.recv().map_err(|_| {
            RecorderError::Audio(callrec_audio::AudioError::Resample(
                "an input's worker stopped".into(),
            ))
        })??;
        let used = std::mem::replace(&mut self.buf, buf);
        let _ = self.free.send(used);
        self.ended = real < BLOCK;
        Ok(real)
    }
}

/// Fills `buf` from `source`, silence once it has ended; returns how many samples were real.
fn fill(source: &mut impl Source, buf: &mut [f32], ended: &mut bool) -> Result<usize> {
    let mut filled = 0;
    while filled < buf.len() && !*ended {
        match source.read(&mut buf[filled..])? {
            Read::Samples(k) => filled += k,
            Read::End | Read::Pending => *ended = true,
        }
    }
    buf[filled..].fill(0.0);
    Ok(filled)
}

/// Records a call from files: `events` (with their line indices) are applied at their
/// instants, the audio is resampled to `rate` and written through a [`Recorder`] into `dir`.
/// The call ends at its `call_ended`, or where the longest input ends.
///
/// `realtime` paces the replay to the wall clock (demos, crash tests); otherwise it runs as
/// fast as the machine allows.
pub fn replay(
    dir: &Path,
    policy: Policy,
    info: CallInfo,
    rate: u32,
    inputs: &ReplayInputs,
    events: &[(usize, TimedEvent)],
    realtime: bool,
) -> Result<Sidecar> {
    let mut all = vec![Input::open(&inputs.agent, None, rate)?];
    all.push(Input::open(&inputs.customer, Some(Remote::Customer), rate)?);
    for (id, path) in &inputs.parties {
        all.push(Input::open(path, Some(Remote::Party(id.clone())), rate)?);
    }
    let mut recorder = Recorder::create(dir, policy, info, rate)?;
    let mut next = 0;
    let start = Instant::now();
    loop {
        let pos = recorder.position();
        if realtime {
            let due = start + Duration::from_secs_f64(pos as f64 / f64::from(rate));
            std::thread::sleep(due.saturating_duration_since(Instant::now()));
        }
        while let Some((index, e)) = events.get(next)
            && frame_at(e.t_ms, rate) < pos + BLOCK as u64
        {
            // Refusals are part of the outcome.
            let _ = recorder.event_numbered(*index, e.t_ms, &e.event)?;
            next += 1;
        }
        let call_over = recorder.call().phase() == Phase::Ended
            && recorder
                .call()
                .end_ms()
                .is_some_and(|end| frame_at(end, rate) <= pos);
        let audio_over = all.iter().all(|i| i.ended);
        if call_over || (audio_over && next == events.len()) {
            break;
        }
        let mut real = 0;
        for input in &mut all {
            real = real.max(input.next()?);
        }
        // Past the end of every file, write only up to the longest one's end (or on to the
        // remaining events, which the call still has to reach).
        let n = if all.iter().all(|i| i.ended) && next == events.len() {
            real
        } else {
            BLOCK
        };
        let (agent, remote) = all
            .split_first()
            .map_or((&[][..], &[][..]), |(a, r)| (&a.buf[..n], r));
        let remote: Vec<(&Remote, &[f32])> = remote
            .iter()
            .filter_map(|i| i.remote.as_ref().map(|r| (r, &i.buf[..n])))
            .collect();
        recorder.write(agent, &remote)?;
        note_masked(&mut recorder, &mut all, false)?;
    }
    note_masked(&mut recorder, &mut all, true)?;
    recorder.finish()
}

/// Notes (and journals, so a crash keeps them) the stretches of keypad tones masked in each
/// input that the recording has passed; at the `end`, every one, cut at the last frame.
fn note_masked(recorder: &mut Recorder, inputs: &mut [Input], end: bool) -> Result<()> {
    let (position, rate) = (recorder.position(), recorder.rate());
    for input in inputs {
        let side = input
            .remote
            .as_ref()
            .map_or_else(|| "agent".to_owned(), crate::live::side_name);
        for (from, to) in input.masked.since(input.noted) {
            if to > position && !end {
                break;
            }
            input.noted += 1;
            let (from, to) = (from.min(position), to.min(position));
            if to > from {
                recorder.note(crate::sidecar::Note {
                    side: side.clone(),
                    from_ms: crate::recorder::ms_at(from, rate),
                    to_ms: crate::recorder::ms_at(to, rate),
                    reason: "keypad_tones_masked".into(),
                })?;
            }
        }
    }
    Ok(())
}
