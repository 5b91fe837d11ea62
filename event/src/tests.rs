use std::cell::Cell;
use std::io::{Read as _, Write as _};
use std::net::{SocketAddr, TcpListener as StdListener, TcpStream as StdStream};
use std::os::fd::OwnedFd;
use std::rc::Rc;
use std::time::{Duration, Instant};

use super::net::{Listener, Stream};
use super::{Runtime, sleep, spawn};

fn runtime() -> Runtime {
    Runtime::new().expect("an io_uring (is io_uring enabled on this kernel?)")
}

fn pair() -> (Stream, Stream) {
    let (a, b) = std::os::unix::net::UnixStream::pair().expect("socketpair");
    (
        Stream::from_fd(OwnedFd::from(a)).expect("stream"),
        Stream::from_fd(OwnedFd::from(b)).expect("stream"),
    )
}

#[test]
fn sleep_waits_its_duration_and_no_longer_than_a_bound() {
    let rt = runtime();
    let began = Instant::now();
    rt.block_on(sleep(Duration::from_millis(30)));
    let took = began.elapsed();
    assert!(took >= Duration::from_millis(30), "{took:?}");
    assert!(took < Duration::from_secs(2), "{took:?}");
}

#[test]
fn a_read_from_a_silent_peer_times_out_at_its_deadline() {
    let rt = runtime();
    let result = rt.block_on(async {
        let (mut a, _b) = pair();
        let mut buf = [0u8; 16];
        let began = Instant::now();
        let result = a
            .read_by(&mut buf, Some(began + Duration::from_millis(40)))
            .await;
        (result.map_err(|e| e.kind()), began.elapsed())
    });
    assert_eq!(result.0, Err(std::io::ErrorKind::TimedOut));
    assert!(result.1 >= Duration::from_millis(40), "{:?}", result.1);
    assert!(result.1 < Duration::from_secs(2), "{:?}", result.1);
}

#[test]
fn a_read_waits_for_data_written_later_by_another_task() {
    let rt = runtime();
    let got = rt.block_on(async {
        let (mut a, mut b) = pair();
        spawn(async move {
            sleep(Duration::from_millis(10)).await;
            b.write_all_by(b"hello", None).await.expect("write");
            // Keep the peer open until the reader has read.
            sleep(Duration::from_millis(200)).await;
        });
        let mut buf = [0u8; 16];
        let deadline = Instant::now() + Duration::from_secs(5);
        let n = a.read_by(&mut buf, Some(deadline)).await.expect("read");
        buf[..n].to_vec()
    });
    assert_eq!(got, b"hello");
}

#[test]
fn the_end_of_stream_reads_as_zero() {
    let rt = runtime();
    let n = rt.block_on(async {
        let (mut a, b) = pair();
        drop(b);
        let mut buf = [0u8; 16];
        a.read_by(&mut buf, Some(Instant::now() + Duration::from_secs(5)))
            .await
            .expect("read")
    });
    assert_eq!(n, 0);
}

/// Far more than a socket buffer holds: the writer must wait for the reader to make room, and
/// every byte must arrive in order.
#[test]
fn a_large_write_waits_for_room_and_arrives_whole() {
    let rt = runtime();
    let data: Vec<u8> = (0..8 * 1024 * 1024u32).map(|i| (i % 251) as u8).collect();
    let expected = data.clone();
    let received = rt.block_on(async move {
        let (mut a, mut b) = pair();
        spawn(async move {
            let deadline = Instant::now() + Duration::from_secs(20);
            b.write_all_by(&data, Some(deadline)).await.expect("write");
        });
        let mut received = Vec::new();
        let mut buf = vec![0u8; 64 * 1024];
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            match a.read_by(&mut buf, Some(deadline)).await.expect("read") {
                0 => return received,
                n => received.extend_from_slice(&buf[..n]),
            }
        }
    });
    assert!(
        received == expected,
        "{} bytes of {}",
        received.len(),
        expected.len()
    );
}

#[test]
fn a_write_to_a_reader_that_never_reads_times_out() {
    let rt = runtime();
    let result = rt.block_on(async {
        let (mut a, _b) = pair();
        let data = vec![0u8; 16 * 1024 * 1024];
        a.write_all_by(&data, Some(Instant::now() + Duration::from_millis(50)))
            .await
            .map_err(|e| e.kind())
    });
    assert_eq!(result, Err(std::io::ErrorKind::TimedOut));
}

#[test]
fn accept_connect_and_exchange_over_tcp() {
    let rt = runtime();
    let echoed = rt.block_on(async {
        let listener = Listener::bind(SocketAddr::from(([127, 0, 0, 1], 0))).expect("bind");
        let addr = listener.local_addr().expect("addr");
        spawn(async move {
            for _ in 0..3 {
                let mut conn = listener.accept().await.expect("accept");
                spawn(async move {
                    let mut buf = [0u8; 64];
                    let deadline = Instant::now() + Duration::from_secs(5);
                    let n = conn.read_by(&mut buf, Some(deadline)).await.expect("read");
                    conn.write_all_by(&buf[..n], Some(deadline))
                        .await
                        .expect("write");
                });
            }
        });
        let mut echoed = Vec::new();
        for i in 0..3u8 {
            let mut client = Stream::connect(addr, Duration::from_secs(5))
                .await
                .expect("connect");
            let deadline = Instant::now() + Duration::from_secs(5);
            client
                .write_all_by(&[i; 10], Some(deadline))
                .await
                .expect("write");
            let mut buf = [0u8; 64];
            let n = client
                .read_by(&mut buf, Some(deadline))
                .await
                .expect("read");
            echoed.push(buf[..n].to_vec());
        }
        echoed
    });
    assert_eq!(echoed, (0..3u8).map(|i| vec![i; 10]).collect::<Vec<_>>());
}

#[test]
fn connecting_to_a_closed_port_is_refused() {
    // A port that was free a moment ago: bind, note it, close.
    let port = StdListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let rt = runtime();
    let result = rt.block_on(Stream::connect(
        SocketAddr::from(([127, 0, 0, 1], port)),
        Duration::from_secs(5),
    ));
    assert_eq!(
        result.map(|_| ()).map_err(|e| e.kind()),
        Err(std::io::ErrorKind::ConnectionRefused)
    );
}

/// A closed stream must really close: the peer (a plain blocking socket) reads its end of
/// stream, even though the reactor's poll held a reference to the socket until removed.
#[test]
fn dropping_a_stream_closes_the_connection() {
    let std_listener = StdListener::bind("127.0.0.1:0").expect("bind");
    let addr = std_listener.local_addr().expect("addr");
    let rt = runtime();
    let accepted = rt.block_on(async move {
        let stream = Stream::connect(addr, Duration::from_secs(5))
            .await
            .expect("connect");
        let (peer, _) = std_listener.accept().expect("accept");
        drop(stream);
        // One more pass of the loop submits the poll's removal.
        sleep(Duration::from_millis(5)).await;
        peer
    });
    let mut peer: StdStream = accepted;
    peer.set_read_timeout(Some(Duration::from_secs(5)))
        .expect("timeout");
    let mut buf = [0u8; 4];
    assert_eq!(peer.read(&mut buf).expect("read"), 0);
}

/// A wait given up (its future dropped, as `or` does with the loser) leaves no waker behind:
/// the source still works for the next wait, and its deadline entry does not wake a task.
#[test]
fn an_abandoned_wait_leaves_the_source_usable() {
    let rt = runtime();
    let got = rt.block_on(async {
        let (mut a, mut b) = pair();
        let mut buf = [0u8; 8];
        let far = Instant::now() + Duration::from_secs(30);
        let first = futures_lite::future::poll_once(a.read_by(&mut buf, Some(far))).await;
        assert!(first.is_none(), "nothing to read yet");
        b.write_all_by(b"x", None).await.expect("write");
        let deadline = Instant::now() + Duration::from_secs(5);
        let n = a.read_by(&mut buf, Some(deadline)).await.expect("read");
        buf[..n].to_vec()
    });
    assert_eq!(got, b"x");
}

#[test]
fn tasks_spawned_in_one_block_on_run_in_the_next() {
    let rt = runtime();
    let ticks = Rc::new(Cell::new(0));
    let counter = Rc::clone(&ticks);
    rt.block_on(async move {
        spawn(async move {
            loop {
                counter.set(counter.get() + 1);
                sleep(Duration::from_millis(1)).await;
            }
        });
    });
    let before = ticks.get();
    rt.block_on(sleep(Duration::from_millis(30)));
    assert!(
        ticks.get() > before,
        "the spawned task ran: {before} -> {}",
        ticks.get()
    );
}

#[test]
fn a_plain_socket_peer_sees_what_the_stream_writes() {
    let std_listener = StdListener::bind("127.0.0.1:0").expect("bind");
    let addr = std_listener.local_addr().expect("addr");
    let writer = std::thread::spawn(move || {
        let (mut peer, _) = std_listener.accept().expect("accept");
        peer.write_all(b"ping").expect("write");
        let mut buf = [0u8; 4];
        peer.read_exact(&mut buf).expect("read");
        buf
    });
    let rt = runtime();
    rt.block_on(async move {
        let mut stream = Stream::connect(addr, Duration::from_secs(5))
            .await
            .expect("connect");
        let mut buf = [0u8; 4];
        let deadline = Instant::now() + Duration::from_secs(5);
        let n = stream
            .read_by(&mut buf, Some(deadline))
            .await
            .expect("read");
        assert_eq!(&buf[..n], b"ping");
        stream
            .write_all_by(b"pong", Some(deadline))
            .await
            .expect("write");
    });
    assert_eq!(&writer.join().expect("the peer thread"), b"pong");
}

/// A pass that ran long makes the cached clock stale; a sleep must still last its whole
/// duration by the real clock.
#[test]
fn a_sleep_after_a_long_pass_still_lasts_its_duration() {
    let rt = runtime();
    let took = rt.block_on(async {
        sleep(Duration::from_millis(1)).await;
        // Hold the pass: the clock read at its start is now 30 ms old.
        std::thread::sleep(Duration::from_millis(30));
        let began = Instant::now();
        sleep(Duration::from_millis(10)).await;
        began.elapsed()
    });
    assert!(took >= Duration::from_millis(10), "{took:?}");
}

#[test]
fn sockets_outside_a_runtime_are_an_error_not_a_panic() {
    let (a, _b) = std::os::unix::net::UnixStream::pair().expect("socketpair");
    assert!(Stream::from_fd(OwnedFd::from(a)).is_err());
    assert!(Listener::bind(SocketAddr::from(([127, 0, 0, 1], 0))).is_err());
}

/// A connection whose data is always there (every read fills its buffer, so none waits) still
/// lets the other tasks of the core run: it yields every `CALLS_PER_POLL` calls.
#[test]
fn a_task_whose_reads_never_wait_still_yields_to_the_others() {
    let rt = runtime();
    let (reads, others) = rt.block_on(async {
        let (mut reader, mut writer) = pair();
        // Fill the socket first (in large writes: each write is a buffer of its own in the
        // kernel), so that the reads below all find data.
        let chunk = [7u8; 4096];
        for _ in 0..16 {
            writer.write_all_by(&chunk, None).await.expect("fill");
        }
        let others = Rc::new(Cell::new(0u32));
        let counter = Rc::clone(&others);
        spawn(async move {
            loop {
                counter.set(counter.get() + 1);
                futures_lite::future::yield_now().await;
            }
        });
        let reading = spawn(async move {
            let mut buf = [0u8; 64];
            let mut reads = 0u32;
            while reads < 4 * super::CALLS_PER_POLL {
                let n = reader.read_by(&mut buf, None).await.expect("read");
                assert_eq!(n, 64, "the socket was filled first");
                reads += 1;
            }
            reads
        });
        (reading.await, others)
    });
    assert_eq!(reads, 4 * super::CALLS_PER_POLL);
    assert!(
        others.get() >= 3,
        "the other task ran {} times while {reads} reads were made",
        others.get()
    );
}

/// A waker handed to another thread wakes the loop out of a sleep that has no deadline to end
/// it (nothing else is registered): the wake interrupts the wait.
#[test]
fn a_wake_from_another_thread_ends_a_sleep_without_deadline() {
    use std::future::Future;
    use std::pin::Pin;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::task::{Context, Poll};

    struct WokenElsewhere {
        done: Arc<AtomicBool>,
        started: bool,
    }
    impl Future for WokenElsewhere {
        type Output = ();
        fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
            if self.done.load(Ordering::SeqCst) {
                return Poll::Ready(());
            }
            if !self.started {
                self.started = true;
                let (done, waker) = (Arc::clone(&self.done), cx.waker().clone());
                std::thread::spawn(move || {
                    std::thread::sleep(Duration::from_millis(50));
                    done.store(true, Ordering::SeqCst);
                    waker.wake();
                });
            }
            Poll::Pending
        }
    }

    // On a thread of its own, so that a loop sleeping through the wake fails the test in
    // bounded time instead of hanging it.
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let rt = runtime();
        for spawned in [false, true] {
            let began = Instant::now();
            let future = WokenElsewhere {
                done: Arc::new(AtomicBool::new(false)),
                started: false,
            };
            if spawned {
                rt.block_on(async move { spawn(future).await });
            } else {
                rt.block_on(future);
            }
            let _ = tx.send((spawned, began.elapsed()));
        }
    });
    for _ in 0..2 {
        let (spawned, took) = rx
            .recv_timeout(Duration::from_secs(10))
            .expect("the loop slept through a wake from another thread");
        assert!(took < Duration::from_secs(5), "spawned {spawned}: {took:?}");
    }
}

#[test]
fn blocking_work_runs_off_the_loop_and_wakes_the_task_that_waits() {
    let rt = runtime();
    let loop_thread = std::thread::current().id();
    let (ticks, (value, thread)) = rt.block_on(async {
        // The loop keeps running tasks while the job sleeps on its thread.
        let ticks = Rc::new(Cell::new(0u32));
        let counting = Rc::clone(&ticks);
        let counter = spawn(async move {
            for _ in 0..5 {
                sleep(Duration::from_millis(5)).await;
                counting.set(counting.get() + 1);
            }
        });
        let result = crate::blocking(|| {
            std::thread::sleep(Duration::from_millis(100));
            (42, std::thread::current().id())
        })
        .await;
        let ticked = ticks.get();
        counter.await;
        (ticked, result)
    });
    assert_eq!(value, 42);
    assert_ne!(thread, loop_thread, "the job ran on the loop's thread");
    assert_eq!(ticks, 5, "the loop was blocked by the job");
}

#[test]
fn many_blocking_jobs_all_complete() {
    let rt = runtime();
    let sum = rt.block_on(async {
        let jobs: Vec<_> = (0..64u64)
            .map(|i| {
                spawn(crate::blocking(move || {
                    std::thread::sleep(Duration::from_millis(i % 3));
                    i
                }))
            })
            .collect();
        let mut sum = 0;
        for job in jobs {
            sum += job.await;
        }
        sum
    });
    assert_eq!(sum, (0..64).sum::<u64>());
}

#[test]
fn a_semaphore_bounds_its_holders_and_hands_permits_on() {
    use crate::sync::Semaphore;
    let rt = runtime();
    let (most, done) = rt.block_on(async {
        let semaphore = Rc::new(Semaphore::new(2));
        let (holding, most, done) = (
            Rc::new(Cell::new(0u32)),
            Rc::new(Cell::new(0u32)),
            Rc::new(Cell::new(0u32)),
        );
        let tasks: Vec<_> = (0..6)
            .map(|_| {
                let (semaphore, holding, most, done) = (
                    Rc::clone(&semaphore),
                    Rc::clone(&holding),
                    Rc::clone(&most),
                    Rc::clone(&done),
                );
                spawn(async move {
                    let _permit = semaphore.acquire().await;
                    holding.set(holding.get() + 1);
                    most.set(most.get().max(holding.get()));
                    sleep(Duration::from_millis(5)).await;
                    holding.set(holding.get() - 1);
                    done.set(done.get() + 1);
                })
            })
            .collect();
        // A waiter given up on does not keep a released permit from the others.
        crate::sync::yield_now().await;
        assert_eq!(
            semaphore.available(),
            0,
            "the first two tasks hold the permits"
        );
        let impatient = Rc::clone(&semaphore);
        let gave_up = futures_lite::future::or(async { Some(impatient.acquire().await) }, async {
            sleep(Duration::from_millis(1)).await;
            None
        })
        .await;
        assert!(gave_up.is_none());
        for task in tasks {
            task.await;
        }
        assert_eq!(semaphore.available(), 2);
        (most.get(), done.get())
    });
    assert_eq!(most, 2);
    assert_eq!(done, 6);
}

#[test]
fn yield_now_lets_another_task_run_in_between() {
    let rt = runtime();
    let order = rt.block_on(async {
        let order = Rc::new(std::cell::RefCell::new(Vec::new()));
        let theirs = Rc::clone(&order);
        let other = spawn(async move { theirs.borrow_mut().push("other") });
        order.borrow_mut().push("before");
        crate::sync::yield_now().await;
        order.borrow_mut().push("after");
        other.await;
        Rc::try_unwrap(order)
            .map(|o| o.into_inner())
            .unwrap_or_default()
    });
    assert_eq!(order, ["before", "other", "after"]);
}

#[test]
fn the_end_of_stream_after_data_is_seen_though_both_were_announced_before_the_read() {
    let rt = runtime();
    let (first, second, waited) = rt.block_on(async {
        let (mut a, mut b) = pair();
        let mut buf = [0u8; 64];
        // Drain the new socket's initial readiness: the next read waits for a completion.
        let idle = a
            .read_by(&mut buf, Some(Instant::now() + Duration::from_millis(10)))
            .await;
        assert!(idle.is_err(), "{idle:?}");
        // Data and the end of stream, both reaped before the reader looks again.
        b.write_all_by(b"hi", None).await.expect("write");
        drop(b);
        sleep(Duration::from_millis(20)).await;
        let first = a.read_by(&mut buf, None).await.expect("the data");
        let began = Instant::now();
        let second = a
            .read_by(&mut buf, Some(began + Duration::from_secs(2)))
            .await
            .map_err(|e| e.kind());
        (first, second, began.elapsed())
    });
    assert_eq!(first, 2);
    assert_eq!(second, Ok(0), "the end of stream was lost");
    assert!(waited < Duration::from_millis(500), "{waited:?}");
}
