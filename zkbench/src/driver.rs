//! The closed-loop driver: `workers` tasks each take the next operation
//! index from a shared counter, run it, and record its latency, until the
//! operation count or the deadline is reached (whichever comes first).
//!
//! Invariants:
//! - Every index handed out is run exactly once; the indices run are
//!   `0..attempted` (what cleanup relies on to find what was created).
//! - No worker starts an operation after the deadline; the phase therefore
//!   ends at most one operation latency after it.

use crate::report::Latencies;
use std::future::Future;
use std::io::IsTerminal;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use zk_client::ZkError;

/// What a phase did.
pub struct Phase {
    pub attempted: u64,
    pub ok: u64,
    pub errors: u64,
    pub first_error: Option<String>,
    pub seconds: f64,
    pub latencies: Latencies,
}

/// Runs `op(worker, index)` from `workers` concurrent tasks, for indices
/// `0..ops` (or unbounded) until `limit` has passed. With `progress`, a line
/// on stderr shows the rate while the phase runs longer than two seconds.
pub async fn run<F, Fut>(
    name: &str,
    workers: usize,
    ops: Option<u64>,
    limit: Duration,
    progress: bool,
    op: F,
) -> Phase
where
    F: Fn(usize, u64) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<(), ZkError>> + Send + 'static,
{
    let op = Arc::new(op);
    let next = Arc::new(AtomicU64::new(0));
    let done = Arc::new(AtomicU64::new(0));
    let max = ops.unwrap_or(u64::MAX);
    let start = Instant::now();
    let deadline = start + limit;
    let mut tasks = Vec::with_capacity(workers);
    for worker in 0..workers {
        let (op, next, done) = (op.clone(), next.clone(), done.clone());
        tasks.push(tokio::spawn(async move {
            let mut latencies = Latencies::new();
            let (mut errors, mut first_error) = (0u64, None);
            loop {
                if Instant::now() >= deadline {
                    break;
                }
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= max {
                    break;
                }
                let t = Instant::now();
                match op(worker, i).await {
                    Ok(()) => latencies.record(t.elapsed()),
                    Err(e) => {
                        errors += 1;
                        first_error.get_or_insert_with(|| e.to_string());
                    }
                }
                done.fetch_add(1, Ordering::Relaxed);
            }
            (latencies, errors, first_error)
        }));
    }
    let ticker = progress.then(|| tokio::spawn(show_progress(name.to_string(), done.clone())));
    let mut phase = Phase {
        attempted: 0,
        ok: 0,
        errors: 0,
        first_error: None,
        seconds: 0.0,
        latencies: Latencies::new(),
    };
    for task in tasks {
        match task.await {
            Ok((latencies, errors, first_error)) => {
                phase.latencies.merge(&latencies);
                phase.errors += errors;
                if phase.first_error.is_none() {
                    phase.first_error = first_error;
                }
            }
            Err(e) => {
                phase.errors += 1;
                phase
                    .first_error
                    .get_or_insert_with(|| format!("worker failed: {e}"));
            }
        }
    }
    phase.seconds = start.elapsed().as_secs_f64();
    if let Some(t) = ticker {
        t.abort();
        if std::io::stderr().is_terminal() {
            eprint!("\r\x1b[K");
        }
    }
    phase.ok = phase.latencies.count();
    phase.attempted = next.load(Ordering::Relaxed).min(max);
    phase
}

async fn show_progress(name: String, done: Arc<AtomicU64>) {
    let tty = std::io::stderr().is_terminal();
    let every = if tty {
        Duration::from_secs(1)
    } else {
        Duration::from_secs(5)
    };
    let start = Instant::now();
    tokio::time::sleep(Duration::from_secs(2)).await;
    let mut last = (Instant::now(), done.load(Ordering::Relaxed));
    loop {
        tokio::time::sleep(every).await;
        let now = (Instant::now(), done.load(Ordering::Relaxed));
        let rate = (now.1 - last.1) as f64 / (now.0 - last.0).as_secs_f64();
        let line = format!(
            "[{name}] {:.0}s: {} ops, {:.0} ops/s",
            start.elapsed().as_secs_f64(),
            now.1,
            rate
        );
        if tty {
            eprint!("\r\x1b[K{line}");
        } else {
            eprintln!("{line}");
        }
        last = now;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;
    use std::sync::Mutex;

    #[tokio::test]
    async fn runs_each_index_once_up_to_the_count() {
        let seen = Arc::new(Mutex::new(HashSet::new()));
        let s = seen.clone();
        let phase = run(
            "t",
            7,
            Some(1000),
            Duration::from_secs(30),
            false,
            move |_, i| {
                let s = s.clone();
                async move {
                    assert!(s.lock().unwrap().insert(i), "index {i} twice");
                    if i % 100 == 0 {
                        Err(ZkError::ConnectionLoss)
                    } else {
                        Ok(())
                    }
                }
            },
        )
        .await;
        assert_eq!(seen.lock().unwrap().len(), 1000);
        assert_eq!((phase.attempted, phase.ok, phase.errors), (1000, 990, 10));
        assert_eq!(phase.first_error.as_deref(), Some("connection loss"));
    }

    #[tokio::test]
    async fn stops_at_the_deadline() {
        let phase = run(
            "t",
            2,
            None,
            Duration::from_millis(50),
            false,
            |_, _| async {
                tokio::time::sleep(Duration::from_millis(5)).await;
                Ok(())
            },
        )
        .await;
        assert!(phase.ok > 0 && phase.ok < 1000, "{}", phase.ok);
        assert_eq!(phase.attempted, phase.ok);
    }
}
