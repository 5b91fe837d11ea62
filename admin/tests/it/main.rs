//! Integration tests of the admin crate: the RPC server on a real `event` runtime and the
//! client over loopback.

mod fanout;
mod rpc;

/// Runs `f` on a new thread with an `event::Runtime` of its own.
pub fn on_runtime<T: Send + 'static>(
    f: impl AsyncFnOnce() -> T + Send + 'static,
) -> std::thread::JoinHandle<T> {
    std::thread::spawn(move || {
        let runtime = event::Runtime::new().expect("an io_uring runtime");
        runtime.block_on(f())
    })
}
