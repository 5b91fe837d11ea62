//! TCP on the data core's reactor: a stream (non-blocking `recv`/`send`, waiting for readiness
//! only when a call would block, every wait bounded by a deadline where the caller has one) and
//! listeners (`SO_REUSEPORT` for the data cores, exclusive for a single server's port).

use std::io::{self, Read as _, Write as _};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::os::fd::{AsRawFd, OwnedFd};
use std::rc::Rc;
use std::time::{Duration, Instant};

use socket2::{Domain, Socket, Type};

use super::budget;
use super::reactor::{self, Direction, Key, Reactor, Readiness, Ready};

/// Pending connections the kernel keeps for a listener.
const BACKLOG: i32 = 1024;

/// A connected stream socket registered with the current data core.
#[derive(Debug)]
pub struct Stream {
    reactor: Rc<Reactor>,
    key: Key,
    io: TcpStream,
}

fn timed_out() -> io::Error {
    io::Error::new(io::ErrorKind::TimedOut, "deadline passed")
}

/// The current runtime's reactor, or an error outside one.
fn current_reactor() -> io::Result<Rc<Reactor>> {
    reactor::try_current().ok_or_else(|| io::Error::other("not inside an event::Runtime"))
}

impl Stream {
    /// Takes over a connected stream socket (made non-blocking here). Any stream socket works
    /// (benches hand in Unix socket pairs); the TCP-only calls then fail harmlessly.
    pub fn from_fd(fd: OwnedFd) -> io::Result<Stream> {
        Stream::from_std(TcpStream::from(fd))
    }

    fn from_std(io: TcpStream) -> io::Result<Stream> {
        io.set_nonblocking(true)?;
        let reactor = current_reactor()?;
        let key = reactor.register(io.as_raw_fd());
        Ok(Stream { reactor, key, io })
    }

    /// Connects to `addr`, failing with `TimedOut` after `timeout`.
    pub async fn connect(addr: SocketAddr, timeout: Duration) -> io::Result<Stream> {
        let deadline = super::clock::now() + timeout;
        let socket = Socket::new(Domain::for_address(addr), Type::STREAM, None)?;
        socket.set_nonblocking(true)?;
        let pending = match socket.connect(&addr.into()) {
            Ok(()) => false,
            Err(e) if e.raw_os_error() == Some(libc::EINPROGRESS) => true,
            Err(e) => return Err(e),
        };
        // Registered only now: a socket polled before `connect` reports a hang-up.
        let stream = Stream::from_std(TcpStream::from(socket))?;
        if pending {
            stream.reactor.clear(stream.key, Direction::Write);
            if stream.wait(Direction::Write, Some(deadline)).await == Readiness::TimedOut {
                return Err(timed_out());
            }
            if let Some(e) = stream.io.take_error()? {
                return Err(e);
            }
            // Writable without an error but not connected cannot happen for TCP; be sure.
            stream.io.peer_addr()?;
        }
        Ok(stream)
    }

    fn wait(&self, direction: Direction, deadline: Option<Instant>) -> Ready<'_> {
        Ready {
            reactor: &self.reactor,
            key: self.key,
            direction,
            deadline,
        }
    }

    /// Whether input may be waiting: false only when no readiness completion arrived since a
    /// read last drained the socket.
    pub fn may_have_input(&self) -> bool {
        self.reactor.is_ready(self.key, Direction::Read)
    }

    /// Reads what is there without waiting (`WouldBlock` if nothing is).
    pub fn try_read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            match self.io.read(buf) {
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    self.reactor.clear(self.key, Direction::Read);
                    return Err(e);
                }
                other => return other,
            }
        }
    }

    /// Reads into `buf` (non-empty), waiting until `deadline` at the latest (`None`: no limit):
    /// `Ok(0)` is the peer's end of stream, `TimedOut` the deadline.
    ///
    /// A read that filled less than `buf` drained the socket, so the next read waits for a
    /// readiness completion instead of making a call that would fail with `EAGAIN` (in a proxy
    /// the next read usually waits for the peer: a backend's answer, a client's next request) —
    /// unless the peer's end of stream was reported already, which no later completion would
    /// announce again.
    pub async fn read_by(
        &mut self,
        buf: &mut [u8],
        deadline: Option<Instant>,
    ) -> io::Result<usize> {
        budget::spend().await;
        loop {
            if self.reactor.is_ready(self.key, Direction::Read) {
                match self.try_read(buf) {
                    Ok(n) => {
                        if n < buf.len() {
                            self.reactor.drained(self.key);
                        }
                        return Ok(n);
                    }
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                    Err(e) => return Err(e),
                }
            }
            if self.wait(Direction::Read, deadline).await == Readiness::TimedOut {
                return Err(timed_out());
            }
        }
    }

    /// Writes all of `data`, failing with `TimedOut` if the peer has not taken it by
    /// `deadline` (`None`: no limit).
    pub async fn write_all_by(
        &mut self,
        mut data: &[u8],
        deadline: Option<Instant>,
    ) -> io::Result<()> {
        budget::spend().await;
        while !data.is_empty() {
            match self.io.write(data) {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(n) => data = &data[n..],
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    self.reactor.clear(self.key, Direction::Write);
                    if self.wait(Direction::Write, deadline).await == Readiness::TimedOut {
                        return Err(timed_out());
                    }
                }
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    /// Shuts down one or both directions.
    pub fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        self.io.shutdown(how)
    }

    /// Sets `TCP_NODELAY`.
    pub fn set_nodelay(&self, on: bool) -> io::Result<()> {
        self.io.set_nodelay(on)
    }

    /// The peer's address.
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.io.peer_addr()
    }

    /// This end's address.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.io.local_addr()
    }
}

impl Drop for Stream {
    fn drop(&mut self) {
        // Before `io` closes the socket (fields drop after this).
        self.reactor.deregister(self.key);
    }
}

/// A listening socket registered with the current data core; every core binds the same
/// address (`SO_REUSEPORT`) and the kernel spreads connections over them.
#[derive(Debug)]
pub struct Listener {
    reactor: Rc<Reactor>,
    key: Key,
    io: TcpListener,
}

impl Listener {
    /// Binds `addr` with `SO_REUSEADDR` and `SO_REUSEPORT`: every data core binds it.
    pub fn bind(addr: SocketAddr) -> io::Result<Listener> {
        Listener::bind_with(addr, true)
    }

    /// Binds `addr` with `SO_REUSEADDR` only: a port another socket listens on is an error
    /// (`AddrInUse`), not a share (one server's port: RPC, the revoke API).
    pub fn bind_exclusive(addr: SocketAddr) -> io::Result<Listener> {
        Listener::bind_with(addr, false)
    }

    fn bind_with(addr: SocketAddr, reuse_port: bool) -> io::Result<Listener> {
        let socket = Socket::new(Domain::for_address(addr), Type::STREAM, None)?;
        socket.set_reuse_address(true)?;
        socket.set_reuse_port(reuse_port)?;
        socket.set_nonblocking(true)?;
        socket.bind(&addr.into())?;
        socket.listen(BACKLOG)?;
        let io = TcpListener::from(socket);
        let reactor = current_reactor()?;
        let key = reactor.register(io.as_raw_fd());
        Ok(Listener { reactor, key, io })
    }

    /// The bound address.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.io.local_addr()
    }

    /// The next connection.
    pub async fn accept(&self) -> io::Result<Stream> {
        loop {
            match self.io.accept() {
                Ok((stream, _)) => return Stream::from_std(stream),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    self.reactor.clear(self.key, Direction::Read);
                    Ready {
                        reactor: &self.reactor,
                        key: self.key,
                        direction: Direction::Read,
                        deadline: None,
                    }
                    .await;
                }
                // A connection reset before it was accepted: take the next one.
                Err(e) if e.kind() == io::ErrorKind::ConnectionAborted => {}
                Err(e) => return Err(e),
            }
        }
    }
}

impl Drop for Listener {
    fn drop(&mut self) {
        self.reactor.deregister(self.key);
    }
}
