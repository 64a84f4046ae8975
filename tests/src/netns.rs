//! Network namespaces for the partition tests: every ensemble member in a
//! namespace of its own, all of them on one Linux bridge, so that a test
//! can cut and heal the links between members (`tests/ensemble_partition.rs`).
//!
//! Layout of one [`Net`] (names unique per run: `zkp-<pid>-<n>-<role>`):
//!
//! - a bridge namespace (`...-br`) holding the bridge `br0`;
//! - one namespace per member (`...-m<sid>`) and one for the test's own
//!   clients (`...-cl`), each with `lo` up and an `eth0` that is one end of
//!   a veth pair whose other end (`v<i>`) is a port of `br0`;
//! - addresses `10.201.X.(10+sid)/24` for members and `10.201.X.200` for
//!   the client namespace, `X` derived from the pid and a counter. The
//!   addresses exist only inside these namespaces: nothing is added to,
//!   routed through or changed in the host's root namespace.
//!
//! A partition between members `a` and `b` is a pair of blackhole routes:
//! in `a`'s namespace to `b`'s /32 and in `b`'s to `a`'s. Both directions
//! of every packet between them (new connections, established TCP streams,
//! election datagrams alike) are dropped silently, as on a cut cable, while
//! both stay reachable from everyone else, the client namespace included:
//! the test can still ask an isolated member `srvr` and send it writes.
//! [`Net::isolate`] cuts a member from every other member;
//! [`Net::heal`]/[`Net::heal_all`] delete the routes again.
//!
//! The test's clients live in the client namespace: [`run_in`] runs a
//! closure on a thread that has `setns(2)`'d into it (the thread's own
//! network namespace; threads it starts, such as a tokio runtime's workers,
//! inherit it), so every socket the closure opens is in there. Members are
//! started with `ip netns exec <ns> <program> ...`: `ip` `execvp`s the
//! program after `setns`, so the pid a test spawned is the server's own
//! ([`Net::check_member_pid`] verifies the process image and namespace).
//!
//! Dropping a [`Net`] deletes every namespace it created (also while
//! panicking), which destroys their veths and the bridge; processes started
//! in them must have been killed first (the tests drop their ensemble
//! before the `Net`). Namespaces of this naming scheme left by a test
//! process that no longer exists (SIGKILLed mid-run) are deleted when the
//! next [`Net`] is created.
//!
//! [`unavailable`] says why namespaces cannot be used here (not root, no
//! `ip`, `ip netns add` failing); the tests then print it and skip.

use std::collections::BTreeSet;
use std::net::{IpAddr, Ipv4Addr};
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// Every namespace of ours starts with this.
const PREFIX: &str = "zkp-";
/// Where `ip netns` keeps its namespaces.
const NETNS_DIR: &str = "/var/run/netns";

static COUNTER: AtomicU32 = AtomicU32::new(0);

/// Runs `ip args...`; its stderr on failure.
pub fn ip(args: &[&str]) -> Result<(), String> {
    let out = Command::new("ip")
        .args(args)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("ip {}: {e}", args.join(" ")))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "ip {}: {} {}",
            args.join(" "),
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

fn effective_uid() -> Option<u32> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("Uid:"))?;
    line.split_whitespace().nth(2)?.parse().ok()
}

/// Why network namespaces cannot be used here, if they cannot (probed once
/// per process: root, `ip`, and an `ip netns add`/`del` of a probe).
pub fn unavailable() -> Option<String> {
    static PROBE: OnceLock<Option<String>> = OnceLock::new();
    PROBE
        .get_or_init(|| {
            match effective_uid() {
                Some(0) => {}
                Some(uid) => return Some(format!("not root (euid {uid})")),
                None => return Some("cannot read the euid from /proc/self/status".into()),
            }
            if let Err(e) = ip(&["-V"]) {
                return Some(format!("no usable `ip` (iproute2): {e}"));
            }
            let probe = format!(
                "{PREFIX}{}-{}-probe",
                std::process::id(),
                COUNTER.fetch_add(1, Ordering::Relaxed)
            );
            if let Err(e) = ip(&["netns", "add", &probe]) {
                return Some(format!("`ip netns add` fails: {e}"));
            }
            let _ = ip(&["netns", "del", &probe]);
            None
        })
        .clone()
}

/// Deletes namespaces named by this module for a pid that no longer runs.
fn delete_stale() {
    let Ok(entries) = std::fs::read_dir(NETNS_DIR) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().to_string();
        let Some(rest) = name.strip_prefix(PREFIX) else {
            continue;
        };
        let Some(pid) = rest.split('-').next().and_then(|p| p.parse::<u32>().ok()) else {
            continue;
        };
        if pid != std::process::id() && !Path::new(&format!("/proc/{pid}")).exists() {
            println!("netns: deleting stale namespace {name} (pid {pid} is gone)");
            let _ = ip(&["netns", "del", &name]);
        }
    }
}

/// The inode of a network namespace file (`/var/run/netns/<name>` or
/// `/proc/<pid>/ns/net`): equal inodes, same namespace.
fn ns_inode(path: &str) -> Result<u64, String> {
    std::fs::metadata(path)
        .map(|m| m.ino())
        .map_err(|e| format!("stat {path}: {e}"))
}

/// Runs `f` on a new thread whose network namespace is `ns` (an `ip netns`
/// name) and returns its result; a panic in `f` is resumed on the caller.
pub fn run_in<R: Send>(ns: &str, f: impl FnOnce() -> R + Send) -> R {
    let path = format!("{NETNS_DIR}/{ns}");
    let result = std::thread::scope(|scope| {
        std::thread::Builder::new()
            .name(format!("in-{ns}"))
            .spawn_scoped(scope, || {
                let file =
                    std::fs::File::open(&path).unwrap_or_else(|e| panic!("open {path}: {e}"));
                nix::sched::setns(&file, nix::sched::CloneFlags::CLONE_NEWNET)
                    .unwrap_or_else(|e| panic!("setns into {path}: {e}"));
                let mine = ns_inode("/proc/thread-self/ns/net").expect("own netns");
                assert_eq!(
                    mine,
                    ns_inode(&path).expect("target netns"),
                    "setns did not move the thread into {ns}"
                );
                f()
            })
            .expect("spawn a thread")
            .join()
    });
    match result {
        Ok(r) => r,
        Err(panic) => std::panic::resume_unwind(panic),
    }
}

/// One member's namespace.
#[derive(Debug, Clone)]
pub struct MemberNs {
    pub sid: u64,
    pub ns: String,
    pub addr: Ipv4Addr,
}

/// A bridge and a namespace per member plus one for clients; see the
/// module docs.
pub struct Net {
    tag: String,
    subnet: u8,
    bridge_ns: String,
    client_ns: String,
    members: Vec<MemberNs>,
    /// Cut member pairs (smaller sid first).
    cuts: BTreeSet<(u64, u64)>,
    /// Namespaces created so far, deleted on drop.
    created: Vec<String>,
}

impl Net {
    /// Creates the bridge, the members' namespaces (sids as given) and the
    /// client namespace, all linked up. On failure everything created is
    /// deleted again.
    pub fn create(sids: &[u64]) -> Result<Net, String> {
        assert!(sids.len() < 100, "at most 99 members");
        delete_stale();
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let pid = std::process::id();
        let tag = format!("{PREFIX}{pid}-{n}");
        let subnet = ((pid as u64 + 37 * n as u64) % 250 + 1) as u8;
        let mut net = Net {
            bridge_ns: format!("{tag}-br"),
            client_ns: format!("{tag}-cl"),
            members: sids
                .iter()
                .map(|&sid| MemberNs {
                    sid,
                    ns: format!("{tag}-m{sid}"),
                    addr: Ipv4Addr::new(10, 201, subnet, 10 + sid as u8),
                })
                .collect(),
            tag,
            subnet,
            cuts: BTreeSet::new(),
            created: Vec::new(),
        };
        assert!(
            sids.iter().all(|&s| (1..=99).contains(&s)),
            "sids 1..=99 (addresses .11 to .109)"
        );
        net.build()?;
        println!(
            "netns {}: bridge {}, members {}, clients {} (10.201.{}.200)",
            net.tag,
            net.bridge_ns,
            net.members
                .iter()
                .map(|m| format!("{}={}@{}", m.sid, m.ns, m.addr))
                .collect::<Vec<_>>()
                .join(" "),
            net.client_ns,
            net.subnet
        );
        Ok(net)
    }

    fn add_ns(&mut self, name: &str) -> Result<(), String> {
        ip(&["netns", "add", name])?;
        self.created.push(name.to_string());
        ip(&["-n", name, "link", "set", "lo", "up"])
    }

    fn build(&mut self) -> Result<(), String> {
        let br = self.bridge_ns.clone();
        self.add_ns(&br)?;
        ip(&["-n", &br, "link", "add", "br0", "type", "bridge"])?;
        ip(&["-n", &br, "link", "set", "br0", "up"])?;
        let mut ends: Vec<(String, Ipv4Addr)> = self
            .members
            .iter()
            .map(|m| (m.ns.clone(), m.addr))
            .collect();
        ends.push((
            self.client_ns.clone(),
            Ipv4Addr::new(10, 201, self.subnet, 200),
        ));
        for (i, (ns, addr)) in ends.iter().enumerate() {
            self.add_ns(ns)?;
            let port = format!("v{i}");
            ip(&[
                "-n", &br, "link", "add", &port, "type", "veth", "peer", "name", "eth0", "netns",
                ns,
            ])?;
            ip(&["-n", &br, "link", "set", &port, "master", "br0", "up"])?;
            ip(&[
                "-n",
                ns,
                "addr",
                "add",
                &format!("{addr}/24"),
                "dev",
                "eth0",
            ])?;
            ip(&["-n", ns, "link", "set", "eth0", "up"])?;
        }
        Ok(())
    }

    /// The name of the client namespace (for [`run_in`]).
    pub fn client_ns(&self) -> &str {
        &self.client_ns
    }

    pub fn members(&self) -> &[MemberNs] {
        &self.members
    }

    fn member(&self, sid: u64) -> &MemberNs {
        self.members
            .iter()
            .find(|m| m.sid == sid)
            .unwrap_or_else(|| panic!("netns {}: no member {sid}", self.tag))
    }

    /// The member's namespace name.
    pub fn ns(&self, sid: u64) -> &str {
        &self.member(sid).ns
    }

    /// The member's address.
    pub fn addr(&self, sid: u64) -> IpAddr {
        IpAddr::V4(self.member(sid).addr)
    }

    fn pair(a: u64, b: u64) -> (u64, u64) {
        (a.min(b), a.max(b))
    }

    /// Drops all traffic between members `a` and `b` (both directions);
    /// a no-op if already cut.
    pub fn cut(&mut self, a: u64, b: u64) -> Result<(), String> {
        assert_ne!(a, b, "cut a member from itself");
        let pair = Self::pair(a, b);
        if self.cuts.contains(&pair) {
            return Ok(());
        }
        let (ma, mb) = (self.member(a).clone(), self.member(b).clone());
        ip(&[
            "-n",
            &ma.ns,
            "route",
            "add",
            "blackhole",
            &format!("{}/32", mb.addr),
        ])?;
        // Recorded before the second route, so heal() removes the first one
        // even if the second fails.
        self.cuts.insert(pair);
        ip(&[
            "-n",
            &mb.ns,
            "route",
            "add",
            "blackhole",
            &format!("{}/32", ma.addr),
        ])
    }

    /// Undoes [`cut`](Self::cut); a no-op if not cut.
    pub fn heal(&mut self, a: u64, b: u64) -> Result<(), String> {
        let pair = Self::pair(a, b);
        if !self.cuts.remove(&pair) {
            return Ok(());
        }
        let (ma, mb) = (self.member(a).clone(), self.member(b).clone());
        let mut errors = Vec::new();
        for (from, to) in [(&ma, &mb), (&mb, &ma)] {
            let dest = format!("{}/32", to.addr);
            if let Err(e) = ip(&["-n", &from.ns, "route", "del", "blackhole", &dest]) {
                // "No such process": that route never made it in.
                if !e.contains("No such process") {
                    errors.push(e);
                }
            }
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors.join("; "))
        }
    }

    /// Cuts `sid` from every other member.
    pub fn isolate(&mut self, sid: u64) -> Result<(), String> {
        let others: Vec<u64> = self
            .members
            .iter()
            .map(|m| m.sid)
            .filter(|&s| s != sid)
            .collect();
        for other in others {
            self.cut(sid, other)?;
        }
        Ok(())
    }

    /// Heals every cut.
    pub fn heal_all(&mut self) -> Result<(), String> {
        let cuts: Vec<(u64, u64)> = self.cuts.iter().copied().collect();
        let mut errors = Vec::new();
        for (a, b) in cuts {
            if let Err(e) = self.heal(a, b) {
                errors.push(e);
            }
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors.join("; "))
        }
    }

    /// The cut pairs, smaller sid first.
    pub fn cuts(&self) -> Vec<(u64, u64)> {
        self.cuts.iter().copied().collect()
    }

    /// The cut pairs as text (`none`, or `1-2 1-3`).
    pub fn describe_cuts(&self) -> String {
        if self.cuts.is_empty() {
            return "none".to_string();
        }
        self.cuts
            .iter()
            .map(|(a, b)| format!("{a}-{b}"))
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// Waits (bounded) until `pid` runs `program` (its `/proc/<pid>/exe`
    /// file name) inside the member's namespace: `ip netns exec` has exec'd
    /// the server in place, so that pid is the one to kill.
    pub fn check_member_pid(&self, sid: u64, pid: u32, program: &str) -> Result<(), String> {
        let want = ns_inode(&format!("{NETNS_DIR}/{}", self.ns(sid)))?;
        let started = Instant::now();
        let mut last = String::new();
        for _ in 0..100 {
            let exe = std::fs::read_link(format!("/proc/{pid}/exe"))
                .map(|p| p.file_name().map(|f| f.to_string_lossy().to_string()))
                .unwrap_or_default()
                .unwrap_or_default();
            let ns = ns_inode(&format!("/proc/{pid}/ns/net"));
            if exe == program && ns.as_ref() == Ok(&want) {
                return Ok(());
            }
            last = format!("exe {exe:?}, netns inode {ns:?} (want {want})");
            if started.elapsed() > Duration::from_secs(5) {
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Err(format!(
            "pid {pid} of member {sid} is not {program} in {}: {last}",
            self.ns(sid)
        ))
    }
}

impl Drop for Net {
    fn drop(&mut self) {
        for ns in self.created.iter().rev() {
            if let Err(e) = ip(&["netns", "del", ns]) {
                eprintln!("netns: {e}");
            }
        }
    }
}
