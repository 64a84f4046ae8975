//! `zkbench`: a load generator for any ZooKeeper-compatible server, driven
//! through `zk_client`. See `--help` and `docs/PERFORMANCE.md`.

mod args;
mod driver;
mod fsync;
mod memory;
mod ready;
mod report;
mod workloads;

use args::{Command, Options, USAGE};
use report::Report;
use std::process::ExitCode;

/// The load tool shares the machine's cores with the server it measures, so
/// its own cost matters: replies such as getChildren of 1000 names are a
/// thousand small allocations each, which mimalloc serves far cheaper than
/// the system allocator.
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let opts = match Options::parse(std::env::args().skip(1)) {
        Ok(o) => o,
        Err(e) => {
            if !e.is_empty() {
                eprintln!("zkbench: {e}");
            }
            eprint!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(opts.threads)
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("zkbench: tokio runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = match opts.command {
        Command::Fsync => fsync::run(&opts).map(|r| print_report(&opts, &r, true)),
        Command::Ready => runtime
            .block_on(ready::run(&opts))
            .map(|line| println!("{line}")),
        Command::Load => runtime.block_on(load(opts.clone())),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("zkbench: {e}");
            ExitCode::FAILURE
        }
    }
}

fn print_report(opts: &Options, report: &Report, header: bool) {
    if opts.json {
        println!("{}", report.to_json());
    } else {
        if header {
            println!("{}", Report::header());
        }
        println!("{}", report.to_line());
    }
}

async fn load(opts: Options) -> Result<(), String> {
    let mut bench = workloads::Bench::connect(opts.clone())
        .await
        .map_err(|e| format!("{}: {e}", opts.server))?;
    let mut failed = None;
    for (i, w) in opts.workloads.iter().enumerate() {
        match bench.run(w).await {
            Ok(report) => print_report(&opts, &report, i == 0),
            Err(e) => {
                failed = Some(format!("{w}: {e}"));
                break;
            }
        }
    }
    let finished = bench.finish().await;
    match (failed, finished) {
        (Some(e), _) | (None, Err(e)) => Err(e),
        (None, Ok(())) => Ok(()),
    }
}
