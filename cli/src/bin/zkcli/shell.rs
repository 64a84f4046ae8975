//! [`Shell`]: one zkcli session — the connection, the watches it holds, the
//! command history — and the dispatch from a command line to a command.
//!
//! Invariants:
//! - At most one client at a time; `connect` and `close` replace or end it.
//! - Watch events are printed by one task per client, through the shared
//!   [`Printer`], and only while `printwatches` is on; the `Closed` event is
//!   printed by `close`/`quit` themselves so it is out before the process ends.
//! - A lost connection is resumed in the background on the hosts of the
//!   connect string (same session id and password), and every watch in the
//!   [`WatchSet`] is re-armed with setWatches2; attempts are bounded by the
//!   session timeout.
//! - Every command line (even a failing one) is numbered in the history.

use crate::output::{event_text, CmdError, Reply, Status};
use crate::{commands, tokenize};
use jute::proto::keeper_state;
use parking_lot::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;
use zk_client::{Client, WatchSet, WatchedEvent, ZkError};

/// Where asynchronous output (watch events) goes.
pub trait Printer: Send + Sync {
    fn print(&self, text: String);
}

/// Prints straight to stdout (non-interactive use).
pub struct StdoutPrinter;

impl Printer for StdoutPrinter {
    fn print(&self, text: String) {
        use std::io::Write;
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "{text}");
        let _ = out.flush();
    }
}

/// Settings from the command line.
#[derive(Debug, Clone)]
pub struct Options {
    pub server: String,
    pub timeout: Duration,
    pub read_only: bool,
    pub json: bool,
}

pub struct Shell {
    pub opts: Options,
    pub client: Option<Client>,
    pub watches: Arc<Mutex<WatchSet>>,
    pub print_watches: Arc<AtomicBool>,
    pub history: Vec<String>,
    pub printer: Arc<dyn Printer>,
    pub quit: bool,
    events_task: Option<tokio::task::JoinHandle<()>>,
}

/// What a command line does.
pub enum Outcome {
    Done(Result<Reply, CmdError>),
    Quit,
}

impl Shell {
    pub fn new(opts: Options, printer: Arc<dyn Printer>) -> Shell {
        Shell {
            opts,
            client: None,
            watches: Arc::new(Mutex::new(WatchSet::new())),
            print_watches: Arc::new(AtomicBool::new(true)),
            history: Vec::new(),
            printer,
            quit: false,
            events_task: None,
        }
    }

    pub fn json(&self) -> bool {
        self.opts.json
    }

    /// The client, or zkCli's "Not connected".
    pub fn client(&self) -> Result<&Client, CmdError> {
        match &self.client {
            Some(c) if !c.is_session_ended() => Ok(c),
            _ => Err(CmdError::msg("Not connected", Status::Connection)),
        }
    }

    /// `CONNECTED`, `CONNECTING` or `CLOSED`, as zkCli's prompt shows the state.
    pub fn state_word(&self) -> &'static str {
        match &self.client {
            None => "CLOSED",
            Some(c) if c.is_session_ended() => "CLOSED",
            Some(c) if c.is_connected() => "CONNECTED",
            Some(_) => "CONNECTING",
        }
    }

    pub fn prompt(&self) -> String {
        format!(
            "[zk: {}({}) {}] ",
            self.opts.server,
            self.state_word(),
            self.history.len()
        )
    }

    /// Connects to `server` with a new session, replacing any current one.
    pub async fn connect(&mut self, server: &str) -> Result<(), ZkError> {
        self.disconnect().await;
        self.opts.server = server.to_string();
        *self.watches.lock() = WatchSet::new();
        let client = Client::builder(server)
            .session_timeout(self.opts.timeout)
            .connect_timeout(self.opts.timeout)
            .read_only(Some(self.opts.read_only))
            .connect()
            .await?;
        // why expect: a fresh client's receiver is taken once, here.
        let mut rx = client.take_events().expect("a fresh client's events");
        // The handshake's SyncConnected is already queued: print it now so it
        // precedes any command output, as zkCli's does.
        while let Ok(ev) = rx.try_recv() {
            self.show_event(&ev);
        }
        self.events_task = Some(tokio::spawn(event_loop(
            client.clone(),
            rx,
            self.watches.clone(),
            self.print_watches.clone(),
            self.printer.clone(),
            self.opts.json,
        )));
        self.client = Some(client);
        Ok(())
    }

    fn show_event(&self, ev: &WatchedEvent) {
        self.watches.lock().on_event(ev);
        if self.print_watches.load(Ordering::Relaxed) {
            self.printer.print(event_text(ev, self.opts.json));
        }
    }

    /// Prints a locally made event (close, removed watches) like a server's.
    pub fn local_event(&self, event_type: i32, state: i32, path: &str) {
        self.show_event(&WatchedEvent {
            event_type,
            state,
            path: path.to_string(),
        });
    }

    /// Closes the session (if any) and prints the Closed event.
    pub async fn disconnect(&mut self) {
        if let Some(task) = self.events_task.take() {
            task.abort();
        }
        if let Some(c) = self.client.take() {
            if !c.is_session_ended() {
                // A close that fails (connection already gone) still ends the session here.
                let _ = tokio::time::timeout(self.opts.timeout, c.close()).await;
                self.local_event(-1, keeper_state::CLOSED, "");
            }
        }
    }

    /// Runs one command line; records it in the history.
    pub async fn run_line(&mut self, line: &str) -> Outcome {
        let words = tokenize::words(line);
        if words.is_empty() {
            return Outcome::Done(Ok(Reply::default()));
        }
        self.history.push(line.trim().to_string());
        let mut words = words;
        if words[0] == "redo" {
            let n = words.get(1).and_then(|n| n.parse::<usize>().ok());
            let Some(n) = n else {
                return Outcome::Done(Err(CmdError::Usage("redo cmdno".into())));
            };
            let Some(old) = self.history.get(n).filter(|_| n + 1 < self.history.len()) else {
                return Outcome::Done(Err(CmdError::msg(
                    "Command index out of range",
                    Status::Usage,
                )));
            };
            words = tokenize::words(&old.clone());
            // zkCli records the redone command in place of `redo N`.
            *self.history.last_mut().expect("just pushed") = old.clone(); // why: pushed above
            if words.first().map(String::as_str) == Some("redo") {
                return Outcome::Done(Err(CmdError::msg(
                    "Command index out of range",
                    Status::Usage,
                )));
            }
        }
        if words[0] == "quit" || words[0] == "exit" {
            self.disconnect().await;
            self.quit = true;
            return Outcome::Quit;
        }
        Outcome::Done(commands::dispatch(self, &words).await)
    }
}

/// Prints events as they come, keeps the watch set current, and resumes the
/// session on another connection when this one is lost.
async fn event_loop(
    client: Client,
    mut rx: mpsc::Receiver<WatchedEvent>,
    watches: Arc<Mutex<WatchSet>>,
    print: Arc<AtomicBool>,
    printer: Arc<dyn Printer>,
    json: bool,
) {
    while let Some(ev) = rx.recv().await {
        watches.lock().on_event(&ev);
        // `close` prints its own Closed event, before the process may exit.
        if ev.is_state_change() && ev.state == keeper_state::CLOSED {
            continue;
        }
        if print.load(Ordering::Relaxed) {
            printer.print(event_text(&ev, json));
        }
        if ev.is_state_change() && ev.state == keeper_state::DISCONNECTED {
            let (client, watches) = (client.clone(), watches.clone());
            tokio::spawn(async move { resume(client, watches).await });
        }
    }
}

/// Reconnects with the same session, retrying once a second until the
/// session would have expired anyway.
async fn resume(client: Client, watches: Arc<Mutex<WatchSet>>) {
    let attempts = (client.negotiated_timeout().as_secs() + 1).clamp(1, 120);
    for _ in 0..attempts {
        if client.is_session_ended() || client.is_connected() {
            return;
        }
        let set = watches.lock().clone();
        match client.reconnect_with_watches(&set).await {
            Ok(()) => return,
            Err(ZkError::SessionExpired | ZkError::Closed) => return,
            Err(e) => tracing::debug!(error = %e, "reconnect failed; retrying"),
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}
