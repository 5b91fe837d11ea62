//! The `bloomgate` binary.
fn main() {}
