//! Integration tests of the `bloom` crate through its public API.

mod concurrency;
mod false_positive_rate;
