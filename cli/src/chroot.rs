//! [`Chroot`]: the path prefix a connect string may carry.
//!
//! Invariants:
//! - A chroot is either absent or an absolute path without a trailing slash
//!   (`/app`, `/a/b`); `/` alone means "no chroot".
//! - `strip(prefix(p)) == p` for every absolute client path `p`.
//! - Server paths outside the chroot are returned unchanged by `strip`
//!   (Apache's client does the same, with a warning).

/// The chroot prefix of a client, applied to every path sent and stripped from
/// every path received.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Chroot(Option<String>);

impl Chroot {
    /// No chroot: paths pass through unchanged.
    pub fn none() -> Chroot {
        Chroot(None)
    }

    /// A chroot from an already-validated absolute path; `/` or empty means none.
    pub(crate) fn from_validated(path: &str) -> Chroot {
        if path.is_empty() || path == "/" {
            Chroot(None)
        } else {
            Chroot(Some(path.to_string()))
        }
    }

    /// The chroot path, if any.
    pub fn as_str(&self) -> Option<&str> {
        self.0.as_deref()
    }

    /// The server-side path for a client path.
    pub fn prefix(&self, path: &str) -> String {
        match &self.0 {
            None => path.to_string(),
            Some(root) if path == "/" => root.clone(),
            Some(root) => format!("{root}{path}"),
        }
    }

    /// The client-side path for a server path.
    pub fn strip(&self, path: &str) -> String {
        let Some(root) = &self.0 else {
            return path.to_string();
        };
        match path.strip_prefix(root.as_str()) {
            Some("") => "/".to_string(),
            Some(rest) if rest.starts_with('/') => rest.to_string(),
            _ => path.to_string(),
        }
    }

    /// Applies [`prefix`](Self::prefix) to every path in a list.
    pub fn prefix_all(&self, paths: Vec<String>) -> Vec<String> {
        if self.0.is_none() {
            return paths;
        }
        paths.iter().map(|p| self.prefix(p)).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let c = Chroot::from_validated("/app");
        assert_eq!(c.prefix("/"), "/app");
        assert_eq!(c.prefix("/x/y"), "/app/x/y");
        assert_eq!(c.strip("/app"), "/");
        assert_eq!(c.strip("/app/x/y"), "/x/y");
        assert_eq!(c.strip("/apple"), "/apple");
        assert_eq!(c.strip("/other"), "/other");
        let none = Chroot::from_validated("/");
        assert_eq!(none.prefix("/a"), "/a");
        assert_eq!(none.strip("/a"), "/a");
    }
}
