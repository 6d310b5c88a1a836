//! The live path: two sources that deliver in real time, events applied at their offsets
//! from the start, until `call_ended`.

use std::path::Path;
use std::time::{Duration, Instant};

use callrec_audio::{Read, Source};
use callrec_policy::{Event, Phase, Policy, TimedEvent};

use crate::error::{RecorderError, Result};
use crate::recorder::{Recorder, Remote, frame_at};
use crate::sidecar::{CallInfo, Sidecar};

/// How often the writer drains the sources.
const TICK: Duration = Duration::from_millis(10);

struct Fifo {
    source: Box<dyn Source>,
    buf: Vec<f32>,
    scratch: Vec<f32>,
}

impl Fifo {
    fn new(source: Box<dyn Source>) -> Self {
        Self {
            source,
            buf: Vec::new(),
            scratch: vec![0.0; 4096],
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

/// Records a live call: `agent` and `remote` (the call audio, [`Remote::Mixed`]) must already
/// be at `rate`. Audio captured from now on is t_ms 0; each event is applied when its
/// `t_ms` has elapsed, before the audio it affects is written. Returns when `call_ended`'s
/// instant has been recorded. `events` must contain a `call_ended`.
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
    let mut recorder = Recorder::create(dir, policy, info, rate)?;
    let mut agent = Fifo::new(agent);
    let mut remote = Fifo::new(remote);
    // Whatever the devices captured before the start is not part of the call.
    agent.pull()?;
    remote.pull()?;
    agent.buf.clear();
    remote.buf.clear();
    let start = Instant::now();
    let mut next = 0;
    loop {
        let now_ms = u64::try_from(start.elapsed().as_millis()).unwrap_or(u64::MAX);
        while let Some((index, e)) = events.get(next)
            && e.t_ms <= now_ms
        {
            let _ = recorder.event_numbered(*index, e.t_ms, &e.event)?;
            next += 1;
        }
        agent.pull()?;
        remote.pull()?;
        let mut n = agent.buf.len().min(remote.buf.len());
        let end = (recorder.call().phase() == Phase::Ended)
            .then(|| recorder.call().end_ms().map(|t| frame_at(t, rate)))
            .flatten();
        if let Some(end) = end {
            let left =
                usize::try_from(end.saturating_sub(recorder.position())).unwrap_or(usize::MAX);
            n = n.min(left);
        }
        recorder.write(&agent.buf[..n], &[(&Remote::Mixed, &remote.buf[..n])])?;
        agent.buf.drain(..n);
        remote.buf.drain(..n);
        if end.is_some_and(|end| recorder.position() >= end) {
            break;
        }
        std::thread::sleep(TICK);
    }
    recorder.finish()
}
