//! Persistence (`bloomgate/persistence`): every acknowledged revocation is on disk before it is
//! acknowledged, and a restart — even after `kill -9` — restores the filter before serving.
//!
//! One job per file:
//! - [`record`]: a journal record (`[len][check][unix seconds][key]`), sans-io.
//! - [`layout`]: the directory's file names.
//! - [`lock`]: one process per directory (an exclusive lock held while it runs).
//! - [`segment`]: one log file, preallocated with zeros so that a sync only overwrites.
//! - [`journal`]: the log with group commit on the executor (many revocations, one fsync).
//! - [`snapshot_file`]: a snapshot written crash-safely (tmp, sync, rename, sync dir).
//! - [`recover`]: at start, the newest valid snapshot plus the log after it, torn tail cut.
//! - [`store`]: ties them together on the admin core: appends, snapshots when due, segment
//!   rotation and clean-up, the flush at shutdown.
//!
//! The format is in `docs/PERSISTENCE.md`.

pub mod journal;
pub mod layout;
pub mod lock;
pub mod record;
pub mod recover;
pub mod segment;
pub mod snapshot_file;
pub mod store;
#[cfg(test)]
mod testing;

use std::fmt::Display;
use std::path::{Path, PathBuf};

pub use journal::{JournalError, Ticket};
pub use recover::{RecoverError, RecoverOptions, Recovered};
pub use store::Store;

/// A file operation failed while running.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PersistError {
    /// An I/O call on `path` failed.
    #[error("cannot {op} {}: {reason}", path.display())]
    Io {
        /// What was being done.
        op: &'static str,
        /// On what.
        path: PathBuf,
        /// The system's error.
        reason: String,
    },
    /// The journal has failed.
    #[error(transparent)]
    Journal(#[from] JournalError),
}

impl PersistError {
    fn io(op: &'static str, path: &Path, reason: impl Display) -> PersistError {
        PersistError::Io {
            op,
            path: path.to_path_buf(),
            reason: reason.to_string(),
        }
    }
}
