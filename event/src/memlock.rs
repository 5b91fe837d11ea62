//! io_uring rings are charged to locked memory (`RLIMIT_MEMLOCK`) on kernels before 5.12. Raise the soft limit to the hard one at start; as root (`CAP_SYS_RESOURCE`),
//! raise both to what every ring needs. Shared by the gateway and loadtest.

use rlimit::Resource;

/// The limits after raising: what the error message quotes when a ring still cannot be made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Memlock {
    /// The soft limit in bytes (`u64::MAX` = unlimited).
    pub soft: u64,
    /// The hard limit in bytes.
    pub hard: u64,
}

/// Raises `RLIMIT_MEMLOCK` to at least `wanted` bytes if the process may, else soft to hard
/// (`u64::MAX`: as high as the process may). Never fails: the limits as they end up are
/// returned, and a ring that cannot be created later gets an error naming them.
pub fn raise(wanted: u64) -> Memlock {
    let Ok((soft, hard)) = rlimit::getrlimit(Resource::MEMLOCK) else {
        return Memlock { soft: 0, hard: 0 };
    };
    if soft >= wanted {
        return Memlock { soft, hard };
    }
    // Privileged: lift both limits. Unprivileged: this fails, and the soft limit goes to hard.
    if hard < wanted && rlimit::setrlimit(Resource::MEMLOCK, wanted, wanted).is_ok() {
        return Memlock {
            soft: wanted,
            hard: wanted,
        };
    }
    if rlimit::setrlimit(Resource::MEMLOCK, hard, hard).is_ok() {
        return Memlock { soft: hard, hard };
    }
    Memlock { soft, hard }
}

impl std::fmt::Display for Memlock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let show = |v: u64| {
            if v == u64::MAX {
                "unlimited".to_string()
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
