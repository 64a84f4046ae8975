//! A client certificate's subject as Java's `X500Principal.getName()`
//! prints it (RFC 2253 form): the id ZooKeeper's `X509AuthenticationProvider`
//! gives the connection, and so the id `x509` ACLs must name.
//!
//! Invariants:
//! - Pure and total: any bytes give `Some(name)` or `None`, never a panic
//!   (the certificate has been verified by then, but the parser does not
//!   rely on it).
//! - The output follows OpenJDK's `AVA.toRFC2253String` exactly: RDNs last
//!   to first, joined by `,`; the AVAs of one RDN in encoded order, joined by
//!   `+`; the keywords CN C L ST O OU STREET DC UID, every other attribute as
//!   its dotted OID with the value's whole DER encoding in lowercase hex
//!   (`1.2.840.113549.1.9.1=#16...`); string values decoded as UTF-8 (as
//!   Java does, whatever the string type), `,=+<>#;"\` escaped with `\`, NUL
//!   as `\00`, and leading/trailing spaces escaped.

/// The subject of a DER certificate in RFC 2253 form, or `None` if the
/// bytes do not hold one.
pub fn subject_rfc2253(cert_der: &[u8]) -> Option<String> {
    let (cert, _) = read_tlv(cert_der, SEQUENCE)?;
    let (tbs, _) = read_tlv(cert, SEQUENCE)?;
    let mut rest = tbs;
    // version [0] EXPLICIT, optional
    if rest.first() == Some(&0xa0) {
        rest = read_tlv(rest, 0xa0)?.1;
    }
    rest = read_tlv(rest, INTEGER)?.1; // serialNumber
    rest = read_tlv(rest, SEQUENCE)?.1; // signature
    rest = read_tlv(rest, SEQUENCE)?.1; // issuer
    rest = read_tlv(rest, SEQUENCE)?.1; // validity
    let (subject, _) = read_tlv(rest, SEQUENCE)?;
    name_rfc2253(subject)
}

const INTEGER: u8 = 0x02;
const OID: u8 = 0x06;
const SEQUENCE: u8 = 0x30;
const SET: u8 = 0x31;

/// The contents of a `Name` (SEQUENCE OF RDN) in RFC 2253 form.
fn name_rfc2253(mut rdns: &[u8]) -> Option<String> {
    let mut parts = Vec::new();
    while !rdns.is_empty() {
        let (mut set, rest) = read_tlv(rdns, SET)?;
        rdns = rest;
        let mut avas = Vec::new();
        while !set.is_empty() {
            let (ava, rest) = read_tlv(set, SEQUENCE)?;
            set = rest;
            let (oid, value) = read_tlv(ava, OID)?;
            let (tag, _, after) = read_any(value)?;
            if !after.is_empty() {
                return None;
            }
            avas.push(ava_rfc2253(oid, tag, value));
        }
        parts.push(avas.join("+"));
    }
    parts.reverse();
    Some(parts.join(","))
}

/// One `type=value` (`value_der` is the value's whole encoding).
fn ava_rfc2253(oid: &[u8], tag: u8, value_der: &[u8]) -> String {
    let keyword = keyword(oid);
    let mut out = match keyword {
        Some(k) => k.to_string(),
        None => oid_string(oid),
    };
    out.push('=');
    let is_string = matches!(tag, 0x13 | 0x14 | 0x16 | 0x1b | 0x0c | 0x1e);
    if keyword.is_none() || !is_string {
        out.push('#');
        for b in value_der {
            out.push_str(&format!("{b:02x}"));
        }
        return out;
    }
    let contents = read_any(value_der).map(|(_, c, _)| c).unwrap_or(&[]);
    out.push_str(&escape(&String::from_utf8_lossy(contents)));
    out
}

/// The escaping of `AVA.toRFC2253String`.
fn escape(value: &str) -> String {
    const ESCAPEES: &str = ",=+<>#;\"\\";
    let mut chars: Vec<char> = Vec::with_capacity(value.len());
    for c in value.chars() {
        if ESCAPEES.contains(c) {
            chars.push('\\');
            chars.push(c);
        } else if c == '\0' {
            chars.extend(['\\', '0', '0']);
        } else {
            chars.push(c);
        }
    }
    let blank = |c: &char| *c == ' ' || *c == '\r';
    let lead = chars.iter().take_while(|c| blank(c)).count();
    let trail = chars.len() - chars.iter().rev().take_while(|c| blank(c)).count();
    let mut out = String::with_capacity(chars.len() + 4);
    for (i, c) in chars.into_iter().enumerate() {
        if i < lead || i >= trail {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// The RFC 2253 keyword Java uses for an attribute type, if any.
fn keyword(oid: &[u8]) -> Option<&'static str> {
    Some(match oid {
        [0x55, 0x04, 0x03] => "CN",
        [0x55, 0x04, 0x06] => "C",
        [0x55, 0x04, 0x07] => "L",
        [0x55, 0x04, 0x08] => "ST",
        [0x55, 0x04, 0x09] => "STREET",
        [0x55, 0x04, 0x0a] => "O",
        [0x55, 0x04, 0x0b] => "OU",
        // 0.9.2342.19200300.100.1.25 and .1
        [0x09, 0x92, 0x26, 0x89, 0x93, 0xf2, 0x2c, 0x64, 0x01, 0x19] => "DC",
        [0x09, 0x92, 0x26, 0x89, 0x93, 0xf2, 0x2c, 0x64, 0x01, 0x01] => "UID",
        _ => return None,
    })
}

/// Dotted-decimal form of an OID's contents.
fn oid_string(oid: &[u8]) -> String {
    let mut arcs: Vec<u128> = Vec::new();
    let mut acc: u128 = 0;
    for &b in oid {
        acc = acc.saturating_mul(128).saturating_add(u128::from(b & 0x7f));
        if b & 0x80 == 0 {
            arcs.push(acc);
            acc = 0;
        }
    }
    let mut parts = Vec::with_capacity(arcs.len() + 1);
    if let Some(&first) = arcs.first() {
        let (a, b) = match first {
            0..=39 => (0, first),
            40..=79 => (1, first - 40),
            _ => (2, first - 80),
        };
        parts.push(a.to_string());
        parts.push(b.to_string());
    }
    parts.extend(arcs.iter().skip(1).map(u128::to_string));
    parts.join(".")
}

/// Reads one TLV that must have `tag`: (contents, rest).
fn read_tlv(input: &[u8], tag: u8) -> Option<(&[u8], &[u8])> {
    let (t, contents, rest) = read_any(input)?;
    (t == tag).then_some((contents, rest))
}

/// Reads one TLV with a low tag number and a definite length:
/// (tag, contents, rest).
fn read_any(input: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, rest) = input.split_first()?;
    if tag & 0x1f == 0x1f {
        return None; // high tag numbers appear nowhere in a Name
    }
    let (&first, mut rest) = rest.split_first()?;
    let len = if first < 0x80 {
        usize::from(first)
    } else {
        let n = usize::from(first & 0x7f);
        if n == 0 || n > 4 || rest.len() < n {
            return None;
        }
        let mut len = 0usize;
        for &b in &rest[..n] {
            len = (len << 8) | usize::from(b);
        }
        rest = &rest[n..];
        len
    };
    if rest.len() < len {
        return None;
    }
    let (contents, rest) = rest.split_at(len);
    Some((tag, contents, rest))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tlv(tag: u8, contents: &[u8]) -> Vec<u8> {
        assert!(contents.len() < 128);
        let mut v = vec![tag, contents.len() as u8];
        v.extend_from_slice(contents);
        v
    }

    fn rdn(avas: &[(&[u8], u8, &[u8])]) -> Vec<u8> {
        let mut set = Vec::new();
        for (oid, tag, value) in avas {
            let mut seq = tlv(OID, oid);
            seq.extend(tlv(*tag, value));
            set.extend(tlv(SEQUENCE, &seq));
        }
        tlv(SET, &set)
    }

    const CN: &[u8] = &[0x55, 0x04, 0x03];
    const O: &[u8] = &[0x55, 0x04, 0x0a];
    const C: &[u8] = &[0x55, 0x04, 0x06];
    const EMAIL: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x01];

    #[test]
    fn order_keywords_and_oids() {
        // Encoded C, O, CN, email: printed last to first.
        let mut name = rdn(&[(C, 0x13, b"US")]);
        name.extend(rdn(&[(O, 0x0c, b"Acme, Inc")]));
        name.extend(rdn(&[(CN, 0x0c, b"client")]));
        name.extend(rdn(&[(EMAIL, 0x16, b"o@x.org")]));
        assert_eq!(
            name_rfc2253(&name).unwrap(),
            // The email form was printed by the reference (zkCli `whoami`).
            "1.2.840.113549.1.9.1=#16076f40782e6f7267,CN=client,O=Acme\\, Inc,C=US"
        );
    }

    #[test]
    fn escapes_as_java() {
        assert_eq!(
            escape("a=b+c#d;e<f>\"g\\"),
            "a\\=b\\+c\\#d\\;e\\<f\\>\\\"g\\\\"
        );
        assert_eq!(escape("  x y "), "\\ \\ x y\\ ");
        assert_eq!(escape("n\0l"), "n\\00l");
        assert_eq!(escape("Zoë"), "Zoë");
    }

    #[test]
    fn multi_valued_rdn_and_non_string_values() {
        let name = rdn(&[(CN, 0x0c, b"a"), (O, 0x02, &[5])]);
        assert_eq!(name_rfc2253(&name).unwrap(), "CN=a+O=#020105");
    }

    /// Certificates made with `openssl req -subj ...`; the expected names
    /// were printed by Java 17's `X509Certificate.getSubjectX500Principal().getName()`.
    #[test]
    fn matches_java_on_real_certificates() {
        let escapes = include_bytes!("../../tests/fixtures/x509/subject-escapes.der");
        assert_eq!(
            subject_rfc2253(escapes).unwrap(),
            "CN=a\\=b\\#c,ST=a\\;b,L=Zoë\\<x\\>,STREET=Main st,UID=u1,DC=org"
        );
        let multi = include_bytes!("../../tests/fixtures/x509/subject-multivalued.der");
        assert_eq!(
            subject_rfc2253(multi).unwrap(),
            "2.5.4.5=#13023432,1.2.840.113549.1.9.1=#16056140622e63,CN=x+OU=y,O=\\ lead\\, tail \\\\"
        );
    }

    #[test]
    fn garbage_never_panics() {
        assert_eq!(subject_rfc2253(&[]), None);
        assert_eq!(subject_rfc2253(&[0x30, 0x84, 0xff, 0xff, 0xff, 0xff]), None);
        let mut seed = 7u32;
        for len in 0..200 {
            let bytes: Vec<u8> = (0..len)
                .map(|_| {
                    seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12345);
                    (seed >> 16) as u8
                })
                .collect();
            let _ = subject_rfc2253(&bytes);
            let _ = name_rfc2253(&bytes);
        }
        assert_eq!(oid_string(&[0x2a, 0x86, 0x48]), "1.2.840");
    }
}
