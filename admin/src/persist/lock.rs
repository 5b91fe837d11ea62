//! One process per persistence directory: an exclusive lock on `DIR/LOCK`, taken before
//! recovery touches anything and held while the process runs. The kernel releases it when the
//! process exits, however it exits (`kill -9` included), so a restart never finds a stale lock.
//! Two processes appending to one journal, or one truncating a "torn" tail the other is still
//! writing, would lose acknowledged revocations; the second one exits with the reason instead.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{self, Read as _, Seek as _, Write as _};
use std::path::{Path, PathBuf};

/// The lock file's name in the directory (it holds the owner's pid, for the error message).
pub const LOCK_FILE: &str = "LOCK";

/// The held lock; dropping it releases it.
#[derive(Debug)]
pub struct DirLock {
    _file: File,
}

/// Why the directory could not be locked.
#[derive(Debug, thiserror::Error)]
pub enum LockError {
    /// Another process holds it.
    #[error(
        "{} is in use by another bloomgate process{}: each gateway and revoker needs its own persistence dir",
        dir.display(),
        holder.map(|pid| format!(" (pid {pid})")).unwrap_or_default()
    )]
    InUse {
        /// The directory.
        dir: PathBuf,
        /// The pid the holder wrote, if readable.
        holder: Option<u32>,
    },
    /// The directory or the lock file could not be created or locked.
    #[error("cannot lock {}: {source}", path.display())]
    Io {
        /// The path.
        path: PathBuf,
        /// The system's error.
        source: io::Error,
    },
}

impl DirLock {
    /// Locks `dir` (created if missing) for this process, or says who holds it.
    pub fn acquire(dir: &Path) -> Result<DirLock, LockError> {
        let io = |path: &Path| {
            let path = path.to_path_buf();
            move |source| LockError::Io { path, source }
        };
        std::fs::create_dir_all(dir).map_err(io(dir))?;
        let path = dir.join(LOCK_FILE);
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(io(&path))?;
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                // A pid is a few digits; whatever else the file holds is not read.
                let mut text = String::new();
                let holder = (&file)
                    .take(32)
                    .read_to_string(&mut text)
                    .ok()
                    .and_then(|_| text.trim().parse().ok());
                return Err(LockError::InUse {
                    dir: dir.to_path_buf(),
                    holder,
                });
            }
            Err(TryLockError::Error(e)) => return Err(io(&path)(e)),
        }
        // The pid is for the message above only; failing to write it changes nothing.
        let _ = file
            .set_len(0)
            .and_then(|()| file.rewind())
            .and_then(|()| writeln!(file, "{}", std::process::id()));
        Ok(DirLock { _file: file })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::persist::testing::Scratch;

    #[test]
    fn a_second_holder_is_refused_until_the_first_lets_go() {
        let scratch = Scratch::new("dir-lock");
        let dir = scratch.path().join("state");
        let first = DirLock::acquire(&dir).expect("the first lock");
        match DirLock::acquire(&dir) {
            Err(LockError::InUse { holder, .. }) => {
                assert_eq!(holder, Some(std::process::id()));
            }
            other => panic!("expected InUse, got {other:?}"),
        }
        drop(first);
        DirLock::acquire(&dir).expect("free again once the first is dropped");
    }
}
