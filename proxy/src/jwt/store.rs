//! Where a validator's keys live: an atomically swapped `Arc<KeySet>`, read by every data core
//! without locks, and, for a `jwk_url`, a plain std thread that refetches it.
//!
//! Readers ([`KeyStore::current`]) never block and never allocate: `arc-swap` loads are
//! lock-free. The refresher thread fetches every `cache_duration` (sooner, with backoff, after
//! a failure, keeping the keys it has), and earlier when a data core saw an unknown `kid`
//! ([`KeyStore::unknown_kid`]): at most once every [`UNKNOWN_KID_REFETCH_SECS`], and never on the
//! request path (the request is answered 401 at once; the refetch happens on the thread).

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, OnceLock, Weak};
use std::thread::Thread;
use std::time::{Duration, Instant};

use arc_swap::{ArcSwap, Guard};

use super::fetch::{FETCH_TIMEOUT, fetch};
use super::keys::KeySet;
use crate::config::JwkUrl;

#[cfg(test)]
mod tests;

/// An unknown `kid` triggers at most one refetch per this many seconds.
pub const UNKNOWN_KID_REFETCH_SECS: u64 = 10;
/// The first retry after a failed fetch; doubles up to [`RETRY_MAX`] (and never beyond
/// `cache_duration`).
pub const RETRY_MIN: Duration = Duration::from_secs(1);
/// The longest wait between retries of a failing `jwk_url`.
pub const RETRY_MAX: Duration = Duration::from_secs(60);

/// The keys of one JWK source, shared by the validators (and cores) that use it.
#[derive(Debug)]
pub struct KeyStore {
    keys: ArcSwap<KeySet>,
    /// Set for a `jwk_url`: the refresher to wake on an unknown `kid`.
    refresher: OnceLock<Refresher>,
}

/// The refresher thread's handle and its wake-up bookkeeping.
#[derive(Debug)]
struct Refresher {
    thread: Thread,
    /// Set by a data core (Release) before it unparks the thread; taken by the thread
    /// (Acquire).
    wake: AtomicBool,
    /// Unix second of the last unknown-`kid` refetch request (Relaxed: a throttle, not a
    /// synchronisation).
    last_request: AtomicU64,
}

impl KeyStore {
    /// A store that never changes (`jwk_local_path`, tests).
    pub fn fixed(set: KeySet) -> Arc<KeyStore> {
        Arc::new(KeyStore {
            keys: ArcSwap::from_pointee(set),
            refresher: OnceLock::new(),
        })
    }

    /// A store for `url`: fetched now (within [`FETCH_TIMEOUT`]), then refreshed every
    /// `cache_duration` by its own thread. If the first fetch fails the store starts empty
    /// (requests get 401) and the thread retries with backoff; the error is returned beside the
    /// store so the caller can report it.
    pub fn remote(url: JwkUrl, cache_duration: Duration) -> (Arc<KeyStore>, Option<String>) {
        let first = load(&url);
        let (set, problem) = match first {
            Ok(set) => (set, None),
            Err(why) => (KeySet::default(), Some(why)),
        };
        let store = Arc::new(KeyStore {
            keys: ArcSwap::from_pointee(set),
            refresher: OnceLock::new(),
        });
        let weak = Arc::downgrade(&store);
        let healthy = problem.is_none();
        let spawned = std::thread::Builder::new()
            .name("bloomgate-jwk".to_owned())
            .spawn(move || refresh_loop(&weak, &url, cache_duration, healthy));
        match spawned {
            Ok(handle) => {
                let _ = store.refresher.set(Refresher {
                    thread: handle.thread().clone(),
                    wake: AtomicBool::new(false),
                    last_request: AtomicU64::new(0),
                });
            }
            Err(e) => eprintln!("bloomgate: warning: cannot start the JWK refresher: {e}"),
        }
        (store, problem)
    }

    /// The keys now. Lock-free; hold the guard only for one request.
    pub fn current(&self) -> Guard<Arc<KeySet>> {
        self.keys.load()
    }

    /// Replaces the keys (the refresher; tests).
    pub fn replace(&self, set: KeySet) {
        self.keys.store(Arc::new(set));
    }

    /// A token named a `kid` the set does not have: wake the refresher, unless it was woken
    /// for this less than [`UNKNOWN_KID_REFETCH_SECS`] ago. Never blocks.
    pub fn unknown_kid(&self, now: u64) {
        let Some(r) = self.refresher.get() else {
            return;
        };
        let last = r.last_request.load(Ordering::Relaxed);
        if now < last.saturating_add(UNKNOWN_KID_REFETCH_SECS) && last != 0 {
            return;
        }
        if r.last_request
            .compare_exchange(last, now.max(1), Ordering::Relaxed, Ordering::Relaxed)
            .is_ok()
        {
            r.wake.store(true, Ordering::Release);
            r.thread.unpark();
        }
    }
}

/// Fetches and parses `url`.
fn load(url: &JwkUrl) -> Result<KeySet, String> {
    let body = fetch(url, FETCH_TIMEOUT).map_err(|e| format!("cannot fetch {}: {e}", url.raw))?;
    let mut notes = Vec::new();
    KeySet::parse(&body, &mut notes).map_err(|e| format!("{}: {e}", url.raw))
}

/// The refresher: sleep, fetch, swap; until the store is dropped.
fn refresh_loop(store: &Weak<KeyStore>, url: &JwkUrl, cache_duration: Duration, healthy: bool) {
    let mut failures: u32 = u32::from(!healthy);
    loop {
        let wait = if failures == 0 {
            cache_duration
        } else {
            RETRY_MIN
                .saturating_mul(1 << (failures - 1).min(16))
                .min(RETRY_MAX)
                .min(cache_duration)
        };
        if !sleep_until_woken(store, wait) {
            return;
        }
        let problem = match load(url) {
            Ok(set) => {
                let Some(store) = store.upgrade() else {
                    return;
                };
                store.replace(set);
                None
            }
            Err(why) => Some(why),
        };
        match problem {
            None => failures = 0,
            Some(why) => {
                failures = failures.saturating_add(1);
                eprintln!("bloomgate: warning: jwk_url: {why}; keeping the keys already loaded");
            }
        }
    }
}

/// Parks for `wait` or until a data core asks for a refetch. False: the store is gone.
fn sleep_until_woken(store: &Weak<KeyStore>, wait: Duration) -> bool {
    let until = Instant::now() + wait;
    loop {
        let Some(strong) = store.upgrade() else {
            return false;
        };
        let woken = strong
            .refresher
            .get()
            .is_some_and(|r| r.wake.swap(false, Ordering::Acquire));
        drop(strong);
        let left = until.saturating_duration_since(Instant::now());
        if woken || left.is_zero() {
            return true;
        }
        // Wake at least every second to notice a dropped store.
        std::thread::park_timeout(left.min(Duration::from_secs(1)));
    }
}
