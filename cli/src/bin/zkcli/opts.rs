//! Command options parsed as zkCli.sh's option parser does: options may come
//! before, between or after the positional words, flags can be bundled
//! (`-se`), and an option that takes a value takes the next word.
//!
//! Invariant: a word starting with `-` is an option unless it is a number
//! (so `set /a -1` keeps `-1` as data); an unknown option is an error, never
//! silently treated as data.

use std::collections::HashMap;

/// One option a command accepts.
#[derive(Debug, Clone, Copy)]
pub struct Spec {
    pub name: char,
    pub takes_value: bool,
}

/// A flag without a value.
pub const fn flag(name: char) -> Spec {
    Spec {
        name,
        takes_value: false,
    }
}

/// An option with a value.
pub const fn value(name: char) -> Spec {
    Spec {
        name,
        takes_value: true,
    }
}

/// Why a command line's options could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OptError {
    /// An option the command does not know (zkCli prints commons-cli's message).
    Unrecognized(String),
    /// An option that needs a value came last.
    MissingValue(char),
}

/// The parsed options and the remaining words (the command name first).
#[derive(Debug, Default)]
pub struct Parsed {
    flags: HashMap<char, Option<String>>,
    pub args: Vec<String>,
}

impl Parsed {
    pub fn has(&self, name: char) -> bool {
        self.flags.contains_key(&name)
    }

    pub fn value(&self, name: char) -> Option<&str> {
        self.flags.get(&name).and_then(|v| v.as_deref())
    }

    /// Positional word `i` (0 is the command name).
    pub fn arg(&self, i: usize) -> Option<&str> {
        self.args.get(i).map(String::as_str)
    }
}

fn is_number(word: &str) -> bool {
    word.parse::<f64>().is_ok()
}

/// Parses `words` (the command name first) against `specs`.
pub fn parse(words: &[String], specs: &[Spec]) -> Result<Parsed, OptError> {
    let find = |c: char| specs.iter().find(|s| s.name == c);
    let mut parsed = Parsed::default();
    let mut i = 0;
    while i < words.len() {
        let w = &words[i];
        i += 1;
        if parsed.args.is_empty() || !w.starts_with('-') || w.len() < 2 || is_number(w) {
            parsed.args.push(w.clone());
            continue;
        }
        let body: Vec<char> = w[1..].chars().collect();
        let Some(spec) = find(body[0]) else {
            return Err(OptError::Unrecognized(w.clone()));
        };
        if spec.takes_value {
            let v = if body.len() > 1 {
                body[1..].iter().collect()
            } else if i < words.len() {
                i += 1;
                words[i - 1].clone()
            } else {
                return Err(OptError::MissingValue(spec.name));
            };
            parsed.flags.insert(spec.name, Some(v));
            continue;
        }
        for c in &body {
            match find(*c) {
                Some(s) if !s.takes_value => {
                    parsed.flags.insert(*c, None);
                }
                _ => return Err(OptError::Unrecognized(w.clone())),
            }
        }
    }
    Ok(parsed)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn w(s: &str) -> Vec<String> {
        s.split(' ').map(String::from).collect()
    }

    #[test]
    fn options_anywhere_and_bundled() {
        let p = parse(&w("deleteall /d -b 5"), &[value('b')]).unwrap();
        assert_eq!(p.args, ["deleteall", "/d"]);
        assert_eq!(p.value('b'), Some("5"));
        let p = parse(&w("create -se /a -1"), &[flag('s'), flag('e')]).unwrap();
        assert!(p.has('s') && p.has('e'));
        assert_eq!(p.args, ["create", "/a", "-1"]);
        assert_eq!(
            parse(&w("ls -x /"), &[flag('s')]).unwrap_err(),
            OptError::Unrecognized("-x".into())
        );
        assert_eq!(
            parse(&w("create -t"), &[value('t')]).unwrap_err(),
            OptError::MissingValue('t')
        );
    }
}
