//! Latency-by-percentile plots as SVG, drawn like HdrHistogram's plotter: the x axis counts
//! "nines" (0%, 90%, 99%, 99.9%, ...: `-log10(1 - p)`), so the tail gets as much room as the
//! body; the y axis is linear latency. Several runs share one plot.

use std::fmt::Write as _;

/// One curve.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    /// Legend text.
    pub label: String,
    /// `(percentile 0..=100, latency µs)`, percentiles ascending.
    pub points: Vec<(f64, f64)>,
    /// Drawn dashed (used for raw service time beside the corrected curve).
    pub dashed: bool,
    /// Palette index: a run's corrected and raw curves share one colour.
    pub colour: usize,
}

const WIDTH: f64 = 960.0;
const HEIGHT: f64 = 540.0;
const LEFT: f64 = 80.0;
const RIGHT: f64 = 250.0;
const TOP: f64 = 50.0;
const BOTTOM: f64 = 60.0;
/// The most nines on the x axis (99.99999%).
const MAX_NINES: f64 = 7.0;
const COLOURS: [&str; 8] = [
    "#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf",
];

/// `-log10(1 - p/100)`, capped at 7 (99.99999%; 100% itself is infinitely many nines).
pub fn nines(percentile: f64) -> f64 {
    let rest = 1.0 - percentile / 100.0;
    if rest <= 10f64.powf(-MAX_NINES) {
        MAX_NINES
    } else {
        (-rest.log10()).max(0.0)
    }
}

/// The x-axis label at `n` nines: 0%, 90%, 99%, 99.9%, ...
pub fn nines_label(n: u32) -> String {
    match n {
        0 => "0%".to_owned(),
        1 => "90%".to_owned(),
        n => format!("99.{}%", "9".repeat(n as usize - 2)),
    }
    .replace("99.%", "99%")
}

/// A round number at or above `v`: 1, 2 or 5 times a power of ten.
fn nice_ceiling(v: f64) -> f64 {
    if v <= 0.0 || !v.is_finite() {
        return 1.0;
    }
    let magnitude = 10f64.powf(v.log10().floor());
    for step in [1.0, 2.0, 5.0, 10.0] {
        if step * magnitude >= v {
            return step * magnitude;
        }
    }
    10.0 * magnitude
}

fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// Renders `series` under `title`.
pub fn render(title: &str, series: &[Series]) -> String {
    // The x range: enough nines for the deepest point below 100%, at least 2 (99%).
    let deepest = series
        .iter()
        .flat_map(|s| s.points.iter())
        .filter(|(p, _)| *p < 100.0)
        .map(|(p, _)| nines(*p))
        .fold(0.0f64, f64::max);
    let x_max = (deepest.ceil() + 1.0).clamp(2.0, MAX_NINES);
    let y_top_us = series
        .iter()
        .flat_map(|s| s.points.iter())
        .map(|(_, v)| *v)
        .fold(0.0f64, f64::max);
    let (unit, scale) = if y_top_us >= 1e6 {
        ("s", 1e6)
    } else if y_top_us >= 1e3 {
        ("ms", 1e3)
    } else {
        ("µs", 1.0)
    };
    let y_max = nice_ceiling(y_top_us / scale);
    let plot_w = WIDTH - LEFT - RIGHT;
    let plot_h = HEIGHT - TOP - BOTTOM;
    let x_of = |p: f64| LEFT + nines(p).min(x_max) / x_max * plot_w;
    let y_of = |us: f64| TOP + plot_h - (us / scale / y_max).min(1.0) * plot_h;

    let mut o = String::with_capacity(16 * 1024);
    let _ = writeln!(
        o,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" viewBox="0 0 {WIDTH} {HEIGHT}" font-family="sans-serif" font-size="12">"#
    );
    let _ = writeln!(o, r#"<rect width="100%" height="100%" fill="white"/>"#);
    let _ = writeln!(
        o,
        r#"<text x="{}" y="28" text-anchor="middle" font-size="16">{}</text>"#,
        LEFT + plot_w / 2.0,
        xml_escape(title)
    );
    // Grid and x labels, one per nine.
    for n in 0..=(x_max as u32) {
        let x = LEFT + f64::from(n) / x_max * plot_w;
        let _ = writeln!(
            o,
            r##"<line x1="{x:.1}" y1="{TOP}" x2="{x:.1}" y2="{:.1}" stroke="#ddd"/>"##,
            TOP + plot_h
        );
        let _ = writeln!(
            o,
            r#"<text x="{x:.1}" y="{:.1}" text-anchor="middle">{}</text>"#,
            TOP + plot_h + 18.0,
            nines_label(n)
        );
    }
    let _ = writeln!(
        o,
        r#"<text x="{:.1}" y="{:.1}" text-anchor="middle">percentile</text>"#,
        LEFT + plot_w / 2.0,
        HEIGHT - 15.0
    );
    // Grid and y labels: five steps.
    for i in 0..=5 {
        let value = y_max * f64::from(i) / 5.0;
        let y = TOP + plot_h - f64::from(i) / 5.0 * plot_h;
        let _ = writeln!(
            o,
            r##"<line x1="{LEFT}" y1="{y:.1}" x2="{:.1}" y2="{y:.1}" stroke="#ddd"/>"##,
            LEFT + plot_w
        );
        let _ = writeln!(
            o,
            r#"<text x="{:.1}" y="{:.1}" text-anchor="end">{}</text>"#,
            LEFT - 6.0,
            y + 4.0,
            trim_number(value)
        );
    }
    let _ = writeln!(
        o,
        r#"<text x="20" y="{:.1}" text-anchor="middle" transform="rotate(-90 20 {:.1})">latency ({unit})</text>"#,
        TOP + plot_h / 2.0,
        TOP + plot_h / 2.0
    );
    let _ = writeln!(
        o,
        r##"<rect x="{LEFT}" y="{TOP}" width="{plot_w}" height="{plot_h}" fill="none" stroke="#333"/>"##
    );
    // Curves and legend.
    for (i, s) in series.iter().enumerate() {
        let colour = COLOURS[s.colour % COLOURS.len()];
        let dash = if s.dashed {
            r#" stroke-dasharray="6 4""#
        } else {
            ""
        };
        let mut path = String::new();
        for (p, v) in &s.points {
            let _ = write!(path, "{:.1},{:.1} ", x_of(*p), y_of(*v));
        }
        let _ = writeln!(
            o,
            r#"<polyline fill="none" stroke="{colour}" stroke-width="2"{dash} points="{}"/>"#,
            path.trim_end()
        );
        let ly = TOP + 10.0 + 20.0 * i as f64;
        let lx = WIDTH - RIGHT + 15.0;
        let _ = writeln!(
            o,
            r#"<line x1="{lx}" y1="{ly}" x2="{}" y2="{ly}" stroke="{colour}" stroke-width="2"{dash}/>"#,
            lx + 25.0
        );
        let _ = writeln!(
            o,
            r#"<text x="{}" y="{}">{}</text>"#,
            lx + 32.0,
            ly + 4.0,
            xml_escape(&s.label)
        );
    }
    o.push_str("</svg>\n");
    o
}

fn trim_number(v: f64) -> String {
    let s = format!("{v:.2}");
    s.trim_end_matches('0').trim_end_matches('.').to_owned()
}

#[cfg(test)]
mod tests;
