use std::time::{Duration, Instant};

use super::*;
use crate::mix::{Expect, Kind, Mix};
use crate::report::{CoreStats, Mode, RunInfo};

#[test]
fn escapes_like_json() {
    let mut out = String::new();
    escape_into("a\"b\\c\nd\u{1}é", &mut out);
    assert_eq!(out, r#""a\"b\\c\nd\u0001é""#);
}

fn summary() -> Summary {
    let t0 = Instant::now();
    let mut s = CoreStats::new();
    for i in 0..50u64 {
        let at = t0 + Duration::from_millis(i);
        let status = if i == 7 { 200 } else { 401 };
        s.response(
            Kind::Revoked,
            status,
            &Expect::default(),
            at,
            at,
            at + Duration::from_micros(100 + i),
        );
    }
    s.sent = 50;
    let info = RunInfo {
        label: "run \"one\"".into(),
        target: "http://h/".into(),
        mode: Mode::Closed,
        cpus: vec![0, 1],
        connections: 2,
        pipeline: 1,
        duration: None,
        warmup: Duration::ZERO,
        requests_cap: Some(50),
        mix: Mix::parse("revoked=1").unwrap(),
        expect: Expect::default(),
    };
    Summary::new(info, &s, t0)
}

#[test]
fn report_is_valid_json_with_every_figure_and_reads_back() {
    let s = summary();
    let text = super::summary(&s);
    let mut bytes = text.clone().into_bytes();
    let doc: Value =
        simd_json::to_owned_value(&mut bytes).unwrap_or_else(|e| panic!("{e}\n{text}"));
    assert_eq!(doc.get("mode").and_then(|v| v.as_str()), Some("closed"));
    assert_eq!(doc.get("responses").and_then(|v| v.cast_f64()), Some(50.0));
    assert_eq!(
        doc.get("requests_cap").and_then(|v| v.cast_f64()),
        Some(50.0)
    );
    let revoked = doc.get("kinds").and_then(|k| k.get("revoked")).unwrap();
    assert_eq!(revoked.get("wrong").and_then(|v| v.cast_f64()), Some(1.0));
    assert_eq!(
        revoked
            .get("statuses")
            .and_then(|v| v.get("200"))
            .and_then(|v| v.cast_f64()),
        Some(1.0)
    );
    assert_eq!(
        doc.get("errors")
            .and_then(|e| e.get("wrong_status"))
            .and_then(|v| v.cast_f64()),
        Some(1.0)
    );
    let p99 = doc
        .get("latency_us")
        .and_then(|l| l.get("corrected"))
        .and_then(|c| c.get("p99_9"));
    assert!(p99.is_some());

    let input = read_plot_input(text.as_bytes()).unwrap();
    assert_eq!(input.label, "run \"one\"");
    assert_eq!(input.corrected.len(), s.corrected_curve.len());
    assert_eq!(input.raw.last().map(|p| p.0), Some(100.0));
}

#[test]
fn reading_rejects_other_files() {
    assert!(read_plot_input(b"{").is_err());
    assert!(read_plot_input(b"{\"a\":1}").is_err());
    assert!(
        read_plot_input(b"{\"loadtest\":1,\"percentiles_us\":{\"corrected\":[[1]],\"raw\":[]}}")
            .is_err()
    );
    let ok = read_plot_input(
        b"{\"loadtest\":1,\"percentiles_us\":{\"corrected\":[[50,10]],\"raw\":[]}}",
    )
    .unwrap();
    assert_eq!(ok.label, "run");
    assert_eq!(ok.corrected, vec![(50.0, 10.0)]);
}
