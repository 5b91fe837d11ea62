use super::*;

fn log(records: &[(u64, &[u8])]) -> Vec<u8> {
    let mut out = Vec::new();
    for &(time, key) in records {
        encode(&mut out, time, key);
    }
    out
}

#[test]
fn round_trip() {
    let records: [(u64, &[u8]); 3] = [(1, b"jti-a"), (2, b""), (u64::MAX, b"sub-\xffbinary")];
    let bytes = log(&records);
    let mut seen = Vec::new();
    let end = scan(&bytes, |r| seen.push((r.time, r.key.to_vec())));
    assert_eq!(end, End::Clean);
    let expected: Vec<_> = records.iter().map(|&(t, k)| (t, k.to_vec())).collect();
    assert_eq!(seen, expected);
    assert_eq!(
        bytes.len(),
        records.iter().map(|r| size(r.1.len())).sum::<usize>()
    );
}

#[test]
fn every_cut_yields_a_prefix_and_never_panics() {
    let records: Vec<(u64, Vec<u8>)> = (0..20u64)
        .map(|i| {
            (
                1000 + i,
                format!("jti-{i}-{}", "x".repeat(i as usize)).into_bytes(),
            )
        })
        .collect();
    let refs: Vec<(u64, &[u8])> = records.iter().map(|(t, k)| (*t, k.as_slice())).collect();
    let bytes = log(&refs);
    for cut in 0..=bytes.len() {
        let mut seen = Vec::new();
        let end = scan(&bytes[..cut], |r| seen.push((r.time, r.key.to_vec())));
        assert_eq!(seen[..], records[..seen.len()], "cut at {cut}");
        match end {
            End::Clean => assert_eq!(end.valid_len(cut), cut),
            End::Incomplete { offset } => assert!(offset < cut),
            End::Invalid { .. } => panic!("a cut is never invalid, at {cut}: {end:?}"),
        }
    }
}

#[test]
fn every_bit_flip_is_caught_or_harmless() {
    let bytes = log(&[(7, b"jti-one"), (8, b"jti-two")]);
    for bit in 0..bytes.len() * 8 {
        let mut damaged = bytes.clone();
        damaged[bit / 8] ^= 1 << (bit % 8);
        let mut seen = 0;
        let end = scan(&damaged, |_| seen += 1);
        // The damaged record and everything after it are refused.
        let first = bit / 8 < size(7);
        assert!(seen < 2, "bit {bit}: {end:?}");
        if first {
            assert_eq!(seen, 0, "bit {bit}");
        }
        assert_ne!(end, End::Clean, "bit {bit}");
    }
}

#[test]
fn zeros_and_huge_lengths_are_invalid() {
    assert!(matches!(
        decode(&[0u8; 32]),
        Decoded::Invalid(Invalid::Checksum)
    ));
    let mut huge = [0u8; 16];
    huge[..4].copy_from_slice(&u32::MAX.to_le_bytes());
    assert_eq!(decode(&huge), Decoded::Invalid(Invalid::Length(u32::MAX)));
    assert_eq!(decode(&huge[..10]), Decoded::Incomplete);
}
