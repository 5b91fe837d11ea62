use super::*;
use crate::persist::record;
use crate::persist::testing::Scratch;

fn on_executor<T: Send + 'static>(f: impl AsyncFnOnce() -> T + Send + 'static) -> T {
    glommio::LocalExecutorBuilder::new(glommio::Placement::Unbound)
        .io_memory(512 * 1024)
        .spawn(move || async move { f().await })
        .expect("executor")
        .join()
        .expect("join")
}

#[test]
fn concurrent_appends_share_syncs_and_all_become_durable() {
    let scratch = Scratch::new("journal");
    let path = scratch.path().join("journal-0.log");
    let p = path.clone();
    on_executor(async move || {
        let journal = Journal::start(create_segment(&p).await.expect("create"));
        let tasks: Vec<_> = (0..200u64)
            .map(|i| {
                let journal = Rc::clone(&journal);
                glommio::spawn_local(async move {
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
    let failed = on_executor(async move || {
        let file = open_segment(Path::new("/dev/full"), false)
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
    on_executor(async move || {
        let journal = Journal::start(create_segment(&a).await.expect("create"));
        let mut tickets = Vec::new();
        for i in 0..300u64 {
            if i == 150 {
                journal
                    .switch(create_segment(&b).await.expect("create"))
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
