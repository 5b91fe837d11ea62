use super::*;

#[test]
fn nines_axis() {
    assert_eq!(nines(0.0), 0.0);
    assert!((nines(90.0) - 1.0).abs() < 1e-9);
    assert!((nines(99.9) - 3.0).abs() < 1e-9);
    assert_eq!(nines(100.0), MAX_NINES);
    assert_eq!(nines_label(0), "0%");
    assert_eq!(nines_label(1), "90%");
    assert_eq!(nines_label(2), "99%");
    assert_eq!(nines_label(4), "99.99%");
}

#[test]
fn nice_ceilings() {
    assert_eq!(nice_ceiling(0.0), 1.0);
    assert_eq!(nice_ceiling(3.0), 5.0);
    assert_eq!(nice_ceiling(120.0), 200.0);
    assert_eq!(nice_ceiling(1000.0), 1000.0);
}

#[test]
fn renders_every_series_with_legend_and_escaped_text() {
    let a = Series {
        label: "run <a>".into(),
        points: vec![(0.0, 100.0), (50.0, 200.0), (99.9, 4000.0), (100.0, 9000.0)],
        dashed: false,
        colour: 0,
    };
    let b = Series {
        label: "raw".into(),
        points: vec![(0.0, 90.0), (99.0, 300.0)],
        dashed: true,
        colour: 0,
    };
    let svg = render("title & more", &[a, b]);
    assert!(svg.starts_with("<svg"));
    assert!(svg.trim_end().ends_with("</svg>"));
    assert_eq!(svg.matches("<polyline").count(), 2);
    assert!(svg.contains("run &lt;a&gt;"));
    assert!(svg.contains("title &amp; more"));
    assert!(svg.contains("99.9%"));
    assert!(svg.contains("latency (ms)"));
    assert!(svg.contains("stroke-dasharray"));
}

#[test]
fn empty_plot_is_still_an_svg() {
    let svg = render("nothing", &[]);
    assert!(svg.contains("</svg>"));
}
