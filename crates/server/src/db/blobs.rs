//! Audio files under the data folder.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use super::{BlobReader, BlobStore};
use crate::error::{AppError, Result};

/// Blobs as files below a root folder. Keys are built by the store from call ids and
/// indices only, never from client strings.
#[derive(Debug, Clone)]
pub struct FsBlobs {
    root: PathBuf,
}

impl FsBlobs {
    /// Blobs under `root` (created if missing).
    pub fn open(root: &Path) -> Result<Self> {
        std::fs::create_dir_all(root)?;
        Ok(Self {
            root: root.to_owned(),
        })
    }

    fn path(&self, key: &str) -> Result<PathBuf> {
        if key
            .split('/')
            .any(|part| part.is_empty() || part == "." || part == "..")
        {
            return Err(AppError::Internal(format!("bad blob key {key:?}")));
        }
        Ok(self.root.join(key))
    }
}

impl BlobStore for FsBlobs {
    fn write_at(&self, key: &str, offset: u64, bytes: &[u8]) -> Result<u64> {
        let path = self.path(key)?;
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let mut file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)?;
        // Bytes past `offset` were never acknowledged (a crash between write and commit).
        file.set_len(offset)?;
        file.seek(SeekFrom::Start(offset))?;
        file.write_all(bytes)?;
        file.sync_data()?;
        Ok(offset + bytes.len() as u64)
    }

    fn sha256(&self, key: &str) -> Result<String> {
        let mut file = File::open(self.path(key)?)?;
        let mut hasher = Sha256::new();
        let mut buf = vec![0u8; 256 * 1024];
        loop {
            let n = file.read(&mut buf)?;
            if n == 0 {
                break;
            }
            hasher.update(&buf[..n]);
        }
        Ok(hex::encode(hasher.finalize()))
    }

    fn rename(&self, from: &str, to: &str) -> Result<()> {
        let to = self.path(to)?;
        if let Some(dir) = to.parent() {
            std::fs::create_dir_all(dir)?;
        }
        std::fs::rename(self.path(from)?, &to)?;
        Ok(())
    }

    fn open_range(&self, key: &str, start: u64, len: u64) -> Result<BlobReader> {
        let mut file = File::open(self.path(key)?)?;
        file.seek(SeekFrom::Start(start))?;
        let file = tokio::fs::File::from_std(file);
        Ok(Box::pin(tokio::io::AsyncReadExt::take(file, len)))
    }

    fn head(&self, key: &str, len: u64) -> Result<Vec<u8>> {
        let mut head = Vec::new();
        File::open(self.path(key)?)?
            .take(len)
            .read_to_end(&mut head)?;
        Ok(head)
    }

    fn copy_to(&self, key: &str, out: &mut dyn std::io::Write) -> Result<u64> {
        let mut file = File::open(self.path(key)?)?;
        Ok(std::io::copy(&mut file, out)?)
    }

    fn delete(&self, key: &str) -> Result<()> {
        match std::fs::remove_file(self.path(key)?) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e.into()),
            _ => Ok(()),
        }
    }
}
