//! `zkserver [--config DIR] check-config [zoo.cfg]`: loads the configuration
//! exactly as `start-foreground` would (the file, `$SERVER_JVMFLAGS
//! $JVMFLAGS`, `<dataDir>/myid`) and prints what it makes of it: the
//! client address, and for an ensemble this server's id and role, the
//! quorum size and every server. Exit 0 when the server would accept it,
//! 1 (with the reason on stderr) when it would refuse to start.

use super::{EXIT_ERROR, EXIT_OK, EXIT_USAGE};
use crate::config::quorum::QuorumConfig;
use crate::config::Config;
use std::io::{self, Write};
use std::path::PathBuf;

const USAGE: &str = "Usage: zkserver [--config <conf-dir>] check-config [zoo.cfg]
Loads the configuration as start-foreground would (with JVMFLAGS and
<dataDir>/myid) and prints the parsed ensemble. Exit 0 valid, 1 refused.";

pub fn check_main(
    args: &[String],
    conf_dir: Option<PathBuf>,
    out: &mut impl Write,
) -> io::Result<u8> {
    if super::wants_help(args) || args.len() > 1 {
        eprintln!("{USAGE}");
        return Ok(EXIT_USAGE);
    }
    let path = crate::ctl::config_path(conf_dir, args.first().map(String::as_str));
    let config = match Config::load_for_server(&path) {
        Ok(config) => config,
        Err(e) => {
            eprintln!("zkserver: {e}");
            return Ok(EXIT_ERROR);
        }
    };
    write_summary(&config, out)?;
    Ok(EXIT_OK)
}

/// The parsed configuration, one `key: value` per line.
pub fn write_summary(config: &Config, out: &mut impl Write) -> io::Result<()> {
    writeln!(out, "config: {}", config.file_name)?;
    writeln!(
        out,
        "clientPort: {}:{}",
        config.client_port_address.as_deref().unwrap_or("0.0.0.0"),
        config.client_port
    )?;
    writeln!(out, "dataDir: {}", config.data_dir.display())?;
    match &config.quorum {
        None => writeln!(out, "mode: standalone")?,
        Some(q) => write_quorum(q, out)?,
    }
    for warning in &config.warnings {
        writeln!(out, "warning: {warning}")?;
    }
    Ok(())
}

fn write_quorum(q: &QuorumConfig, out: &mut impl Write) -> io::Result<()> {
    writeln!(out, "mode: ensemble")?;
    writeln!(out, "myid: {} ({})", q.my_id, q.myid_file.display())?;
    writeln!(out, "role: {}", q.peer_type.name())?;
    writeln!(
        out,
        "servers: {} ({} participants, {} observers)",
        q.servers.len(),
        q.participants().count(),
        q.observers().count()
    )?;
    writeln!(out, "quorum: {}", q.quorum_size())?;
    writeln!(
        out,
        "initLimit: {} ticks ({} ms), syncLimit: {} ticks ({} ms)",
        q.init_limit_ticks,
        q.init_limit_ms(),
        q.sync_limit_ticks,
        q.sync_limit_ms()
    )?;
    writeln!(out, "electionAlg: {}", q.election_alg)?;
    writeln!(out, "cnxTimeout: {} ms", q.cnx_timeout_ms)?;
    for s in &q.servers {
        let addrs: Vec<String> = s
            .addresses
            .iter()
            .map(|a| format!("{}:{}:{}", a.host, a.quorum_port, a.election_port))
            .collect();
        let client = match (&s.client_address, s.client_port) {
            (_, None) => String::new(),
            (None, Some(p)) => format!(";{p}"),
            (Some(h), Some(p)) => format!(";{h}:{p}"),
        };
        let role = if s.observer {
            "observer"
        } else {
            "participant"
        };
        let me = if s.id as i64 == q.my_id {
            " (this server)"
        } else {
            ""
        };
        writeln!(
            out,
            "server.{}={}:{role}{client}{me}",
            s.id,
            addrs.join("|")
        )?;
    }
    Ok(())
}
