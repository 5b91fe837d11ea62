use super::*;

#[test]
fn connections_interleave_into_one_even_stream() {
    let start = Instant::now();
    let rate = 1000.0; // one request per millisecond overall
    let schedules: Vec<Schedule> = (0..4).map(|g| Schedule::new(start, rate, 4, g)).collect();
    let mut times: Vec<Duration> = schedules
        .iter()
        .flat_map(|s| (0..25).map(move |k| s.at(k) - start))
        .collect();
    times.sort();
    assert_eq!(times.len(), 100);
    for (i, t) in times.iter().enumerate() {
        let expected = Duration::from_millis(i as u64);
        let diff = t.abs_diff(expected);
        assert!(diff < Duration::from_micros(1), "{i}: {t:?}");
    }
}

#[test]
fn advance_moves_one_period() {
    let start = Instant::now();
    let mut s = Schedule::new(start, 100.0, 2, 1);
    assert_eq!(s.peek() - start, Duration::from_millis(10));
    s.advance();
    assert_eq!(s.peek() - start, Duration::from_millis(30));
}

#[test]
fn window_splits_warmup_measure_and_end() {
    let start = Instant::now();
    let w = Window::new(start, Duration::from_secs(1), Some(Duration::from_secs(2)));
    assert!(!w.measured(start + Duration::from_millis(999)));
    assert!(w.measured(start + Duration::from_secs(1)));
    assert!(!w.over(start + Duration::from_millis(2999)));
    assert!(w.over(start + Duration::from_secs(3)));
    assert!(!Window::new(start, Duration::ZERO, None).over(start + Duration::from_secs(1 << 20)));
}

#[test]
fn budget_hands_out_exactly_the_limit_across_threads() {
    let budget = Budget::new(Some(10_000));
    let granted = AtomicU64::new(0);
    std::thread::scope(|s| {
        for _ in 0..4 {
            s.spawn(|| {
                while budget.claim() {
                    granted.fetch_add(1, Ordering::Relaxed);
                }
            });
        }
    });
    assert_eq!(granted.into_inner(), 10_000);
    assert!(budget.exhausted());
    assert!(!Budget::new(None).exhausted());
    assert!(Budget::new(None).claim());
}
