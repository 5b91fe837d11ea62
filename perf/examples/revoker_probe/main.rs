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
//! How groups are formed, from the environment (`PROBE_GROUPS`):
//! - `handover` (default): the loop hands the sync thread the next group as soon as the last
//!   sync returned ([`handover`]);
//! - `cohort`: the same, but after a sync returned the loop waits until as many records are
//!   buffered as it acknowledged (the revocations it answered coming back), at most as long as
//!   it took;
//! - `sync-cohort`: the sync thread forms the groups itself with that rule, so no hop through
//!   the loop sits between two syncs ([`sync_groups`]).
//!
//! With `handover` and `cohort`, `PROBE_GATHER_US=N` waits N µs after each sync before the
//! next group, and `PROBE_WRITE_THROUGH=1` writes whole 4 KiB blocks with `O_DIRECT | O_DSYNC`
//! instead of `pwrite` + `fdatasync`.
//!
//! It speaks enough of `bloomgate revoker -c FILE --port 0` for `persist-report --bin-dir` (a
//! directory whose `bloomgate` execs this): the persistence dir from the config, the
//! "listening on" and "recovered" lines, an executor thread named `bloomgate-revoker`, exit 0
//! on SIGTERM. `perf/revoker-probe.sh` builds it and runs `persist-report` against it.
#![forbid(unsafe_code)]

mod handover;
mod sync_groups;

use std::cell::RefCell;
use std::collections::HashSet;
use std::fs::File;
use std::net::SocketAddr;
use std::os::unix::fs::FileExt as _;
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use event::net::{Listener, Stream};

const CREATED: &[u8] = b"HTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n";
const BAD: &[u8] = b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
/// Zeros written (and synced) before the first revocation: the log overwrites them.
const PREALLOCATED: u64 = 256 << 20;

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
    let journal = match persistence.map(|dir| Journal::open(&dir.join("probe.log"))) {
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
            journal.start();
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
    journal: Option<Journal>,
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

/// The group-commit design under test (`PROBE_GROUPS`).
enum Journal {
    Handover(Rc<handover::Journal>),
    SyncGroups(Rc<sync_groups::Journal>),
}

impl Journal {
    fn open(path: &Path) -> Result<Journal, String> {
        match std::env::var("PROBE_GROUPS").as_deref() {
            Ok("sync-cohort") => sync_groups::Journal::open(path.into()).map(Journal::SyncGroups),
            Ok("handover" | "cohort") | Err(_) => {
                handover::Journal::open(path.into()).map(Journal::Handover)
            }
            Ok(other) => Err(format!(
                "PROBE_GROUPS={other}: handover, cohort or sync-cohort"
            )),
        }
    }

    /// Spawns its task on the loop.
    fn start(&self) {
        match self {
            Journal::Handover(j) => drop(event::spawn(Rc::clone(j).flush_loop())),
            Journal::SyncGroups(j) => drop(event::spawn(Rc::clone(j).flush_loop())),
        }
    }

    fn append(&self, key: &[u8]) -> u64 {
        match self {
            Journal::Handover(j) => j.append(key),
            Journal::SyncGroups(j) => j.append(key),
        }
    }

    async fn durable(&self, ticket: u64) {
        match self {
            Journal::Handover(j) => j.durable(ticket).await,
            Journal::SyncGroups(j) => j.durable(ticket).await,
        }
    }
}

/// A new file at `path` holding [`PREALLOCATED`] zeros, synced: the log overwrites them.
fn preallocated(path: &Path) -> Result<File, String> {
    let what = |e: std::io::Error| format!("{}: {e}", path.display());
    let file = File::options()
        .create(true)
        .truncate(true)
        .write(true)
        .open(path)
        .map_err(what)?;
    let zeros = vec![0u8; 1 << 20];
    for i in 0..PREALLOCATED / zeros.len() as u64 {
        file.write_all_at(&zeros, i * zeros.len() as u64)
            .map_err(what)?;
    }
    file.sync_all().map_err(what)?;
    Ok(file)
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}
