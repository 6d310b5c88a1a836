//! Uploading one recorded call, resumably.

use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use callrec_protocol::sidecar::Sidecar;
use callrec_protocol::{
    ErrorBody, FileKind, ManifestFile, UPLOAD_OFFSET, UploadManifest, UploadState, paths,
};
use reqwest::StatusCode;

use crate::client::{Client, ok};
use crate::error::{Result, UploadError};

/// Bytes sent per request.
const CHUNK: usize = 4 * 1024 * 1024;

/// Progress of an upload, reported after each chunk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Progress {
    /// Bytes the store holds.
    pub sent: u64,
    /// Bytes in all.
    pub total: u64,
}

/// A finished upload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Uploaded {
    /// The store's final state of the call.
    pub state: UploadState,
    /// Bytes this attempt sent (less than the total when it resumed).
    pub sent_now: u64,
}

/// The manifest of a recorded call folder, and the local path of each file in order.
pub fn manifest_for(dir: &Path) -> Result<(UploadManifest, Vec<PathBuf>)> {
    let path = dir.join("recording.json");
    let text = std::fs::read_to_string(&path).map_err(UploadError::local(&path))?;
    let sidecar_value: serde_json::Value = serde_json::from_str(&text).map_err(|e| {
        UploadError::local(&path)(std::io::Error::new(std::io::ErrorKind::InvalidData, e))
    })?;
    let sidecar: Sidecar = serde_json::from_value(sidecar_value.clone()).map_err(|e| {
        UploadError::local(&path)(std::io::Error::new(std::io::ErrorKind::InvalidData, e))
    })?;
    let mut files = Vec::new();
    let mut paths = Vec::new();
    if let Some(f) = &sidecar.recording {
        files.push(ManifestFile {
            kind: FileKind::Recording,
            order_id: None,
            seq: None,
            bytes: f.bytes,
            sha256: f.sha256.clone(),
        });
        paths.push(dir.join(&f.file));
    }
    for r in &sidecar.receipts {
        if let Some(f) = &r.file {
            files.push(ManifestFile {
                kind: FileKind::Receipt,
                order_id: Some(r.take.order_id.clone()),
                seq: Some(r.take.seq),
                bytes: f.bytes,
                sha256: f.sha256.clone(),
            });
            paths.push(dir.join(&f.file));
        }
    }
    Ok((
        UploadManifest {
            sidecar: sidecar_value,
            files,
        },
        paths,
    ))
}

impl Client {
    /// Uploads the call in `dir` (a folder written by the recorder), resuming wherever the store
    /// already is. Returns once the store has verified and stored every file.
    pub async fn upload_call(
        &self,
        dir: &Path,
        mut progress: impl FnMut(Progress),
    ) -> Result<Uploaded> {
        let (manifest, files) = manifest_for(dir)?;
        let sidecar: Sidecar =
            serde_json::from_value(manifest.sidecar.clone()).map_err(|e| UploadError::Refused {
                code: "invalid_sidecar".into(),
                message: e.to_string(),
            })?;
        let id = sidecar.info.call_id;
        let resp = self
            .authed(self.http.put(self.url(&paths::call(&id))))
            .json(&manifest)
            .send()
            .await?;
        let mut state: UploadState = ok(resp).await?.json().await?;
        let total: u64 = state.files.iter().map(|f| f.bytes).sum();
        let mut sent_now = 0;
        for (index, path) in files.iter().enumerate() {
            let mut offset = state.files.get(index).map_or(0, |f| f.received);
            let bytes = state.files.get(index).map_or(0, |f| f.bytes);
            let mut file = std::fs::File::open(path).map_err(UploadError::local(path))?;
            let mut buf = vec![0u8; CHUNK];
            while offset < bytes && !state.complete {
                file.seek(SeekFrom::Start(offset))
                    .map_err(UploadError::local(path))?;
                let want = usize::try_from((bytes - offset).min(CHUNK as u64)).unwrap_or(CHUNK);
                file.read_exact(&mut buf[..want])
                    .map_err(UploadError::local(path))?;
                let resp = self
                    .authed(self.http.patch(self.url(&paths::call_file(&id, index))))
                    .header(UPLOAD_OFFSET, offset)
                    .header(
                        reqwest::header::CONTENT_TYPE,
                        "application/offset+octet-stream",
                    )
                    .body(buf[..want].to_vec())
                    .send()
                    .await?;
                if resp.status() == StatusCode::CONFLICT {
                    // The store holds a different amount (an earlier attempt got further, or a
                    // chunk was lost): continue from where it says.
                    let body: Option<ErrorBody> = resp.json().await.ok();
                    match body.and_then(|b| b.error.offset) {
                        Some(held) => {
                            offset = held;
                            continue;
                        }
                        None => {
                            return Err(UploadError::Transient(
                                "the store is busy with this call".into(),
                            ));
                        }
                    }
                }
                state = ok(resp).await?.json().await?;
                sent_now += want as u64;
                offset = state
                    .files
                    .get(index)
                    .map_or(offset + want as u64, |f| f.received);
                progress(Progress {
                    sent: state.files.iter().map(|f| f.received).sum(),
                    total,
                });
            }
        }
        if !state.complete {
            // Every byte was already there (a retry after the last chunk landed): ask again.
            let resp = self
                .authed(self.http.put(self.url(&paths::call(&id))))
                .json(&manifest)
                .send()
                .await?;
            state = ok(resp).await?.json().await?;
        }
        if !state.complete {
            return Err(UploadError::Transient(
                "the store has not confirmed the call yet".into(),
            ));
        }
        Ok(Uploaded { state, sent_now })
    }
}
