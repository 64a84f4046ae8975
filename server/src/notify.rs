//! systemd's `sd_notify` protocol for `Type=notify` units: one datagram of
//! `KEY=value` lines to the Unix socket named by `$NOTIFY_SOCKET`.
//!
//! Invariants:
//! - Without `NOTIFY_SOCKET` every call is a no-op; a send that fails is
//!   logged at debug level and otherwise ignored: telling the supervisor is
//!   best-effort and never stops the server.
//! - A name starting with `@` is an abstract socket (Linux), as systemd
//!   spells it; anything else is a filesystem path.
//! - `READY=1` is sent only once the client port is bound (the server
//!   serves), `STOPPING=1` as soon as shutdown begins.
//!
//! `zkserver start` uses the same protocol to learn when its daemon is up.

use std::io;
use std::os::unix::net::UnixDatagram;

/// The environment variable systemd sets.
pub const NOTIFY_SOCKET: &str = "NOTIFY_SOCKET";

/// Sends `state` (newline-separated `KEY=value` pairs) to `$NOTIFY_SOCKET`.
/// Returns `Ok(false)` when the variable is unset.
pub fn notify(state: &str) -> io::Result<bool> {
    let Some(name) = std::env::var_os(NOTIFY_SOCKET) else {
        return Ok(false);
    };
    let name = name.to_string_lossy().into_owned();
    if name.is_empty() {
        return Ok(false);
    }
    send_to(&name, state.as_bytes())?;
    Ok(true)
}

/// Sends one datagram to the socket `name` (`@abstract` or a path).
pub fn send_to(name: &str, bytes: &[u8]) -> io::Result<()> {
    let socket = UnixDatagram::unbound()?;
    match name.strip_prefix('@') {
        Some(abstract_name) => send_abstract(&socket, abstract_name, bytes)?,
        None => {
            socket.send_to(bytes, name)?;
        }
    }
    Ok(())
}

#[cfg(target_os = "linux")]
fn send_abstract(socket: &UnixDatagram, name: &str, bytes: &[u8]) -> io::Result<()> {
    use std::os::linux::net::SocketAddrExt;
    let addr = std::os::unix::net::SocketAddr::from_abstract_name(name.as_bytes())?;
    socket.send_to_addr(bytes, &addr)?;
    Ok(())
}

#[cfg(not(target_os = "linux"))]
fn send_abstract(_: &UnixDatagram, _: &str, _: &[u8]) -> io::Result<()> {
    Err(io::Error::new(
        io::ErrorKind::Unsupported,
        "abstract socket names need Linux",
    ))
}

/// Logs instead of failing: see the module invariants.
fn notify_logged(state: &str) {
    match notify(state) {
        Ok(true) => tracing::debug!("told the service manager: {}", state.replace('\n', " ")),
        Ok(false) => {}
        Err(e) => tracing::debug!("cannot notify {NOTIFY_SOCKET}: {e}"),
    }
}

/// `READY=1` with our pid, once clients are served.
pub fn ready() {
    notify_logged(&format!("READY=1\nMAINPID={}", std::process::id()));
}

/// `STOPPING=1`, when shutdown begins.
pub fn stopping() {
    notify_logged("STOPPING=1");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sends_to_a_path_socket() {
        let dir = std::env::temp_dir().join(format!("zk-notify-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("notify.sock");
        let _ = std::fs::remove_file(&path);
        let listener = UnixDatagram::bind(&path).unwrap();
        send_to(path.to_str().unwrap(), b"READY=1").unwrap();
        let mut buf = [0u8; 64];
        let n = listener.recv(&mut buf).unwrap();
        assert_eq!(&buf[..n], b"READY=1");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn sends_to_an_abstract_socket() {
        use std::os::linux::net::SocketAddrExt;
        let name = format!("zk-notify-test-{}", std::process::id());
        let addr = std::os::unix::net::SocketAddr::from_abstract_name(name.as_bytes()).unwrap();
        let listener = UnixDatagram::bind_addr(&addr).unwrap();
        send_to(&format!("@{name}"), b"STOPPING=1").unwrap();
        let mut buf = [0u8; 64];
        let n = listener.recv(&mut buf).unwrap();
        assert_eq!(&buf[..n], b"STOPPING=1");
    }
}
