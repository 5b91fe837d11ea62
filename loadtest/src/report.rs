//! Results: per-core statistics (HDR histograms in microseconds, counters), their merge, and
//! the summary printed at the end.

use std::io::{self, Write};
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;

use crate::mix::{Expect, Kind};

/// Lowest latency recorded, in microseconds.
pub const LOWEST_US: u64 = 1;
/// Highest latency recorded (60 s), in microseconds; longer ones are clamped to it.
pub const HIGHEST_US: u64 = 60_000_000;
/// Significant figures kept by the histograms.
const SIGFIGS: u8 = 3;
/// Percentile points per halving of the distance to 100% in the stored curves.
const CURVE_TICKS: u32 = 5;

/// An empty latency histogram (1 µs .. 60 s, 3 significant figures).
pub fn new_histogram() -> Histogram<u64> {
    // Constant bounds that satisfy hdrhistogram's rules (low >= 1, high >= 2·low, sigfig <= 5):
    // this cannot fail.
    Histogram::new_with_bounds(LOWEST_US, HIGHEST_US, SIGFIGS)
        .expect("constant histogram bounds are valid")
}

/// Microseconds from `from` to `to` (0 when `to` is earlier).
pub fn micros(from: Instant, to: Instant) -> u64 {
    u64::try_from(to.saturating_duration_since(from).as_micros()).unwrap_or(u64::MAX)
}

/// How a request (or a connection attempt) failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    /// The TCP connection could not be made (counted per attempt, not per request).
    Connect,
    /// No byte arrived within `--timeout` while a response was awaited.
    Timeout,
    /// The server's bytes were not a valid response.
    Parse,
    /// The server closed or reset the connection before answering.
    Closed,
    /// Another socket error.
    Io,
}

/// Failures by cause.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Errors {
    /// Failed connection attempts.
    pub connect: u64,
    /// Requests that timed out.
    pub timeout: u64,
    /// Requests answered with bytes that do not parse.
    pub parse: u64,
    /// Requests cut off by a close or reset.
    pub closed: u64,
    /// Requests lost to other socket errors.
    pub io: u64,
}

impl Errors {
    /// Counts one failure.
    pub fn add(&mut self, failure: Failure) {
        match failure {
            Failure::Connect => self.connect += 1,
            Failure::Timeout => self.timeout += 1,
            Failure::Parse => self.parse += 1,
            Failure::Closed => self.closed += 1,
            Failure::Io => self.io += 1,
        }
    }

    /// Requests that got no response (connection attempts excluded).
    pub fn requests(&self) -> u64 {
        self.timeout + self.parse + self.closed + self.io
    }

    fn merge(&mut self, o: &Errors) {
        self.connect += o.connect;
        self.timeout += o.timeout;
        self.parse += o.parse;
        self.closed += o.closed;
        self.io += o.io;
    }
}

/// What one kind of request got.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KindStats {
    /// Responses received.
    pub responses: u64,
    /// Responses whose status was not the expected one.
    pub wrong: u64,
    /// Requests that got no response.
    pub errors: u64,
    /// Responses by status, ascending.
    pub statuses: Vec<(u16, u64)>,
}

impl KindStats {
    fn count_status(&mut self, status: u16) {
        match self.statuses.binary_search_by_key(&status, |&(s, _)| s) {
            Ok(i) => self.statuses[i].1 += 1,
            Err(i) => self.statuses.insert(i, (status, 1)),
        }
    }

    fn merge(&mut self, o: &KindStats) {
        self.responses += o.responses;
        self.wrong += o.wrong;
        self.errors += o.errors;
        for &(status, n) in &o.statuses {
            match self.statuses.binary_search_by_key(&status, |&(s, _)| s) {
                Ok(i) => self.statuses[i].1 += n,
                Err(i) => self.statuses.insert(i, (status, n)),
            }
        }
    }
}

/// Everything one core measured (and, after [`CoreStats::merge`], all of them).
#[derive(Debug, Clone)]
pub struct CoreStats {
    /// Latency from the intended send time (coordinated omission corrected).
    pub corrected: Histogram<u64>,
    /// Latency from the actual send time (service time).
    pub raw: Histogram<u64>,
    /// Per kind, indexed by [`Kind::index`].
    pub kinds: [KindStats; 5],
    /// Failures.
    pub errors: Errors,
    /// Measured requests sent.
    pub sent: u64,
    /// Bytes read from sockets (whole run, warm-up included).
    pub bytes_in: u64,
    /// Bytes written to sockets (whole run, warm-up included).
    pub bytes_out: u64,
    /// When the last measured request completed (answered or failed).
    pub last_done: Option<Instant>,
}

impl Default for CoreStats {
    fn default() -> Self {
        CoreStats::new()
    }
}

impl CoreStats {
    /// Empty statistics.
    pub fn new() -> CoreStats {
        CoreStats {
            corrected: new_histogram(),
            raw: new_histogram(),
            kinds: Default::default(),
            errors: Errors::default(),
            sent: 0,
            bytes_in: 0,
            bytes_out: 0,
            last_done: None,
        }
    }

    /// Records a measured response; returns whether its status was wrong.
    pub fn response(
        &mut self,
        kind: Kind,
        status: u16,
        expect: &Expect,
        intended: Instant,
        sent_at: Instant,
        now: Instant,
    ) -> bool {
        self.corrected.saturating_record(micros(intended, now));
        self.raw.saturating_record(micros(sent_at, now));
        let stats = &mut self.kinds[kind.index()];
        stats.responses += 1;
        stats.count_status(status);
        let wrong = status != expect.status(kind);
        if wrong {
            stats.wrong += 1;
        }
        self.last_done = Some(now);
        wrong
    }

    /// Records a measured request that got no response.
    pub fn failure(&mut self, kind: Kind, failure: Failure, now: Instant) {
        self.errors.add(failure);
        self.kinds[kind.index()].errors += 1;
        self.last_done = Some(now);
    }

    /// Responses received, all kinds.
    pub fn responses(&self) -> u64 {
        self.kinds.iter().map(|k| k.responses).sum()
    }

    /// Adds `other` into `self`.
    pub fn merge(&mut self, other: &CoreStats) {
        // Same bounds on both sides, so `add` cannot fail; a failure would only lose samples.
        let _ = self.corrected.add(&other.corrected);
        let _ = self.raw.add(&other.raw);
        for (a, b) in self.kinds.iter_mut().zip(&other.kinds) {
            a.merge(b);
        }
        self.errors.merge(&other.errors);
        self.sent += other.sent;
        self.bytes_in += other.bytes_in;
        self.bytes_out += other.bytes_out;
        self.last_done = match (self.last_done, other.last_done) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (a, b) => a.or(b),
        };
    }
}

/// How the run was driven.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Mode {
    /// As fast as the connections allow.
    Closed,
    /// A fixed schedule of `rate` requests per second in total.
    Open {
        /// Requests per second.
        rate: f64,
    },
}

/// The run's settings, echoed in the reports.
#[derive(Debug, Clone, PartialEq)]
pub struct RunInfo {
    /// Name of the run in plots (`--label`).
    pub label: String,
    /// The target URL.
    pub target: String,
    /// Closed or open loop.
    pub mode: Mode,
    /// CPUs the executors ran on.
    pub cpus: Vec<usize>,
    /// Connections in total.
    pub connections: usize,
    /// Requests in flight per connection.
    pub pipeline: usize,
    /// Measured duration asked for.
    pub duration: Option<Duration>,
    /// Warm-up.
    pub warmup: Duration,
    /// `--requests`.
    pub requests_cap: Option<u64>,
    /// The mix (weights).
    pub mix: crate::mix::Mix,
    /// Expected statuses.
    pub expect: Expect,
}

/// Latency figures of one histogram, in microseconds.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Quantiles {
    /// Samples.
    pub count: u64,
    /// Mean.
    pub mean: f64,
    /// Median.
    pub p50: u64,
    /// 90th percentile.
    pub p90: u64,
    /// 99th percentile.
    pub p99: u64,
    /// 99.9th percentile.
    pub p999: u64,
    /// 99.99th percentile.
    pub p9999: u64,
    /// Maximum.
    pub max: u64,
}

impl Quantiles {
    /// The figures of `h`.
    pub fn of(h: &Histogram<u64>) -> Quantiles {
        if h.is_empty() {
            return Quantiles::default();
        }
        Quantiles {
            count: h.len(),
            mean: h.mean(),
            p50: h.value_at_quantile(0.5),
            p90: h.value_at_quantile(0.9),
            p99: h.value_at_quantile(0.99),
            p999: h.value_at_quantile(0.999),
            p9999: h.value_at_quantile(0.9999),
            max: h.max(),
        }
    }
}

/// The percentile curve of `h`: `(percentile 0..=100, value µs)` points, denser towards 100%.
pub fn curve(h: &Histogram<u64>) -> Vec<(f64, u64)> {
    if h.is_empty() {
        return Vec::new();
    }
    let mut points: Vec<(f64, u64)> = Vec::new();
    for v in h.iter_quantiles(CURVE_TICKS) {
        let point = (v.quantile_iterated_to() * 100.0, v.value_iterated_to());
        if points.last() != Some(&point) {
            points.push(point);
        }
    }
    points
}

/// Everything a run produced, ready to print or serialise.
#[derive(Debug, Clone)]
pub struct Summary {
    /// The settings.
    pub info: RunInfo,
    /// Measured time: from the end of the warm-up to the last completion (answer or
    /// failure) of a measured request.
    pub elapsed: Duration,
    /// Measured requests sent.
    pub sent: u64,
    /// Responses to them.
    pub responses: u64,
    /// Responses per second.
    pub rate: f64,
    /// Bytes read.
    pub bytes_in: u64,
    /// Bytes written.
    pub bytes_out: u64,
    /// Latency from intended send times.
    pub corrected: Quantiles,
    /// Latency from actual send times.
    pub raw: Quantiles,
    /// Percentile curve of `corrected`.
    pub corrected_curve: Vec<(f64, u64)>,
    /// Percentile curve of `raw`.
    pub raw_curve: Vec<(f64, u64)>,
    /// Per kind, indexed by [`Kind::index`].
    pub kinds: [KindStats; 5],
    /// Failures.
    pub errors: Errors,
}

impl Summary {
    /// Summarises merged statistics of a run whose measurement began at `measure_from`.
    pub fn new(info: RunInfo, stats: &CoreStats, measure_from: Instant) -> Summary {
        // Until the last completion: a target that falls behind an open-loop schedule answers
        // after the end, and the rate must show it.
        let elapsed = stats
            .last_done
            .unwrap_or(measure_from)
            .saturating_duration_since(measure_from);
        let responses = stats.responses();
        let secs = elapsed.as_secs_f64();
        Summary {
            info,
            elapsed,
            sent: stats.sent,
            responses,
            rate: if secs > 0.0 {
                responses as f64 / secs
            } else {
                0.0
            },
            bytes_in: stats.bytes_in,
            bytes_out: stats.bytes_out,
            corrected: Quantiles::of(&stats.corrected),
            raw: Quantiles::of(&stats.raw),
            corrected_curve: curve(&stats.corrected),
            raw_curve: curve(&stats.raw),
            kinds: stats.kinds.clone(),
            errors: stats.errors,
        }
    }

    /// Responses with the wrong status, all kinds.
    pub fn wrong(&self) -> u64 {
        self.kinds.iter().map(|k| k.wrong).sum()
    }

    /// Whether the run failed its checks: a wrong status, or not one response.
    pub fn failed(&self) -> bool {
        self.wrong() > 0 || self.responses == 0
    }

    /// The human-readable report.
    pub fn write_text(&self, out: &mut impl Write) -> io::Result<()> {
        let info = &self.info;
        let mode = match info.mode {
            Mode::Closed => "closed loop".to_owned(),
            Mode::Open { rate } => format!("open loop at {rate} req/s"),
        };
        writeln!(
            out,
            "{} — {mode}, {} connection(s) on CPU(s) {:?}, pipeline {}",
            info.target, info.connections, info.cpus, info.pipeline
        )?;
        writeln!(
            out,
            "  requests  {} sent, {} answered, {} failed in {:.3}s = {:.1} req/s",
            self.sent,
            self.responses,
            self.errors.requests(),
            self.elapsed.as_secs_f64(),
            self.rate
        )?;
        let secs = self.elapsed.as_secs_f64().max(1e-9);
        writeln!(
            out,
            "  bytes     in {} ({}/s), out {} ({}/s)",
            bytes(self.bytes_in),
            bytes((self.bytes_in as f64 / secs) as u64),
            bytes(self.bytes_out),
            bytes((self.bytes_out as f64 / secs) as u64)
        )?;
        writeln!(
            out,
            "  latency   {:>10} {:>9} {:>9} {:>9} {:>9} {:>9} {:>9} {:>9}",
            "", "p50", "p90", "p99", "p99.9", "p99.99", "max", "mean"
        )?;
        for (name, q) in [("corrected", &self.corrected), ("raw", &self.raw)] {
            writeln!(
                out,
                "            {name:>10} {:>9} {:>9} {:>9} {:>9} {:>9} {:>9} {:>9}",
                us(q.p50),
                us(q.p90),
                us(q.p99),
                us(q.p999),
                us(q.p9999),
                us(q.max),
                us(q.mean as u64)
            )?;
        }
        if info.mode == Mode::Closed {
            writeln!(
                out,
                "            (closed loop: requests go out when the previous answer is in, so corrected = raw)"
            )?;
        }
        for kind in info.mix.kinds() {
            let k = &self.kinds[kind.index()];
            let statuses: Vec<String> =
                k.statuses.iter().map(|(s, n)| format!("{s}×{n}")).collect();
            writeln!(
                out,
                "  {:<9} {:>9} answered, expected {}: {} wrong, {} failed  [{}]",
                kind.name(),
                k.responses,
                info.expect.status(kind),
                k.wrong,
                k.errors,
                statuses.join(" ")
            )?;
        }
        let e = &self.errors;
        writeln!(
            out,
            "  errors    connect {}, timeout {}, parse {}, closed {}, io {}, wrong status {}",
            e.connect,
            e.timeout,
            e.parse,
            e.closed,
            e.io,
            self.wrong()
        )?;
        if self.wrong() > 0 {
            writeln!(
                out,
                "  FAILED: {} response(s) with the wrong status",
                self.wrong()
            )?;
        } else if self.responses == 0 {
            writeln!(out, "  FAILED: no response at all")?;
        }
        Ok(())
    }
}

/// `µs` with a readable unit.
pub fn us(v: u64) -> String {
    if v < 1_000 {
        format!("{v}µs")
    } else if v < 1_000_000 {
        format!("{:.2}ms", v as f64 / 1e3)
    } else {
        format!("{:.2}s", v as f64 / 1e6)
    }
}

fn bytes(v: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut value = v as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{v} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

#[cfg(test)]
mod tests;
