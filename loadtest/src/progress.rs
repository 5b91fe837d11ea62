//! The live progress line (only when stderr is a terminal): each core publishes counters and
//! its last second's p99 through relaxed atomics; the main thread prints once a second.

use std::io::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// One core's live counters, on a cache line of its own.
#[derive(Debug, Default)]
#[repr(align(64))]
pub struct LiveCore {
    /// Measured responses so far.
    pub responses: AtomicU64,
    /// Measured requests that failed (no response) so far.
    pub failures: AtomicU64,
    /// Responses with a wrong status so far.
    pub wrong: AtomicU64,
    /// p99 of the corrected latency over the last second, µs.
    pub p99_us: AtomicU64,
}

/// Every core's live counters. All plain counters read for display only: `Relaxed` throughout.
#[derive(Debug)]
pub struct Live {
    /// Indexed by core.
    pub cores: Box<[LiveCore]>,
}

impl Live {
    /// Counters for `cores` cores.
    pub fn new(cores: usize) -> Live {
        Live {
            cores: (0..cores).map(|_| LiveCore::default()).collect(),
        }
    }

    fn totals(&self) -> (u64, u64, u64, u64) {
        self.cores.iter().fold((0, 0, 0, 0), |(r, f, w, p), c| {
            (
                r + c.responses.load(Ordering::Relaxed),
                f + c.failures.load(Ordering::Relaxed),
                w + c.wrong.load(Ordering::Relaxed),
                p.max(c.p99_us.load(Ordering::Relaxed)),
            )
        })
    }
}

/// Prints the progress line, rewriting it in place.
#[derive(Debug, Default)]
pub struct Printer {
    last_responses: u64,
    elapsed: Duration,
}

impl Printer {
    /// Prints the line for the second that just ended.
    pub fn tick(&mut self, live: &Live, since_last: Duration) {
        let (responses, failures, wrong, p99) = live.totals();
        self.elapsed += since_last;
        let rate = (responses - self.last_responses.min(responses)) as f64
            / since_last.as_secs_f64().max(1e-9);
        self.last_responses = responses;
        let mut err = std::io::stderr().lock();
        let _ = write!(
            err,
            "\r\x1b[2K{:>6.1}s  {rate:>10.0} req/s  p99 {:>9}  errors {failures}  wrong {wrong}",
            self.elapsed.as_secs_f64(),
            crate::report::us(p99),
        );
        let _ = err.flush();
    }

    /// Ends the line.
    pub fn finish(&self) {
        let mut err = std::io::stderr().lock();
        let _ = write!(err, "\r\x1b[2K");
        let _ = err.flush();
    }
}
