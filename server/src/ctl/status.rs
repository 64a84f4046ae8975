//! `zkserver status`: asks the server with the `srvr` four-letter word, as
//! `zkServer.sh status` does through `FourLetterWordMain`, and prints its
//! `Mode:` line.
//!
//! Invariant: every network step is bounded by [`STATUS_TIMEOUT`]; a server
//! that does not answer reads as not running (exit 1), never as a hang.

use std::io::{Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::time::Duration;

/// Connect, write and read limit for the `srvr` query (FourLetterWordMain's
/// default timeout is 5 s).
pub const STATUS_TIMEOUT: Duration = Duration::from_secs(5);
/// The most of a `srvr` answer read.
const MAX_ANSWER_BYTES: u64 = 64 * 1024;

/// Sends `word` to `host:port` and returns the whole answer.
pub fn four_letter(host: &str, port: u16, word: &str) -> std::io::Result<String> {
    let mut last_err = None;
    for addr in (host, port).to_socket_addrs()? {
        match TcpStream::connect_timeout(&addr, STATUS_TIMEOUT) {
            Ok(mut stream) => {
                stream.set_read_timeout(Some(STATUS_TIMEOUT))?;
                stream.set_write_timeout(Some(STATUS_TIMEOUT))?;
                stream.write_all(word.as_bytes())?;
                let mut answer = String::new();
                stream.take(MAX_ANSWER_BYTES).read_to_string(&mut answer)?;
                return Ok(answer);
            }
            Err(e) => last_err = Some(e),
        }
    }
    Err(last_err.unwrap_or_else(|| {
        std::io::Error::new(std::io::ErrorKind::NotFound, "no address to connect to")
    }))
}

/// The `Mode: ...` line of the server's `srvr` answer, if it gave one.
pub fn mode(host: &str, port: u16) -> Option<String> {
    let answer = four_letter(host, port, "srvr").ok()?;
    answer
        .lines()
        .find(|l| l.starts_with("Mode:"))
        .map(str::to_string)
}
