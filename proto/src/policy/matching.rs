//! IAM wildcard matching (`*` and `?`) and execute-api method ARNs.
//!
//! The data plane matches every statement's Action and Resource patterns on
//! every request, so the matcher neither allocates nor uses regexes, and
//! runs in O(pattern × text) at worst: it keeps only the most recent `*` as
//! its backtrack point. That is enough because a later `*` can absorb
//! anything an earlier one could have, so retrying earlier stars never finds
//! a match the latest one misses — which is what keeps patterns such as
//! `*a*a*a*…b` from going exponential. Literal runs are compared a slice at
//! a time, and a retried star skips straight to the next place its
//! following literal can start.
//!
//! The text may be given as several `&str` parts that are matched as if
//! concatenated; that lets the data plane match a method ARN made of region,
//! account, API id, stage, verb and path without building the `String`.

use std::fmt;

/// Whether `pattern` matches all of `text`: `*` matches any run of
/// characters (including none, and including `/` and `:`), `?` exactly one
/// character; everything else matches itself. `ignore_ascii_case` makes
/// ASCII letters match either case (IAM does this for actions, not for
/// resources or principals).
pub fn wildcard_match(pattern: &str, text: &str, ignore_ascii_case: bool) -> bool {
    wildcard_match_parts(pattern, &[text], ignore_ascii_case)
}

/// [`wildcard_match`] against the concatenation of `parts`, without building
/// it.
pub fn wildcard_match_parts(pattern: &str, parts: &[&str], ignore_ascii_case: bool) -> bool {
    let pat = pattern.as_bytes();
    let mut pi = 0;
    let mut tc = Cur::start(parts);
    // (pattern index just after the latest `*`, text position it was tried at)
    let mut star: Option<(usize, Cur<'_, '_>)> = None;
    loop {
        match pat.get(pi) {
            None if tc.at_end() => return true,
            None => {}
            Some(b'*') => {
                pi += 1;
                star = Some((pi, tc));
                continue;
            }
            Some(b'?') if tc.at_end() => return false,
            Some(b'?') => {
                pi += 1;
                tc = tc.step_char();
                continue;
            }
            Some(_) => {
                // A run of literal bytes, compared a slice at a time.
                let run_end = pat[pi..]
                    .iter()
                    .position(|&b| b == b'*' || b == b'?')
                    .map_or(pat.len(), |n| pi + n);
                match tc.eat(&pat[pi..run_end], ignore_ascii_case) {
                    Eaten::Yes(next) => {
                        pi = run_end;
                        tc = next;
                        continue;
                    }
                    Eaten::Mismatch => {}
                    // The text ran out inside the fixed-length stretch
                    // after the latest star; retrying that star later
                    // would leave even less text, so nothing can match.
                    Eaten::TextEnded => return false,
                }
            }
        }
        // Mismatch (or pattern exhausted with text left): let the latest
        // star swallow one more character and retry from just after it.
        let Some((after_star, tried)) = star else {
            return false;
        };
        if tried.at_end() {
            return false;
        }
        let mut next = tried.step_char();
        // When a literal follows the star, no retry can succeed before the
        // next occurrence of its first byte, so skip straight there. That
        // byte starts a character (it follows `*` in valid UTF-8), so the
        // position found is a character boundary.
        if let Some(&lit) = pat.get(after_star).filter(|&&b| b != b'?' && b != b'*') {
            next =
                next.find(|tb| lit == tb || (ignore_ascii_case && lit.eq_ignore_ascii_case(&tb)));
        }
        star = Some((after_star, next));
        pi = after_star;
        tc = next;
    }
}

enum Eaten<'p, 's> {
    Yes(Cur<'p, 's>),
    Mismatch,
    TextEnded,
}

/// A position in a text made of parts: `rest` is what is left of
/// `parts[part]`. Kept "settled": `rest` is empty only when the whole text
/// is exhausted, so reading a byte never has to skip empty parts.
#[derive(Clone, Copy)]
struct Cur<'p, 's> {
    parts: &'p [&'s str],
    part: usize,
    rest: &'s [u8],
}

impl<'p, 's> Cur<'p, 's> {
    fn start(parts: &'p [&'s str]) -> Self {
        Cur {
            parts,
            part: 0,
            rest: parts.first().map_or(&[], |p| p.as_bytes()),
        }
        .settle()
    }

    fn settle(mut self) -> Self {
        while self.rest.is_empty() {
            self.part += 1;
            match self.parts.get(self.part) {
                Some(p) => self.rest = p.as_bytes(),
                None => break,
            }
        }
        self
    }

    fn byte(&self) -> Option<u8> {
        self.rest.first().copied()
    }

    fn at_end(&self) -> bool {
        self.rest.is_empty()
    }

    /// Consumes `literal` if the text continues with it.
    fn eat(self, literal: &[u8], ignore_ascii_case: bool) -> Eaten<'p, 's> {
        let mut c = self;
        let mut rest = literal;
        while !rest.is_empty() {
            if c.at_end() {
                return Eaten::TextEnded;
            }
            let n = c.rest.len().min(rest.len());
            let (want, have) = (&rest[..n], &c.rest[..n]);
            let same = if ignore_ascii_case {
                want.eq_ignore_ascii_case(have)
            } else {
                want == have
            };
            if !same {
                return Eaten::Mismatch;
            }
            rest = &rest[n..];
            c = c.advance(n);
        }
        Eaten::Yes(c)
    }

    fn advance(mut self, n: usize) -> Self {
        self.rest = self.rest.get(n..).unwrap_or(&[]);
        self.settle()
    }

    /// Steps over one whole UTF-8 character. Parts are `&str`, so a
    /// character never spans two parts, and positions reached through `?`
    /// and star retries stay on character boundaries.
    fn step_char(self) -> Self {
        let width = match self.byte() {
            Some(b) if b >= 0xF0 => 4,
            Some(b) if b >= 0xE0 => 3,
            Some(b) if b >= 0xC0 => 2,
            _ => 1,
        };
        self.advance(width)
    }

    /// The first position at or after this one whose byte satisfies
    /// `want`, or the end of the text.
    fn find(mut self, want: impl Fn(u8) -> bool) -> Self {
        loop {
            match self.rest.iter().position(|&b| want(b)) {
                Some(i) => return self.advance(i),
                None if self.part + 1 >= self.parts.len() => {
                    self.rest = &[];
                    return self;
                }
                None => {
                    self.rest = &[];
                    self = self.settle();
                }
            }
        }
    }
}

/// One compiled Action, Resource or principal-ARN pattern.
#[derive(Debug, Clone)]
pub(crate) struct Pattern {
    /// With runs of `*` collapsed to one; lower-cased when matching ignores
    /// ASCII case.
    text: Box<str>,
    shape: Shape,
    ignore_ascii_case: bool,
}

/// Most policy patterns are `*`, a literal (`execute-api:Invoke`) or a
/// literal followed by one trailing `*` (`arn:…:abc123/prod/*`); those are
/// decided with slice comparisons instead of the byte-at-a-time matcher.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shape {
    Any,
    Exact,
    /// `text` is a literal followed by a single `*`.
    Prefix,
    General,
}

impl Pattern {
    pub(crate) fn new(raw: &str, ignore_ascii_case: bool) -> Pattern {
        let mut text = String::with_capacity(raw.len());
        for c in raw.chars() {
            if c == '*' && text.ends_with('*') {
                continue;
            }
            if ignore_ascii_case {
                text.push(c.to_ascii_lowercase());
            } else {
                text.push(c);
            }
        }
        let wildcards = text.bytes().filter(|b| matches!(b, b'*' | b'?')).count();
        let shape = if text == "*" {
            Shape::Any
        } else if wildcards == 0 {
            Shape::Exact
        } else if wildcards == 1 && text.ends_with('*') {
            Shape::Prefix
        } else {
            Shape::General
        };
        Pattern {
            text: text.into_boxed_str(),
            shape,
            ignore_ascii_case,
        }
    }

    pub(crate) fn matches(&self, parts: &[&str]) -> bool {
        let ci = self.ignore_ascii_case;
        match self.shape {
            Shape::Any => true,
            Shape::Exact => strip_literal(parts, self.text.as_bytes(), ci) == Some(true),
            Shape::Prefix => {
                let literal = &self.text.as_bytes()[..self.text.len() - 1];
                strip_literal(parts, literal, ci).is_some()
            }
            Shape::General => wildcard_match_parts(&self.text, parts, ci),
        }
    }
}

/// Whether the concatenation of `parts` starts with `literal`: `None` if
/// not, else `Some(whether nothing follows it)`.
fn strip_literal(parts: &[&str], literal: &[u8], ignore_ascii_case: bool) -> Option<bool> {
    let mut rest = literal;
    let mut parts = parts.iter().map(|p| p.as_bytes());
    for part in parts.by_ref() {
        let n = part.len().min(rest.len());
        let (want, have) = (&rest[..n], &part[..n]);
        let same = if ignore_ascii_case {
            want.eq_ignore_ascii_case(have)
        } else {
            want == have
        };
        if !same {
            return None;
        }
        rest = &rest[n..];
        if n < part.len() {
            // The literal ended inside this part.
            return Some(false);
        }
        if rest.is_empty() {
            break;
        }
    }
    if !rest.is_empty() {
        return None;
    }
    Some(parts.all(|p| p.is_empty()))
}

/// The ARN of one API method call, as API Gateway builds it for resource
/// policies, IAM policies and Lambda authorizers:
/// `arn:aws:execute-api:{region}:{account}:{api_id}/{stage}/{method}/{path}`
/// where `path` is the request path without its leading `/` (so the root
/// path `/` gives a trailing `/`). A WebSocket route's ARN has no path:
/// `…/{stage}/{route key}` (`…/prod/$connect`), as AWS writes it, so a
/// policy or an authorizer written for AWS's ARN matches it exactly.
///
/// Kept as borrowed parts so the data plane can match policies against it
/// per request without formatting a `String`; `Display` (and so
/// `to_string()`) gives the ARN text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MethodArn<'a> {
    pub region: &'a str,
    pub account: &'a str,
    pub api_id: &'a str,
    pub stage: &'a str,
    /// An HTTP verb, or a WebSocket route key.
    pub method: &'a str,
    /// The request path, with or without its leading `/`; `None` for a
    /// WebSocket route, whose ARN ends at its key.
    pub path: Option<&'a str>,
}

/// How many `&str` parts [`MethodArn::parts`] yields.
pub(crate) const METHOD_ARN_PARTS: usize = 12;

impl<'a> MethodArn<'a> {
    /// The ARN as parts whose concatenation is the ARN text.
    pub(crate) fn parts(&self) -> [&'a str; METHOD_ARN_PARTS] {
        // Empty parts match nothing and print nothing.
        let (slash, path) = match self.path {
            Some(path) => ("/", path.strip_prefix('/').unwrap_or(path)),
            None => ("", ""),
        };
        [
            "arn:aws:execute-api:",
            self.region,
            ":",
            self.account,
            ":",
            self.api_id,
            "/",
            self.stage,
            "/",
            self.method,
            slash,
            path,
        ]
    }
}

impl fmt::Display for MethodArn<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for p in self.parts() {
            f.write_str(p)?;
        }
        Ok(())
    }
}

/// `arn:aws:execute-api:{region}:{account}:{api_id}/{stage}/{method}/{path}`
/// with `resource_path`'s leading `/` dropped: `/pets/1` gives
/// `…/GET/pets/1`, the root `/` gives `…/GET/`.
pub fn method_arn(
    region: &str,
    account: &str,
    api_id: &str,
    stage: &str,
    method: &str,
    resource_path: &str,
) -> String {
    MethodArn {
        region,
        account,
        api_id,
        stage,
        method,
        path: Some(resource_path),
    }
    .to_string()
}
