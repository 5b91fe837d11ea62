//! A trivial HTTP/1.1 server for measuring the load generator itself: one `event::Runtime`
//! pinned to one CPU, keep-alive and pipelining, `200 ok` to every bodiless request.
//!
//! `cargo run --release -p loadtest --example hello_server -- [PORT] [CPU]` (8000, CPU 1)
#![forbid(unsafe_code)]

use event::net::Listener;

const RESPONSE: &[u8] = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";

fn main() {
    let mut args = std::env::args().skip(1);
    let port: u16 = args.next().and_then(|p| p.parse().ok()).unwrap_or(8000);
    let cpu: usize = args.next().and_then(|c| c.parse().ok()).unwrap_or(1);
    core_affinity::set_for_current(core_affinity::CoreId { id: cpu });
    let runtime = match event::Runtime::new() {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("hello_server: cannot start the event loop: {e}");
            std::process::exit(2);
        }
    };
    runtime.block_on(async move {
        let listener = match Listener::bind(std::net::SocketAddr::from(([127, 0, 0, 1], port))) {
            Ok(l) => l,
            Err(e) => {
                eprintln!("hello_server: 127.0.0.1:{port}: {e}");
                std::process::exit(2);
            }
        };
        eprintln!("hello_server: listening on 127.0.0.1:{port}, CPU {cpu}");
        loop {
            let Ok(mut stream) = listener.accept().await else {
                continue;
            };
            event::spawn(async move {
                let _ = stream.set_nodelay(true);
                let mut buf = vec![0u8; 64 * 1024];
                let mut filled = 0;
                let mut out = Vec::with_capacity(64 * RESPONSE.len());
                loop {
                    let Ok(n) = stream.read_by(&mut buf[filled..], None).await else {
                        return;
                    };
                    if n == 0 {
                        return;
                    }
                    filled += n;
                    // Answer every complete head; keep a partial one for the next read.
                    let mut start = 0;
                    while let Some(end) = memchr::memmem::find(&buf[start..filled], b"\r\n\r\n") {
                        out.extend_from_slice(RESPONSE);
                        start += end + 4;
                    }
                    buf.copy_within(start..filled, 0);
                    filled -= start;
                    if filled == buf.len() {
                        return; // a head larger than the buffer
                    }
                    if !out.is_empty() {
                        if stream.write_all_by(&out, None).await.is_err() {
                            return;
                        }
                        out.clear();
                    }
                }
            });
        }
    });
}
