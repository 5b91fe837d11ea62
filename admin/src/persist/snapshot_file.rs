//! Writing a snapshot file crash-safely, on the executor: the bytes go to
//! `snapshot-<epoch>-<seq>.bin.tmp`, are synced, renamed to their final name, and the
//! directory is synced, so a crash leaves either the whole new snapshot or none (a `.tmp` is
//! removed at the next start). Reading one back is [`read`] (at start, before any executor).

use std::path::{Path, PathBuf};

use glommio::io::{BufferedFile, Directory, OpenOptions};

use super::PersistError;
use super::layout;

/// Bytes written per write call.
const PIECE: usize = 1 << 20;

/// Writes `bytes` as the snapshot of `epoch` covering segments before `seq`; returns its path.
pub async fn write(
    dir: &Path,
    epoch: u64,
    seq: u64,
    bytes: &[u8],
) -> Result<PathBuf, PersistError> {
    let tmp = layout::temporary(dir, epoch, seq);
    let path = layout::snapshot(dir, epoch, seq);
    let file = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .buffered_open(&tmp)
        .await
        .map_err(|e| PersistError::io("create", &tmp, e))?;
    let result = write_synced(&file, bytes, &tmp).await;
    let _ = file.close().await;
    if let Err(e) = result {
        let _ = glommio::io::remove(&tmp).await;
        return Err(e);
    }
    glommio::io::rename(&tmp, &path)
        .await
        .map_err(|e| PersistError::io("rename", &tmp, e))?;
    sync_dir(dir).await?;
    Ok(path)
}

async fn write_synced(file: &BufferedFile, bytes: &[u8], path: &Path) -> Result<(), PersistError> {
    let mut pos = 0usize;
    for piece in bytes.chunks(PIECE) {
        let written = file
            .write_at(piece.to_vec(), pos as u64)
            .await
            .map_err(|e| PersistError::io("write", path, e))?;
        if written < piece.len() {
            return Err(PersistError::io(
                "write",
                path,
                format!(
                    "short write: {written} of {} bytes (is the disk full?)",
                    piece.len()
                ),
            ));
        }
        pos += written;
    }
    file.fdatasync()
        .await
        .map_err(|e| PersistError::io("sync", path, e))
}

/// Syncs the directory, making created, renamed and removed names durable.
pub async fn sync_dir(dir: &Path) -> Result<(), PersistError> {
    let handle = Directory::open(dir)
        .await
        .map_err(|e| PersistError::io("open", dir, e))?;
    let result = handle
        .sync()
        .await
        .map_err(|e| PersistError::io("sync", dir, e));
    let _ = handle.close().await;
    result
}

/// Removes a file (a superseded snapshot or segment).
pub async fn remove(path: &Path) -> Result<(), PersistError> {
    glommio::io::remove(path)
        .await
        .map_err(|e| PersistError::io("remove", path, e))
}

/// Reads a whole file (at start, on the main thread).
pub fn read(path: &Path) -> std::io::Result<Vec<u8>> {
    std::fs::read(path)
}
