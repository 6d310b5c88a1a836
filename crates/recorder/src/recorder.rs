//! The recorder: one call's policy applied to its audio, sample by sample.

use std::collections::VecDeque;
use std::path::{Path, PathBuf};

use callrec_audio::Limiter;
use callrec_policy::{Applied, Call, Event, Phase, Policy, Refusal, Sides, TimedEvent};

use crate::error::{RecorderError, Result};
use crate::sidecar::{
    CallInfo, FORMAT, JOURNAL, Journal, JournalAside, JournalHeader, JournalLine, RECEIPTS,
    RECORDING, SIDECAR, Sidecar, receipt_file_name,
};
use crate::wavfile::{PartFile, part_path};

/// Which remote voice an input carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Remote {
    /// The original remote party alone.
    Customer,
    /// One third party alone, heard only while it is in the call.
    Party(String),
    /// The whole remote side mixed (a live call-audio device): the customer and whoever else
    /// is in the call. Recorded only when every voice in it may be.
    Mixed,
}

/// What the gate lets through from one instant on.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Gate {
    in_call: bool,
    sides: Sides,
    take: Option<usize>,
    parties: Vec<String>,
}

impl Gate {
    fn closed() -> Self {
        Self {
            in_call: false,
            sides: Sides::NONE,
            take: None,
            parties: Vec::new(),
        }
    }

    fn of(call: &Call) -> Self {
        Self {
            in_call: call.phase() == Phase::InCall,
            sides: call.sides(),
            take: call
                .receipt_in_progress()
                .and_then(|_| call.takes().len().checked_sub(1)),
            parties: call.parties().to_vec(),
        }
    }

    /// Whether `input` is heard under this gate (the rules are the policy's).
    fn passes(&self, input: &Remote) -> bool {
        match input {
            Remote::Customer => self.sides.customer,
            Remote::Party(id) => self.sides.party(self.parties.contains(id)),
            Remote::Mixed => self.sides.mixed_remote(!self.parties.is_empty()),
        }
    }
}

struct TakeSlot {
    name: String,
    file: Option<PartFile>,
    /// The frame at which the take stops, once known.
    end: Option<u64>,
}

/// Records one call into a folder: `recording.wav`, `receipts/<order>-<seq>.wav` and
/// `recording.json`, written as the audio comes (never held whole in memory).
///
/// Frames are numbered on the call's one clock: frame `n` is instant `n / rate` seconds after
/// the audio's origin (t_ms 0). An event at `t_ms` takes effect from frame
/// `ceil(t_ms * rate / 1000)`, the first frame at or after its instant: a side switched off is
/// exact zeros from that frame on, and no frame before it changes.
///
/// Events must be given before the audio they affect ([`Recorder::event`] then
/// [`Recorder::write`]); an event whose frame has already been written takes effect, and is
/// recorded, at the next frame written (counted in [`Recorder::late_events`]).
pub struct Recorder {
    dir: PathBuf,
    rate: u32,
    call: Call,
    header: JournalHeader,
    journal: Journal,
    pos: u64,
    current: Gate,
    schedule: VecDeque<(u64, Gate)>,
    main: Option<PartFile>,
    takes: Vec<TakeSlot>,
    limiter: Limiter,
    late_events: u64,
    next_index: usize,
    frames: Vec<[i16; 2]>,
    gaps: Vec<crate::sidecar::DeviceGap>,
    notes: Vec<crate::sidecar::Note>,
}

/// The first frame at or after `t_ms`.
pub fn frame_at(t_ms: u64, rate: u32) -> u64 {
    (u128::from(t_ms) * u128::from(rate)).div_ceil(1000) as u64
}

/// The instant of frame `frame`, rounded down to the millisecond.
pub fn ms_at(frame: u64, rate: u32) -> u64 {
    (u128::from(frame) * 1000 / u128::from(rate)) as u64
}

/// To 16-bit, rounding half away from zero; exact zeros stay zero. (`as` saturates, and a
/// truncating conversion is far cheaper than `round()` on baseline x86-64.)
#[inline]
fn to_i16(x: f32) -> i16 {
    let y = x * 32_767.0;
    (y + 0.5f32.copysign(y)) as i16
}

impl Recorder {
    /// Starts recording a call into `dir` (created if missing) at `rate` frames a second.
    /// Refuses a folder that already holds a recording or a call in progress.
    pub fn create(dir: &Path, policy: Policy, info: CallInfo, rate: u32) -> Result<Self> {
        Self::create_with(dir, policy, info, rate, false)
    }

    /// [`Recorder::create`] for a call whose remote side is one mixed input (`mixed_remote`:
    /// a call-audio device), so `recording.json`'s timeline says when that input was silenced.
    pub fn create_with(
        dir: &Path,
        policy: Policy,
        info: CallInfo,
        rate: u32,
        mixed_remote: bool,
    ) -> Result<Self> {
        for name in [SIDECAR, JOURNAL, RECORDING] {
            let path = dir.join(name);
            if path.exists() || part_path(&path).exists() {
                return Err(RecorderError::AlreadyRecorded(dir.to_owned()));
            }
        }
        std::fs::create_dir_all(dir).map_err(RecorderError::io("creating", dir))?;
        let header = JournalHeader {
            format: FORMAT,
            info,
            policy,
            rate,
            mixed_remote,
        };
        let journal = Journal::create(&dir.join(JOURNAL), &header)?;
        Ok(Self {
            dir: dir.to_owned(),
            rate,
            call: Call::new(policy),
            header,
            journal,
            pos: 0,
            current: Gate::closed(),
            schedule: VecDeque::new(),
            main: None,
            takes: Vec::new(),
            limiter: Limiter::new(rate, Limiter::CEILING, 50.0),
            late_events: 0,
            next_index: 0,
            frames: Vec::new(),
            gaps: Vec::new(),
            notes: Vec::new(),
        })
    }

    /// The call as the policy sees it now.
    pub fn call(&self) -> &Call {
        &self.call
    }

    /// The next frame [`Recorder::write`] will take.
    pub fn position(&self) -> u64 {
        self.pos
    }

    /// Frames per second.
    pub fn rate(&self) -> u32 {
        self.rate
    }

    /// Notes that an input device was lost for a stretch of the call (its side holds
    /// silence there); listed in `recording.json`.
    /// It is journaled at once: a crash keeps it.
    pub fn note_gap(&mut self, gap: crate::sidecar::DeviceGap) -> Result<()> {
        self.journal.append(&JournalAside::Gap(gap.clone()))?;
        self.gaps.push(gap);
        Ok(())
    }

    /// Notes why a side's audio is silent over a stretch (keypad tones masked, a mute, a
    /// hold); listed in `recording.json`. It is journaled at once: a crash keeps it.
    pub fn note(&mut self, note: crate::sidecar::Note) -> Result<()> {
        self.journal.append(&JournalAside::Note(note.clone()))?;
        self.notes.push(note);
        Ok(())
    }

    /// Events that arrived after their frame had been written.
    pub fn late_events(&self) -> u64 {
        self.late_events
    }

    /// Applies an event at `t_ms`, numbered after the previous one. A refusal is an outcome,
    /// not an error: it is returned in the inner `Result`. Not real-time safe (journal IO).
    pub fn event(&mut self, t_ms: u64, event: &Event) -> Result<Result<Applied, Refusal>> {
        self.event_numbered(self.next_index, t_ms, event)
    }

    /// Applies an event at `t_ms`, numbered `index` in refusals (e.g. its line in a file).
    pub fn event_numbered(
        &mut self,
        index: usize,
        t_ms: u64,
        event: &Event,
    ) -> Result<Result<Applied, Refusal>> {
        self.next_index = index + 1;
        // An event never reaches back into audio already written: one that arrives after its
        // frame takes effect at the present, and is recorded there, so the timeline and the
        // audio always agree (a hang-up applied late must not leave audio the timeline does
        // not account for).
        let t_ms = if frame_at(t_ms, self.rate) < self.pos {
            self.late_events += 1;
            (u128::from(self.pos) * 1000).div_ceil(u128::from(self.rate)) as u64
        } else {
            t_ms
        };
        self.journal.append(&JournalLine {
            i: index,
            e: TimedEvent {
                t_ms,
                event: event.clone(),
            },
        })?;
        let mut frame = frame_at(t_ms, self.rate);
        let applied = match self.call.apply_numbered(index, t_ms, event) {
            Ok(applied) => applied,
            Err(refusal) => return Ok(Err(refusal)),
        };
        let last_scheduled = self
            .schedule
            .back()
            .map_or(self.pos, |(f, _)| (*f).max(self.pos));
        if frame < last_scheduled {
            frame = last_scheduled;
        }
        if matches!(event, Event::CallStarted { .. }) {
            self.main = Some(PartFile::create(&self.dir.join(RECORDING), self.rate)?);
        }
        if let Some(i) = applied.take_started {
            let take = &self.call.takes()[i];
            let name = receipt_file_name(&take.order_id, take.seq);
            let folder = self.dir.join(RECEIPTS);
            std::fs::create_dir_all(&folder).map_err(RecorderError::io("creating", &folder))?;
            let file = PartFile::create(&folder.join(&name), self.rate)?;
            self.takes.push(TakeSlot {
                name,
                file: Some(file),
                end: None,
            });
        }
        if let Some(i) = applied.take_stopped {
            self.takes[i].end = Some(frame);
        }
        for &i in &applied.takes_overwritten {
            // The earlier take is closed already (takes never overlap): delete it now.
            if let Some(file) = self.takes[i].file.take() {
                file.discard()?;
            } else {
                let part = part_path(&self.dir.join(RECEIPTS).join(&self.takes[i].name));
                std::fs::remove_file(&part).map_err(RecorderError::io("deleting", &part))?;
            }
        }
        if applied.discarded {
            // Conference `none`: nothing of this call is kept, from this instant on.
            if let Some(main) = self.main.take() {
                main.discard()?;
            }
        }
        self.schedule.push_back((frame, Gate::of(&self.call)));
        Ok(Ok(applied))
    }

    /// Writes the next `agent.len()` frames: the agent's microphone, and each remote input
    /// (each as long as `agent`). Frames outside the call are not stored; inside it, each
    /// side is what the policy allows at that frame, silence otherwise. Not real-time safe
    /// (file IO): call it from the writer thread.
    pub fn write(&mut self, agent: &[f32], remote: &[(&Remote, &[f32])]) -> Result<()> {
        let n = agent.len();
        debug_assert!(remote.iter().all(|(_, s)| s.len() == n));
        let mut done = 0;
        while done < n {
            while let Some((frame, _)) = self.schedule.front() {
                if *frame > self.pos {
                    break;
                }
                if let Some((_, gate)) = self.schedule.pop_front() {
                    self.current = gate;
                }
            }
            let until = self.schedule.front().map_or(n, |(frame, _)| {
                n.min(done + usize::try_from(frame - self.pos).unwrap_or(usize::MAX))
            });
            self.write_segment(&agent[done..until], remote, done..until)?;
            self.pos += (until - done) as u64;
            done = until;
            self.close_finished_takes()?;
        }
        Ok(())
    }

    fn write_segment(
        &mut self,
        agent: &[f32],
        remote: &[(&Remote, &[f32])],
        range: std::ops::Range<usize>,
    ) -> Result<()> {
        let gate = &self.current;
        if !gate.in_call || agent.is_empty() {
            return Ok(());
        }
        let open: Vec<&[f32]> = remote
            .iter()
            .filter(|(input, _)| gate.passes(input))
            .map(|(_, samples)| &samples[range.clone()])
            .collect();
        self.frames.clear();
        self.frames.resize(agent.len(), [0, 0]);
        if gate.sides.agent {
            for (f, &a) in self.frames.iter_mut().zip(agent) {
                f[0] = to_i16(a);
            }
        }
        match open.as_slice() {
            [] => {}
            // A lone voice below the limiter's ceiling passes as it is (the common case):
            // no per-sample limiter work.
            [one] if self.limiter.is_idle() && one.iter().all(|x| x.abs() <= Limiter::CEILING) => {
                for (f, &x) in self.frames.iter_mut().zip(*one) {
                    f[1] = to_i16(x);
                }
            }
            many => {
                for (i, f) in self.frames.iter_mut().enumerate() {
                    let sum: f32 = many.iter().map(|s| s[i]).sum();
                    f[1] = to_i16(self.limiter.process(sum));
                }
            }
        }
        if let Some(main) = self.main.as_mut() {
            main.write(&self.frames)?;
        }
        if let Some(file) = gate.take.and_then(|t| self.takes[t].file.as_mut()) {
            file.write(&self.frames)?;
        }
        Ok(())
    }

    fn close_finished_takes(&mut self) -> Result<()> {
        for slot in &mut self.takes {
            if slot.end.is_some_and(|end| end <= self.pos)
                && let Some(file) = slot.file.take()
            {
                file.close()?;
            }
        }
        Ok(())
    }

    /// Ends the recording: ends the call at the current frame if no `call_ended` came,
    /// completes the kept files, deletes what the policy does not keep, and writes
    /// `recording.json`. Returns the sidecar.
    pub fn finish(mut self) -> Result<Sidecar> {
        if self.call.phase() == Phase::InCall {
            let t = ms_at(self.pos, self.rate).max(self.call.end_ms().unwrap_or(0));
            self.event(t, &Event::CallEnded)?
                .map_err(|r| RecorderError::Journal {
                    path: self.dir.join(JOURNAL),
                    why: format!("cannot end the call: {}", r.reason),
                })?;
        }
        if let Some(main) = self.main.take() {
            main.close()?;
        }
        for slot in &mut self.takes {
            if let Some(file) = slot.file.take() {
                file.close()?;
            }
        }
        crate::finalize::finalize(
            &self.dir,
            &self.header,
            &self.call,
            false,
            self.gaps,
            self.notes,
        )
    }
}
