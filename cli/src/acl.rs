//! Digest-scheme helpers (`DigestAuthenticationProvider`): the id for
//! `user:password` is `user:base64(SHA1("user:password"))`.

use base64::Engine;
use jute::data::Acl;
use sha1::{Digest, Sha1};

/// The digest-scheme id for a user and password.
pub fn digest_id(user: &str, password: &str) -> String {
    let hash = Sha1::digest(format!("{user}:{password}").as_bytes());
    format!(
        "{user}:{}",
        base64::engine::general_purpose::STANDARD.encode(hash)
    )
}

/// An ACL entry granting `perms` to the digest user `user:password`.
pub fn digest_acl(perms: i32, user: &str, password: &str) -> Acl {
    Acl::new(perms, "digest", &digest_id(user, password))
}

#[cfg(test)]
mod tests {
    #[test]
    fn known_digest() {
        // zkCli: `addauth digest super:test` matches this published digest.
        assert_eq!(
            super::digest_id("super", "test"),
            "super:D/InIHSb7yEEbrWz8b9l71RjZJU="
        );
    }
}
