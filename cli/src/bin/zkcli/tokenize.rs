//! Splitting a command line into words the way zkCli.sh does.
//!
//! Invariant: a word is a run of non-blank characters, or the text between a
//! pair of double (or single) quotes when the word starts with one; there is
//! no escaping, and a quote inside a word is an ordinary character
//! (`/x/"a b"` is two words, `/x/"a` and `b"`), exactly as zkCli.sh splits.

/// The words of `line`.
pub fn words(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = line;
    loop {
        rest = rest.trim_start();
        let Some(first) = rest.chars().next() else {
            return out;
        };
        if first == '"' || first == '\'' {
            if let Some(end) = rest[1..].find(first) {
                out.push(rest[1..1 + end].to_string());
                rest = &rest[2 + end..];
                continue;
            }
        }
        let end = rest.find(char::is_whitespace).unwrap_or(rest.len());
        out.push(rest[..end].to_string());
        rest = &rest[end..];
    }
}

#[cfg(test)]
mod tests {
    use super::words;

    #[test]
    fn splits_like_zkcli() {
        assert_eq!(
            words("  create /a  \"hello world\" "),
            ["create", "/a", "hello world"]
        );
        assert_eq!(words("create /x/\"a b\""), ["create", "/x/\"a", "b\""]);
        assert_eq!(
            words("set /q 'single quoted'"),
            ["set", "/q", "single quoted"]
        );
        assert_eq!(words("set /r \"a\\\"b\""), ["set", "/r", "a\\", "b\""]);
        assert_eq!(words("get \"open"), ["get", "\"open"]);
        assert!(words("   ").is_empty());
    }
}
