use super::*;
use crate::mix::Mix;

fn info() -> RunInfo {
    RunInfo {
        label: "t".into(),
        target: "http://h/".into(),
        mode: Mode::Open { rate: 100.0 },
        cpus: vec![0],
        connections: 1,
        pipeline: 1,
        duration: Some(Duration::from_secs(1)),
        warmup: Duration::ZERO,
        requests_cap: None,
        mix: Mix::parse("valid=1,revoked=1").unwrap(),
        expect: Expect::default(),
    }
}

#[test]
fn records_wrong_statuses_per_kind_and_merges() {
    let t0 = Instant::now();
    let expect = Expect::default();
    let mut a = CoreStats::new();
    assert!(!a.response(
        Kind::Valid,
        200,
        &expect,
        t0,
        t0,
        t0 + Duration::from_millis(1)
    ));
    assert!(a.response(
        Kind::Revoked,
        200,
        &expect,
        t0,
        t0,
        t0 + Duration::from_millis(2)
    ));
    let mut b = CoreStats::new();
    assert!(!b.response(
        Kind::Revoked,
        401,
        &expect,
        t0,
        t0,
        t0 + Duration::from_millis(3)
    ));
    b.failure(Kind::Valid, Failure::Timeout, t0 + Duration::from_millis(4));
    a.merge(&b);
    assert_eq!(a.responses(), 3);
    assert_eq!(a.kinds[Kind::Revoked.index()].wrong, 1);
    assert_eq!(
        a.kinds[Kind::Revoked.index()].statuses,
        vec![(200, 1), (401, 1)]
    );
    assert_eq!(a.kinds[Kind::Valid.index()].errors, 1);
    assert_eq!(a.errors.timeout, 1);
    assert_eq!(a.corrected.len(), 3);
    assert_eq!(a.last_done, Some(t0 + Duration::from_millis(4)));
}

#[test]
fn corrected_and_raw_histograms_differ_by_the_wait() {
    let t0 = Instant::now();
    let mut s = CoreStats::new();
    // Intended at t0, sent 10 ms late, answered 1 ms after the send.
    s.response(
        Kind::Valid,
        200,
        &Expect::default(),
        t0,
        t0 + Duration::from_millis(10),
        t0 + Duration::from_millis(11),
    );
    assert!((s.corrected.max() as i64 - 11_000).abs() < 20);
    assert!((s.raw.max() as i64 - 1_000).abs() < 5);
}

#[test]
fn summary_rate_and_text() {
    let t0 = Instant::now();
    let mut s = CoreStats::new();
    for i in 0..100 {
        let at = t0 + Duration::from_millis(10 * i);
        let done = at + Duration::from_micros(100 + 37 * i);
        s.response(Kind::Valid, 200, &Expect::default(), at, at, done);
    }
    s.sent = 100;
    // The last completes at 993.8 ms.
    let summary = Summary::new(info(), &s, t0);
    assert!((summary.rate - 100.0).abs() < 1.5, "{}", summary.rate);
    assert!(!summary.failed());
    assert_eq!(summary.corrected.p50, summary.raw.p50);
    assert!(summary.corrected_curve.len() > 5);
    assert_eq!(summary.corrected_curve.last().map(|p| p.0), Some(100.0));
    let mut text = Vec::new();
    summary.write_text(&mut text).unwrap();
    let text = String::from_utf8(text).unwrap();
    assert!(text.contains("open loop at 100 req/s"), "{text}");
    assert!(text.contains("revoked"), "{text}");
    assert!(!text.contains("FAILED"), "{text}");
}

#[test]
fn an_empty_run_fails() {
    let t0 = Instant::now();
    let summary = Summary::new(info(), &CoreStats::new(), t0);
    assert!(summary.failed());
    assert_eq!(summary.rate, 0.0);
    assert_eq!(summary.corrected, Quantiles::default());
    assert!(summary.corrected_curve.is_empty());
}

#[test]
fn units() {
    assert_eq!(us(999), "999µs");
    assert_eq!(us(1500), "1.50ms");
    assert_eq!(us(2_500_000), "2.50s");
    assert_eq!(bytes(10), "10 B");
    assert_eq!(bytes(2048), "2.0 KiB");
}
