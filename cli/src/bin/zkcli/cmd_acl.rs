//! ACL and identity commands: getAcl, setAcl, addauth, whoami.
//!
//! Invariant: an ACL argument is parsed as zkCli.sh parses it — entries
//! `scheme:id:perms` split at the first and last colon (ids such as
//! `ip:127.0.0.1` or `digest:u:hash` keep theirs); a malformed entry or an
//! unknown permission letter is reported and skipped, not fatal.

use crate::cmd_node::{parse, path_arg, subtree};
use crate::commands::usage;
use crate::opts::{flag, value};
use crate::output::*;
use crate::shell::Shell;
use jute::data::perms;
use serde_json::json;
use zk_client::{Acl, ErrorCode, ZkError};

/// Parses `scheme:id:perm[,...]`; returns the entries and the warnings.
pub fn parse_acl_arg(spec: &str) -> (Vec<Acl>, Vec<String>) {
    let mut acl = Vec::new();
    let mut warnings = Vec::new();
    for entry in spec.split(',').filter(|e| !e.is_empty()) {
        let (Some(first), Some(last)) = (entry.find(':'), entry.rfind(':')) else {
            warnings.push(format!("{entry} does not have the form scheme:id:perm"));
            continue;
        };
        if first == last {
            warnings.push(format!("{entry} does not have the form scheme:id:perm"));
            continue;
        }
        let mut bits = 0;
        for c in entry[last + 1..].chars() {
            match c {
                'r' => bits |= perms::READ,
                'w' => bits |= perms::WRITE,
                'c' => bits |= perms::CREATE,
                'd' => bits |= perms::DELETE,
                'a' => bits |= perms::ADMIN,
                other => warnings.push(format!("Unknown perm type: {other}")),
            }
        }
        acl.push(Acl::new(bits, &entry[..first], &entry[first + 1..last]));
    }
    (acl, warnings)
}

pub async fn get_acl(sh: &mut Shell, words: &[String]) -> Result<Reply, CmdError> {
    let p = parse(words, &[flag('s')])?;
    let path = path_arg(&p, 1)?;
    let (acl, stat) = sh
        .client()?
        .get_acl(path)
        .await
        .map_err(|e| CmdError::Zk(e, Some(path.into())))?;
    let mut text = acl_lines(&acl);
    let mut j = json!({"path": path, "acl": acl_json(&acl)});
    if p.has('s') {
        text.extend(stat_lines(&stat));
        j["stat"] = stat_json(&stat);
    }
    Ok(Reply::new(text, j))
}

pub async fn set_acl(sh: &mut Shell, words: &[String]) -> Result<Reply, CmdError> {
    let p = parse(words, &[flag('s'), value('v'), flag('R')])?;
    if p.args.len() < 3 {
        return Err(CmdError::Usage(usage("setAcl")));
    }
    let path = path_arg(&p, 1)?;
    let version = match p.value('v') {
        None => -1,
        Some(v) => v
            .parse()
            .map_err(|_| CmdError::msg("-v argument must be an int value", Status::Usage))?,
    };
    let (acl, mut warnings) = parse_acl_arg(p.arg(2).unwrap_or_default());
    if acl.is_empty() {
        warnings.push("Acl is not valid : null".into());
        return Err(CmdError::Msg(warnings, Status::Usage));
    }
    let zk = sh.client()?;
    let err = |p: &str| {
        let p = p.to_string();
        move |e: ZkError| CmdError::Zk(e, Some(p.clone()))
    };
    let stat = if p.has('R') {
        let all = subtree(zk, path).await.map_err(err(path))?;
        let mut top = None;
        for node in &all {
            let s = zk.set_acl(node, &acl, version).await.map_err(err(node))?;
            top.get_or_insert(s);
        }
        top.expect("a subtree holds its root") // why: subtree() always lists `path`
    } else {
        zk.set_acl(path, &acl, version).await.map_err(err(path))?
    };
    let mut text = warnings;
    if p.has('s') {
        text.extend(stat_lines(&stat));
    }
    Ok(Reply::new(
        text,
        json!({"path": path, "stat": stat_json(&stat)}),
    ))
}

pub async fn addauth(sh: &mut Shell, words: &[String]) -> Result<Reply, CmdError> {
    let p = parse(words, &[])?;
    let Some(scheme) = p.arg(1) else {
        return Err(CmdError::Usage(usage("addauth")));
    };
    let auth = p.arg(2).unwrap_or_default().as_bytes().to_vec();
    match sh.client()?.add_auth(scheme, &auth).await {
        Ok(()) => Ok(Reply::quiet(json!({"scheme": scheme}))),
        // zkCli reports a refused auth only through the AuthFailed event.
        Err(ZkError::Api(ErrorCode::AuthFailed)) => Err(CmdError::Msg(Vec::new(), Status::ZkError)),
        Err(e) => Err(CmdError::Zk(e, None)),
    }
}

pub async fn whoami(sh: &mut Shell, _words: &[String]) -> Result<Reply, CmdError> {
    let ids = sh
        .client()?
        .whoami()
        .await
        .map_err(|e| CmdError::Zk(e, None))?;
    let mut text = vec!["Auth scheme: User".to_string()];
    text.extend(ids.iter().map(|i| format!("{}: {}", i.auth_scheme, i.user)));
    let j: Vec<_> = ids
        .iter()
        .map(|i| json!({"scheme": i.auth_scheme, "user": i.user}))
        .collect();
    Ok(Reply::new(text, json!({"identities": j})))
}

#[cfg(test)]
mod tests {
    use super::parse_acl_arg;

    #[test]
    fn acl_parsing_matches_zkcli() {
        let (acl, w) = parse_acl_arg("ip:127.0.0.1:cdrwa,world:anyone:r,");
        assert!(w.is_empty());
        assert_eq!(acl[0].id.id, "127.0.0.1");
        assert_eq!(acl[0].perms, 31);
        assert_eq!(acl[1].perms, 1);
        let (acl, w) = parse_acl_arg("bad,world:anyone:rq");
        assert_eq!(
            w,
            [
                "bad does not have the form scheme:id:perm",
                "Unknown perm type: q"
            ]
        );
        assert_eq!(acl.len(), 1);
    }
}
