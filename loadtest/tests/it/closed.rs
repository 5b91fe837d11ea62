//! Closed loop: exact request caps over several cores, pipelining, chunked answers, and the
//! binary's exit codes and files.

use std::sync::atomic::Ordering;

use crate::support::{self, Config, Server};

#[test]
fn requests_cap_is_exact_across_cores_and_pipelines() {
    let server = Server::start(Config::default());
    let url = server.url("/hello");
    let summary = support::run(&[
        "--cores",
        "2",
        "-c",
        "6",
        "--pipeline",
        "4",
        "-n",
        "3001",
        "-d",
        "20s",
        &url,
    ])
    .unwrap();
    assert_eq!(summary.sent, 3001);
    assert_eq!(summary.responses, 3001);
    assert_eq!(summary.errors.requests(), 0);
    assert_eq!(server.state.requests.load(Ordering::Relaxed), 3001);
    assert_eq!(summary.wrong(), 0);
    assert_eq!(summary.info.cpus.len(), 2);
    assert!(summary.elapsed.as_secs_f64() < 20.0);
    assert_eq!(summary.corrected.count, 3001);
}

#[test]
fn chunked_answers_are_framed_and_counted() {
    let server = Server::start(Config {
        chunked: true,
        ..Config::default()
    });
    let summary =
        support::run(&["-c", "3", "--pipeline", "2", "-n", "500", &server.url("/")]).unwrap();
    assert_eq!(summary.responses, 500);
    assert_eq!(summary.errors.requests(), 0);
    // Keep-alive held: one connection each, none reopened.
    assert_eq!(server.state.connections.load(Ordering::Relaxed), 1 + 3); // +1: the preflight
}

#[test]
fn binary_writes_json_and_svg_and_plots_them() {
    let server = Server::start(Config::default());
    let dir = std::env::temp_dir().join(format!("loadtest-it-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let json = dir.join("run.json");
    let svg = dir.join("run.svg");
    let (code, stdout, stderr) = support::binary(&[
        "-c",
        "2",
        "-n",
        "300",
        "--label",
        "tiny",
        "--json",
        json.to_str().unwrap(),
        "--svg",
        svg.to_str().unwrap(),
        &server.url("/"),
    ]);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    assert!(stdout.contains("300 answered"), "{stdout}");
    // Not a terminal: no progress line.
    assert!(!stderr.contains("req/s  p99"), "{stderr}");
    let report = std::fs::read_to_string(&json).unwrap();
    assert!(report.contains("\"responses\": 300"), "{report}");
    assert!(std::fs::read_to_string(&svg).unwrap().contains("<polyline"));

    let plot = dir.join("plot.svg");
    let (code, _, stderr) = support::binary(&[
        "plot",
        json.to_str().unwrap(),
        json.to_str().unwrap(),
        "--raw",
        "--svg",
        plot.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{stderr}");
    let plot = std::fs::read_to_string(&plot).unwrap();
    assert_eq!(plot.matches("<polyline").count(), 4);
    assert!(plot.contains("tiny (raw)"));
}

#[test]
fn usage_and_setup_errors_exit_2_with_one_line() {
    let (code, _, stderr) = support::binary(&["--connections", "0", "http://127.0.0.1:1/"]);
    assert_eq!(code, 2);
    assert!(stderr.contains("--connections"), "{stderr}");
    // Nothing listens on port 1.
    let (code, _, stderr) = support::binary(&["-n", "1", "--timeout", "1s", "http://127.0.0.1:1/"]);
    assert_eq!(code, 2);
    assert!(stderr.contains("cannot connect"), "{stderr}");
}

/// The event loop registers no buffers, so on a kernel that charges rings to memcg (5.12+) a
/// locked-memory limit of zero does not stop a run (glommio's executors needed some).
#[test]
fn runs_with_no_locked_memory() {
    let server = Server::start(Config::default());
    let _guard = support::executors();
    let out = std::process::Command::new("sh")
        .arg("-c")
        .arg(format!(
            "ulimit -l 0 && exec '{}' -n 10 {}",
            env!("CARGO_BIN_EXE_loadtest"),
            server.url("/")
        ))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
}

#[test]
fn connection_close_reconnects_and_resends_what_was_pipelined() {
    // Every 7th answer on a connection says `Connection: close` and the server drops the
    // requests pipelined behind it: they go again on a new connection, nothing is lost.
    let server = Server::start(Config {
        close_every: Some(7),
        ..Config::default()
    });
    let summary =
        support::run(&["-c", "3", "--pipeline", "4", "-n", "600", &server.url("/")]).unwrap();
    assert_eq!(summary.responses, 600);
    assert_eq!(summary.errors, loadtest::report::Errors::default());
    assert!(server.state.connections.load(Ordering::Relaxed) > 600 / 7);
}
