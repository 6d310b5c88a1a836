//! [`KeypadMasked`]: a source with its keypad tones silenced, and [`MaskedStretches`], where
//! another thread reads which stretches were.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use rtrb::{Consumer, Producer, PushError, RingBuffer};

use super::KeypadMasker;
use crate::error::Result;
use crate::source::{Read, Source};
use crate::steady::InputHealth;

/// Stretches the writer can report before the reader takes them. Each stretch is at least
/// 90 ms long, so this is over a minute and a half of uninterrupted keypad tones.
const REPORT_CAPACITY: usize = 1024;

/// A [`Source`] with its keypad tones (and a [`GUARD`](super::GUARD) around each) replaced by
/// exact silence.
///
/// Sample `n` out is sample `n` of the inner source, delivered [`LOOKAHEAD`](super::LOOKAHEAD)
/// later while the source is live; at its end everything held back is delivered. Which
/// stretches were masked can be read from another thread through [`KeypadMasked::stretches`].
pub struct KeypadMasked<S> {
    inner: S,
    masker: KeypadMasker,
    /// Where the inner source's samples land before the masker takes them.
    scratch: Vec<f32>,
    reports: Producer<(u64, u64)>,
    /// Stretches that found the report ring full, merged into one, sent when there is room.
    overflow: Option<(u64, u64)>,
    shared: Arc<Shared>,
}

struct Shared {
    /// Set once the source has ended and every stretch is in the ring.
    complete: AtomicBool,
    collected: Mutex<Collected>,
}

struct Collected {
    reports: Consumer<(u64, u64)>,
    seen: Vec<(u64, u64)>,
}

impl<S: Source> KeypadMasked<S> {
    /// `inner` with its keypad tones masked. Allocates; not real-time safe. Fails for a
    /// source slower than 8 kHz.
    pub fn new(inner: S) -> Result<Self> {
        let masker = KeypadMasker::new(inner.rate())?;
        let scratch = vec![0.0; masker.room() - masker.lookahead()];
        let (reports, consumer) = RingBuffer::new(REPORT_CAPACITY);
        Ok(Self {
            inner,
            masker,
            scratch,
            reports,
            overflow: None,
            shared: Arc::new(Shared {
                complete: AtomicBool::new(false),
                collected: Mutex::new(Collected {
                    reports: consumer,
                    seen: Vec::new(),
                }),
            }),
        })
    }

    /// Where the masked stretches can be read, from any thread. Real-time safe.
    pub fn stretches(&self) -> MaskedStretches {
        MaskedStretches {
            shared: Arc::clone(&self.shared),
        }
    }

    /// Samples this source lags its inner source by while it is live. Real-time safe.
    pub fn lookahead(&self) -> usize {
        self.masker.lookahead()
    }

    /// The wrapped source. Real-time safe.
    pub fn inner(&self) -> &S {
        &self.inner
    }

    fn end(&mut self) -> Read {
        send(&mut self.reports, &mut self.overflow, None);
        if self.overflow.is_none() {
            self.shared.complete.store(true, Ordering::Release);
        }
        Read::End
    }
}

impl<S: Source> Source for KeypadMasked<S> {
    fn rate(&self) -> u32 {
        self.inner.rate()
    }

    /// As real-time safe as the inner source: no allocation, no lock, no logging.
    fn read(&mut self, out: &mut [f32]) -> Result<Read> {
        if self.overflow.is_some() {
            send(&mut self.reports, &mut self.overflow, None);
        }
        if out.is_empty() {
            return Ok(if self.masker.is_done() {
                self.end()
            } else {
                Read::Pending
            });
        }
        loop {
            let (reports, overflow) = (&mut self.reports, &mut self.overflow);
            let n = self
                .masker
                .pull(out, |from, to| send(reports, overflow, Some((from, to))));
            if n > 0 {
                return Ok(Read::Samples(n));
            }
            if self.masker.is_done() {
                return Ok(self.end());
            }
            // Nothing is ready, so less than the lookahead is held and there is room.
            let room = self.masker.room().min(self.scratch.len());
            match self.inner.read(&mut self.scratch[..room])? {
                Read::Samples(k) => {
                    self.masker.push(&self.scratch[..k]);
                }
                Read::Pending => return Ok(Read::Pending),
                Read::End => self.masker.finish(),
            }
        }
    }

    fn health(&self) -> Option<InputHealth> {
        self.inner.health()
    }
}

/// Sends what overflowed earlier, then `stretch`; whatever finds the ring full waits in
/// `overflow`, merged with what comes after it.
fn send(
    reports: &mut Producer<(u64, u64)>,
    overflow: &mut Option<(u64, u64)>,
    stretch: Option<(u64, u64)>,
) {
    if let Some(waiting) = *overflow
        && reports.push(waiting).is_ok()
    {
        *overflow = None;
    }
    let Some(stretch) = stretch else { return };
    match overflow {
        Some(waiting) => waiting.1 = stretch.1,
        None => {
            if let Err(PushError::Full(stretch)) = reports.push(stretch) {
                *overflow = Some(stretch);
            }
        }
    }
}

/// The stretches a [`KeypadMasked`] silenced, as `[from, to)` sample indices on its source's
/// clock, in order. Clones share the same list; read it from any thread.
///
/// A stretch is listed once all its samples have been delivered. If more than 1,024 stretches
/// wait unread, the later ones are listed merged into one, from the first one's start to the
/// last one's end, until the reader catches up.
#[derive(Clone)]
pub struct MaskedStretches {
    shared: Arc<Shared>,
}

impl MaskedStretches {
    /// Every stretch masked so far. Takes a lock that the audio side never takes, and
    /// allocates: not real-time safe.
    pub fn all(&self) -> Vec<(u64, u64)> {
        self.since(0)
    }

    /// The stretches masked so far after the first `n` (those already read): what
    /// [`MaskedStretches::all`] would list from index `n` on. Not real-time safe.
    pub fn since(&self, n: usize) -> Vec<(u64, u64)> {
        let mut collected = self
            .shared
            .collected
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let Collected { reports, seen } = &mut *collected;
        while let Ok(stretch) = reports.pop() {
            seen.push(stretch);
        }
        seen.get(n..).map(<[_]>::to_vec).unwrap_or_default()
    }

    /// Whether the source has ended and [`MaskedStretches::all`] holds every stretch it
    /// masked. Real-time safe.
    pub fn is_complete(&self) -> bool {
        self.shared.complete.load(Ordering::Acquire)
    }
}

impl std::fmt::Debug for MaskedStretches {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MaskedStretches")
            .field("complete", &self.is_complete())
            .finish_non_exhaustive()
    }
}
