use std::rc::Rc;

use super::*;

#[test]
fn batches_come_out_in_order_within_a_byte_budget() {
    let mut q = PushQueue::new(100);
    for i in 0..5 {
        assert_eq!(q.push(Rc::new(i), 10), Enqueued::Queued);
    }
    assert_eq!(q.bytes(), 50);
    let first: Vec<i32> = q.take(25).iter().map(|r| **r).collect();
    assert_eq!(first, [0, 1]);
    let rest: Vec<i32> = q.take(1000).iter().map(|r| **r).collect();
    assert_eq!(rest, [2, 3, 4]);
    assert!(q.is_empty());
    assert_eq!(q.bytes(), 0);
    // At least one, even if larger than asked.
    q.push(Rc::new(9), 60);
    assert_eq!(q.take(1).len(), 1);
}

#[test]
fn overflow_drops_everything_for_a_full_sync() {
    let mut q = PushQueue::new(30);
    assert_eq!(q.push(Rc::new(1), 20), Enqueued::Queued);
    assert_eq!(q.push(Rc::new(2), 20), Enqueued::Overflowed);
    assert!(q.is_empty());
    assert_eq!(q.bytes(), 0);
    assert_eq!(q.push(Rc::new(3), 30), Enqueued::Queued);
}
