//! `loadtest`: bloomgate's load generator. A black-box driver over HTTP/1.1: it does not link
//! the gateway, only speaks to it (it shares the gateway's event loop crate, `event`, and
//! nothing else).
//!
//! What it is: thread-per-core (one pinned `event::Runtime` per CPU, each with its share of
//! keep-alive connections), closed loop or open loop with coordinated-omission correction,
//! minting JWTs of every kind a gateway must tell apart (valid, revoked, expired, bad
//! signature, none) before the run, revoking some through the Revoke Server REST API, and
//! checking every answer's status. Results are HDR histograms, printed, as JSON, as SVG.
//!
//! What it is not: a general HTTP client (no TLS, no redirects, no HTTP/2), nor a functional
//! test suite (a status is all it checks).
//!
//! Layout: sans-io pieces ([`http`], [`jwt`], [`mix`], [`schedule`], [`report`], [`json`],
//! [`svg`]) are tested on their own; [`client`] and [`run`] are the event-loop glue; [`revoke`]
//! and [`blocking`] are the plain-socket steps before the run; [`cli`] parses the command line.
#![forbid(unsafe_code)]

pub mod base64;
pub mod blocking;
pub mod cli;
pub mod client;
pub mod http;
pub mod json;
pub mod jwt;
pub mod keys;
pub mod mix;
pub mod progress;
pub mod report;
pub mod revoke;
pub mod run;
pub mod schedule;
pub mod svg;
pub mod target;
pub mod tokens;

use std::io::Write;

/// Runs `loadtest plot`: reads the reports, writes one SVG with every run's corrected curve
/// (and the raw ones, dashed, with `--raw`).
pub fn plot(options: &cli::PlotOptions) -> Result<(), String> {
    let mut series = Vec::new();
    for (colour, path) in options.inputs.iter().enumerate() {
        let bytes = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
        let input =
            json::read_plot_input(&bytes).map_err(|e| format!("{}: {e}", path.display()))?;
        series.push(svg::Series {
            label: input.label.clone(),
            points: input.corrected,
            dashed: false,
            colour,
        });
        if options.raw {
            series.push(svg::Series {
                label: format!("{} (raw)", input.label),
                points: input.raw,
                dashed: true,
                colour,
            });
        }
    }
    let title = options
        .title
        .clone()
        .unwrap_or_else(|| "latency by percentile".to_owned());
    write_file(&options.svg, svg::render(&title, &series).as_bytes())
}

/// The SVG of one run: corrected (solid) and raw (dashed).
pub fn run_svg(summary: &report::Summary) -> String {
    let to_f = |c: &[(f64, u64)]| c.iter().map(|&(p, v)| (p, v as f64)).collect();
    let label = &summary.info.label;
    svg::render(
        &format!("{} — {}", summary.info.target, label),
        &[
            svg::Series {
                label: format!("{label} (corrected)"),
                points: to_f(&summary.corrected_curve),
                dashed: false,
                colour: 0,
            },
            svg::Series {
                label: format!("{label} (raw)"),
                points: to_f(&summary.raw_curve),
                dashed: true,
                colour: 0,
            },
        ],
    )
}

/// Writes `bytes` to `path`, naming the file in the error.
pub fn write_file(path: &std::path::Path, bytes: &[u8]) -> Result<(), String> {
    std::fs::File::create(path)
        .and_then(|mut f| f.write_all(bytes))
        .map_err(|e| format!("{}: {e}", path.display()))
}
