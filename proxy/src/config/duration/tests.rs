use std::time::Duration;

use super::{DurationError, MAX_NANOS, format_duration, parse_duration};

#[test]
fn valid_durations_parse_as_go_does() {
    let table: &[(&str, Duration)] = &[
        ("0", Duration::ZERO),
        ("+0", Duration::ZERO),
        ("-0", Duration::ZERO),
        ("0s", Duration::ZERO),
        ("300ms", Duration::from_millis(300)),
        ("2s", Duration::from_secs(2)),
        ("1m30s", Duration::from_secs(90)),
        ("1h", Duration::from_secs(3600)),
        ("1.5s", Duration::from_millis(1500)),
        (".5s", Duration::from_millis(500)),
        ("1.s", Duration::from_secs(1)),
        ("+2s", Duration::from_secs(2)),
        ("150us", Duration::from_micros(150)),
        ("150µs", Duration::from_micros(150)),
        ("150μs", Duration::from_micros(150)),
        ("7ns", Duration::from_nanos(7)),
        ("1h2m3s4ms5us6ns", Duration::new(3723, 4_005_006)),
        ("3000ms", Duration::from_secs(3)),
        ("1.0000000001s", Duration::from_nanos(1_000_000_000)),
        ("0.000000001s", Duration::from_nanos(1)),
        ("12h", Duration::from_secs(12 * 3600)),
        ("2562047h", Duration::from_secs(2_562_047 * 3600)),
        ("9223372036854775807ns", Duration::from_nanos(MAX_NANOS)),
        // Go ignores fraction digits past what a u64 holds.
        ("1.00000000000000000000000000001s", Duration::from_secs(1)),
    ];
    for (input, want) in table {
        assert_eq!(parse_duration(input), Ok(*want), "{input}");
    }
}

#[test]
fn garbage_is_a_typed_error() {
    let invalid = [
        "", "+", "-", "s", ".", ".s", "abc", " 1s", "-.s", "٣s", "h1",
    ];
    for input in invalid {
        assert_eq!(
            parse_duration(input),
            Err(DurationError::Invalid(input.to_owned())),
            "{input:?}"
        );
    }
    for input in ["30", "1.5", "1s2", "1..5s"] {
        assert_eq!(
            parse_duration(input),
            Err(DurationError::MissingUnit(input.to_owned())),
            "{input:?}"
        );
    }
    let units = [
        ("1sec", "sec"),
        ("5d", "d"),
        ("1S", "S"),
        ("2MS", "MS"),
        ("1s-", "s-"),
        ("1e3s", "e"),
        ("1s ", "s "),
        ("1 s", " s"),
    ];
    for (input, unit) in units {
        assert_eq!(
            parse_duration(input),
            Err(DurationError::UnknownUnit {
                input: input.to_owned(),
                unit: unit.to_owned()
            }),
            "{input:?}"
        );
    }
    for input in ["-1s", "-0.5ms", "-1h30m"] {
        assert_eq!(
            parse_duration(input),
            Err(DurationError::Negative(input.to_owned())),
            "{input:?}"
        );
    }
}

#[test]
fn overflow_is_an_error_not_a_panic() {
    let table = [
        "9223372036854775808ns",
        "2562048h",
        "99999999999999999999s",
        "18446744073709551616ns",
        "9223372036854775807s",
        "2562047h48m",
        "5124095576030431h",
        "1h1h1h1h1h1h1h1h1h1h9223372036s",
    ];
    for input in table {
        let got = parse_duration(input);
        assert_eq!(
            got,
            Err(DurationError::Overflow(input.to_owned())),
            "{input}"
        );
    }
}

#[test]
fn messages_quote_the_input() {
    let e = parse_duration("soon").unwrap_err().to_string();
    assert_eq!(
        e,
        "invalid duration \"soon\": expected a number and a unit, like 300ms, 2s or 1m30s"
    );
    let e = parse_duration("5d").unwrap_err().to_string();
    assert_eq!(
        e,
        "invalid duration \"5d\": unknown unit \"d\" (ns, us, ms, s, m or h)"
    );
}

#[test]
fn formats_like_go() {
    let table: &[(Duration, &str)] = &[
        (Duration::ZERO, "0s"),
        (Duration::from_nanos(7), "7ns"),
        (Duration::from_micros(150), "150µs"),
        (Duration::from_nanos(1_500), "1.5µs"),
        (Duration::from_millis(300), "300ms"),
        (Duration::from_micros(1_250), "1.25ms"),
        (Duration::from_secs(2), "2s"),
        (Duration::from_millis(1_500), "1.5s"),
        (Duration::from_secs(90), "1m30s"),
        (Duration::from_secs(60), "1m0s"),
        (Duration::from_secs(3600), "1h0m0s"),
        (Duration::new(3723, 4_005_006), "1h2m3.004005006s"),
    ];
    for (d, want) in table {
        assert_eq!(format_duration(*d), *want, "{d:?}");
    }
}

#[test]
fn format_then_parse_round_trips() {
    for nanos in [
        1u64,
        999,
        1_000,
        1_500,
        999_999,
        1_000_000,
        1_234_567_891,
        3_600_000_000_000,
        MAX_NANOS,
    ] {
        let d = Duration::from_nanos(nanos);
        assert_eq!(parse_duration(&format_duration(d)), Ok(d), "{nanos}");
    }
}
