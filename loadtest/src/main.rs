//! `loadtest`: bloomgate's load generator (open and closed loop, JWT minting, HDR histograms).
#![forbid(unsafe_code)]

fn main() {
    eprintln!("loadtest: not built yet; see the loadtest issue");
    std::process::exit(2);
}
