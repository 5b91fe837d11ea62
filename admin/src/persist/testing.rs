//! Test helpers: a scratch directory removed when dropped; a runtime to run a test on.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// A fresh directory under the system's temp dir.
#[derive(Debug)]
pub struct Scratch(PathBuf);

impl Scratch {
    pub fn new(name: &str) -> Scratch {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!(
            "bloomgate-persist-{name}-{}-{n}",
            std::process::id()
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("scratch dir");
        Scratch(dir)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Runs `f` on a new thread with an `event::Runtime` of its own, and returns its output.
pub fn on_runtime<T: Send + 'static>(f: impl AsyncFnOnce() -> T + Send + 'static) -> T {
    std::thread::spawn(move || {
        let runtime = event::Runtime::new().expect("an io_uring runtime");
        runtime.block_on(f())
    })
    .join()
    .expect("the test's runtime thread")
}
