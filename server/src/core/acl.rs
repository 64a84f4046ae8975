//! ACLs: the shared ACL cache (nodes refer to ACL lists by index, as in
//! ZooKeeper's `ReferenceCountedACLCache`, which is also how snapshots store
//! them), the permission check, `auth`-scheme expansion, and the built-in
//! authentication providers (`digest`, `ip`; `world` and `super` are built in;
//! `x509` ids come from the connection layer, which verified the client's
//! certificate, through [`x509_ids`]).
//!
//! Invariants: index −1 always means `OPEN_ACL_UNSAFE`; an index in use by a
//! node is present in the cache; indices are never reused while referenced.

use base64::Engine;
use jute::data::{Acl, Id};
use sha1::{Digest, Sha1};
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Arc;

/// The ACL index ZooKeeper reserves for `OPEN_ACL_UNSAFE`.
pub const OPEN_UNSAFE_ACL_ID: i64 = -1;

/// Reference-counted ACL lists shared between nodes.
#[derive(Debug, Clone)]
pub struct AclCache {
    // Lists are shared (`Arc`): handing one to a read, a prep record or a
    // watch trigger costs a reference count, not a deep copy.
    // foldhash (seeded per process, as the node index): SipHash over every
    // create's ACL list was a measurable share of a create.
    by_index: HashMap<i64, (Arc<[Acl]>, u64), foldhash::fast::RandomState>,
    by_acl: HashMap<Arc<[Acl]>, i64, foldhash::fast::RandomState>,
    last_index: i64,
    open_unsafe: Arc<[Acl]>,
}

impl Default for AclCache {
    fn default() -> Self {
        AclCache {
            by_index: HashMap::default(),
            by_acl: HashMap::default(),
            last_index: 0,
            open_unsafe: Acl::open_unsafe().into(),
        }
    }
}

impl AclCache {
    /// Returns the index for `acls`, adding a reference.
    pub fn acquire(&mut self, acls: &[Acl]) -> i64 {
        if let Some(&i) = self.by_acl.get(acls) {
            if let Some(e) = self.by_index.get_mut(&i) {
                e.1 += 1;
            }
            return i;
        }
        self.last_index += 1;
        let i = self.last_index;
        let shared: Arc<[Acl]> = acls.into();
        self.by_index.insert(i, (shared.clone(), 1));
        self.by_acl.insert(shared, i);
        i
    }

    /// Drops one reference to `index`; the entry goes when none remain.
    pub fn release(&mut self, index: i64) {
        if index == OPEN_UNSAFE_ACL_ID {
            return;
        }
        if let Some(e) = self.by_index.get_mut(&index) {
            e.1 -= 1;
            if e.1 == 0 {
                if let Some((acls, _)) = self.by_index.remove(&index) {
                    self.by_acl.remove(&acls);
                }
            }
        }
    }

    /// The ACL list of an index.
    pub fn get(&self, index: i64) -> Arc<[Acl]> {
        if index == OPEN_UNSAFE_ACL_ID {
            return self.open_unsafe.clone();
        }
        self.by_index
            .get(&index)
            .map(|e| e.0.clone())
            .unwrap_or_else(|| Arc::from([]))
    }

    /// Number of distinct ACL lists.
    pub fn len(&self) -> usize {
        self.by_index.len()
    }

    /// Whether the cache holds nothing.
    pub fn is_empty(&self) -> bool {
        self.by_index.is_empty()
    }

    /// Every entry as (index, ACL list, reference count), by index: what a
    /// snapshot stores (without the counts, which loading recomputes).
    pub fn entries(&self) -> Vec<(i64, &[Acl], u64)> {
        let mut v: Vec<(i64, &[Acl], u64)> = self
            .by_index
            .iter()
            .map(|(&i, (acls, refs))| (i, &acls[..], *refs))
            .collect();
        v.sort_by_key(|e| e.0);
        v
    }

    /// The index the next new ACL list would get, minus one.
    pub fn last_index(&self) -> i64 {
        self.last_index
    }

    /// A cache holding a snapshot's ACL map, in file order, with no
    /// references yet (`ReferenceCountedACLCache.deserialize`): the next new
    /// index follows the largest one read. Indexes must be positive and
    /// distinct. When two indexes hold the same list, the later one is the
    /// one new nodes share, as in ZooKeeper.
    pub fn from_snapshot(entries: Vec<(i64, Vec<Acl>)>) -> Result<AclCache, String> {
        let mut cache = AclCache::default();
        for (index, acls) in entries {
            if index < 1 {
                return Err(format!("ACL index {index} is not positive"));
            }
            if cache.by_index.contains_key(&index) {
                return Err(format!("ACL index {index} appears twice"));
            }
            cache.last_index = cache.last_index.max(index);
            let acls: Arc<[Acl]> = acls.into();
            cache.by_acl.insert(acls.clone(), index);
            cache.by_index.insert(index, (acls, 0));
        }
        Ok(cache)
    }

    /// Adds a reference to an index already in the cache (loading a node
    /// that uses it); −1 needs none. False if the index is unknown.
    pub fn add_usage(&mut self, index: i64) -> bool {
        if index == OPEN_UNSAFE_ACL_ID {
            return true;
        }
        match self.by_index.get_mut(&index) {
            Some(e) => {
                e.1 += 1;
                true
            }
            None => false,
        }
    }

    /// Drops the entries no node refers to (`purgeUnused`, run after a
    /// snapshot is loaded).
    pub fn purge_unused(&mut self) {
        let unused: Vec<i64> = self
            .by_index
            .iter()
            .filter(|(_, e)| e.1 == 0)
            .map(|(&i, _)| i)
            .collect();
        for i in unused {
            if let Some((acls, _)) = self.by_index.remove(&i) {
                self.by_acl.remove(&acls);
            }
        }
    }
}

/// Settings the permission check depends on.
#[derive(Debug, Clone, Default)]
pub struct AclPolicy {
    pub skip_acl: bool,
    pub super_digest: Option<String>,
}

/// ZooKeeper's `checkACL`: true when `auth` holds `perm` on a node with `acl`.
pub fn check(policy: &AclPolicy, acl: &[Acl], perm: i32, auth: &[Id]) -> bool {
    if policy.skip_acl || acl.is_empty() {
        return true;
    }
    if auth.iter().any(|id| id.scheme == "super") {
        return true;
    }
    for a in acl {
        if a.perms & perm == 0 {
            continue;
        }
        if a.id.scheme == "world" && a.id.id == "anyone" {
            return true;
        }
        if !is_known_scheme(&a.id.scheme) {
            continue;
        }
        for id in auth {
            if id.scheme == a.id.scheme && matches(&a.id.scheme, &id.id, &a.id.id) {
                return true;
            }
        }
    }
    false
}

fn is_known_scheme(scheme: &str) -> bool {
    matches!(scheme, "digest" | "ip" | "x509")
}

fn matches(scheme: &str, id: &str, acl_expr: &str) -> bool {
    match scheme {
        "ip" => ip_matches(id, acl_expr),
        _ => id == acl_expr,
    }
}

/// Java's `String.split(sep)`: trailing empty strings removed.
fn java_split(s: &str, sep: char) -> Vec<&str> {
    let mut parts: Vec<&str> = s.split(sep).collect();
    while parts.len() > 1 && parts.last() == Some(&"") {
        parts.pop();
    }
    if parts.len() == 1 && parts[0].is_empty() {
        return parts;
    }
    parts
}

/// Whether a provider accepts `id` as a well-formed id of its scheme.
fn is_valid_id(scheme: &str, id: &str) -> bool {
    match scheme {
        "digest" => java_split(id, ':').len() == 2,
        "ip" => {
            let mut it = id.splitn(2, '/');
            let addr = it.next().unwrap_or("");
            let Some(bytes) = addr_bytes(addr) else {
                return false;
            };
            match it.next() {
                None => true,
                Some(bits) => match bits.parse::<i32>() {
                    Ok(b) => b >= 0 && (b as usize) <= bytes.len() * 8,
                    Err(_) => false,
                },
            }
        }
        "x509" => true,
        _ => false,
    }
}

fn addr_bytes(addr: &str) -> Option<Vec<u8>> {
    // ZooKeeper parses dotted quads itself (no DNS) and IPv6 literals.
    match addr.parse::<IpAddr>() {
        Ok(IpAddr::V4(v4)) => Some(v4.octets().to_vec()),
        Ok(IpAddr::V6(v6)) => Some(v6.octets().to_vec()),
        Err(_) => None,
    }
}

fn ip_matches(id: &str, acl_expr: &str) -> bool {
    let mut it = acl_expr.splitn(2, '/');
    let Some(acl_addr) = addr_bytes(it.next().unwrap_or("")) else {
        return false;
    };
    let bits = match it.next() {
        Some(b) => match b.parse::<usize>() {
            Ok(b) => b,
            Err(_) => return false,
        },
        None => acl_addr.len() * 8,
    };
    let Some(addr) = addr_bytes(id) else {
        return false;
    };
    if addr.len() != acl_addr.len() || bits > addr.len() * 8 {
        return false;
    }
    for i in 0..addr.len() {
        let mask: u8 = if bits >= (i + 1) * 8 {
            0xff
        } else if bits > i * 8 {
            0xffu8 << (8 - (bits - i * 8))
        } else {
            0
        };
        if addr[i] & mask != acl_addr[i] & mask {
            return false;
        }
    }
    true
}

/// ZooKeeper's `fixupACL`: de-duplicates, validates, and expands the `auth`
/// scheme to the requester's authenticated ids. `None` means InvalidACL.
pub fn fixup(acls: &[Acl], auth: &[Id]) -> Option<Vec<Acl>> {
    let mut uniq: Vec<&Acl> = Vec::with_capacity(acls.len());
    for a in acls {
        if !uniq.contains(&a) {
            uniq.push(a);
        }
    }
    if uniq.is_empty() {
        return None;
    }
    let mut out = Vec::with_capacity(uniq.len());
    for a in uniq {
        if a.id.scheme == "world" && a.id.id == "anyone" {
            out.push(a.clone());
        } else if a.id.scheme == "auth" {
            let mut any = false;
            for id in auth {
                // Only providers that authenticate (digest, x509) expand `auth`.
                if id.scheme == "digest" || id.scheme == "x509" {
                    any = true;
                    out.push(Acl {
                        perms: a.perms,
                        id: id.clone(),
                    });
                }
            }
            if !any {
                return None;
            }
        } else if is_valid_id(&a.id.scheme, &a.id.id) {
            out.push(a.clone());
        } else {
            return None;
        }
    }
    Some(out)
}

/// `DigestAuthenticationProvider.generateDigest("user:password")`.
pub fn generate_digest(id_password: &str) -> String {
    let user = id_password.split(':').next().unwrap_or("");
    let digest = Sha1::digest(id_password.as_bytes());
    format!(
        "{user}:{}",
        base64::engine::general_purpose::STANDARD.encode(digest)
    )
}

/// The outcome of an `auth` packet: ids to add to the connection, or failure.
pub fn authenticate(
    policy: &AclPolicy,
    scheme: &str,
    auth: &[u8],
    peer: IpAddr,
) -> Option<Vec<Id>> {
    match scheme {
        "digest" => {
            let id = String::from_utf8_lossy(auth).into_owned();
            let digest = generate_digest(&id);
            let mut ids = Vec::new();
            if policy.super_digest.as_deref() == Some(digest.as_str()) {
                ids.push(Id {
                    scheme: "super".into(),
                    id: String::new(),
                });
            }
            ids.push(Id {
                scheme: "digest".into(),
                id: digest,
            });
            Some(ids)
        }
        "ip" => Some(vec![Id {
            scheme: "ip".into(),
            id: peer.to_string(),
        }]),
        _ => None,
    }
}

/// The ids a verified client certificate with subject `dn` (RFC 2253, as
/// Java prints it) gives a connection, in `X509AuthenticationProvider`'s
/// order: `super:<dn>` first when `dn` is the configured super user
/// (`X509AuthenticationProvider.superUser`), then `x509:<dn>`.
pub fn x509_ids(dn: &str, super_user: Option<&str>) -> Vec<Id> {
    let mut ids = Vec::with_capacity(2);
    if super_user == Some(dn) {
        ids.push(Id {
            scheme: "super".into(),
            id: dn.to_string(),
        });
    }
    ids.push(Id {
        scheme: "x509".into(),
        id: dn.to_string(),
    });
    ids
}

/// The user name whoAmI reports for an id (`ClientInfo.user`).
pub fn user_name(id: &Id) -> String {
    match id.scheme.as_str() {
        "digest" => id.id.split(':').next().unwrap_or("").to_string(),
        // No provider is registered for `super`, so ZooKeeper reports no
        // user (seen with an x509 super user, whose id holds its DN).
        "super" => String::new(),
        _ => id.id.clone(),
    }
}

/// getACL without ADMIN: digest ids are masked as `user:x`.
pub fn mask_digests(acls: Vec<Acl>) -> Vec<Acl> {
    acls.into_iter()
        .map(|mut a| {
            if a.id.scheme == "digest" {
                let user = a.id.id.split(':').next().unwrap_or("").to_string();
                a.id.id = format!("{user}:x");
            }
            a
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use jute::data::perms;

    fn ip(s: &str) -> Id {
        Id {
            scheme: "ip".into(),
            id: s.into(),
        }
    }

    #[test]
    fn digest_is_sha1_base64() {
        // The well-known digest of super:test (from ZooKeeper's documentation).
        assert_eq!(
            generate_digest("super:test"),
            "super:D/InIHSb7yEEbrWz8b9l71RjZJU="
        );
    }

    #[test]
    fn ip_ranges() {
        assert!(ip_matches("127.0.0.1", "127.0.0.1"));
        assert!(ip_matches("127.0.0.9", "127.0.0.0/24"));
        assert!(!ip_matches("127.0.1.9", "127.0.0.0/24"));
        assert!(ip_matches("10.1.2.3", "0.0.0.0/0"));
    }

    #[test]
    fn fixup_rules() {
        let auth = vec![ip("127.0.0.1")];
        assert!(fixup(&[], &auth).is_none());
        assert!(fixup(&[Acl::new(31, "auth", "")], &auth).is_none());
        assert!(fixup(&[Acl::new(31, "world", "nobody")], &auth).is_none());
        assert!(fixup(&[Acl::new(31, "digest", "user")], &auth).is_none());
        assert!(fixup(&[Acl::new(31, "digest", "user:pw")], &auth).is_some());
        let d = Id {
            scheme: "digest".into(),
            id: "u:h".into(),
        };
        let got = fixup(&[Acl::new(31, "auth", "")], &[ip("127.0.0.1"), d.clone()]).unwrap();
        assert_eq!(got, vec![Acl { perms: 31, id: d }]);
        let dup = [
            Acl::new(1, "world", "anyone"),
            Acl::new(1, "world", "anyone"),
        ];
        assert_eq!(fixup(&dup, &auth).unwrap().len(), 1);
    }

    #[test]
    fn x509_ids_and_acls() {
        let dn = "CN=client,O=Acme\\, Inc";
        let ids = x509_ids(dn, None);
        assert_eq!(
            ids,
            vec![Id {
                scheme: "x509".into(),
                id: dn.into()
            }]
        );
        let p = AclPolicy::default();
        let acl = vec![Acl::new(perms::ALL, "x509", dn)];
        assert!(check(&p, &acl, perms::READ, &ids));
        assert!(!check(&p, &acl, perms::READ, &x509_ids("CN=other", None)));
        // `auth` expands to the certificate's id.
        let fixed = fixup(&[Acl::new(perms::ALL, "auth", "")], &ids).unwrap();
        assert_eq!(fixed, acl);
        let sup = x509_ids(dn, Some(dn));
        assert_eq!(sup[0].scheme, "super");
        assert_eq!(sup[1].scheme, "x509");
        assert!(check(
            &p,
            &[Acl::new(perms::ALL, "digest", "u:x")],
            perms::ADMIN,
            &sup
        ));
        assert_eq!(x509_ids(dn, Some("CN=admin")).len(), 1);
        assert_eq!(user_name(&sup[0]), "");
        assert_eq!(user_name(&sup[1]), dn);
    }

    #[test]
    fn check_rules() {
        let p = AclPolicy::default();
        let acl = vec![Acl::new(perms::READ, "ip", "127.0.0.1")];
        assert!(check(&p, &acl, perms::READ, &[ip("127.0.0.1")]));
        assert!(!check(&p, &acl, perms::WRITE, &[ip("127.0.0.1")]));
        assert!(!check(&p, &acl, perms::READ, &[ip("127.0.0.2")]));
        let sup = Id {
            scheme: "super".into(),
            id: String::new(),
        };
        assert!(check(&p, &acl, perms::WRITE, &[sup]));
    }
}
