//! Completing a call's folder, after a normal end or a crash: the same steps either way.

use std::path::Path;

use callrec_policy::{Call, Event, Phase, TakeStatus, Verdict};

use crate::error::{RecorderError, Result};
use crate::recorder::{frame_at, ms_at};
use crate::sidecar::{
    DeviceGap, FileEntry, JOURNAL, Journal, JournalHeader, Journaled, RECEIPTS, RECORDING, SIDECAR,
    Sidecar, build, digest, receipt_file_name,
};
use crate::wavfile::{complete, part_path, repair};

fn remove_if_exists(path: &Path) -> Result<()> {
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
            Err(RecorderError::io("deleting", path)(e))
        }
        _ => Ok(()),
    }
}

/// Keeps or deletes one file: a kept file's `.part` is completed (synced, renamed) and
/// described; anything not kept is deleted. Safe to run again after a crash midway.
fn settle(dir: &Path, rel: &str, keep: bool, rate: u32) -> Result<Option<FileEntry>> {
    let path = dir.join(rel);
    let part = part_path(&path);
    if !keep {
        remove_if_exists(&part)?;
        remove_if_exists(&path)?;
        return Ok(None);
    }
    if part.exists() {
        complete(&part, &path)?;
    }
    if !path.exists() {
        return Ok(None);
    }
    let (sha256, bytes) = digest(&path)?;
    let frames = u64::from(
        hound::WavReader::open(&path)
            .map_err(RecorderError::wav(&path))?
            .duration(),
    );
    Ok(Some(FileEntry {
        file: rel.to_owned(),
        sha256,
        bytes,
        frames,
        duration_ms: ms_at(frames, rate),
    }))
}

/// Completes the folder of an ended call: keeps exactly the files the outcome keeps, writes
/// `recording.json` (atomically), then removes the journal.
pub(crate) fn finalize(
    dir: &Path,
    header: &JournalHeader,
    call: &Call,
    recovered: bool,
    device_gaps: Vec<DeviceGap>,
    notes: Vec<crate::sidecar::Note>,
) -> Result<Sidecar> {
    let rate = header.rate;
    let kept = call.outcome().outcome == Verdict::Kept;
    let recording = settle(dir, RECORDING, kept, rate)?;
    let mut receipts = Vec::new();
    for take in call.takes() {
        let rel = format!("{RECEIPTS}/{}", receipt_file_name(&take.order_id, take.seq));
        receipts.push(settle(dir, &rel, take.status == TakeStatus::Kept, rate)?);
    }
    let sidecar = build(
        header,
        call,
        recovered,
        recording,
        receipts,
        device_gaps,
        notes,
    );
    let path = dir.join(SIDECAR);
    let part = part_path(&path);
    let json = serde_json::to_vec_pretty(&sidecar).map_err(|e| RecorderError::Journal {
        path: path.clone(),
        why: e.to_string(),
    })?;
    std::fs::write(&part, json).map_err(RecorderError::io("writing", &part))?;
    complete(&part, &path)?;
    remove_if_exists(&dir.join(JOURNAL))?;
    Ok(sidecar)
}

/// Recovers a call folder left by a crash: repairs its WAV files (keeping every whole frame on
/// disk), replays its journal, ends the call where its audio ends, and completes the folder as
/// a normal recording (marked `recovered`). Returns `None` when there is nothing to recover.
pub fn recover(dir: &Path) -> Result<Option<Sidecar>> {
    let journal = dir.join(JOURNAL);
    if !journal.exists() {
        return Ok(None);
    }
    let Journaled {
        header,
        events,
        notes,
        gaps,
    } = Journal::read(&journal)?;
    let main_part = part_path(&dir.join(RECORDING));
    let main_frames = if main_part.exists() {
        Some(repair(&main_part)?)
    } else {
        None
    };
    let receipts = dir.join(RECEIPTS);
    if receipts.is_dir() {
        for entry in
            std::fs::read_dir(&receipts).map_err(RecorderError::io("listing", &receipts))?
        {
            let path = entry
                .map_err(RecorderError::io("listing", &receipts))?
                .path();
            if path.extension().is_some_and(|e| e == crate::wavfile::PART) {
                repair(&path)?;
            }
        }
    }
    let mut call = Call::new(header.policy);
    for line in &events {
        let _ = call.apply_numbered(line.i, line.e.t_ms, &line.e.event);
    }
    if call.phase() == Phase::InCall {
        let last_event = events.last().map_or(0, |line| line.e.t_ms);
        let audio_end = match (call.started_ms(), main_frames) {
            (Some(start), Some(frames)) => {
                ms_at(frame_at(start, header.rate) + frames, header.rate)
            }
            _ => 0,
        };
        let _ = call.apply(last_event.max(audio_end), &Event::CallEnded);
    }
    // What was journaled of the audio (masked keypad tones, mutes and holds that ended,
    // device gaps) is kept; a stretch still open at the crash is not noted.
    finalize(dir, &header, &call, true, gaps, notes).map(Some)
}
