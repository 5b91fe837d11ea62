//! JSON: string escaping for tokens, the `--json` report (written by hand, no serde) and
//! reading reports back for `loadtest plot`.

use std::fmt::Write as _;

use simd_json::OwnedValue as Value;
use simd_json::prelude::*;

use crate::report::{Mode, Quantiles, Summary};

/// Appends `s` as a JSON string literal (quoted, escaped) to `out`.
pub fn escape_into(s: &str, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if u32::from(c) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

fn string(s: &str) -> String {
    let mut out = String::new();
    escape_into(s, &mut out);
    out
}

/// A finite number, or `null`.
fn number(v: f64) -> String {
    if v.is_finite() {
        // Rust prints the shortest text that reads back exactly; JSON needs a leading digit.
        format!("{v}")
    } else {
        "null".to_owned()
    }
}

fn quantiles(q: &Quantiles) -> String {
    format!(
        "{{\"count\":{},\"mean\":{},\"p50\":{},\"p90\":{},\"p99\":{},\"p99_9\":{},\"p99_99\":{},\"max\":{}}}",
        q.count,
        number(q.mean),
        q.p50,
        q.p90,
        q.p99,
        q.p999,
        q.p9999,
        q.max
    )
}

fn curve(points: &[(f64, u64)]) -> String {
    let mut out = String::from("[");
    for (i, (p, v)) in points.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        let _ = write!(out, "[{},{v}]", number(*p));
    }
    out.push(']');
    out
}

/// The `--json` report: every figure of `s`, one object.
pub fn summary(s: &Summary) -> String {
    let info = &s.info;
    let mut o = String::with_capacity(4096);
    o.push_str("{\n  \"loadtest\": 1,\n");
    let _ = writeln!(o, "  \"label\": {},", string(&info.label));
    let _ = writeln!(o, "  \"target\": {},", string(&info.target));
    let (mode, rate) = match info.mode {
        Mode::Closed => ("closed", "null".to_owned()),
        Mode::Open { rate } => ("open", number(rate)),
    };
    let _ = writeln!(o, "  \"mode\": \"{mode}\",\n  \"rate\": {rate},");
    let cpus: Vec<String> = info.cpus.iter().map(usize::to_string).collect();
    let _ = writeln!(
        o,
        "  \"cpus\": [{}],\n  \"connections\": {},\n  \"pipeline\": {},",
        cpus.join(","),
        info.connections,
        info.pipeline
    );
    let _ = writeln!(
        o,
        "  \"duration_s\": {},\n  \"warmup_s\": {},\n  \"requests_cap\": {},",
        info.duration
            .map_or("null".to_owned(), |d| number(d.as_secs_f64())),
        number(info.warmup.as_secs_f64()),
        info.requests_cap
            .map_or("null".to_owned(), |n| n.to_string())
    );
    let _ = writeln!(o, "  \"mix\": {},", string(&info.mix.to_string()));
    let _ = writeln!(
        o,
        "  \"elapsed_s\": {},\n  \"sent\": {},\n  \"responses\": {},\n  \"requests_per_s\": {},",
        number(s.elapsed.as_secs_f64()),
        s.sent,
        s.responses,
        number(s.rate)
    );
    let _ = writeln!(
        o,
        "  \"bytes_in\": {},\n  \"bytes_out\": {},",
        s.bytes_in, s.bytes_out
    );
    let _ = writeln!(
        o,
        "  \"latency_us\": {{\n    \"corrected\": {},\n    \"raw\": {}\n  }},",
        quantiles(&s.corrected),
        quantiles(&s.raw)
    );
    let e = &s.errors;
    let _ = writeln!(
        o,
        "  \"errors\": {{\"connect\": {}, \"timeout\": {}, \"parse\": {}, \"closed\": {}, \"io\": {}, \"wrong_status\": {}}},",
        e.connect,
        e.timeout,
        e.parse,
        e.closed,
        e.io,
        s.wrong()
    );
    o.push_str("  \"kinds\": {");
    for (i, kind) in info.mix.kinds().enumerate() {
        let k = &s.kinds[kind.index()];
        let statuses: Vec<String> = k
            .statuses
            .iter()
            .map(|(status, n)| format!("\"{status}\": {n}"))
            .collect();
        let _ = write!(
            o,
            "{}\n    \"{}\": {{\"weight\": {}, \"expected\": {}, \"responses\": {}, \"wrong\": {}, \"errors\": {}, \"statuses\": {{{}}}}}",
            if i > 0 { "," } else { "" },
            kind.name(),
            info.mix.weight(kind),
            info.expect.status(kind),
            k.responses,
            k.wrong,
            k.errors,
            statuses.join(", ")
        );
    }
    o.push_str("\n  },\n");
    let _ = writeln!(
        o,
        "  \"percentiles_us\": {{\n    \"corrected\": {},\n    \"raw\": {}\n  }}",
        curve(&s.corrected_curve),
        curve(&s.raw_curve)
    );
    o.push_str("}\n");
    o
}

/// What `loadtest plot` needs from a report.
#[derive(Debug, Clone, PartialEq)]
pub struct PlotInput {
    /// The run's label.
    pub label: String,
    /// `(percentile, µs)` from intended send times.
    pub corrected: Vec<(f64, f64)>,
    /// `(percentile, µs)` from actual send times.
    pub raw: Vec<(f64, f64)>,
}

/// A report file that cannot be plotted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ReadError(pub String);

/// Reads the curves of a `--json` report.
pub fn read_plot_input(bytes: &[u8]) -> Result<PlotInput, ReadError> {
    let mut scratch = bytes.to_vec();
    let doc: Value = simd_json::to_owned_value(&mut scratch)
        .map_err(|e| ReadError(format!("invalid JSON: {e}")))?;
    if doc.get("loadtest").and_then(|v| v.cast_f64()) != Some(1.0) {
        return Err(ReadError(
            "not a loadtest report (no \"loadtest\": 1)".into(),
        ));
    }
    let label = doc
        .get("label")
        .and_then(|v| v.as_str())
        .unwrap_or("run")
        .to_owned();
    let curves = doc
        .get("percentiles_us")
        .ok_or_else(|| ReadError("no \"percentiles_us\"".into()))?;
    let read = |name: &str| -> Result<Vec<(f64, f64)>, ReadError> {
        let bad = || {
            ReadError(format!(
                "\"percentiles_us.{name}\" is not [[percentile, µs], ...]"
            ))
        };
        let array = curves
            .get(name)
            .and_then(|v| v.as_array())
            .ok_or_else(bad)?;
        array
            .iter()
            .map(|point| {
                let pair = point.as_array().filter(|p| p.len() == 2).ok_or_else(bad)?;
                let p = pair[0].cast_f64().ok_or_else(bad)?;
                let v = pair[1].cast_f64().ok_or_else(bad)?;
                Ok((p, v))
            })
            .collect()
    };
    Ok(PlotInput {
        label,
        corrected: read("corrected")?,
        raw: read("raw")?,
    })
}

#[cfg(test)]
mod tests;
