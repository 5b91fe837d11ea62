//! Go duration strings (`300ms`, `2s`, `1m30s`, `1.5h`, `150µs`), parsed exactly as Go's
//! `time.ParseDuration` does, minus negative values; and printed back the way Go prints them.

use std::fmt::Write as _;
use std::time::Duration;

#[cfg(test)]
mod tests;

/// The largest duration Go can represent: `i64::MAX` nanoseconds (about 292 years).
pub const MAX_NANOS: u64 = i64::MAX as u64;

/// Why a string is not a duration.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DurationError {
    /// Not of the form `[+]<number><unit>...`.
    #[error("invalid duration {0:?}: expected a number and a unit, like 300ms, 2s or 1m30s")]
    Invalid(String),
    /// A number without a unit (`"30"`); only `"0"` may go without one.
    #[error("invalid duration {0:?}: missing unit (ns, us, ms, s, m or h)")]
    MissingUnit(String),
    /// A unit other than `ns`, `us`, `µs`, `ms`, `s`, `m`, `h`.
    #[error("invalid duration {input:?}: unknown unit {unit:?} (ns, us, ms, s, m or h)")]
    UnknownUnit {
        /// The whole string.
        input: String,
        /// The unit found.
        unit: String,
    },
    /// A negative duration.
    #[error("invalid duration {0:?}: must not be negative")]
    Negative(String),
    /// More than `i64::MAX` nanoseconds (Go's limit).
    #[error("invalid duration {0:?}: out of range (at most 2562047h)")]
    Overflow(String),
}

/// Parses a Go duration string: a sequence of decimal numbers, each with an optional fraction
/// and a unit (`ns`, `us`, `µs`, `μs`, `ms`, `s`, `m`, `h`), with an optional leading `+`;
/// `"0"` alone needs no unit. Negative values are refused.
pub fn parse_duration(input: &str) -> Result<Duration, DurationError> {
    let invalid = || DurationError::Invalid(input.to_owned());
    let overflow = || DurationError::Overflow(input.to_owned());
    let mut s = input.as_bytes();
    let mut negative = false;
    if let Some((&sign @ (b'-' | b'+'), rest)) = s.split_first() {
        negative = sign == b'-';
        s = rest;
    }
    if s == b"0" {
        return Ok(Duration::ZERO);
    }
    if s.is_empty() {
        return Err(invalid());
    }
    let mut total: u64 = 0;
    while !s.is_empty() {
        if !(s[0] == b'.' || s[0].is_ascii_digit()) {
            return Err(invalid());
        }
        let (whole, rest) = leading_int(s).ok_or_else(overflow)?;
        let had_whole = rest.len() != s.len();
        s = rest;
        let (mut frac, mut scale, mut had_frac) = (0u64, 1.0f64, false);
        if let Some((b'.', rest)) = s.split_first() {
            let (f, sc, rest2) = leading_fraction(rest);
            had_frac = rest2.len() != rest.len();
            (frac, scale, s) = (f, sc, rest2);
        }
        if !had_whole && !had_frac {
            return Err(invalid());
        }
        let unit_len = s
            .iter()
            .position(|&c| c == b'.' || c.is_ascii_digit())
            .unwrap_or(s.len());
        if unit_len == 0 {
            return Err(DurationError::MissingUnit(input.to_owned()));
        }
        let (unit, rest) = s.split_at(unit_len);
        s = rest;
        let unit_nanos = unit_nanos(unit).ok_or_else(|| DurationError::UnknownUnit {
            input: input.to_owned(),
            unit: String::from_utf8_lossy(unit).into_owned(),
        })?;
        let mut value = whole
            .checked_mul(unit_nanos)
            .filter(|v| *v <= 1 << 63)
            .ok_or_else(overflow)?;
        if frac > 0 {
            // As Go: float64 arithmetic for the fraction, truncated.
            let extra = (frac as f64 * (unit_nanos as f64 / scale)) as u64;
            value = value
                .checked_add(extra)
                .filter(|v| *v <= 1 << 63)
                .ok_or_else(overflow)?;
        }
        total = total
            .checked_add(value)
            .filter(|v| *v <= 1 << 63)
            .ok_or_else(overflow)?;
    }
    if negative && total > 0 {
        return Err(DurationError::Negative(input.to_owned()));
    }
    if total > MAX_NANOS {
        return Err(overflow());
    }
    Ok(Duration::from_nanos(total))
}

/// Nanoseconds in one `unit`.
fn unit_nanos(unit: &[u8]) -> Option<u64> {
    Some(match unit {
        b"ns" => 1,
        b"us" => 1_000,
        // U+00B5 (micro sign) and U+03BC (Greek small letter mu), as Go accepts both.
        [0xc2, 0xb5, b's'] | [0xce, 0xbc, b's'] => 1_000,
        b"ms" => 1_000_000,
        b"s" => 1_000_000_000,
        b"m" => 60 * 1_000_000_000,
        b"h" => 3_600 * 1_000_000_000,
        _ => return None,
    })
}

/// The leading decimal digits of `s` as an integer (0 when there are none) and the rest;
/// `None` when the integer exceeds 2^63.
fn leading_int(s: &[u8]) -> Option<(u64, &[u8])> {
    let digits = s.iter().take_while(|c| c.is_ascii_digit()).count();
    let mut value: u64 = 0;
    for &c in &s[..digits] {
        value = value.checked_mul(10)?.checked_add(u64::from(c - b'0'))?;
        if value > 1 << 63 {
            return None;
        }
    }
    Some((value, &s[digits..]))
}

/// The leading digits of a fraction: its value, `10^digits` as a float, and the rest. Digits past
/// what a `u64` holds are consumed but ignored, as Go does.
fn leading_fraction(s: &[u8]) -> (u64, f64, &[u8]) {
    let digits = s.iter().take_while(|c| c.is_ascii_digit()).count();
    let (mut value, mut scale, mut overflowed) = (0u64, 1.0f64, false);
    for &c in &s[..digits] {
        if overflowed {
            continue;
        }
        match value
            .checked_mul(10)
            .and_then(|v| v.checked_add(u64::from(c - b'0')))
        {
            Some(v) if v <= 1 << 63 => {
                value = v;
                scale *= 10.0;
            }
            _ => overflowed = true,
        }
    }
    (value, scale, &s[digits..])
}

/// `d` the way Go prints a `time.Duration`: `0s`, `150µs`, `300ms`, `1.5s`, `1m30s`, `1h0m0s`.
pub fn format_duration(d: Duration) -> String {
    let nanos = d.as_nanos();
    if nanos == 0 {
        return "0s".to_owned();
    }
    let mut out = String::new();
    if nanos < 1_000 {
        let _ = write!(out, "{nanos}ns");
    } else if nanos < 1_000_000 {
        push_fraction(&mut out, nanos, 1_000, 3);
        out.push_str("µs");
    } else if nanos < 1_000_000_000 {
        push_fraction(&mut out, nanos, 1_000_000, 6);
        out.push_str("ms");
    } else {
        let secs = nanos / 1_000_000_000;
        let (h, m) = (secs / 3_600, secs / 60 % 60);
        if h > 0 {
            let _ = write!(out, "{h}h{m}m");
        } else if m > 0 {
            let _ = write!(out, "{m}m");
        }
        push_fraction(&mut out, nanos % 60_000_000_000, 1_000_000_000, 9);
        out.push('s');
    }
    out
}

/// Writes `value / unit` with up to `digits` fraction digits, trailing zeros dropped.
fn push_fraction(out: &mut String, value: u128, unit: u128, digits: usize) {
    let _ = write!(out, "{}", value / unit);
    let frac = value % unit;
    if frac > 0 {
        let text = format!("{frac:0digits$}");
        out.push('.');
        out.push_str(text.trim_end_matches('0'));
    }
}
