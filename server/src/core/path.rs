//! Znode path rules (`PathUtils.validatePath`) and parent/child splitting.

/// Why a path is invalid; the text follows ZooKeeper's messages.
pub fn validate_path(path: &str) -> Result<(), &'static str> {
    if path.is_empty() {
        return Err("Path length must be > 0");
    }
    if !path.starts_with('/') {
        return Err("Path must start with / character");
    }
    if path.len() == 1 {
        return Ok(());
    }
    if path.ends_with('/') {
        return Err("Path must not end with / character");
    }
    if path.is_ascii() {
        // Every request's path passes here: no allocation for the usual case.
        check_chars(path.as_bytes())
    } else {
        check_chars(&path.chars().collect::<Vec<char>>())
    }
}

/// ZooKeeper's per-character rules over a path that starts with `/`.
fn check_chars<C: Copy + Into<char>>(chars: &[C]) -> Result<(), &'static str> {
    let at = |i: usize| -> char { chars[i].into() };
    let mut last = '/';
    for i in 1..chars.len() {
        let c = at(i);
        if c == '\0' {
            return Err("null character not allowed");
        } else if c == '/' && last == '/' {
            return Err("empty node name specified");
        } else if c == '.' && last == '.' {
            if at(i - 2) == '/' && (i + 1 == chars.len() || at(i + 1) == '/') {
                return Err("relative paths not allowed");
            }
        } else if c == '.' {
            if at(i - 1) == '/' && (i + 1 == chars.len() || at(i + 1) == '/') {
                return Err("relative paths not allowed");
            }
        } else if is_invalid_char(c) {
            return Err("invalid character");
        }
        last = c;
    }
    Ok(())
}

fn is_invalid_char(c: char) -> bool {
    let c = c as u32;
    (c > 0 && c <= 0x1f)
        || (0x7f..=0x9f).contains(&c)
        || (0xd800..=0xf8ff).contains(&c)
        // Characters beyond the BMP arrive in Java as surrogate pairs, which
        // fall in the forbidden surrogate range above.
        || c > 0xffff
        || (0xfff0..=0xffff).contains(&c)
}

/// Splits `/a/b` into (`/a`, `b`) and `/a` into (``, `a`): the parent key is
/// the empty string for children of the root, as ZooKeeper's map keys it.
pub fn split(path: &str) -> Option<(&str, &str)> {
    let i = path.rfind('/')?;
    Some((&path[..i], &path[i + 1..]))
}

/// The parent path as clients name it (`/` for children of the root).
pub fn parent_for_watch(parent_key: &str) -> &str {
    if parent_key.is_empty() {
        "/"
    } else {
        parent_key
    }
}

/// Whether `prefix` names `path` or one of its ancestors, component-wise.
pub fn is_path_prefix(prefix: &str, path: &str) -> bool {
    if prefix == "/" {
        return true;
    }
    path == prefix || (path.starts_with(prefix) && path.as_bytes().get(prefix.len()) == Some(&b'/'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validation_matches_zookeeper_rules() {
        // ASCII paths take the byte loop, the others the char loop: the
        // same rules either way.
        for ok in [
            "/",
            "/a",
            "/a/b",
            "/a.b",
            "/.a",
            "/a/..b",
            "/zookeeper",
            "/é",
            "/é/..ü",
            "/ü.",
        ] {
            assert_eq!(validate_path(ok), Ok(()), "{ok}");
        }
        for bad in [
            "",
            "a",
            "/a/",
            "//",
            "/a//b",
            "/.",
            "/..",
            "/a/.",
            "/a/../b",
            "/a\u{1}",
            "/é//b",
            "/é/../b",
            "/é/.",
            "/é\u{85}",
            "/é\u{fff0}",
            "/é\u{1F600}",
            "/é\0",
        ] {
            assert!(validate_path(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn split_and_prefix() {
        assert_eq!(split("/a"), Some(("", "a")));
        assert_eq!(split("/a/b"), Some(("/a", "b")));
        assert!(is_path_prefix("/a", "/a/b"));
        assert!(!is_path_prefix("/a", "/ab"));
        assert!(is_path_prefix("/a", "/a"));
    }
}
