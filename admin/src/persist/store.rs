//! Persistence on the admin core: the [`Journal`], snapshots when due, segment rotation and
//! clean-up, and the flush at shutdown. The writer of the filter appends here right after
//! applying (in the same synchronous step, so a snapshot never misses an applied record) and
//! acknowledges after [`Store::durable`].
//!
//! A snapshot: open the next segment, then — with no `await` in between — copy the filter
//! (`Writer::snapshot`) and switch the journal to the new segment; write the snapshot file;
//! keep the two newest snapshots and the segments the older of them needs; delete the rest.

use std::cell::RefCell;
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use bloom::Writer;

use super::journal::{self, Journal, JournalError, Ticket};
use super::layout;
use super::recover::{Layout, SnapshotName};
use super::{PersistError, snapshot_file};

/// When a snapshot is due besides each epoch change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SnapshotPolicy {
    /// After this long with new records.
    pub interval: Duration,
    /// After this many new records.
    pub records: u64,
}

impl Default for SnapshotPolicy {
    fn default() -> SnapshotPolicy {
        SnapshotPolicy {
            interval: Duration::from_secs(300),
            records: 1_000_000,
        }
    }
}

/// How often the snapshot task looks.
const SNAPSHOT_TICK: Duration = Duration::from_millis(500);

#[derive(Debug)]
struct State {
    layout: Layout,
    /// The segment being appended to.
    current: u64,
    last_snapshot: Instant,
    records_at_snapshot: u64,
    epoch_at_snapshot: u64,
    snapshotting: bool,
}

/// The persistence of one filter. Lives on its writer's executor (`Rc`).
#[derive(Debug)]
pub struct Store {
    dir: PathBuf,
    journal: Rc<Journal>,
    state: RefCell<State>,
    policy: SnapshotPolicy,
}

impl Store {
    /// Continues after recovery: starts segment `layout.next_seq` and its flusher. Call on the
    /// executor that owns the filter's writer; `epoch` is the writer's current epoch.
    pub async fn open(
        dir: &Path,
        mut layout: Layout,
        epoch: u64,
        policy: SnapshotPolicy,
    ) -> Result<Rc<Store>, PersistError> {
        let seq = layout.next_seq;
        let path = layout::segment(dir, seq);
        let file = journal::create_segment(&path)
            .await
            .map_err(|e| PersistError::io("create", &path, e))?;
        snapshot_file::sync_dir(dir).await?;
        layout.segments.push(seq);
        layout.next_seq = seq + 1;
        Ok(Rc::new(Store {
            dir: dir.to_path_buf(),
            journal: Journal::start(file),
            state: RefCell::new(State {
                layout,
                current: seq,
                last_snapshot: Instant::now(),
                records_at_snapshot: 0,
                epoch_at_snapshot: epoch,
                snapshotting: false,
            }),
            policy,
        }))
    }

    /// `Err` once the journal has failed: refuse a revocation before applying it.
    pub fn check(&self) -> Result<(), JournalError> {
        self.journal.check()
    }

    /// Logs `keys`, revoked (applied) at `time`.
    pub fn append<K: AsRef<[u8]>>(&self, keys: &[K], time: u64) -> Result<Ticket, JournalError> {
        self.journal.append(keys, time)
    }

    /// Waits until `ticket` is on disk.
    pub async fn durable(&self, ticket: Ticket) -> Result<(), JournalError> {
        self.journal.durable(ticket).await
    }

    /// Takes a snapshot now (see the module doc). Returns its path.
    pub async fn snapshot(&self, writer: &RefCell<Writer>) -> Result<PathBuf, PersistError> {
        self.journal.check()?;
        // One at a time: a second caller waits for the first, then takes its own (it must
        // cover what it applied).
        while std::mem::replace(&mut self.state.borrow_mut().snapshotting, true) {
            glommio::timer::sleep(Duration::from_millis(5)).await;
        }
        let result = self.snapshot_inner(writer).await;
        self.state.borrow_mut().snapshotting = false;
        result
    }

    async fn snapshot_inner(&self, writer: &RefCell<Writer>) -> Result<PathBuf, PersistError> {
        let seq = self.state.borrow().layout.next_seq;
        let path = layout::segment(&self.dir, seq);
        let file = journal::create_segment(&path)
            .await
            .map_err(|e| PersistError::io("create", &path, e))?;
        snapshot_file::sync_dir(&self.dir).await?;
        // No await from here to the switch: the snapshot holds exactly the records before it.
        let (bytes, epoch) = {
            let writer = writer.borrow();
            (writer.snapshot(), writer.current_epoch())
        };
        self.journal.switch(file)?;
        let records = self.journal.records();
        {
            let mut state = self.state.borrow_mut();
            state.layout.segments.push(seq);
            state.layout.next_seq = seq + 1;
            state.current = seq;
        }
        let written = snapshot_file::write(&self.dir, epoch, seq, &bytes).await?;
        drop(bytes);
        let doomed = {
            let mut state = self.state.borrow_mut();
            state.last_snapshot = Instant::now();
            state.records_at_snapshot = records;
            state.epoch_at_snapshot = epoch;
            state.layout.snapshots.push(SnapshotName { seq, epoch });
            state.layout.snapshots.sort();
            let snapshots = &mut state.layout.snapshots;
            let keep_from = snapshots.len().saturating_sub(2);
            let old: Vec<SnapshotName> = snapshots.drain(..keep_from).collect();
            // The older kept snapshot needs its segments; everything before it can go.
            let needed = snapshots.first().map_or(seq, |s| s.seq);
            let mut doomed: Vec<PathBuf> = old
                .iter()
                .map(|s| layout::snapshot(&self.dir, s.epoch, s.seq))
                .collect();
            let segments = &mut state.layout.segments;
            doomed.extend(
                segments
                    .iter()
                    .filter(|&&s| s < needed)
                    .map(|&s| layout::segment(&self.dir, s)),
            );
            segments.retain(|&s| s >= needed);
            doomed
        };
        for path in &doomed {
            if let Err(e) = snapshot_file::remove(path).await {
                eprintln!("bloomgate: persistence: warning: {e}");
            }
        }
        if !doomed.is_empty() {
            snapshot_file::sync_dir(&self.dir).await?;
        }
        Ok(written)
    }

    /// Whether a snapshot is due: the epoch changed, or enough records or time went by.
    fn due(&self, epoch: u64) -> bool {
        let state = self.state.borrow();
        let new = self.journal.records() - state.records_at_snapshot;
        epoch != state.epoch_at_snapshot
            || new >= self.policy.records
            || (new > 0 && state.last_snapshot.elapsed() >= self.policy.interval)
    }

    /// Takes snapshots when due until `shutdown`. A failed snapshot is logged and retried at
    /// the next interval: the journal still holds everything.
    pub async fn snapshot_until(
        self: Rc<Self>,
        writer: Rc<RefCell<Writer>>,
        shutdown: Arc<AtomicBool>,
    ) {
        while !shutdown.load(Ordering::Relaxed) {
            glommio::timer::sleep(SNAPSHOT_TICK).await;
            let epoch = writer.borrow().current_epoch();
            if self.due(epoch)
                && self.journal.check().is_ok()
                && let Err(e) = self.snapshot(&writer).await
            {
                eprintln!("bloomgate: persistence: warning: snapshot failed: {e}");
                // Do not retry at every tick.
                let mut state = self.state.borrow_mut();
                state.last_snapshot = Instant::now();
                state.records_at_snapshot = self.journal.records();
                state.epoch_at_snapshot = epoch;
            }
        }
    }

    /// At shutdown: syncs everything appended, takes a last snapshot (so the next start
    /// replays nothing), stops the journal.
    pub async fn close(&self, writer: &RefCell<Writer>) -> Result<(), PersistError> {
        self.journal.durable(self.journal.last()).await?;
        let snapshot = if self.journal.records() > self.state.borrow().records_at_snapshot {
            self.snapshot(writer).await.map(|_| ())
        } else {
            Ok(())
        };
        self.journal.close().await?;
        snapshot
    }
}

#[cfg(test)]
mod tests;
