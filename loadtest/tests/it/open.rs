//! Open loop: the rate holds, and a stalled server shows in the corrected latency, not only
//! in the raw one (coordinated omission).

use std::sync::atomic::Ordering;
use std::time::Duration;

use loadtest::report::Mode;

use crate::support::{self, Config, Server};

#[test]
fn open_loop_rate_is_within_five_percent() {
    let server = Server::start(Config::default());
    let summary = support::run(&["-R", "2000", "-d", "2s", "-c", "8", &server.url("/")]).unwrap();
    assert_eq!(summary.info.mode, Mode::Open { rate: 2000.0 });
    let measured = summary.rate;
    assert!(
        (measured - 2000.0).abs() < 100.0,
        "measured {measured} req/s"
    );
    let served = server.state.requests.load(Ordering::Relaxed) as f64 / 2.0;
    assert!((served - 2000.0).abs() < 100.0, "server saw {served} req/s");
    assert_eq!(summary.errors.requests(), 0);
    assert_eq!(summary.sent, summary.responses);
    assert_eq!(summary.errors.connect, 0);
}

#[test]
fn warmup_is_sent_but_not_recorded() {
    let server = Server::start(Config::default());
    let summary = support::run(&[
        "-R",
        "1000",
        "--warmup",
        "500ms",
        "-d",
        "1s",
        "-c",
        "4",
        &server.url("/"),
    ])
    .unwrap();
    let served = server.state.requests.load(Ordering::Relaxed);
    assert!((1400..=1600).contains(&served), "server saw {served}");
    assert!(
        (950..=1050).contains(&summary.responses),
        "recorded {}",
        summary.responses
    );
}

#[test]
fn a_stall_shows_in_corrected_latency_not_in_raw() {
    // 1000 req/s for 2 s; request 500 freezes every connection for 500 ms. Only the eight
    // requests in flight at that moment see it in service time (0.4%: under the raw p99);
    // the ~500 requests that were due during the stall all see it from their intended time.
    let server = Server::start(Config {
        stall: Some((500, Duration::from_millis(500))),
        ..Config::default()
    });
    let summary = support::run(&["-R", "1000", "-d", "2s", "-c", "8", &server.url("/")]).unwrap();
    let (corrected, raw) = (summary.corrected.p99, summary.raw.p99);
    assert!(corrected > 300_000, "corrected p99 {corrected} µs");
    assert!(raw < 100_000, "raw p99 {raw} µs");
    assert!(
        corrected > 4 * raw,
        "corrected {corrected} µs vs raw {raw} µs"
    );
    // The stall itself is in both maxima.
    assert!(summary.raw.max > 400_000, "raw max {}", summary.raw.max);
    assert_eq!(summary.errors.requests(), 0);
}

#[test]
fn a_target_that_falls_behind_ends_the_run_within_the_timeout() {
    // One connection, 20 ms per answer: 50 req/s at best, against 200 req/s scheduled. The
    // backlog is sent until --timeout past the end; what is still unsent then is a timeout.
    let server = Server::start(Config {
        delay: Some(Duration::from_millis(20)),
        ..Config::default()
    });
    let summary = support::run(&[
        "-R",
        "200",
        "-d",
        "1s",
        "-c",
        "1",
        "--timeout",
        "300ms",
        &server.url("/"),
    ])
    .unwrap();
    // 1 s, then at most --timeout of catching up (and the answer then in flight).
    assert!(
        summary.elapsed < Duration::from_millis(1400),
        "{:?}",
        summary.elapsed
    );
    assert_eq!(summary.sent, 200);
    assert_eq!(summary.sent, summary.responses + summary.errors.requests());
    assert!(summary.errors.timeout > 100, "{:?}", summary.errors);
    assert!(summary.rate < 80.0, "rate {}", summary.rate);
    assert!(summary.corrected.max > 500_000, "{:?}", summary.corrected);
    assert!(summary.raw.p50 < 100_000, "{:?}", summary.raw);
}
