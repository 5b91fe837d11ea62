//! The time of the current pass of the loop, for deadlines: read once a pass instead of once a
//! call (a request computes several deadlines, and a clock read costs more than the rest of the
//! arithmetic). A pass under load lasts microseconds to a millisecond, so a deadline computed
//! from it comes at most that much early — fine for timeouts, wrong for a wait that must not
//! end before a given instant: `sleep` and `sleep_until` read the clock itself. A wait never
//! ends before its deadline by the real clock, because the loop fires deadlines by a fresh
//! reading.

use std::cell::Cell;
use std::time::Instant;

thread_local! {
    static NOW: Cell<Option<Instant>> = const { Cell::new(None) };
}

/// The time the current pass began; outside a runtime, the clock itself.
pub fn now() -> Instant {
    NOW.with(Cell::get).unwrap_or_else(Instant::now)
}

pub(crate) fn set(now: Instant) {
    NOW.with(|c| c.set(Some(now)));
}

pub(crate) fn clear() {
    NOW.with(|c| c.set(None));
}
