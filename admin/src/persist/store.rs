//! Persistence on the admin core: the [`Journal`], snapshots when due, segment rotation and
//! clean-up, and the flush at shutdown. The writer of the filter appends here right after
//! applying (in the same synchronous step, so a snapshot never misses an applied record) and
//! acknowledges after [`Store::durable`].
//!
//! Segments are made ahead of need: a task keeps one spare segment, preallocated with zeros and
//! synced ([`segment::create_preallocated`]), offered to the journal, which moves to it when its
//! segment is full.
//!
//! A snapshot: take the spare segment, then — with no `await` in between — copy the filter
//! (`Writer::snapshot`) and switch the journal to it; write the snapshot file; keep the two
//! newest snapshots and the segments the older of them needs; delete the rest.

use std::cell::RefCell;
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use bloom::Writer;

use super::journal::{Journal, JournalError, Spare, Ticket};
use super::layout;
use super::recover::{Layout, SnapshotName};
use super::{PersistError, segment, snapshot_file};

/// When a snapshot is due besides each epoch change, and how big a segment is made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Policy {
    /// A snapshot after this long with new records.
    pub interval: Duration,
    /// A snapshot after this many new records.
    pub records: u64,
    /// Bytes of zeros a new segment is made with (the journal moves on to the next segment
    /// when they are used up).
    pub segment_bytes: u64,
}

impl Default for Policy {
    fn default() -> Policy {
        Policy {
            interval: Duration::from_secs(300),
            records: 1_000_000,
            segment_bytes: SEGMENT_BYTES,
        }
    }
}

/// The default size of a segment: 300,000 records of a 40-byte key, 6 s of the revoker's
/// 50,000 revocations/s with persistence on; made in 20–40 ms of background disk writes.
pub const SEGMENT_BYTES: u64 = 16 << 20;

/// How long the spare maker waits after a failure before it tries again: doubled after each
/// failure in a row, up to [`SPARE_RETRY_MAX`] (a full disk logs a line a minute, not a second).
const SPARE_RETRY: Duration = Duration::from_secs(1);
const SPARE_RETRY_MAX: Duration = Duration::from_secs(60);

/// How often the snapshot task looks.
const SNAPSHOT_TICK: Duration = Duration::from_millis(500);

#[derive(Debug)]
struct State {
    layout: Layout,
    last_snapshot: Instant,
    records_at_snapshot: u64,
    epoch_at_snapshot: u64,
    snapshotting: bool,
}

/// The persistence of one filter. Lives on its writer's runtime (`Rc`).
#[derive(Debug)]
pub struct Store {
    dir: PathBuf,
    journal: Rc<Journal>,
    state: RefCell<State>,
    policy: Policy,
}

impl Store {
    /// Continues after recovery: starts segment `layout.next_seq` (plain, so that start-up
    /// does not wait for preallocation), its flusher, and the task that makes spare segments.
    /// Call on the runtime that owns the filter's writer; `epoch` is the writer's current
    /// epoch.
    pub async fn open(
        dir: &Path,
        mut layout: Layout,
        epoch: u64,
        policy: Policy,
    ) -> Result<Rc<Store>, PersistError> {
        let seq = layout.next_seq;
        let path = layout::segment(dir, seq);
        let file = segment::create(&path)
            .await
            .map_err(|e| PersistError::io("create", &path, e))?;
        snapshot_file::sync_dir(dir).await?;
        layout.segments.push(seq);
        layout.next_seq = seq + 1;
        let store = Rc::new(Store {
            dir: dir.to_path_buf(),
            journal: Journal::start(file),
            state: RefCell::new(State {
                layout,
                last_snapshot: Instant::now(),
                records_at_snapshot: 0,
                epoch_at_snapshot: epoch,
                snapshotting: false,
            }),
            policy,
        });
        drop(event::spawn(Rc::clone(&store).make_spares()));
        Ok(store)
    }

    /// Keeps one spare segment ready for the journal until the journal closes (the last
    /// snapshot at shutdown takes one too). A failure is logged, told to the journal (a
    /// snapshot waiting for the spare fails with it) and retried later. A spare the closed
    /// journal hands back is cut to nothing.
    async fn make_spares(self: Rc<Self>) {
        let mut retry = SPARE_RETRY;
        while self.journal.spare_wanted().await {
            match self.make_spare().await {
                Ok(spare) => {
                    if let Err(unused) = self.journal.offer_spare(spare) {
                        unused.file.close(0).await;
                    }
                    retry = SPARE_RETRY;
                }
                Err(e) => {
                    eprintln!(
                        "bloomgate: persistence: warning: {e}; trying again in {}s",
                        retry.as_secs()
                    );
                    self.journal.spare_failed(e.to_string());
                    event::sleep(retry).await;
                    retry = (retry * 2).min(SPARE_RETRY_MAX);
                }
            }
        }
    }

    /// Creates segment `next_seq`, preallocated, and makes its name durable. A segment whose
    /// zeros could not be written is still used, as a plain one.
    async fn make_spare(&self) -> Result<Spare, PersistError> {
        let seq = self.state.borrow().layout.next_seq;
        let path = layout::segment(&self.dir, seq);
        let (file, unallocated) = segment::create_preallocated(&path, self.policy.segment_bytes)
            .await
            .map_err(|e| PersistError::io("create", &path, e))?;
        {
            // The file exists: it is part of the log from now on (empty, until used).
            let mut state = self.state.borrow_mut();
            state.layout.segments.push(seq);
            state.layout.next_seq = seq + 1;
        }
        if let Some(reason) = unallocated {
            eprintln!(
                "bloomgate: persistence: warning: {reason}; the segment grows as it is written"
            );
        }
        snapshot_file::sync_dir(&self.dir).await?;
        Ok(Spare { seq, file })
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
            event::sleep(Duration::from_millis(5)).await;
        }
        let result = self.snapshot_inner(writer).await;
        self.state.borrow_mut().snapshotting = false;
        result
    }

    async fn snapshot_inner(&self, writer: &RefCell<Writer>) -> Result<PathBuf, PersistError> {
        let Spare { seq, file } = self.journal.take_spare().await?;
        // No await from here to the switch: the snapshot holds exactly the records before it.
        let (bytes, epoch) = {
            let writer = writer.borrow();
            (writer.snapshot(), writer.current_epoch())
        };
        self.journal.switch(file)?;
        let records = self.journal.records();
        let written = snapshot_file::write(&self.dir, epoch, seq, bytes).await?;
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
        if !doomed.is_empty() {
            for e in snapshot_file::remove(doomed).await {
                eprintln!("bloomgate: persistence: warning: {e}");
            }
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
            event::sleep(SNAPSHOT_TICK).await;
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
