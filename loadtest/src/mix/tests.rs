use super::*;

#[test]
fn parses_the_documented_example() {
    let mix = Mix::parse("valid=90,revoked=5,expired=3,badsig=2").unwrap();
    assert_eq!(mix.weight(Kind::Valid), 90);
    assert_eq!(mix.weight(Kind::None), 0);
    assert_eq!(mix.to_string(), "valid=90,revoked=5,expired=3,badsig=2");
    assert!(mix.needs_tokens());
    assert!(!Mix::parse("none=1").unwrap().needs_tokens());
}

#[test]
fn bad_specs_are_errors() {
    assert_eq!(
        Mix::parse("valid"),
        Err(MixError::Entry("valid".to_owned()))
    );
    assert!(matches!(Mix::parse("bogus=3"), Err(MixError::Entry(_))));
    assert!(matches!(Mix::parse("valid=-1"), Err(MixError::Entry(_))));
    assert_eq!(
        Mix::parse("valid=1,valid=2"),
        Err(MixError::Duplicate("valid".to_owned()))
    );
    assert_eq!(Mix::parse("valid=0"), Err(MixError::Empty));
    assert_eq!(Mix::parse(""), Err(MixError::Empty));
    assert!(matches!(
        Mix::parse("valid=1000000,none=999999"),
        Err(MixError::TooFine(_))
    ));
}

#[test]
fn cycle_holds_exact_proportions_and_spreads_kinds() {
    let mix = Mix::parse("valid=90,revoked=5,expired=3,badsig=2").unwrap();
    let cycle = mix.cycle();
    assert_eq!(cycle.len(), 100);
    for kind in Kind::ALL {
        let n = cycle.iter().filter(|&&k| k == kind).count();
        assert_eq!(n as u32, mix.weight(kind), "{kind}");
    }
    // Spread: the five revoked requests are not bunched together.
    let positions: Vec<usize> = (0..100).filter(|&i| cycle[i] == Kind::Revoked).collect();
    for pair in positions.windows(2) {
        assert!(pair[1] - pair[0] >= 10, "{positions:?}");
    }
}

#[test]
fn cycle_is_reduced_by_the_gcd() {
    let mix = Mix::parse("valid=50,none=50").unwrap();
    assert_eq!(mix.cycle(), vec![Kind::Valid, Kind::None]);
}

#[test]
fn cursors_start_at_different_places_and_wrap() {
    let cycle: std::rc::Rc<[Kind]> = Mix::parse("valid=3,none=1").unwrap().cycle().into();
    let mut a = MixCursor::new(cycle.clone(), 0, 4);
    let mut b = MixCursor::new(cycle.clone(), 1, 4);
    let first_a: Vec<Kind> = (0..8).map(|_| a.next_kind()).collect();
    let first_b: Vec<Kind> = (0..8).map(|_| b.next_kind()).collect();
    assert_ne!(first_a, first_b);
    assert_eq!(first_a.iter().filter(|&&k| k == Kind::None).count(), 2);
}
