use std::rc::Rc;
use std::time::{Duration, Instant};

use super::*;

fn addr(port: u16) -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], port))
}

#[test]
fn registration_is_idempotent_and_listing_waits_for_the_sync() {
    let t0 = Instant::now();
    let mut r: Registry<u32> = Registry::new(100);
    let Registered::New(generation) = r.register(addr(1), Some("a".into()), None, None, t0) else {
        panic!("new");
    };
    assert_eq!(
        r.register(addr(1), Some("a".into()), None, None, t0),
        Registered::Known
    );
    assert_eq!(r.len(), 1);
    assert!(r.listed().is_empty(), "not listed before its sync");
    let e = r.get_mut(&addr(1), generation).unwrap();
    assert!(e.needs_sync);
    e.needs_sync = false;
    e.synced = true;
    assert_eq!(r.listed(), [addr(1)]);
    assert!(r.get_mut(&addr(1), generation + 1).is_none());
}

#[test]
fn a_restarted_instance_is_synced_again() {
    let t0 = Instant::now();
    let mut r: Registry<u32> = Registry::new(100);
    let Registered::New(g) = r.register(addr(1), Some("pid-1".into()), None, None, t0) else {
        panic!("new");
    };
    let e = r.get_mut(&addr(1), g).unwrap();
    e.needs_sync = false;
    e.synced = true;
    r.register(addr(1), Some("pid-1".into()), None, None, t0);
    assert_eq!(r.listed(), [addr(1)]);
    r.register(addr(1), Some("pid-2".into()), None, None, t0);
    assert!(r.listed().is_empty());
    assert!(r.get(&addr(1)).unwrap().needs_sync);
}

#[test]
fn three_missed_pings_drop_an_instance() {
    let t0 = Instant::now();
    let ping = Duration::from_secs(30);
    let mut r: Registry<u32> = Registry::new(100);
    r.register(addr(1), None, None, None, t0);
    r.register(addr(2), None, None, None, t0);
    r.register(addr(2), None, None, None, t0 + ping * 2);
    assert!(r.expire(t0 + ping * 3, ping).is_empty());
    assert_eq!(
        r.expire(t0 + ping * 3 + Duration::from_millis(1), ping),
        [addr(1)]
    );
    assert_eq!(r.addrs(), [addr(2)]);
    assert_eq!(r.expire(t0 + ping * 5, ping), Vec::<SocketAddr>::new());
    assert_eq!(
        r.expire(t0 + ping * 5 + Duration::from_millis(1), ping),
        [addr(2)]
    );
    assert!(r.is_empty());
    // Unregistered, it comes back as a new registration.
    assert!(matches!(
        r.register(addr(1), None, None, None, t0 + ping * 7),
        Registered::New(_)
    ));
    assert!(r.remove(&addr(1)));
    assert!(!r.remove(&addr(1)));
}

#[test]
fn queue_overflow_marks_the_instance_for_a_full_sync() {
    let t0 = Instant::now();
    let mut r: Registry<u32> = Registry::new(25);
    let Registered::New(g) = r.register(addr(1), None, None, None, t0) else {
        panic!("new");
    };
    // Waiting for its first sync: nothing is queued, the snapshot will hold it.
    assert!(r.enqueue_all(&Rc::new(1), 10).is_empty());
    assert!(r.get(&addr(1)).unwrap().queue.is_empty());
    let e = r.get_mut(&addr(1), g).unwrap();
    e.needs_sync = false;
    e.synced = true;
    assert!(r.enqueue_all(&Rc::new(2), 10).is_empty());
    assert!(r.enqueue_all(&Rc::new(3), 10).is_empty());
    assert_eq!(r.max_queued_bytes(), 20);
    assert_eq!(r.enqueue_all(&Rc::new(4), 10), [addr(1)]);
    let e = r.get(&addr(1)).unwrap();
    assert!(e.needs_sync && e.queue.is_empty());
    assert!(r.listed().is_empty(), "not listed while a repair is due");
}

#[test]
fn a_parked_instance_queues_nothing_until_its_next_ping() {
    let t0 = Instant::now();
    let mut r: Registry<u32> = Registry::new(100);
    let Registered::New(g) = r.register(addr(1), None, None, None, t0) else {
        panic!("new");
    };
    let e = r.get_mut(&addr(1), g).unwrap();
    e.needs_sync = false;
    e.synced = true;
    r.enqueue_all(&Rc::new(1), 10);
    r.get_mut(&addr(1), g).unwrap().park();
    let e = r.get(&addr(1)).unwrap();
    assert!(e.parked && e.needs_sync && e.queue.is_empty());
    r.enqueue_all(&Rc::new(2), 10);
    assert!(r.get(&addr(1)).unwrap().queue.is_empty());
    assert_eq!(r.max_queued_bytes(), 0);
    r.register(addr(1), None, None, None, t0);
    let e = r.get(&addr(1)).unwrap();
    assert!(!e.parked && e.needs_sync, "the ping starts the repair");
}
