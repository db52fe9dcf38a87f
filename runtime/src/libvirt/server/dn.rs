//! The subject DN of an X.509 certificate as GnuTLS's
//! `gnutls_x509_crt_get_dn` prints it, which is what libvirtd matches its
//! `tls_allowed_dn_list` against: the relative names in the certificate's
//! order, `,` between them and `+` inside a multi-valued one, attributes
//! by their LDAP names (`C`, `O`, `CN`, ...) or dotted OIDs, values with
//! RFC 4514's escapes, and values that are not strings as `#` and the
//! hex of their DER.
//!
//! A small DER reader: only the path to the subject is walked, every
//! length is checked against the bytes left, and nothing is allocated
//! for what is skipped.

use core::fmt;
use std::string::{String, ToString};
use std::vec::Vec;

/// Why a certificate's subject could not be read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DnError {
    /// Byte offset into the certificate.
    pub offset: usize,
    /// What was wrong there.
    pub what: &'static str,
}

impl fmt::Display for DnError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "certificate subject at byte {}: {}",
            self.offset, self.what
        )
    }
}

impl std::error::Error for DnError {}

const SEQUENCE: u8 = 0x30;
const SET: u8 = 0x31;
const OID: u8 = 0x06;
/// `[0] EXPLICIT Version`.
const VERSION: u8 = 0xa0;

/// One DER element: its tag, the whole element and its contents.
struct Element<'a> {
    tag: u8,
    whole: &'a [u8],
    contents: &'a [u8],
    /// Offset of `contents` in the certificate.
    offset: usize,
}

/// A cursor over DER elements.
struct Reader<'a> {
    bytes: &'a [u8],
    offset: usize,
}

impl<'a> Reader<'a> {
    fn new(bytes: &'a [u8], offset: usize) -> Self {
        Reader { bytes, offset }
    }

    fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }

    fn fail<T>(&self, what: &'static str) -> Result<T, DnError> {
        Err(DnError {
            offset: self.offset,
            what,
        })
    }

    fn next(&mut self) -> Result<Element<'a>, DnError> {
        let [tag, first, rest @ ..] = self.bytes else {
            return self.fail("truncated element header");
        };
        if tag & 0x1f == 0x1f {
            return self.fail("multi-byte tags are not used in certificates");
        }
        let (len, header) = if first & 0x80 == 0 {
            (usize::from(*first), 2)
        } else {
            let count = usize::from(first & 0x7f);
            if count == 0 {
                return self.fail("indefinite length (not DER)");
            }
            if count > 4 || rest.len() < count {
                return self.fail("length too long");
            }
            let len = rest[..count]
                .iter()
                .fold(0usize, |len, &b| (len << 8) | usize::from(b));
            (len, 2 + count)
        };
        let Some(end) = header
            .checked_add(len)
            .filter(|&end| end <= self.bytes.len())
        else {
            return self.fail("element longer than what holds it");
        };
        let element = Element {
            tag: *tag,
            whole: &self.bytes[..end],
            contents: &self.bytes[header..end],
            offset: self.offset + header,
        };
        self.bytes = &self.bytes[end..];
        self.offset += end;
        Ok(element)
    }

    fn expect(&mut self, tag: u8, what: &'static str) -> Result<Element<'a>, DnError> {
        let at = self.offset;
        let element = self.next()?;
        if element.tag != tag {
            return Err(DnError { offset: at, what });
        }
        Ok(element)
    }
}

fn inside<'a>(element: &Element<'a>) -> Reader<'a> {
    Reader::new(element.contents, element.offset)
}

/// The subject DN of a DER certificate, as GnuTLS prints it.
pub fn subject_dn(certificate: &[u8]) -> Result<String, DnError> {
    let mut outer = Reader::new(certificate, 0);
    let cert = outer.expect(SEQUENCE, "a certificate is a SEQUENCE")?;
    let mut cert = inside(&cert);
    let tbs = cert.expect(SEQUENCE, "tbsCertificate is a SEQUENCE")?;
    let mut tbs = inside(&tbs);
    // The version (absent for version 1), then the serial number, the
    // signature algorithm, the issuer and the validity.
    if tbs.next()?.tag == VERSION {
        tbs.next()?;
    }
    tbs.expect(SEQUENCE, "signature algorithm is a SEQUENCE")?;
    tbs.expect(SEQUENCE, "issuer is a SEQUENCE")?;
    tbs.expect(SEQUENCE, "validity is a SEQUENCE")?;
    let subject = tbs.expect(SEQUENCE, "subject is a SEQUENCE")?;
    let mut names = inside(&subject);
    let mut dn = String::new();
    while !names.is_empty() {
        let rdn = names.expect(SET, "a relative name is a SET")?;
        if !dn.is_empty() {
            dn.push(',');
        }
        let mut attributes = inside(&rdn);
        let mut first = true;
        while !attributes.is_empty() {
            let pair = attributes.expect(SEQUENCE, "an attribute is a SEQUENCE")?;
            let mut pair = inside(&pair);
            let oid = pair.expect(OID, "an attribute type is an OID")?;
            let value = pair.next()?;
            if !first {
                dn.push('+');
            }
            first = false;
            push_attribute_name(&mut dn, &oid)?;
            dn.push('=');
            push_value(&mut dn, &value);
        }
    }
    Ok(dn)
}

/// The OID's dotted form.
fn dotted(oid: &Element<'_>) -> Result<String, DnError> {
    let bad = || DnError {
        offset: oid.offset,
        what: "malformed OID",
    };
    let mut arcs: Vec<u64> = Vec::new();
    let mut arc: u64 = 0;
    for (i, &b) in oid.contents.iter().enumerate() {
        if arc == 0 && b == 0x80 {
            return Err(bad());
        }
        arc = arc
            .checked_mul(128)
            .map(|a| a | u64::from(b & 0x7f))
            .ok_or_else(bad)?;
        if b & 0x80 == 0 {
            if arcs.is_empty() {
                let first = arc.min(80) / 40;
                arcs.push(first);
                arcs.push(arc - first * 40);
            } else {
                arcs.push(arc);
            }
            arc = 0;
        } else if i + 1 == oid.contents.len() {
            return Err(bad());
        }
    }
    if arcs.is_empty() {
        return Err(bad());
    }
    let parts: Vec<String> = arcs.iter().map(u64::to_string).collect();
    Ok(parts.join("."))
}

/// GnuTLS's LDAP names of the attribute types certificates use.
const NAMES: &[(&str, &str)] = &[
    ("2.5.4.3", "CN"),
    ("2.5.4.4", "surName"),
    ("2.5.4.5", "serialNumber"),
    ("2.5.4.6", "C"),
    ("2.5.4.7", "L"),
    ("2.5.4.8", "ST"),
    ("2.5.4.9", "street"),
    ("2.5.4.10", "O"),
    ("2.5.4.11", "OU"),
    ("2.5.4.12", "title"),
    ("2.5.4.17", "postalCode"),
    ("2.5.4.42", "givenName"),
    ("2.5.4.43", "initials"),
    ("2.5.4.44", "generationQualifier"),
    ("2.5.4.46", "dnQualifier"),
    ("2.5.4.65", "pseudonym"),
    ("0.9.2342.19200300.100.1.1", "UID"),
    ("0.9.2342.19200300.100.1.25", "DC"),
    ("1.2.840.113549.1.9.1", "EMAIL"),
];

fn push_attribute_name(dn: &mut String, oid: &Element<'_>) -> Result<(), DnError> {
    let dotted = dotted(oid)?;
    match NAMES.iter().find(|(o, _)| *o == dotted) {
        Some((_, name)) => dn.push_str(name),
        None => dn.push_str(&dotted),
    }
    Ok(())
}

/// UTF8String, PrintableString, TeletexString (as Latin-1), IA5String,
/// UniversalString and BMPString as text; anything else as `#` and hex.
fn push_value(dn: &mut String, value: &Element<'_>) {
    let text: Option<String> = match value.tag {
        0x0c => core::str::from_utf8(value.contents).ok().map(String::from),
        0x13 | 0x16 => value
            .contents
            .is_ascii()
            .then(|| value.contents.iter().map(|&b| char::from(b)).collect()),
        0x14 => Some(value.contents.iter().map(|&b| char::from(b)).collect()),
        0x1e if value.contents.len() % 2 == 0 => {
            let units = value
                .contents
                .chunks_exact(2)
                .map(|u| u16::from_be_bytes([u[0], u[1]]));
            char::decode_utf16(units)
                .collect::<Result<String, _>>()
                .ok()
        }
        0x1c if value.contents.len() % 4 == 0 => value
            .contents
            .chunks_exact(4)
            .map(|u| char::from_u32(u32::from_be_bytes([u[0], u[1], u[2], u[3]])))
            .collect(),
        _ => None,
    };
    match text {
        Some(text) => push_escaped(dn, &text),
        None => {
            dn.push('#');
            for b in value.whole {
                dn.push(char::from(b"0123456789abcdef"[usize::from(b >> 4)]));
                dn.push(char::from(b"0123456789abcdef"[usize::from(b & 15)]));
            }
        }
    }
}

/// RFC 4514 §2.4: `,+"\<>;` escaped anywhere, `#` and a space at the
/// start, a space at the end.
fn push_escaped(dn: &mut String, text: &str) {
    let last = text.chars().count().saturating_sub(1);
    for (i, c) in text.chars().enumerate() {
        let special = matches!(c, ',' | '+' | '"' | '\\' | '<' | '>' | ';')
            || (i == 0 && matches!(c, '#' | ' '))
            || (i == last && c == ' ');
        if special {
            dn.push('\\');
        }
        dn.push(c);
    }
}

#[cfg(test)]
mod tests {
    use super::{DnError, subject_dn};

    /// DER of a tag and contents (short or long lengths).
    fn tlv(tag: u8, contents: &[u8]) -> std::vec::Vec<u8> {
        let mut out = std::vec![tag];
        let len = contents.len();
        if len < 128 {
            out.push(u8::try_from(len).unwrap());
        } else {
            out.push(0x82);
            out.extend_from_slice(&u16::try_from(len).unwrap().to_be_bytes());
        }
        out.extend_from_slice(contents);
        out
    }

    fn attribute(oid: &[u8], tag: u8, value: &[u8]) -> std::vec::Vec<u8> {
        let mut pair = tlv(0x06, oid);
        pair.extend(tlv(tag, value));
        tlv(0x30, &pair)
    }

    /// A certificate whose subject has these relative names (each a list
    /// of attributes); the fields before it as placeholders.
    fn certificate(rdns: &[std::vec::Vec<std::vec::Vec<u8>>]) -> std::vec::Vec<u8> {
        let mut subject = std::vec::Vec::new();
        for rdn in rdns {
            subject.extend(tlv(0x31, &rdn.concat()));
        }
        let mut tbs = tlv(0xa0, &tlv(0x02, &[2]));
        tbs.extend(tlv(0x02, &[0x01, 0x02]));
        tbs.extend(tlv(0x30, &tlv(0x06, &[0x2a, 0x86, 0x48])));
        tbs.extend(tlv(0x30, &[]));
        tbs.extend(tlv(0x30, &[]));
        tbs.extend(tlv(0x30, &subject));
        tbs.extend(tlv(0x30, &[0; 200]));
        let mut cert = tlv(0x30, &tbs);
        cert.extend(tlv(0x30, &[]));
        cert.extend(tlv(0x03, &[0]));
        tlv(0x30, &cert)
    }

    const C: &[u8] = &[0x55, 0x04, 0x06];
    const O: &[u8] = &[0x55, 0x04, 0x0a];
    const CN: &[u8] = &[0x55, 0x04, 0x03];
    const OU: &[u8] = &[0x55, 0x04, 0x0b];

    #[test]
    fn names_in_certificate_order_with_ldap_names() {
        let cert = certificate(&[
            std::vec![attribute(C, 0x13, b"GB")],
            std::vec![attribute(O, 0x0c, b"Red Hat")],
            std::vec![attribute(CN, 0x0c, b"client")],
        ]);
        assert_eq!(subject_dn(&cert).unwrap(), "C=GB,O=Red Hat,CN=client");
    }

    #[test]
    fn multi_valued_names_unknown_types_and_escapes() {
        let cert = certificate(&[
            std::vec![attribute(OU, 0x0c, b"a"), attribute(CN, 0x0c, b"b")],
            // 1.2.3.4 with an INTEGER value.
            std::vec![attribute(&[0x2a, 0x03, 0x04], 0x02, &[5])],
            std::vec![attribute(CN, 0x0c, b"#x, y+z ")],
            std::vec![attribute(CN, 0x1e, &[0, b'h', 0, b'i'])],
        ]);
        assert_eq!(
            subject_dn(&cert).unwrap(),
            "OU=a+CN=b,1.2.3.4=#020105,CN=\\#x\\, y\\+z\\ ,CN=hi"
        );
    }

    #[test]
    fn bad_certificates_are_errors_with_offsets() {
        assert_eq!(
            subject_dn(&[]),
            Err(DnError {
                offset: 0,
                what: "truncated element header"
            })
        );
        // A length past the end.
        assert!(subject_dn(&[0x30, 0x05, 0x30]).is_err());
        // An indefinite length.
        assert!(subject_dn(&[0x30, 0x80]).is_err());
        // Every truncation of a good certificate fails without panicking.
        let cert = certificate(&[std::vec![attribute(CN, 0x0c, b"client")]]);
        for len in 0..cert.len() {
            assert!(subject_dn(&cert[..len]).is_err(), "{len}");
        }
    }
}
