//! Who an authorized caller is, as the integration receives it: a leaf
//! type, so the tables (which cache an IAM key's principal), the compiler
//! and every authorizer stage can share it without importing each other.

/// What the integration learns of the caller, as the header values it is
/// sent in: made once when the caller is authorized (and cached with the
/// token, the authorizer's answer or the access key), so each request only
/// clones them.
#[derive(Debug, Default)]
pub struct Principal {
    /// JWT `sub`, a custom authorizer's `principalId` or an IAM principal's
    /// ARN; sent as `x-archway-principal`.
    pub subject: Option<http::HeaderValue>,
    /// A JWT's claims as compact JSON, sent as `x-archway-claims`.
    pub claims: Option<http::HeaderValue>,
    /// A custom authorizer's context as compact JSON, sent as
    /// `x-archway-authorizer-context`.
    pub context: Option<http::HeaderValue>,
}

impl Principal {
    pub fn new(subject: Option<&str>, claims: Option<&str>, context: Option<&str>) -> Self {
        Self {
            subject: subject.map(ascii_header_value),
            claims: claims.map(ascii_header_value),
            context: context.map(ascii_header_value),
        }
    }
}

/// A header value for an identity the backend must receive whole: bytes
/// outside printable ASCII are escaped (`\uXXXX` in JSON values, which
/// stay valid JSON; `%XX` elsewhere), rather than dropping the header.
pub fn ascii_header_value(value: &str) -> http::HeaderValue {
    if value.bytes().all(|b| (b' '..=b'~').contains(&b)) {
        return http::HeaderValue::from_str(value)
            .expect("printable ASCII is a valid header value");
    }
    let json = value.starts_with('{') || value.starts_with('[');
    let mut out = String::with_capacity(value.len() + 16);
    for c in value.chars() {
        match c {
            ' '..='~' => out.push(c),
            _ if json => {
                let mut units = [0u16; 2];
                for unit in c.encode_utf16(&mut units) {
                    out.push_str(&format!("\\u{unit:04x}"));
                }
            }
            _ => {
                let mut bytes = [0u8; 4];
                for b in c.encode_utf8(&mut bytes).bytes() {
                    out.push_str(&format!("%{b:02X}"));
                }
            }
        }
    }
    http::HeaderValue::from_str(&out).expect("printable ASCII is a valid header value")
}
