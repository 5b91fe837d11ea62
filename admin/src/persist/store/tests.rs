use super::*;
use crate::persist::recover::{RecoverOptions, recover};
use crate::persist::testing::Scratch;

const TTL: u64 = 3600;

fn options(now: u64) -> RecoverOptions {
    RecoverOptions {
        geometry: bloom::Geometry::new(10_000, 1e-9).expect("geometry"),
        ttl: TTL,
        now,
        ignore_corrupt: false,
    }
}

#[test]
fn snapshots_rotate_segments_and_everything_survives() {
    let scratch = Scratch::new("store");
    let dir = scratch.path().to_path_buf();
    let now = 1_000_000;
    let r = recover(&dir, &options(now)).expect("recover");
    let (d, layout, writer) = (dir.clone(), r.layout, r.writer);
    on(async move || {
        let writer = Rc::new(RefCell::new(writer));
        let epoch = writer.borrow().current_epoch();
        let store = Store::open(&d, layout, epoch, Policy::default())
            .await
            .expect("open");
        for round in 0..4u64 {
            let keys = [format!("jti-{round}")];
            writer
                .borrow_mut()
                .insert_batch(keys.iter().map(|k| k.as_bytes()), now);
            let ticket = store.append(&keys, now).expect("append");
            store.durable(ticket).await.expect("durable");
            store.snapshot(&writer).await.expect("snapshot");
        }
        let keys = ["jti-last"];
        writer
            .borrow_mut()
            .insert_batch(keys.iter().map(|k| k.as_bytes()), now);
        let ticket = store.append(&keys, now).expect("append");
        store.durable(ticket).await.expect("durable");
    });
    // Two snapshots kept, and the segments from the older one's on.
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .expect("dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    let snapshots = names.iter().filter(|n| n.starts_with("snapshot-")).count();
    assert_eq!(snapshots, 2, "{names:?}");
    assert!(
        !names
            .iter()
            .any(|n| n == "journal-00000000000000000000.log"),
        "{names:?}"
    );
    let r = recover(&dir, &options(now + 1)).expect("recover again");
    for key in ["jti-0", "jti-1", "jti-2", "jti-3", "jti-last"] {
        assert!(r.shared.contains(key.as_bytes()), "{key}");
    }
}

/// A shutdown whose last records make the journal move to the spare (the first write after a
/// start does: that segment is plain) still gets a spare for its last snapshot: the spare maker
/// does not stop while one is wanted.
#[test]
fn close_right_after_a_move_to_the_spare_takes_its_last_snapshot() {
    let scratch = Scratch::new("store-close-move");
    let dir = scratch.path().to_path_buf();
    let now = 1_000_000;
    let r = recover(&dir, &options(now)).expect("recover");
    let (d, layout, writer) = (dir.clone(), r.layout, r.writer);
    on(async move || {
        let writer = Rc::new(RefCell::new(writer));
        let epoch = writer.borrow().current_epoch();
        let policy = Policy {
            segment_bytes: 64 * 1024,
            ..Policy::default()
        };
        let store = Store::open(&d, layout, epoch, policy).await.expect("open");
        let ready = Instant::now() + Duration::from_secs(10);
        while !store.journal.has_spare() {
            assert!(Instant::now() < ready, "no spare segment within 10 s");
            event::sleep(Duration::from_millis(5)).await;
        }
        let keys = ["jti-last"];
        writer
            .borrow_mut()
            .insert_batch(keys.iter().map(|k| k.as_bytes()), now);
        store.append(&keys, now).expect("append");
        let closed = futures_lite::future::or(async { Some(store.close(&writer).await) }, async {
            event::sleep(Duration::from_secs(10)).await;
            None
        })
        .await;
        assert!(
            matches!(closed, Some(Ok(()))),
            "close: {closed:?} (None: still waiting after 10 s)"
        );
    });
    let r = recover(&dir, &options(now + 1)).expect("recover again");
    assert!(r.shared.contains(b"jti-last"));
    assert_eq!(r.report.replayed, 0, "the last snapshot covers everything");
}

fn on(f: impl AsyncFnOnce() + Send + 'static) {
    crate::persist::testing::on_runtime(f);
}
