//! An HTTP API's CORS configuration as a deployment holds it (built by
//! [`crate::compile`]'s `cors` module, applied by the pipeline's `cors`
//! phase): the lists normalised once, and the header values that never
//! change made once.

use http::HeaderValue;

/// What a list allows: anything (`*`), or the listed values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Allowed {
    Any,
    /// Normalised: origins and header names lower case, verbs upper case
    /// (as AWS matches them).
    Listed(Box<[Box<str>]>),
}

impl Allowed {
    /// Whether `value` (normalised as the list is) is allowed.
    pub fn allows(&self, value: &str) -> bool {
        match self {
            Allowed::Any => true,
            Allowed::Listed(list) => list.iter().any(|v| **v == *value),
        }
    }
}

#[derive(Debug)]
pub struct CorsPolicy {
    pub origins: Allowed,
    pub methods: Allowed,
    pub headers: Allowed,
    /// `Access-Control-Allow-Methods` when methods are listed.
    pub methods_value: Option<HeaderValue>,
    /// `Access-Control-Allow-Headers` when headers are listed.
    pub headers_value: Option<HeaderValue>,
    /// `Access-Control-Expose-Headers`, when any are exposed.
    pub expose_headers: Option<HeaderValue>,
    /// `Access-Control-Max-Age`, when configured.
    pub max_age: Option<HeaderValue>,
    /// `Access-Control-Allow-Credentials: true` (never with any origin).
    pub credentials: bool,
}

impl CorsPolicy {
    /// Whether a request's `Origin` value is allowed. Origins compare
    /// ASCII case-insensitively (scheme and host are), and whole: a
    /// trailing slash, a path, a suffix (`https://a.example.com.evil`) or
    /// a list of origins is another origin. `null` (sandboxed frames,
    /// `file:` pages, some redirects) is allowed only by `*`.
    pub fn allows_origin(&self, origin: &str) -> bool {
        match &self.origins {
            Allowed::Any => true,
            Allowed::Listed(list) => {
                origin != "null" && list.iter().any(|o| o.eq_ignore_ascii_case(origin))
            }
        }
    }
}
