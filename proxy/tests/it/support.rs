//! Running the binary with a time limit, and the paths of the fixtures.

use std::io::Read as _;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// No command may take longer than this; a hung binary fails the test instead of the suite.
const LIMIT: Duration = Duration::from_secs(60);

/// What a finished run printed.
#[derive(Debug)]
pub struct Output {
    /// The exit code (`None`: killed by a signal).
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

/// Runs `bloomgate args...` with `KRAKEND_PORT` removed from its environment, plus `env`.
pub fn bloomgate(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_bloomgate"));
    command
        .args(args)
        .env_remove("KRAKEND_PORT")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in env {
        command.env(k, v);
    }
    let mut child = command.spawn().expect("spawn bloomgate");
    // Drain both pipes on threads so a chatty child cannot block on a full pipe.
    let mut out = child.stdout.take().expect("stdout");
    let mut err = child.stderr.take().expect("stderr");
    let out = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = out.read_to_string(&mut s);
        s
    });
    let err = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = err.read_to_string(&mut s);
        s
    });
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        if start.elapsed() > LIMIT {
            let _ = child.kill();
            let _ = child.wait();
            panic!("bloomgate {args:?} did not finish within {LIMIT:?}");
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    Output {
        code: status.code(),
        stdout: out.join().expect("stdout reader"),
        stderr: err.join().expect("stderr reader"),
    }
}

/// The KrakenD fixtures: `../shared/fixtures/krakend/` next to the repository.
pub fn fixture(name: &str) -> String {
    path_string(
        PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("../../shared/fixtures/krakend")
            .join(name),
    )
}

/// `docs/examples/<name>` in the repository.
pub fn example(name: &str) -> String {
    path_string(
        PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("../docs/examples")
            .join(name),
    )
}

fn path_string(path: PathBuf) -> String {
    path.to_str().expect("UTF-8 path").to_owned()
}

/// A fresh scratch directory for one test, removed when dropped.
#[derive(Debug)]
pub struct Scratch(PathBuf);

impl Scratch {
    pub fn new(name: &str) -> Scratch {
        let dir = std::env::temp_dir().join(format!("bloomgate-it-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("create scratch dir");
        Scratch(dir)
    }

    /// Writes `contents` to `name` in the directory and returns its path.
    pub fn file(&self, name: &str, contents: &str) -> String {
        let path = self.0.join(name);
        std::fs::write(&path, contents).expect("write scratch file");
        path_string(path)
    }

    /// The path of `name` in the directory (not created), for a process to make its own.
    pub fn subdir(&self, name: &str) -> String {
        path_string(self.0.join(name))
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// How long a gateway may take to print its listening line.
const START_LIMIT: Duration = Duration::from_secs(20);

/// A running `bloomgate run -c FILE --port 0 --cores 1`, stopped when dropped (SIGTERM, then
/// SIGKILL after a bound). Its stderr is collected for failure messages.
#[derive(Debug)]
pub struct Gateway {
    child: std::process::Child,
    port: u16,
    stderr: std::sync::Arc<std::sync::Mutex<String>>,
    _scratch: Scratch,
}

impl Gateway {
    /// Writes `config` to a scratch file and starts a gateway on it; returns once it listens.
    pub fn start(name: &str, config: &str) -> Gateway {
        use std::io::BufRead as _;
        let scratch = Scratch::new(&format!("gateway-{name}"));
        let path = scratch.file("krakend.json", config);
        let mut child = Command::new(env!("CARGO_BIN_EXE_bloomgate"))
            .args(["run", "-c", &path, "--port", "0", "--cores", "1"])
            .env_remove("KRAKEND_PORT")
            .stdin(Stdio::null())
            // The access log: not looked at.
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn bloomgate run");
        let stderr = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
        let (port_tx, port_rx) = std::sync::mpsc::channel();
        let lines = std::io::BufReader::new(child.stderr.take().expect("stderr"));
        let collected = std::sync::Arc::clone(&stderr);
        std::thread::spawn(move || {
            for line in lines.lines() {
                let Ok(line) = line else { break };
                if let Some(port) = listening_port(&line) {
                    let _ = port_tx.send(port);
                }
                let mut all = collected.lock().unwrap_or_else(|e| e.into_inner());
                all.push_str(&line);
                all.push('\n');
            }
        });
        let mut gateway = Gateway {
            child,
            port: 0,
            stderr,
            _scratch: scratch,
        };
        match port_rx.recv_timeout(START_LIMIT) {
            Ok(port) => gateway.port = port,
            Err(_) => panic!(
                "bloomgate run did not print its listening line within {START_LIMIT:?}; stderr:\n{}",
                gateway.stderr()
            ),
        }
        gateway
    }

    /// `127.0.0.1:port`.
    pub fn addr(&self) -> std::net::SocketAddr {
        std::net::SocketAddr::from(([127, 0, 0, 1], self.port))
    }

    /// Everything it printed on stderr so far.
    pub fn stderr(&self) -> String {
        self.stderr
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Whether the process is still running.
    pub fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// Sends SIGTERM; false if `kill` failed.
    pub fn sigterm(&self) -> bool {
        Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .is_ok_and(|s| s.success())
    }

    /// Waits up to `limit` for the process to exit.
    pub fn wait_exit(&mut self, limit: Duration) -> Option<std::process::ExitStatus> {
        let start = Instant::now();
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Some(status);
            }
            if start.elapsed() > limit {
                return None;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

impl Drop for Gateway {
    fn drop(&mut self) {
        if self.is_running() {
            let _ = self.sigterm();
            if self.wait_exit(Duration::from_secs(3)).is_none() {
                let _ = self.child.kill();
                let _ = self.child.wait();
            }
        }
    }
}

/// The port in `bloomgate: listening on 0.0.0.0:PORT with ...`.
fn listening_port(line: &str) -> Option<u16> {
    let rest = line.strip_prefix("bloomgate: listening on ")?;
    let addr = rest.split(' ').next()?;
    addr.rsplit(':').next()?.parse().ok()
}

/// A port on 127.0.0.1 that nothing listens on (bound, then released).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("bind an ephemeral port")
        .port()
}
