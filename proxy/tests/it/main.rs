//! bloomgate's integration tests: the real `bloomgate` binary, driven through its documented
//! command line. One test binary; one module per command.

mod check;
mod support;
mod usage;
