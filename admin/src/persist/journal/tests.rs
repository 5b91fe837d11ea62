use super::*;
use crate::persist::testing::{Scratch, on_runtime};
use crate::persist::{record, segment};
use std::path::Path;

#[test]
fn concurrent_appends_share_syncs_and_all_become_durable() {
    let scratch = Scratch::new("journal");
    let path = scratch.path().join("journal-0.log");
    let p = path.clone();
    on_runtime(async move || {
        let journal = Journal::start(segment::create(&p).await.expect("create"));
        let tasks: Vec<_> = (0..200u64)
            .map(|i| {
                let journal = Rc::clone(&journal);
                event::spawn(async move {
                    let key = format!("jti-{i}");
                    let ticket = journal.append(&[key.as_bytes()], 1000 + i).expect("append");
                    journal.durable(ticket).await
                })
            })
            .collect();
        for task in tasks {
            task.await.expect("durable");
        }
        journal.close().await.expect("close");
    });
    let bytes = std::fs::read(&path).expect("read");
    let mut seen = 0;
    assert_eq!(record::scan(&bytes, |_| seen += 1), record::End::Clean);
    assert_eq!(seen, 200);
}

#[test]
fn a_full_disk_fails_the_waiters_and_every_later_append() {
    if !Path::new("/dev/full").exists() {
        return;
    }
    let failed = on_runtime(async move || {
        let file = segment::open(Path::new("/dev/full"), false)
            .await
            .expect("open /dev/full");
        let journal = Journal::start(file);
        let ticket = journal.append(&[b"jti-a"], 1).expect("buffered");
        let first = journal.durable(ticket).await;
        let later = journal.append(&[b"jti-b"], 1);
        (first.is_err(), later.is_err(), journal.check().is_err())
    });
    assert_eq!(failed, (true, true, true));
}

#[test]
fn records_stay_in_order_across_overlapping_syncs_and_a_switch() {
    let scratch = Scratch::new("journal-order");
    let (first, second) = (
        scratch.path().join("journal-0.log"),
        scratch.path().join("journal-1.log"),
    );
    let (a, b) = (first.clone(), second.clone());
    on_runtime(async move || {
        let journal = Journal::start(segment::create(&a).await.expect("create"));
        let mut tickets = Vec::new();
        for i in 0..300u64 {
            if i == 150 {
                journal
                    .switch(segment::create(&b).await.expect("create"))
                    .expect("switch");
            }
            let key = format!("jti-{i}");
            tickets.push(journal.append(&[key.as_bytes()], 1000).expect("append"));
            // Now and then wait, so that groups of every size meet syncs already running.
            if i % 7 == 0 {
                journal
                    .durable(tickets[tickets.len() / 2])
                    .await
                    .expect("durable");
            }
        }
        for ticket in tickets {
            journal.durable(ticket).await.expect("durable");
        }
        journal.close().await.expect("close");
    });
    let mut keys = Vec::new();
    for path in [&first, &second] {
        let bytes = std::fs::read(path).expect("read");
        assert_eq!(
            record::scan(&bytes, |r| keys
                .push(String::from_utf8_lossy(r.key).into_owned())),
            record::End::Clean
        );
    }
    let expected: Vec<String> = (0..300).map(|i| format!("jti-{i}")).collect();
    assert_eq!(keys, expected);
}

/// Keeps one preallocated spare (`journal-<seq>.log`, `seq` counting up from `first`) offered
/// until the journal closes.
async fn make_spares(journal: Rc<Journal>, dir: std::path::PathBuf, bytes: u64, first: u64) {
    let mut seq = first;
    while journal.spare_wanted().await {
        let path = dir.join(format!("journal-{seq}.log"));
        let (file, unallocated) = segment::create_preallocated(&path, bytes)
            .await
            .expect("create");
        assert_eq!(unallocated, None);
        assert_eq!(file.preallocated(), bytes);
        if journal.offer_spare(Spare { seq, file }).is_err() {
            return; // closed meanwhile
        }
        seq += 1;
    }
}

/// A journal on a plain `journal-0.log` in `dir`, offered `journal-1.log` (4 KiB
/// preallocated) as its spare.
async fn with_a_spare(dir: &Path) -> Rc<Journal> {
    let journal = Journal::start(
        segment::create(&dir.join("journal-0.log"))
            .await
            .expect("create"),
    );
    let (spare, _) = segment::create_preallocated(&dir.join("journal-1.log"), 4096)
        .await
        .expect("create");
    journal
        .offer_spare(Spare {
            seq: 1,
            file: spare,
        })
        .expect("the journal takes it");
    journal
}

#[test]
fn full_segments_move_to_the_spare_and_are_trimmed_in_order() {
    let scratch = Scratch::new("journal-spare");
    let dir = scratch.path().to_path_buf();
    let d = dir.clone();
    on_runtime(async move || {
        let journal = with_a_spare(&d).await;
        let spares = event::spawn(make_spares(Rc::clone(&journal), d, 4096, 2));
        let mut tickets = Vec::new();
        for i in 0..600u64 {
            let key = format!("jti-{i:04}");
            tickets.push(journal.append(&[key.as_bytes()], 1000).expect("append"));
            if i % 5 == 0 {
                journal
                    .durable(tickets[tickets.len() - 1])
                    .await
                    .expect("durable");
            }
        }
        journal.close().await.expect("close");
        spares.await;
    });
    let mut names: Vec<_> = std::fs::read_dir(&dir)
        .expect("dir")
        .map(|e| e.expect("entry").path())
        .collect();
    names.sort_by_key(|p| {
        let name = p.file_name().and_then(|n| n.to_str()).unwrap_or_default();
        name.trim_start_matches("journal-")
            .trim_end_matches(".log")
            .parse::<u64>()
            .expect("seq")
    });
    let mut keys = Vec::new();
    let mut used = 0;
    for (i, path) in names.iter().enumerate() {
        let bytes = std::fs::read(path).expect("read");
        if i + 1 == names.len() && !bytes.is_empty() && segment::without_trailing_zeros(&bytes) == 0
        {
            // The spare offered last, never used.
            continue;
        }
        // Trimmed: no zeros left after the records of a segment the journal moved on from.
        assert_eq!(
            record::scan(&bytes, |r| keys
                .push(String::from_utf8_lossy(r.key).into_owned())),
            record::End::Clean,
            "{}",
            path.display()
        );
        used += usize::from(!bytes.is_empty());
    }
    // The plain first segment was left for the spare before anything was written to it.
    assert_eq!(std::fs::metadata(&names[0]).expect("stat").len(), 0);
    // 600 records of 24 bytes do not fit in 4 KiB: several segments were used.
    assert!(used >= 3, "{used} segments used: {names:?}");
    let expected: Vec<String> = (0..600).map(|i| format!("jti-{i:04}")).collect();
    assert_eq!(keys, expected);
}

#[test]
fn a_snapshot_waiting_for_a_spare_gets_the_failure_or_the_spare() {
    let scratch = Scratch::new("journal-no-spare");
    let dir = scratch.path().to_path_buf();
    on_runtime(async move || {
        let journal = Journal::start(
            segment::create(&dir.join("journal-0.log"))
                .await
                .expect("create"),
        );
        journal.spare_failed("disk full".into());
        assert_eq!(
            journal.take_spare().await.map(|s| s.seq),
            Err(JournalError::NoSegment("disk full".into()))
        );
        let file = segment::create(&dir.join("journal-1.log"))
            .await
            .expect("create");
        journal
            .offer_spare(Spare { seq: 1, file })
            .expect("the journal takes it");
        assert_eq!(journal.take_spare().await.map(|s| s.seq), Ok(1));
        journal.close().await.expect("close");
        // Closing ends the spare maker's wait.
        assert!(!journal.spare_wanted().await);
    });
}

/// A spare the journal never used is cut to nothing when it closes, and one offered after it
/// closed is handed back.
#[test]
fn an_unused_spare_is_emptied_at_close_and_a_late_one_handed_back() {
    let scratch = Scratch::new("journal-unused-spare");
    let dir = scratch.path().to_path_buf();
    let d = dir.clone();
    on_runtime(async move || {
        let journal = with_a_spare(&d).await;
        journal.close().await.expect("close");
        let (late, _) = segment::create_preallocated(&d.join("journal-2.log"), 4096)
            .await
            .expect("create");
        let handed_back = journal.offer_spare(Spare { seq: 2, file: late });
        assert_eq!(handed_back.map_err(|s| s.seq), Err(2));
    });
    let len = |name: &str| std::fs::metadata(dir.join(name)).expect("stat").len();
    assert_eq!(len("journal-1.log"), 0, "the unused spare is emptied");
    assert_eq!(
        len("journal-2.log"),
        4096,
        "the late one is the caller's to discard"
    );
}
