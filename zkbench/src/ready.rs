//! Time to ready: poll a server until the `srvr` four-letter word reports
//! `Mode:` (Apache ZooKeeper answers `ruok` before it serves), then until a
//! session can be opened. Times are measured from `--since-ns` (wall-clock
//! nanoseconds since the epoch, e.g. `date +%s%N` taken just before the
//! server process was started).

use crate::args::Options;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// How often the server is polled.
const POLL: Duration = Duration::from_millis(1);

fn now_ns() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0)
}

async fn srvr_mode(server: &str) -> bool {
    let attempt = async {
        let mut s = TcpStream::connect(server).await.ok()?;
        s.write_all(b"srvr").await.ok()?;
        let mut reply = Vec::new();
        s.read_to_end(&mut reply).await.ok()?;
        Some(String::from_utf8_lossy(&reply).contains("Mode:"))
    };
    matches!(
        tokio::time::timeout(Duration::from_secs(2), attempt).await,
        Ok(Some(true))
    )
}

/// Prints `srvr_ms` and `connect_ms` since `--since-ns`.
pub async fn run(opts: &Options) -> Result<String, String> {
    let since = opts.since_ns.unwrap_or_else(now_ns);
    let deadline = Instant::now() + opts.timeout;
    let ms = |at: u128| at.saturating_sub(since) as f64 / 1e6;
    let srvr_at = loop {
        if srvr_mode(&opts.server).await {
            break now_ns();
        }
        if Instant::now() >= deadline {
            return Err(format!(
                "{}: not ready within {:?}",
                opts.server, opts.timeout
            ));
        }
        tokio::time::sleep(POLL).await;
    };
    let connect_at = loop {
        let attempt = zk_client::Client::connect(&opts.server, Duration::from_secs(10));
        if let Ok(Ok(c)) = tokio::time::timeout(Duration::from_secs(5), attempt).await {
            let at = now_ns();
            let _ = c.close().await;
            break at;
        }
        if Instant::now() >= deadline {
            return Err(format!(
                "{}: no session within {:?}",
                opts.server, opts.timeout
            ));
        }
        tokio::time::sleep(POLL).await;
    };
    Ok(if opts.json {
        format!(
            "{{\"workload\":\"ready\",\"label\":{},\"srvr_ms\":{:.1},\"connect_ms\":{:.1}}}",
            crate::report::json_str(&opts.label),
            ms(srvr_at),
            ms(connect_at)
        )
    } else {
        format!(
            "ready: srvr Mode after {:.1} ms, first session after {:.1} ms",
            ms(srvr_at),
            ms(connect_at)
        )
    })
}
