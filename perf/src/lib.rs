//! bloomgate's benchmarks and report binaries: the numbers `docs/BENCHMARKS.md` quotes come
//! from here, each with the command that reproduces it.
#![forbid(unsafe_code)]

pub mod harness;
