//! io_uring needs locked memory (`RLIMIT_MEMLOCK`) for each executor's registered buffers:
//! the soft limit is raised to the hard one at start, and an executor that still cannot start
//! gets an error quoting both.

use rlimit::Resource;

/// The locked-memory limits in force.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Memlock {
    /// Soft limit, bytes (`u64::MAX`: unlimited).
    pub soft: u64,
    /// Hard limit, bytes.
    pub hard: u64,
}

/// Raises the soft `RLIMIT_MEMLOCK` to the hard one; returns the limits as they end up.
pub fn raise() -> Memlock {
    let Ok((soft, hard)) = rlimit::getrlimit(Resource::MEMLOCK) else {
        return Memlock { soft: 0, hard: 0 };
    };
    if soft < hard && rlimit::setrlimit(Resource::MEMLOCK, hard, hard).is_ok() {
        return Memlock { soft: hard, hard };
    }
    Memlock { soft, hard }
}

impl std::fmt::Display for Memlock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let show = |v: u64| {
            if v == u64::MAX {
                "unlimited".to_owned()
            } else {
                format!("{} KiB", v / 1024)
            }
        };
        write!(
            f,
            "RLIMIT_MEMLOCK soft {} / hard {}",
            show(self.soft),
            show(self.hard)
        )
    }
}
