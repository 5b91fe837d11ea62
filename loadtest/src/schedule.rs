//! When requests go out: the open-loop schedule of one connection, the measurement window and
//! the shared request budget (`--requests`).
//!
//! Open loop (`--rate R` over `C` connections): connection `g` (numbered across all cores)
//! sends its `k`-th request at `start + g/R + k·C/R`, whatever happened before. Together the
//! connections send one request every `1/R` seconds. Latency is measured from that *intended*
//! time, so a stalled server is charged for every request it delayed, not only for the one it
//! was holding (coordinated omission, corrected as wrk2 does).

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// The intended send times of one connection in open loop.
#[derive(Debug, Clone)]
pub struct Schedule {
    start: Instant,
    offset_ns: f64,
    period_ns: f64,
    next: u64,
}

impl Schedule {
    /// The schedule of connection `global_index` of `connections`, for `rate` requests/s in
    /// total, counted from `start`.
    pub fn new(start: Instant, rate: f64, connections: usize, global_index: usize) -> Schedule {
        let gap_ns = 1e9 / rate;
        Schedule {
            start,
            offset_ns: gap_ns * global_index as f64,
            period_ns: gap_ns * connections as f64,
            next: 0,
        }
    }

    /// The intended time of request `k` (0-based).
    pub fn at(&self, k: u64) -> Instant {
        let ns = self.offset_ns + self.period_ns * k as f64;
        // `as u64` saturates; runs are never long enough for that to matter.
        self.start + Duration::from_nanos(ns as u64)
    }

    /// The next request's intended time, without taking it.
    pub fn peek(&self) -> Instant {
        self.at(self.next)
    }

    /// Takes the next slot.
    pub fn advance(&mut self) {
        self.next += 1;
    }
}

/// The part of the run that is measured: requests intended before `measure_from` are warm-up
/// (sent, not recorded, not counted against `--requests`); none is sent at or after `end`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    /// When the warm-up ends and recording starts.
    pub measure_from: Instant,
    /// When sending stops (`None`: only `--requests` stops the run).
    pub end: Option<Instant>,
}

impl Window {
    /// The window for a run starting at `start`.
    pub fn new(start: Instant, warmup: Duration, duration: Option<Duration>) -> Window {
        let measure_from = start + warmup;
        Window {
            measure_from,
            end: duration.map(|d| measure_from + d),
        }
    }

    /// Whether a request intended at `t` is recorded.
    pub fn measured(&self, t: Instant) -> bool {
        t >= self.measure_from
    }

    /// Whether a request intended at `t` is past the end (and is not sent).
    pub fn over(&self, t: Instant) -> bool {
        self.end.is_some_and(|end| t >= end)
    }
}

/// The `--requests` cap, shared by every core: a request is sent only after claiming a slot,
/// so exactly `limit` measured requests go out in total, however many cores race for them.
#[derive(Debug)]
pub struct Budget {
    limit: Option<u64>,
    /// Slots handed out so far (may run past `limit`: a claim past it fails). A plain counter:
    /// no other memory is published through it, so `Relaxed` suffices.
    claimed: AtomicU64,
}

impl Budget {
    /// A budget of `limit` requests (`None`: unlimited).
    pub fn new(limit: Option<u64>) -> Budget {
        Budget {
            limit,
            claimed: AtomicU64::new(0),
        }
    }

    /// Claims one request; false once the cap is reached (and ever after).
    pub fn claim(&self) -> bool {
        match self.limit {
            None => true,
            Some(limit) => {
                // Cheap check first, so finished cores do not keep bumping the counter.
                self.claimed.load(Ordering::Relaxed) < limit
                    && self.claimed.fetch_add(1, Ordering::Relaxed) < limit
            }
        }
    }

    /// Whether no request can be claimed any more.
    pub fn exhausted(&self) -> bool {
        self.limit
            .is_some_and(|limit| self.claimed.load(Ordering::Relaxed) >= limit)
    }
}

#[cfg(test)]
mod tests;
