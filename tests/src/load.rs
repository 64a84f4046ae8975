//! A background load for the ensemble tests: writers that alternate
//! sequential creates under one parent with compare-and-set increments of
//! one counter (each preceded by a synced read), through connection losses
//! and partitions (resuming the session, or opening a new one if it
//! expired), recording every operation with the instants it was invoked and
//! answered; and the checks of what they recorded against the final tree:
//! every acknowledged write present, nothing never written, and the whole
//! history linearizable (`linearizability`).

use crate::ensemble::{connect, Tree};
use crate::linearizability::{check_sequential, Cas, CasOutcome, Read, RegisterHistory, SeqCreate};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use zk_client::{Acl, Client, CreateMode, ErrorCode, ZkError};

/// Problems listed in a failure.
const MAX_LISTED: usize = 20;

/// Where the writers write and how fast.
#[derive(Debug, Clone)]
pub struct Load {
    /// The counter znode (data = its version), created with "0" first.
    pub counter: String,
    /// The parent of the sequential creates (created first).
    pub seq_base: String,
    /// One call's bound.
    pub op_timeout: Duration,
    /// How long a writer may take to open a session.
    pub connect_timeout: Duration,
    /// Operations per writer, at most.
    pub max_ops: usize,
    /// A writer's pause after each operation.
    pub pause: Duration,
}

fn open() -> Vec<Acl> {
    Acl::open_unsafe()
}

/// What one writer saw.
#[derive(Debug, Default)]
pub struct WriterLog {
    pub id: u64,
    /// Acknowledged sequential creates: path, data, czxid.
    pub creates: Vec<(String, String, i64)>,
    /// Creates (by data) with no answer.
    pub maybe_creates: Vec<String>,
    /// Acknowledged counter values, with their mzxid.
    pub counter: Vec<(i64, i64)>,
    /// Counter values written with no answer.
    pub maybe_counter: Vec<i64>,
    /// BadVersion refusals (another writer won).
    pub lost_races: usize,
    /// Calls that failed or timed out.
    pub failures: usize,
    /// Sessions opened (more than one: an earlier one expired).
    pub sessions: usize,
    /// Broken invariants seen on the way (reported at the end).
    pub violations: Vec<String>,
    /// The counter's history (synced reads and CAS) for the
    /// linearizability check.
    pub register: RegisterHistory,
    /// Acknowledged sequential creates with their invocation and answer.
    pub seq: Vec<SeqCreate>,
}

/// Resumes the session, or opens a new one if it expired; bounded by
/// `deadline`.
async fn recover(c: &mut Client, cs: &str, load: &Load, log: &mut WriterLog, deadline: Instant) {
    for _ in 0..1000 {
        if Instant::now() > deadline {
            return;
        }
        match tokio::time::timeout(load.op_timeout, c.reconnect()).await {
            Ok(Ok(())) => return,
            Ok(Err(ZkError::SessionExpired)) | Ok(Err(ZkError::Closed)) => {
                let left = deadline.saturating_duration_since(Instant::now());
                if let Ok(new) = connect(cs, left).await {
                    *c = new;
                    log.sessions += 1;
                    return;
                }
            }
            _ => {}
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Sequential creates and counter increments, alternately, until `stop`
/// (or `deadline`, or [`load.max_ops`]).
pub async fn writer(
    id: u64,
    cs: String,
    load: Load,
    stop: Arc<AtomicBool>,
    deadline: Instant,
) -> WriterLog {
    let (counter, seq_base) = (load.counter.as_str(), load.seq_base.as_str());
    let mut log = WriterLog {
        id,
        ..WriterLog::default()
    };
    let Ok(mut c) = connect(&cs, load.connect_timeout).await else {
        log.violations.push(format!("writer {id}: no session"));
        return log;
    };
    log.sessions = 1;
    for k in 0..load.max_ops {
        if stop.load(Ordering::Relaxed) || Instant::now() > deadline {
            break;
        }
        let mut broken = false;
        if k % 2 == 0 {
            let data = format!("w{id}-{k}");
            let prefix = format!("{seq_base}/w{id}-");
            let invoked = Instant::now();
            let r = tokio::time::timeout(
                load.op_timeout,
                c.create2(
                    &prefix,
                    data.as_bytes(),
                    &open(),
                    CreateMode::PersistentSequential,
                ),
            )
            .await;
            match r {
                Ok(Ok((path, stat))) => {
                    if !path.starts_with(&prefix) || stat.czxid != stat.mzxid || stat.version != 0 {
                        log.violations
                            .push(format!("create {prefix}: path {path}, Stat {stat:?}"));
                    }
                    if let Some(sequence) =
                        path.get(prefix.len()..).and_then(|n| n.parse::<u64>().ok())
                    {
                        log.seq.push(SeqCreate {
                            invoked,
                            answered: Instant::now(),
                            sequence,
                        });
                    }
                    log.creates.push((path, data, stat.czxid));
                }
                _ => {
                    log.maybe_creates.push(data);
                    log.failures += 1;
                    broken = true;
                }
            }
        } else {
            // A synced read: sync, then getData on the same connection.
            let read_invoked = Instant::now();
            let read = async {
                c.sync(counter).await?;
                c.get_data(counter, false).await
            };
            match tokio::time::timeout(load.op_timeout, read).await {
                Ok(Ok((data, stat))) => {
                    log.register.reads.push(Read {
                        invoked: read_invoked,
                        answered: Instant::now(),
                        version: stat.version,
                    });
                    let value: i64 = String::from_utf8_lossy(data.as_deref().unwrap_or_default())
                        .parse()
                        .unwrap_or(-1);
                    if value != i64::from(stat.version) {
                        log.violations.push(format!(
                            "{counter} read {value} at version {}",
                            stat.version
                        ));
                    }
                    let next = i64::from(stat.version) + 1;
                    let cas_invoked = Instant::now();
                    let r = tokio::time::timeout(
                        load.op_timeout,
                        c.set_data(counter, next.to_string().as_bytes(), stat.version),
                    )
                    .await;
                    match r {
                        Ok(Ok(st)) => {
                            if i64::from(st.version) != next {
                                log.violations.push(format!(
                                    "setData {counter} to {next}: version {}",
                                    st.version
                                ));
                            }
                            log.counter.push((next, st.mzxid));
                            log.register.cas.push(Cas {
                                from: stat.version,
                                invoked: cas_invoked,
                                outcome: CasOutcome::Ok {
                                    answered: Instant::now(),
                                },
                            });
                        }
                        Ok(Err(e)) if e.is(ErrorCode::BadVersion) => {
                            log.lost_races += 1;
                            log.register.cas.push(Cas {
                                from: stat.version,
                                invoked: cas_invoked,
                                outcome: CasOutcome::BadVersion {
                                    answered: Instant::now(),
                                },
                            });
                        }
                        _ => {
                            log.register.cas.push(Cas {
                                from: stat.version,
                                invoked: cas_invoked,
                                outcome: CasOutcome::Unknown,
                            });
                            log.maybe_counter.push(next);
                            log.failures += 1;
                            broken = true;
                        }
                    }
                }
                _ => {
                    log.failures += 1;
                    broken = true;
                }
            }
        }
        if broken {
            recover(&mut c, &cs, &load, &mut log, deadline).await;
        }
        tokio::time::sleep(load.pause).await;
    }
    let _ = tokio::time::timeout(load.op_timeout, c.close()).await;
    log
}

/// Every acknowledged write is in `tree`, and nothing else but writes
/// whose answer was lost; see the module docs.
pub fn check_tree(tree: &Tree, logs: &[WriterLog], load: &Load) -> Result<String, String> {
    let (counter, seq_base) = (load.counter.as_str(), load.seq_base.as_str());
    let mut problems = Vec::new();
    // The counter.
    let mut acked: BTreeMap<i64, (u64, i64)> = BTreeMap::new();
    let mut maybe: BTreeSet<i64> = BTreeSet::new();
    for log in logs {
        for &(value, mzxid) in &log.counter {
            if let Some((other, _)) = acked.insert(value, (log.id, mzxid)) {
                problems.push(format!(
                    "counter value {value} acknowledged to writers {other} and {}",
                    log.id
                ));
            }
        }
        maybe.extend(log.maybe_counter.iter().copied());
    }
    let mut last_mzxid = 0;
    for (value, (_, mzxid)) in &acked {
        if *mzxid <= last_mzxid {
            problems.push(format!(
                "counter value {value} acknowledged at mzxid {mzxid:#x}, not after the \
                 smaller values' {last_mzxid:#x}"
            ));
        }
        last_mzxid = *mzxid;
    }
    let last_acked = acked.keys().next_back().copied().unwrap_or(0);
    let counter_text = match tree.get(counter) {
        None => {
            problems.push(format!("{counter}: missing"));
            "missing".to_string()
        }
        Some(node) => {
            let text = String::from_utf8_lossy(node.data.as_deref().unwrap_or_default());
            let value: i64 = text.parse().unwrap_or(-1);
            if value != i64::from(node.stat.version) {
                problems.push(format!(
                    "{counter}: value {text:?} at version {}",
                    node.stat.version
                ));
            }
            if value < last_acked {
                problems.push(format!(
                    "{counter}: {value}, but {last_acked} was acknowledged"
                ));
            } else if value == last_acked {
                if let Some((_, mzxid)) = acked.get(&value) {
                    if node.stat.mzxid != *mzxid {
                        problems.push(format!(
                            "{counter}: {value} at mzxid {:#x}, acknowledged at {mzxid:#x}",
                            node.stat.mzxid
                        ));
                    }
                }
            } else if !maybe.contains(&value) {
                problems.push(format!(
                    "{counter}: {value}, above the last acknowledged {last_acked}, and no \
                     unanswered write of it"
                ));
            }
            format!("{value} (last acknowledged {last_acked})")
        }
    };
    // The sequential creates.
    let mut acked_creates: BTreeMap<&str, (&str, i64)> = BTreeMap::new();
    let mut maybe_creates: BTreeSet<&str> = BTreeSet::new();
    for log in logs {
        for (path, data, czxid) in &log.creates {
            acked_creates.insert(data.as_str(), (path.as_str(), *czxid));
        }
        maybe_creates.extend(log.maybe_creates.iter().map(String::as_str));
    }
    let mut seen: BTreeMap<String, String> = BTreeMap::new();
    let mut unanswered_present = 0usize;
    let prefix = format!("{seq_base}/");
    for (path, node) in tree.range(prefix.clone()..) {
        if !path.starts_with(&prefix) {
            break;
        }
        let data = String::from_utf8_lossy(node.data.as_deref().unwrap_or_default()).to_string();
        if let Some(first) = seen.insert(data.clone(), path.clone()) {
            problems.push(format!("create {data:?} present twice: {first} and {path}"));
        }
        match acked_creates.get(data.as_str()) {
            Some((want_path, czxid)) => {
                if path != want_path || node.stat.czxid != *czxid {
                    problems.push(format!(
                        "{path} (czxid {:#x}) holds {data:?}, acknowledged as {want_path} \
                         (czxid {czxid:#x})",
                        node.stat.czxid
                    ));
                }
            }
            None if maybe_creates.contains(data.as_str()) => unanswered_present += 1,
            None => problems.push(format!("{path}: {data:?} was never written")),
        }
    }
    for (data, (path, _)) in &acked_creates {
        if !seen.contains_key(*data) {
            problems.push(format!("{path} ({data:?}): acknowledged, missing"));
        }
    }
    if problems.is_empty() {
        return Ok(format!(
            "counter {counter_text}, {} acknowledged creates present, {unanswered_present} of \
             {} unanswered ones present",
            acked_creates.len(),
            maybe_creates.len()
        ));
    }
    let n = problems.len();
    problems.truncate(MAX_LISTED);
    Err(format!("{n} problems:\n  {}", problems.join("\n  ")))
}

/// The writers' whole history, every client together, against the final
/// tree: the counter's synced reads and CAS linearizable, acknowledged
/// sequential numbers in real-time order. Returns a summary.
pub fn check_history(tree: &Tree, logs: &[WriterLog], load: &Load) -> Result<String, String> {
    let mut history = RegisterHistory::default();
    let mut seq = Vec::new();
    for log in logs {
        history.cas.extend(log.register.cas.iter().cloned());
        history.reads.extend(log.register.reads.iter().copied());
        seq.extend(log.seq.iter().copied());
    }
    let final_version = tree.get(&load.counter).map_or(-1, |n| n.stat.version);
    history
        .check(final_version)
        .map_err(|e| format!("counter history not linearizable: {e}"))?;
    check_sequential(&seq).map_err(|e| format!("sequential creates: {e}"))?;
    let acked = history
        .cas
        .iter()
        .filter(|c| matches!(c.outcome, CasOutcome::Ok { .. }))
        .count();
    Ok(format!(
        "linearizable: {} CAS ({acked} acknowledged), {} synced reads, {} sequential creates",
        history.cas.len(),
        history.reads.len(),
        seq.len()
    ))
}
