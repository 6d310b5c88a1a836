//! The metadata that travels with a recording (`recording.json`), and the journal a call
//! keeps while it runs so a crash can be recovered.

use std::fs::File;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};

use callrec_policy::{Outcome, Policy, TimedEvent, expires_at};
pub use callrec_protocol::sidecar::{CallInfo, DeviceGap, FileEntry, Note, ReceiptEntry, Sidecar};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::{RecorderError, Result};

pub use callrec_protocol::sidecar::FORMAT;

/// The sidecar's file name.
pub const SIDECAR: &str = "recording.json";
/// The main recording's file name.
pub const RECORDING: &str = "recording.wav";
/// The folder of receipt takes.
pub const RECEIPTS: &str = "receipts";
/// The journal's file name (present only while a call is being recorded, or after a crash).
pub const JOURNAL: &str = "call.journal";

/// The first line of a journal.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct JournalHeader {
    pub format: u32,
    pub info: CallInfo,
    pub policy: Policy,
    pub rate: u32,
    /// The remote side comes from one input carrying every remote voice mixed (a call-audio
    /// device): while a third party who may not be recorded is present it is all silence.
    #[serde(default)]
    pub mixed_remote: bool,
}

/// One event in the journal, with its index.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct JournalLine {
    pub i: usize,
    pub e: TimedEvent,
}

/// A journal line beside the events: what `recording.json` notes about the audio.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum JournalAside {
    /// A [`Note`].
    Note(Note),
    /// A [`DeviceGap`].
    Gap(DeviceGap),
}

/// A journal line as read back.
#[derive(Deserialize)]
#[serde(untagged)]
enum Entry {
    Event(JournalLine),
    Aside(JournalAside),
}

/// What a journal holds: its header, the events, and the notes and gaps journaled.
pub(crate) struct Journaled {
    pub header: JournalHeader,
    pub events: Vec<JournalLine>,
    pub notes: Vec<Note>,
    pub gaps: Vec<DeviceGap>,
}

/// An append-only log of a call's events, flushed after each one.
pub(crate) struct Journal {
    path: PathBuf,
    file: File,
}

impl Journal {
    pub(crate) fn create(path: &Path, header: &JournalHeader) -> Result<Self> {
        let file = File::options()
            .write(true)
            .create_new(true)
            .open(path)
            .map_err(RecorderError::io("creating", path))?;
        let mut j = Self {
            path: path.to_owned(),
            file,
        };
        j.append(header)?;
        Ok(j)
    }

    pub(crate) fn append(&mut self, line: &impl Serialize) -> Result<()> {
        let mut text = serde_json::to_string(line).map_err(|e| RecorderError::Journal {
            path: self.path.clone(),
            why: e.to_string(),
        })?;
        text.push('\n');
        self.file
            .write_all(text.as_bytes())
            .map_err(RecorderError::io("writing", &self.path))
    }

    /// Reads a journal back: its header, the events, notes and gaps it holds. A torn last
    /// line (the crash hit mid-write) is ignored.
    pub(crate) fn read(path: &Path) -> Result<Journaled> {
        let bad = |why: String| RecorderError::Journal {
            path: path.to_owned(),
            why,
        };
        let file = File::open(path).map_err(RecorderError::io("opening", path))?;
        let mut lines = BufReader::new(file).lines();
        let header = lines
            .next()
            .ok_or_else(|| bad("empty journal".into()))?
            .map_err(RecorderError::io("reading", path))?;
        let header: JournalHeader =
            serde_json::from_str(&header).map_err(|e| bad(format!("header: {e}")))?;
        let mut journaled = Journaled {
            header,
            events: Vec::new(),
            notes: Vec::new(),
            gaps: Vec::new(),
        };
        for line in lines {
            let line = line.map_err(RecorderError::io("reading", path))?;
            match serde_json::from_str::<Entry>(&line) {
                Ok(Entry::Event(e)) => journaled.events.push(e),
                Ok(Entry::Aside(JournalAside::Note(n))) => journaled.notes.push(n),
                Ok(Entry::Aside(JournalAside::Gap(g))) => journaled.gaps.push(g),
                Err(_) => break,
            }
        }
        Ok(journaled)
    }
}

/// SHA-256 and size of a file, read in blocks.
pub(crate) fn digest(path: &Path) -> Result<(String, u64)> {
    let mut file = File::open(path).map_err(RecorderError::io("reading", path))?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 256 * 1024];
    let mut bytes = 0u64;
    loop {
        let n = file
            .read(&mut buf)
            .map_err(RecorderError::io("reading", path))?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
        bytes += n as u64;
    }
    Ok((hex::encode(hasher.finalize()), bytes))
}

/// The file name of a receipt take: `<order_id>-<seq>.wav`, the order id kept readable where it
/// is safe and percent-encoded elsewhere (so no order id can reach outside the folder, and two
/// order ids never share a file).
pub fn receipt_file_name(order_id: &str, seq: u32) -> String {
    let mut name = String::with_capacity(order_id.len() + 10);
    for (i, b) in order_id.bytes().enumerate() {
        let safe = b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || (b == b'.' && i > 0);
        if safe {
            name.push(char::from(b));
        } else {
            name.push_str(&format!("%{b:02X}"));
        }
    }
    format!("{name}-{seq}.wav")
}

/// Builds the sidecar from a finished call's outcome and files.
pub(crate) fn build(
    header: &JournalHeader,
    call: &callrec_policy::Call,
    recovered: bool,
    recording: Option<FileEntry>,
    receipt_files: Vec<Option<FileEntry>>,
    device_gaps: Vec<DeviceGap>,
    noted: Vec<Note>,
) -> Sidecar {
    let Outcome {
        timeline,
        receipts,
        refused,
        outcome,
    } = call.outcome();
    let (timeline, mut notes) = if header.mixed_remote {
        mixed_truth(timeline, call.party_presence())
    } else {
        (timeline, Vec::new())
    };
    notes.extend(noted);
    if let (Some(at), Some(end)) = (call.withdrawn_at(), call.end_ms()) {
        notes.push(Note {
            side: "customer".into(),
            from_ms: at,
            to_ms: end,
            reason: "consent_withdrawn".into(),
        });
    }
    let at = |ms: u64| {
        header.info.origin_at + time::Duration::milliseconds(i64::try_from(ms).unwrap_or(i64::MAX))
    };
    let started_ms = call.started_ms();
    let started_at = started_ms.map(at);
    let ended_at = call.end_ms().map(at);
    let expires = started_at.map(|s| expires_at(s, call.policy().holding_months));
    Sidecar {
        format: FORMAT,
        info: header.info.clone(),
        direction: call.direction(),
        consent: call.consent(),
        started_at,
        ended_at,
        recording_origin_ms: started_ms,
        recovered,
        rate: header.rate,
        policy: *call.policy(),
        holding_months: call.policy().holding_months.get(),
        expires_at: expires,
        timeline,
        receipts: receipts
            .into_iter()
            .zip(receipt_files)
            .map(|(take, file)| ReceiptEntry { take, file })
            .collect(),
        refused,
        outcome,
        recording,
        device_gaps,
        notes,
    }
}

/// What a mixed remote input really holds: while a third party is present whom the policy
/// does not record, the recorder silences the whole remote side (it cannot keep the customer
/// alone), so there the timeline's customer is off, and a note says why.
fn mixed_truth(
    timeline: Vec<callrec_policy::Interval>,
    presence: &[(u64, bool)],
) -> (Vec<callrec_policy::Interval>, Vec<Note>) {
    let present_at = |t: u64| {
        presence
            .iter()
            .take_while(|(at, _)| *at <= t)
            .last()
            .is_some_and(|(_, p)| *p)
    };
    let mut out: Vec<callrec_policy::Interval> = Vec::new();
    let mut notes: Vec<Note> = Vec::new();
    for interval in timeline {
        // Split at every change of presence inside the interval.
        let mut cuts: Vec<u64> = presence
            .iter()
            .map(|(t, _)| *t)
            .filter(|t| *t > interval.from_ms && *t < interval.to_ms)
            .collect();
        cuts.push(interval.to_ms);
        let mut from = interval.from_ms;
        for to in cuts {
            let mut piece = callrec_policy::Interval {
                from_ms: from,
                to_ms: to,
                ..interval
            };
            if piece.customer && !piece.third_parties && present_at(from) {
                piece.customer = false;
                match notes.last_mut() {
                    Some(n) if n.to_ms == from => n.to_ms = to,
                    _ => notes.push(Note {
                        side: "customer".into(),
                        from_ms: from,
                        to_ms: to,
                        reason: "mixed_with_unrecorded_third_party".into(),
                    }),
                }
            }
            match out.last_mut() {
                Some(last) if last.to_ms == from && last.sides() == piece.sides() => {
                    last.to_ms = to;
                }
                _ if to > from => out.push(piece),
                _ => {}
            }
            from = to;
        }
    }
    (out, notes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn receipt_names_cannot_escape_or_collide() {
        assert_eq!(receipt_file_name("A-17", 1), "A-17-1.wav");
        assert_eq!(
            receipt_file_name("../etc/passwd", 2),
            "%2E.%2Fetc%2Fpasswd-2.wav"
        );
        assert_ne!(receipt_file_name("%41", 1), receipt_file_name("A", 1));
        assert_ne!(receipt_file_name("A/1", 1), receipt_file_name("A_1", 1));
        assert_eq!(receipt_file_name("tilaus ä", 1), "tilaus%20%C3%A4-1.wav");
    }
}
