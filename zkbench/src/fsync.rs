//! One fsync on this disk: append `--size` bytes to a preallocated file
//! and `fdatasync` it, `--ops` times (as a txn log with preallocation does:
//! the file's size does not change, so only data is flushed).

use crate::args::Options;
use crate::report::{Latencies, Report};
use std::fs::OpenOptions;
use std::io::{Seek, SeekFrom, Write};
use std::time::Instant;

/// Bytes preallocated, like ZooKeeper's default `preAllocSize` (64 MiB).
const PREALLOC_BYTES: u64 = 64 * 1024 * 1024;

pub fn run(opts: &Options) -> Result<Report, String> {
    let count = opts.ops.unwrap_or(2000);
    let path = opts
        .dir
        .join(format!("zkbench-fsync-{}", std::process::id()));
    let err = |e: std::io::Error| format!("{}: {e}", path.display());
    let mut file = OpenOptions::new()
        .create_new(true)
        .read(true)
        .write(true)
        .open(&path)
        .map_err(err)?;
    let result = (|| {
        file.set_len(PREALLOC_BYTES).map_err(err)?;
        file.sync_all().map_err(err)?;
        file.seek(SeekFrom::Start(0)).map_err(err)?;
        let record = vec![0x5a_u8; opts.size.max(1)];
        let mut latencies = Latencies::new();
        let limit = opts.phase_limit();
        let start = Instant::now();
        let mut written = 0u64;
        for _ in 0..count {
            if start.elapsed() >= limit || written + record.len() as u64 > PREALLOC_BYTES {
                break;
            }
            let t = Instant::now();
            file.write_all(&record).map_err(err)?;
            file.sync_data().map_err(err)?;
            latencies.record(t.elapsed());
            written += record.len() as u64;
        }
        Ok(Report {
            workload: "fsync".into(),
            label: opts.label.clone(),
            sessions: 1,
            outstanding: 1,
            size: record.len(),
            ops: latencies.count(),
            errors: 0,
            first_error: None,
            seconds: start.elapsed().as_secs_f64(),
            latencies,
            extra: Vec::new(),
        })
    })();
    let _ = std::fs::remove_file(&path);
    result
}
