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

fn on(f: impl AsyncFnOnce() + Send + 'static) {
    glommio::LocalExecutorBuilder::new(glommio::Placement::Unbound)
        .io_memory(512 * 1024)
        .spawn(move || async move { f().await })
        .expect("executor")
        .join()
        .expect("join");
}
