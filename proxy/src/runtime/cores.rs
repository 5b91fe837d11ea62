//! Which CPU each executor runs on: `--cores N` data cores, and the admin core on a CPU of its
//! own when there is one to spare.

/// The CPUs (ids as the kernel numbers them) the executors are pinned to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CorePlan {
    /// One data core per entry.
    pub data: Vec<usize>,
    /// The admin core's CPU; shared with the last data core when no CPU is left.
    pub admin: usize,
}

/// `--cores` asked for more than there is.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlanError {
    /// `--cores 0`.
    #[error("--cores must be at least 1")]
    Zero,
    /// More data cores than CPUs this process may run on.
    #[error("--cores {asked}: only {available} CPUs are available to this process")]
    TooMany {
        /// Data cores asked for.
        asked: usize,
        /// CPUs in the process's affinity mask.
        available: usize,
    },
    /// The affinity mask could not be read or is empty.
    #[error("no CPU is available to this process")]
    NoCpu,
}

/// Plans data cores over `available` CPUs (the process's affinity mask, in order). By default
/// every CPU but one serves data and the last one is the admin core's (at least one data core).
pub fn plan(available: &[usize], requested: Option<usize>) -> Result<CorePlan, PlanError> {
    let Some(&last) = available.last() else {
        return Err(PlanError::NoCpu);
    };
    let data = match requested {
        Some(0) => return Err(PlanError::Zero),
        Some(n) if n > available.len() => {
            return Err(PlanError::TooMany {
                asked: n,
                available: available.len(),
            });
        }
        Some(n) => n,
        None => (available.len() - 1).max(1),
    };
    let admin = available.get(data).copied().unwrap_or(last);
    Ok(CorePlan {
        data: available[..data].to_vec(),
        admin,
    })
}

/// The CPUs this process may run on (its affinity mask), ascending.
pub fn available() -> Vec<usize> {
    let mut ids: Vec<usize> = core_affinity::get_core_ids()
        .unwrap_or_default()
        .into_iter()
        .map(|c| c.id)
        .collect();
    ids.sort_unstable();
    ids
}

/// Pins the calling thread to `cpu`; false if the kernel refused.
pub fn pin_current_thread(cpu: usize) -> bool {
    core_affinity::set_for_current(core_affinity::CoreId { id: cpu })
}

#[cfg(test)]
mod tests;
