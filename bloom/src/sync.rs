//! The atomics the filter is built on, swapped for loom's under `cfg(loom)` so the model
//! checker can explore the orderings of insert, contains and rotation.

#[cfg(loom)]
pub(crate) use loom::sync::atomic::{AtomicU64, Ordering};
#[cfg(not(loom))]
pub(crate) use std::sync::atomic::{AtomicU64, Ordering};
