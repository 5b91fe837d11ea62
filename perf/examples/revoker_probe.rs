//! A probe, not the product: the least a Revoke Server does per revocation, on one `event` loop
//! instead of glommio, to measure what moving `bloomgate revoker` there would give issue 7
//! (acknowledged revocations/s with persistence on against off).
//!
//! It answers `POST /tokens/{claim}/{value}` with `201` after putting the key in a set and, with
//! persistence, after a group commit: every revocation arriving while a sync runs shares the
//! next one. The write and `fdatasync` run on a thread of their own (into a file of zeros
//! written beforehand, as the product's preallocated segments), which wakes the loop when the
//! sync returns; so the loop makes one cross-thread wake a group, never one a revocation.
//! No registry, no fan-out, no recovery, no snapshots, no authentication.
//!
//! How groups are formed, from the environment:
//! - default: the next group is handed over as soon as the last sync returned;
//! - `PROBE_COHORT=1`: after a sync returned, wait until as many records are buffered as it
//!   acknowledged (the revocations it answered coming back), at most as long as it took;
//! - `PROBE_GATHER_US=N`: wait N µs after each sync before handing the next group;
//! - `PROBE_WRITE_THROUGH=1`: the sync thread writes whole 4 KiB blocks with `O_DIRECT |
//!   O_DSYNC` instead of `pwrite` + `fdatasync`.
//!
//! It speaks enough of `bloomgate revoker -c FILE --port 0` for `persist-report --bin-dir` (a
//! directory whose `bloomgate` execs this): the persistence dir from the config, the
//! "listening on" and "recovered" lines, an executor thread named `bloomgate-revoker`, exit 0
//! on SIGTERM. `perf/revoker-probe.sh` builds it and runs `persist-report` against it.
#![forbid(unsafe_code)]

use std::cell::RefCell;
use std::collections::HashSet;
use std::fs::File;
use std::future::Future as _;
use std::net::SocketAddr;
use std::os::unix::fs::FileExt as _;
use std::os::unix::fs::OpenOptionsExt as _;
use std::path::PathBuf;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::task::{Poll, Waker};

use event::net::{Listener, Stream};

const CREATED: &[u8] = b"HTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n";
const BAD: &[u8] = b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
/// Zeros written (and synced) before the first revocation: the log overwrites them.
const PREALLOCATED: u64 = 256 << 20;
/// The unit of a write-through (`PROBE_WRITE_THROUGH=1`).
const BLOCK: usize = 4096;

fn main() {
    let persistence = match config_dir() {
        Ok(dir) => dir,
        Err(e) => {
            eprintln!("revoker_probe: {e}");
            std::process::exit(2);
        }
    };
    let stop = Arc::new(AtomicBool::new(false));
    for signal in [signal_hook::consts::SIGTERM, signal_hook::consts::SIGINT] {
        if let Err(e) = signal_hook::flag::register(signal, Arc::clone(&stop)) {
            eprintln!("revoker_probe: {e}");
            std::process::exit(2);
        }
    }
    let server = std::thread::Builder::new()
        .name("bloomgate-revoker".into())
        .spawn(move || serve(persistence));
    if let Err(e) = server {
        eprintln!("revoker_probe: {e}");
        std::process::exit(2);
    }
    while !stop.load(Ordering::Relaxed) {
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    eprintln!("bloomgate: stopped");
}

/// `revoker -c FILE ...`: the `bloomgate/persistence` dir of FILE, if any.
fn config_dir() -> Result<Option<PathBuf>, String> {
    let args: Vec<String> = std::env::args().collect();
    let path = args
        .iter()
        .position(|a| a == "-c")
        .and_then(|i| args.get(i + 1))
        .ok_or("usage: revoker_probe revoker -c FILE [--port 0]")?;
    let text = std::fs::read_to_string(path).map_err(|e| format!("{path}: {e}"))?;
    let json: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| format!("{path}: {e}"))?;
    Ok(json
        .pointer("/extra_config/bloomgate~1persistence/dir")
        .and_then(|d| d.as_str())
        .map(PathBuf::from))
}

fn serve(persistence: Option<PathBuf>) {
    let runtime = match event::Runtime::new() {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("revoker_probe: {e}");
            std::process::exit(2);
        }
    };
    let journal = match persistence.map(|dir| Journal::open(dir.join("probe.log"))) {
        None => None,
        Some(Ok(journal)) => Some(journal),
        Some(Err(e)) => {
            eprintln!("revoker_probe: {e}");
            std::process::exit(2);
        }
    };
    runtime.block_on(async move {
        let listener = match Listener::bind(SocketAddr::from(([127, 0, 0, 1], 0))) {
            Ok(l) => l,
            Err(e) => {
                eprintln!("revoker_probe: {e}");
                std::process::exit(2);
            }
        };
        let addr = listener
            .local_addr()
            .map_or_else(|e| e.to_string(), |a| a.to_string());
        eprintln!("bloomgate: revoke server listening on {addr} (probe)");
        if journal.is_some() {
            eprintln!("bloomgate: persistence: recovered nothing (probe)");
        }
        let state = Rc::new(State {
            revoked: RefCell::new(HashSet::new()),
            journal,
        });
        if let Some(journal) = &state.journal {
            event::spawn(Rc::clone(journal).flush_loop());
        }
        loop {
            match listener.accept().await {
                Ok(stream) => drop(event::spawn(connection(stream, Rc::clone(&state)))),
                // Out of descriptors, say: not a busy loop.
                Err(_) => event::sleep(std::time::Duration::from_millis(10)).await,
            }
        }
    });
}

struct State {
    revoked: RefCell<HashSet<Box<[u8]>>>,
    journal: Option<Rc<Journal>>,
}

async fn connection(mut stream: Stream, state: Rc<State>) {
    let _ = stream.set_nodelay(true);
    let mut buf = vec![0u8; 16 * 1024];
    let mut filled = 0;
    loop {
        let Ok(n) = stream.read_by(&mut buf[filled..], None).await else {
            return;
        };
        if n == 0 {
            return;
        }
        filled += n;
        while let Some(end) = buf[..filled].windows(4).position(|w| w == b"\r\n\r\n") {
            let answer = match revocation_key(&buf[..end]) {
                Some(key) => {
                    state.revoked.borrow_mut().insert(key.into());
                    if let Some(journal) = &state.journal {
                        let ticket = journal.append(key);
                        journal.durable(ticket).await;
                    }
                    CREATED
                }
                None => BAD,
            };
            if stream.write_all_by(answer, None).await.is_err() || answer == BAD {
                return;
            }
            buf.copy_within(end + 4..filled, 0);
            filled -= end + 4;
        }
        if filled == buf.len() {
            return;
        }
    }
}

/// `claim/value` of `POST /tokens/{claim}/{value} HTTP/1.1` (no body is read).
fn revocation_key(head: &[u8]) -> Option<&[u8]> {
    let line = head.split(|&b| b == b'\r').next()?;
    let path = line.strip_prefix(b"POST /tokens/")?;
    let end = path.iter().position(|&b| b == b' ')?;
    Some(&path[..end])
}

/// Group commit through a sync thread: the loop hands it what was appended, waits for the
/// sync to return, wakes the revocations it covered, and hands over what was appended meanwhile.
struct Journal {
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
    fn open(path: PathBuf) -> Result<Rc<Journal>, String> {
        let what = |e: std::io::Error| format!("{}: {e}", path.display());
        let file = File::options()
            .create(true)
            .truncate(true)
            .write(true)
            .open(&path)
            .map_err(what)?;
        let zeros = vec![0u8; 1 << 20];
        for i in 0..PREALLOCATED / zeros.len() as u64 {
            file.write_all_at(&zeros, i * zeros.len() as u64)
                .map_err(what)?;
        }
        file.sync_all().map_err(what)?;
        drop(file);
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
    fn append(&self, key: &[u8]) -> u64 {
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

    async fn durable(&self, ticket: u64) {
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
    async fn flush_loop(self: Rc<Journal>) {
        let gather = std::env::var("PROBE_GATHER_US")
            .ok()
            .and_then(|g| g.parse::<u64>().ok())
            .map(std::time::Duration::from_micros);
        let cohort = std::env::var_os("PROBE_COHORT").is_some();
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

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
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
