//! Groups handed to the sync thread by the loop (`PROBE_GROUPS=handover`, `cohort`).

use std::cell::RefCell;
use std::fs::File;
use std::future::Future as _;
use std::os::unix::fs::FileExt as _;
use std::os::unix::fs::OpenOptionsExt as _;
use std::path::PathBuf;
use std::rc::Rc;
use std::sync::{Arc, Mutex, mpsc};
use std::task::{Poll, Waker};

use super::{lock, preallocated};

/// The unit of a write-through (`PROBE_WRITE_THROUGH=1`).
const BLOCK: usize = 4096;

/// Group commit through a sync thread: the loop hands it what was appended, waits for the
/// sync to return, wakes the revocations it covered, and hands over what was appended meanwhile.
pub struct Journal {
    inner: RefCell<JournalInner>,
    /// Groups to the sync thread: bytes, and the ticket they make durable.
    to_sync: mpsc::Sender<(Vec<u8>, u64)>,
    /// The sync thread's answer and the waker of the flusher waiting for it.
    synced: Arc<Mutex<Synced>>,
}

#[derive(Default)]
struct JournalInner {
    buffer: Vec<u8>,
    /// Records in `buffer`.
    records: usize,
    appended: u64,
    durable: u64,
    /// Revocations waiting for their ticket to be durable.
    waiters: Vec<(u64, Waker)>,
    flusher: Option<Waker>,
}

#[derive(Default)]
struct Synced {
    /// The ticket made durable, or the error.
    ticket: Option<Result<u64, String>>,
    waker: Option<Waker>,
}

impl Journal {
    /// A journal in a new preallocated file at `path`, with its sync thread started.
    pub fn open(path: PathBuf) -> Result<Rc<Journal>, String> {
        let what = |e: std::io::Error| format!("{}: {e}", path.display());
        drop(preallocated(&path)?);
        let through = std::env::var_os("PROBE_WRITE_THROUGH").is_some();
        let file = File::options()
            .write(true)
            .custom_flags(if through {
                libc::O_DIRECT | libc::O_DSYNC
            } else {
                0
            })
            .open(&path)
            .map_err(what)?;
        let (to_sync, groups) = mpsc::channel::<(Vec<u8>, u64)>();
        let synced = Arc::new(Mutex::new(Synced::default()));
        let answer = Arc::clone(&synced);
        std::thread::Builder::new()
            .name("probe-sync".into())
            .spawn(move || sync_loop(&groups, &answer, &file, through))
            .map_err(|e| e.to_string())?;
        Ok(Rc::new(Journal {
            inner: RefCell::new(JournalInner::default()),
            to_sync,
            synced,
        }))
    }

    /// Buffers a record of `key` (length, key, checksum) and returns its ticket.
    pub fn append(&self, key: &[u8]) -> u64 {
        let len = u16::try_from(key.len()).unwrap_or(u16::MAX);
        let sum = xxhash_rust::xxh3::xxh3_64(key) as u32;
        let mut inner = self.inner.borrow_mut();
        inner.buffer.extend_from_slice(&len.to_le_bytes());
        inner.buffer.extend_from_slice(&key[..usize::from(len)]);
        inner.buffer.extend_from_slice(&sum.to_le_bytes());
        inner.appended += 1;
        inner.records += 1;
        if let Some(w) = inner.flusher.take() {
            w.wake();
        }
        inner.appended
    }

    /// Waits until `ticket` is on disk.
    pub async fn durable(&self, ticket: u64) {
        std::future::poll_fn(|cx| {
            let mut inner = self.inner.borrow_mut();
            if inner.durable >= ticket {
                return Poll::Ready(());
            }
            inner.waiters.push((ticket, cx.waker().clone()));
            Poll::Pending
        })
        .await;
    }

    /// Hands each group to the sync thread, waits for it, wakes the revocations it covered;
    /// before the next group, waits as the environment says (see the crate doc).
    pub async fn flush_loop(self: Rc<Journal>) {
        let gather = std::env::var("PROBE_GATHER_US")
            .ok()
            .and_then(|g| g.parse::<u64>().ok())
            .map(std::time::Duration::from_micros);
        let cohort = std::env::var("PROBE_GROUPS").is_ok_and(|g| g == "cohort");
        let mut acked = 0usize;
        let mut last_sync = std::time::Duration::ZERO;
        loop {
            if let Some(gather) = gather {
                event::sleep(gather).await;
            }
            if cohort && acked > 0 {
                // Wait for the revocations just acknowledged to come back (as many records
                // as were acknowledged), for at most as long as the last sync took.
                let mut timer = Box::pin(event::sleep(last_sync));
                std::future::poll_fn(|cx| {
                    let mut inner = self.inner.borrow_mut();
                    if inner.records >= acked {
                        return Poll::Ready(());
                    }
                    if timer.as_mut().poll(cx).is_ready() {
                        return Poll::Ready(());
                    }
                    inner.flusher = Some(cx.waker().clone());
                    Poll::Pending
                })
                .await;
            }
            let (bytes, last) = std::future::poll_fn(|cx| {
                let mut inner = self.inner.borrow_mut();
                if inner.buffer.is_empty() {
                    inner.flusher = Some(cx.waker().clone());
                    return Poll::Pending;
                }
                let bytes = std::mem::take(&mut inner.buffer);
                inner.records = 0;
                Poll::Ready((bytes, inner.appended))
            })
            .await;
            let handed = std::time::Instant::now();
            if self.to_sync.send((bytes, last)).is_err() {
                return;
            }
            let result = std::future::poll_fn(|cx| {
                let mut synced = lock(&self.synced);
                match synced.ticket.take() {
                    Some(result) => Poll::Ready(result),
                    None => {
                        synced.waker = Some(cx.waker().clone());
                        Poll::Pending
                    }
                }
            })
            .await;
            last_sync = handed.elapsed();
            let Ok(durable) = result else {
                eprintln!("revoker_probe: sync failed");
                std::process::exit(1);
            };
            let woken: Vec<Waker> = {
                let mut inner = self.inner.borrow_mut();
                inner.durable = durable;
                inner
                    .waiters
                    .extract_if(.., |(t, _)| *t <= durable)
                    .map(|(_, w)| w)
                    .collect()
            };
            acked = woken.len();
            woken.into_iter().for_each(Waker::wake);
        }
    }
}

/// The sync thread: writes and syncs each group it is handed, answers with its ticket.
/// Prints the mean group and sync time every 20,000 groups.
fn sync_loop(
    groups: &mpsc::Receiver<(Vec<u8>, u64)>,
    answer: &Mutex<Synced>,
    file: &File,
    through: bool,
) {
    let mut pos = 0u64;
    // Write-through: whole 4 KiB blocks from an aligned buffer, the block holding the
    // previous end rewritten with the bytes it holds.
    let mut aligned = vec![0u8; (8 << 20) + BLOCK];
    let at = aligned.as_ptr().align_offset(BLOCK);
    let mut tail: Vec<u8> = Vec::new();
    let (mut n, mut busy, mut records, mut last_ticket) = (0u64, 0f64, 0u64, 0u64);
    for (group, ticket) in groups {
        let began = std::time::Instant::now();
        let result = if through && tail.len() + group.len() <= aligned.len() - BLOCK {
            let start = pos - tail.len() as u64;
            let len = tail.len() + group.len();
            let padded = len.div_ceil(BLOCK) * BLOCK;
            let out = &mut aligned[at..at + padded];
            out[..tail.len()].copy_from_slice(&tail);
            out[tail.len()..len].copy_from_slice(&group);
            out[len..].fill(0);
            let keep = ((pos + group.len() as u64) % BLOCK as u64) as usize;
            tail.clear();
            tail.extend_from_slice(&out[len - keep..len]);
            file.write_all_at(out, start)
        } else {
            file.write_all_at(&group, pos)
                .and_then(|()| file.sync_data())
        };
        pos += group.len() as u64;
        let waker = {
            let mut synced = lock(answer);
            synced.ticket = Some(result.map(|()| ticket).map_err(|e| e.to_string()));
            synced.waker.take()
        };
        if let Some(w) = waker {
            w.wake();
        }
        n += 1;
        busy += began.elapsed().as_secs_f64();
        records += ticket - last_ticket;
        last_ticket = ticket;
        if n % 20000 == 0 {
            eprintln!(
                "probe: {n} groups, {:.1} records a group, sync {:.0} µs",
                records as f64 / 20000.0,
                busy * 1e6 / 20000.0
            );
            (busy, records) = (0.0, 0);
        }
    }
}
