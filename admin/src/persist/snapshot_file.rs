//! Writing a snapshot file crash-safely, on a blocking thread (`event::blocking`): the bytes
//! go to `snapshot-<epoch>-<seq>.bin.tmp`, are synced, renamed to their final name, and the
//! directory is synced, so a crash leaves either the whole new snapshot or none (a `.tmp` is
//! removed at the next start). Reading one back is [`read`] (at start, before any runtime).

use std::io::Write as _;
use std::path::{Path, PathBuf};

use super::PersistError;
use super::layout;

/// Writes `bytes` as the snapshot of `epoch` covering segments before `seq`; returns its path.
pub async fn write(
    dir: &Path,
    epoch: u64,
    seq: u64,
    bytes: impl std::ops::Deref<Target = [u8]> + Send + 'static,
) -> Result<PathBuf, PersistError> {
    let dir = dir.to_path_buf();
    event::blocking(move || {
        let tmp = layout::temporary(&dir, epoch, seq);
        let path = layout::snapshot(&dir, epoch, seq);
        if let Err(e) = write_synced(&tmp, &bytes) {
            let _ = std::fs::remove_file(&tmp);
            return Err(e);
        }
        std::fs::rename(&tmp, &path).map_err(|e| PersistError::io("rename", &tmp, e))?;
        sync_dir_now(&dir)?;
        Ok(path)
    })
    .await
}

fn write_synced(path: &Path, bytes: &[u8]) -> Result<(), PersistError> {
    let mut file = std::fs::File::create(path).map_err(|e| PersistError::io("create", path, e))?;
    file.write_all(bytes).map_err(|e| {
        let reason = match e.kind() {
            std::io::ErrorKind::WriteZero => {
                format!("short write of {} bytes (is the disk full?)", bytes.len())
            }
            _ => e.to_string(),
        };
        PersistError::io("write", path, reason)
    })?;
    file.sync_data()
        .map_err(|e| PersistError::io("sync", path, e))
}

/// Syncs the directory, making created, renamed and removed names durable.
pub async fn sync_dir(dir: &Path) -> Result<(), PersistError> {
    let dir = dir.to_path_buf();
    event::blocking(move || sync_dir_now(&dir)).await
}

fn sync_dir_now(dir: &Path) -> Result<(), PersistError> {
    std::fs::File::open(dir)
        .and_then(|handle| handle.sync_all())
        .map_err(|e| PersistError::io("sync", dir, e))
}

/// Removes files (superseded snapshots and segments); returns the failures.
pub async fn remove(paths: Vec<PathBuf>) -> Vec<PersistError> {
    event::blocking(move || {
        paths
            .iter()
            .filter_map(|path| {
                std::fs::remove_file(path)
                    .err()
                    .map(|e| PersistError::io("remove", path, e))
            })
            .collect()
    })
    .await
}

/// Reads a whole file (at start, on the main thread).
pub fn read(path: &Path) -> std::io::Result<Vec<u8>> {
    std::fs::read(path)
}
