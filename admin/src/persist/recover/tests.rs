use super::*;
use crate::persist::record;
use crate::persist::testing::Scratch;

const TTL: u64 = 10;

fn geometry() -> Geometry {
    Geometry::new(10_000, 1e-9).expect("geometry")
}

fn options(now: u64) -> RecoverOptions {
    RecoverOptions {
        geometry: geometry(),
        ttl: TTL,
        now,
        ignore_corrupt: false,
    }
}

fn key(i: usize) -> Vec<u8> {
    format!("jti-{i:04}").into_bytes()
}

fn write_segment(dir: &Path, seq: u64, records: &[(u64, Vec<u8>)]) -> PathBuf {
    let mut bytes = Vec::new();
    for (time, key) in records {
        record::encode(&mut bytes, *time, key);
    }
    let path = layout::segment(dir, seq);
    std::fs::write(&path, bytes).expect("write segment");
    path
}

fn write_snapshot(dir: &Path, seq: u64, keys: &[Vec<u8>], time: u64) -> PathBuf {
    let (_, mut writer) = Revocations::new(geometry(), TTL, time).expect("filter");
    for k in keys {
        writer.insert(k, time);
    }
    let path = layout::snapshot(dir, writer.current_epoch(), seq);
    std::fs::write(&path, &*writer.snapshot()).expect("write snapshot");
    path
}

#[test]
fn an_empty_directory_is_an_empty_filter() {
    let scratch = Scratch::new("empty");
    let dir = scratch.path().join("state");
    let r = recover(&dir, &options(1000)).expect("recover");
    assert!(!r.shared.contains(b"jti-x"));
    assert_eq!(r.layout.next_seq, 0);
    assert!(dir.is_dir());
}

/// Writes `n` records as segment 0, then for every cut of it writes `tail(cut bytes)` in its
/// place and checks recovery: exactly the whole records before the cut are revoked, the file is
/// cut back to them, and the torn bytes (up to the last nonzero one) are counted.
fn recover_every_cut(name: &str, n: usize, tail: impl Fn(&[u8]) -> Vec<u8>) {
    let scratch = Scratch::new(name);
    let records: Vec<(u64, Vec<u8>)> = (0..n).map(|i| (1000 + i as u64 / 4, key(i))).collect();
    let full = write_segment(scratch.path(), 0, &records);
    let bytes = std::fs::read(&full).expect("read");
    let ends: Vec<usize> = records
        .iter()
        .scan(0, |at, (_, k)| {
            *at += record::size(k.len());
            Some(*at)
        })
        .collect();
    for cut in 0..=bytes.len() {
        std::fs::write(&full, tail(&bytes[..cut])).expect("cut");
        let r = recover(scratch.path(), &options(1005)).expect("a cut log recovers");
        let whole = ends.iter().filter(|&&e| e <= cut).count();
        for (i, (_, k)) in records.iter().enumerate() {
            assert_eq!(r.shared.contains(k), i < whole, "cut {cut}, record {i}");
        }
        let valid = ends.get(whole.wrapping_sub(1)).copied().unwrap_or(0);
        let on_disk = std::fs::metadata(&full).expect("stat").len() as usize;
        assert_eq!(on_disk, valid, "cut back to the whole records (cut {cut})");
        // Counted up to its last nonzero byte (zeros may be a preallocated segment's).
        let torn = crate::persist::segment::without_trailing_zeros(&bytes[valid..cut]);
        assert_eq!(r.report.truncated as usize, torn, "cut {cut}");
        // Recovery starts a new segment each time; remove the test's leftovers.
        let _ = std::fs::remove_file(layout::segment(scratch.path(), 1));
    }
}

#[test]
fn a_log_cut_at_every_offset_recovers_a_prefix() {
    recover_every_cut("cut", 12, <[u8]>::to_vec);
}

#[test]
fn a_preallocated_log_cut_at_every_offset_recovers_a_prefix_and_drops_the_zeros() {
    // What a crash leaves in a preallocated segment: records, maybe a cut one, then zeros.
    recover_every_cut("cut-preallocated", 6, |kept| {
        let mut file = kept.to_vec();
        file.resize(kept.len() + 4096, 0);
        file
    });
}

#[test]
fn zeros_after_the_records_of_an_earlier_segment_are_its_end_not_damage() {
    // A preallocated segment the journal moved on from, whose cut to its records was lost in a
    // crash; the next segment holds later records.
    let scratch = Scratch::new("zero-tail");
    let first = write_segment(scratch.path(), 0, &[(1000, key(0)), (1000, key(1))]);
    write_segment(scratch.path(), 1, &[(1001, key(2))]);
    let mut bytes = std::fs::read(&first).expect("read");
    let records = bytes.len();
    bytes.resize(records + 64 * 1024, 0);
    std::fs::write(&first, &bytes).expect("zeros");
    let r = recover(scratch.path(), &options(1002)).expect("zeros are not damage");
    for i in 0..3 {
        assert!(r.shared.contains(&key(i)), "record {i}");
    }
    assert_eq!(r.report.truncated, 0);
    assert!(!r.report.corrupt_ignored);
    assert_eq!(
        std::fs::metadata(&first).expect("stat").len() as usize,
        records
    );
}

#[test]
fn damage_before_the_tail_refuses_to_start_unless_ignored() {
    let scratch = Scratch::new("middle");
    let first = write_segment(scratch.path(), 0, &[(1000, key(0)), (1000, key(1))]);
    write_segment(scratch.path(), 1, &[(1001, key(2))]);
    let mut bytes = std::fs::read(&first).expect("read");
    bytes[20] ^= 0x40;
    std::fs::write(&first, &bytes).expect("damage");
    let e = recover(scratch.path(), &options(1002)).expect_err("corrupt middle");
    assert!(
        matches!(e, RecoverError::CorruptRecord { offset: 0, .. }),
        "{e}"
    );
    assert!(e.to_string().contains("ignore_corrupt"), "{e}");
    let mut ignoring = options(1002);
    ignoring.ignore_corrupt = true;
    let r = recover(scratch.path(), &ignoring).expect("ignored");
    assert!(r.report.corrupt_ignored);
    assert!(r.shared.contains(&key(2)));
}

#[test]
fn a_missing_segment_is_an_error() {
    let scratch = Scratch::new("missing");
    write_segment(scratch.path(), 0, &[(1000, key(0))]);
    write_segment(scratch.path(), 2, &[(1000, key(1))]);
    let e = recover(scratch.path(), &options(1001)).expect_err("gap");
    assert!(matches!(e, RecoverError::MissingSegment { .. }), "{e}");
}

#[test]
fn a_corrupt_snapshot_falls_back_to_the_previous_one() {
    let flips = [0usize, 9, 17, 31, 40, 100, 1000, 5000];
    for &at in &flips {
        let scratch = Scratch::new("fallback");
        let dir = scratch.path();
        write_snapshot(dir, 1, &[key(0)], 1000);
        write_segment(dir, 1, &[(1001, key(1))]);
        let newest = write_snapshot(dir, 2, &[key(0), key(1)], 1001);
        write_segment(dir, 2, &[(1002, key(2))]);
        let mut bytes = std::fs::read(&newest).expect("read");
        let at = at % bytes.len();
        bytes[at] ^= 0x10;
        std::fs::write(&newest, &bytes).expect("damage");
        let r = recover(dir, &options(1003)).expect("falls back");
        for i in 0..3 {
            assert!(r.shared.contains(&key(i)), "flip at {at}: key {i}");
        }
        assert!(
            r.report.notes.iter().any(|n| n.contains("falling back")),
            "{:?}",
            r.report.notes
        );
        assert!(!newest.exists(), "renamed out of the way");
        assert_eq!(r.layout.snapshots.len(), 1);
    }
}

#[test]
fn no_valid_snapshot_exits_with_the_reason_unless_ignored() {
    let scratch = Scratch::new("nosnap");
    let dir = scratch.path();
    let only = write_snapshot(dir, 1, &[key(0)], 1000);
    write_segment(dir, 1, &[(1001, key(1))]);
    let mut bytes = std::fs::read(&only).expect("read");
    let last = bytes.len() - 1;
    bytes[last] ^= 1;
    std::fs::write(&only, &bytes).expect("damage");
    let e = recover(dir, &options(1002)).expect_err("no snapshot left");
    assert!(matches!(e, RecoverError::Snapshot { .. }), "{e}");
    assert!(e.to_string().contains("checksum"), "{e}");
}

#[test]
fn records_older_than_the_window_are_gone_younger_ones_are_not() {
    let scratch = Scratch::new("expiry");
    let dir = scratch.path();
    // Epochs (TTL 10): 100 -> 10, 125 -> 12, 139 -> 13.
    write_segment(dir, 0, &[(100, key(0)), (125, key(1)), (139, key(2))]);
    let r = recover(dir, &options(131)).expect("recover");
    assert!(
        !r.shared.contains(&key(0)),
        "epoch 10 is out of the window at epoch 13"
    );
    assert!(r.shared.contains(&key(1)));
    assert!(r.shared.contains(&key(2)));
    assert_eq!(r.report.expired, 1);
    drop(r);
    let _ = std::fs::remove_file(layout::segment(dir, 1));
    // Later: epoch 14 keeps epoch 13 only.
    let r = recover(dir, &options(145)).expect("recover");
    assert!(
        !r.shared.contains(&key(1)),
        "epoch 12 left the window at epoch 14"
    );
    assert!(r.shared.contains(&key(2)));
}

#[test]
fn generations_are_replayed_exactly() {
    // A record of the previous epoch must leave with that epoch, not live one TTL longer.
    let scratch = Scratch::new("exact");
    let dir = scratch.path();
    write_segment(dir, 0, &[(128, key(0)), (131, key(1))]);
    let r = recover(dir, &options(132)).expect("recover");
    let (shared, mut writer) = (r.shared, r.writer);
    assert!(shared.contains(&key(0)) && shared.contains(&key(1)));
    writer.advance(140);
    writer.finish_sweeps();
    assert!(!shared.contains(&key(0)), "epoch 12 is out at epoch 14");
    assert!(shared.contains(&key(1)));
}
