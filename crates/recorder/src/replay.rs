//! The offline path: WAV files in, a recorded call folder out, as fast as the machine allows.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use callrec_audio::{AtRate, Read, Source, WavSource};
use callrec_policy::{Phase, Policy, TimedEvent};

use crate::error::Result;
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

struct Input {
    remote: Option<Remote>,
    source: AtRate<WavSource>,
    buf: Vec<f32>,
    ended: bool,
}

impl Input {
    fn open(path: &Path, remote: Option<Remote>, rate: u32) -> Result<Self> {
        Ok(Self {
            remote,
            source: AtRate::new(WavSource::open(path)?, rate)?,
            buf: vec![0.0; BLOCK],
            ended: false,
        })
    }

    /// Fills `n` samples, silence once the file has ended; returns how many came from the file.
    fn fill(&mut self, n: usize) -> Result<usize> {
        let mut filled = 0;
        while filled < n && !self.ended {
            match self.source.read(&mut self.buf[filled..n])? {
                Read::Samples(k) => filled += k,
                Read::End | Read::Pending => self.ended = true,
            }
        }
        self.buf[filled..n].fill(0.0);
        Ok(filled)
    }
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
            real = real.max(input.fill(BLOCK)?);
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
    }
    recorder.finish()
}
