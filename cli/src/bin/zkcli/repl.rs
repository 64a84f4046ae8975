//! The two read loops: a terminal (rustyline: line editing, history kept in
//! a file across runs, Tab completion of commands and of znode paths read
//! live from the server) and piped stdin (no prompt, as zkCli.sh without
//! JLine).
//!
//! Invariants:
//! - Completion never blocks the terminal for more than `COMPLETE_TIMEOUT`;
//!   a failing lookup completes nothing.
//! - Events are printed as they arrive, also while the prompt waits for
//!   input (a watch firing while idle is shown at once).
//! - The history file is written after every command, so a killed shell
//!   keeps what it ran.

use crate::commands::COMMANDS;
use crate::shell::{Options, Outcome, Printer, Shell};
use crate::{open, show};
use parking_lot::Mutex;
use rustyline::completion::{Completer, Pair};
use rustyline::error::ReadlineError;
use rustyline::highlight::Highlighter;
use rustyline::hint::Hinter;
use rustyline::history::FileHistory;
use rustyline::validate::Validator;
use rustyline::{Context, Editor, Helper};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::AsyncBufReadExt;
use zk_client::Client;

const COMPLETE_TIMEOUT: Duration = Duration::from_secs(2);

/// The client completion reads from, kept current by the loop.
type SharedClient = Arc<Mutex<Option<Client>>>;

struct ZkHelper {
    client: SharedClient,
    rt: tokio::runtime::Handle,
}

impl ZkHelper {
    fn children(&self, parent: &str) -> Vec<String> {
        let Some(client) = self.client.lock().clone() else {
            return Vec::new();
        };
        let parent = parent.to_string();
        self.rt.block_on(async move {
            match tokio::time::timeout(COMPLETE_TIMEOUT, client.get_children(&parent, false)).await
            {
                Ok(Ok(mut kids)) => {
                    kids.sort();
                    kids
                }
                _ => Vec::new(),
            }
        })
    }
}

impl Completer for ZkHelper {
    type Candidate = Pair;

    fn complete(
        &self,
        line: &str,
        pos: usize,
        _ctx: &Context<'_>,
    ) -> rustyline::Result<(usize, Vec<Pair>)> {
        let head = &line[..pos];
        let start = head.rfind(char::is_whitespace).map_or(0, |i| i + 1);
        let word = &head[start..];
        let pair = |s: String| Pair {
            display: s.clone(),
            replacement: s,
        };
        if head[..start].trim().is_empty() {
            let names = COMMANDS
                .iter()
                .filter(|(n, _)| n.starts_with(word))
                .map(|(n, _)| pair(format!("{n} ")))
                .collect();
            return Ok((start, names));
        }
        if !word.starts_with('/') {
            return Ok((start, Vec::new()));
        }
        let cut = word.rfind('/').unwrap_or(0);
        let (dir, prefix) = (&word[..=cut], &word[cut + 1..]);
        let parent = if dir == "/" {
            "/"
        } else {
            &dir[..dir.len() - 1]
        };
        let found = self
            .children(parent)
            .into_iter()
            .filter(|k| k.starts_with(prefix))
            .map(|k| pair(format!("{dir}{k}")))
            .collect();
        Ok((start, found))
    }
}

impl Hinter for ZkHelper {
    type Hint = String;
}
impl Highlighter for ZkHelper {}
impl Validator for ZkHelper {}
impl Helper for ZkHelper {}

fn history_path() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("ZKCLI_HISTORY") {
        return Some(PathBuf::from(p));
    }
    std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".zkcli_history"))
}

/// The terminal loop; returns the exit status.
pub fn interactive(rt: &tokio::runtime::Runtime, opts: Options) -> i32 {
    let shared: SharedClient = Arc::new(Mutex::new(None));
    let config = rustyline::Config::builder()
        .auto_add_history(false)
        .completion_type(rustyline::CompletionType::List)
        .build();
    let mut rl: Editor<ZkHelper, FileHistory> = match Editor::with_config(config) {
        Ok(rl) => rl,
        Err(e) => {
            eprintln!("zkcli: cannot use the terminal: {e}");
            return 1;
        }
    };
    rl.set_helper(Some(ZkHelper {
        client: shared.clone(),
        rt: rt.handle().clone(),
    }));
    let history = history_path();
    if let Some(h) = &history {
        // A missing history file is the normal first run.
        let _ = rl.load_history(h);
    }
    // Events go straight to the terminal, as zkCli.sh's do. Not through
    // rustyline's external printer: with it, keys typed or pasted faster
    // than one per poll stay unprocessed until the next key arrives.
    let printer: Arc<dyn Printer> = Arc::new(crate::shell::StdoutPrinter);
    let mut shell = Shell::new(opts, printer);
    let banner = ["Welcome to ZooKeeper!", "JLine support is enabled"];
    if let Err(e) = rt.block_on(open(&mut shell, &banner)) {
        show(false, &Err(e));
    }
    *shared.lock() = shell.client.clone();
    // Bounded by the user: each turn reads one line; EOF or quit ends it.
    loop {
        let line = match rl.readline(&shell.prompt()) {
            Ok(l) => l,
            Err(ReadlineError::Interrupted) => continue,
            Err(_) => break,
        };
        if !line.trim().is_empty() {
            let _ = rl.add_history_entry(line.as_str());
            if let Some(h) = &history {
                let _ = rl.save_history(h);
            }
        }
        match rt.block_on(shell.run_line(&line)) {
            Outcome::Quit => break,
            Outcome::Done(result) => {
                show(shell.json(), &result);
            }
        }
        *shared.lock() = shell.client.clone();
    }
    if !shell.quit {
        shell
            .print_watches
            .store(false, std::sync::atomic::Ordering::Relaxed);
        rt.block_on(shell.disconnect());
    }
    0
}

/// Reads commands from a pipe or file, one per line, printing no prompt.
pub async fn piped(opts: Options) -> i32 {
    let mut shell = Shell::new(opts, Arc::new(crate::shell::StdoutPrinter));
    let banner = ["Welcome to ZooKeeper!", "JLine support is disabled"];
    if let Err(e) = open(&mut shell, &banner).await {
        show(shell.json(), &Err(e));
    }
    let mut lines = tokio::io::BufReader::new(tokio::io::stdin()).lines();
    while let Ok(Some(line)) = lines.next_line().await {
        match shell.run_line(&line).await {
            Outcome::Quit => return 0,
            Outcome::Done(result) => {
                show(shell.json(), &result);
            }
        }
    }
    // At end of input zkCli.sh just exits: no Closed event is printed.
    shell
        .print_watches
        .store(false, std::sync::atomic::Ordering::Relaxed);
    shell.disconnect().await;
    0
}
