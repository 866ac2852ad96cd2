//! Where outbound AWS calls go, and for which region they are signed.
//!
//! The endpoint of a call is, first, the integration's own `endpoint_url`;
//! else the node's `--aws-endpoint SERVICE=URL` for that service, else its
//! `--aws-endpoint URL` for every service (moto serves all of them on one
//! port); else AWS's own, `https://{service}.{region}.amazonaws.com`. So the
//! same API runs against AWS, a local emulator or a test server.

use std::collections::HashMap;

/// The region every call falls back to, as AWS's SDKs do.
pub const DEFAULT_REGION: &str = "us-east-1";

/// Whether `region` has the shape of an AWS region name (`us-east-1`,
/// `us-gov-west-1`: two lowercase letters, one or more lowercase words,
/// a number, joined by hyphens). A region becomes part of a hostname, and
/// may come from the request (an HTTP API subtype's `Region` parameter), so
/// anything else (`evil.example/`, `x@host`) must never reach a URL: the
/// node would send a signed request, with its session token, to a host the
/// caller picked.
pub fn is_region(region: &str) -> bool {
    let mut parts = region.split('-');
    let first = parts.next().unwrap_or("");
    let Some(number) = region.rsplit('-').next() else {
        return false;
    };
    let words: Vec<&str> = parts.collect();
    first.len() == 2
        && first.bytes().all(|b| b.is_ascii_lowercase())
        && words.len() >= 2
        && !number.is_empty()
        && number.len() <= 3
        && number.bytes().all(|b| b.is_ascii_digit())
        && words[..words.len() - 1]
            .iter()
            .all(|w| !w.is_empty() && w.bytes().all(|b| b.is_ascii_lowercase()))
}

/// Whether `name` may be a label run of an AWS hostname (an S3 bucket's
/// `bucket.s3` subdomain): lowercase letters, digits, hyphens and dots
/// between non-empty labels, nothing that could end or redirect the host.
pub fn is_host_labels(name: &str) -> bool {
    !name.is_empty()
        && name.split('.').all(|label| {
            !label.is_empty()
                && label
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        })
}

/// The node's endpoint overrides and default region.
#[derive(Debug, Clone, Default)]
pub struct Endpoints {
    by_service: HashMap<Box<str>, Box<str>>,
    all: Option<Box<str>>,
    region: Option<Box<str>>,
}

impl Endpoints {
    /// From the node's `--aws-endpoint` values (`SERVICE=URL` or `URL`) and
    /// its region (`--aws-region`, else `AWS_REGION`); refuses a value that
    /// is not an `http://` or `https://` URL, naming it.
    pub fn new<'a>(
        flags: impl IntoIterator<Item = &'a str>,
        region: Option<&str>,
    ) -> Result<Self, String> {
        let mut endpoints = Self {
            region: region.filter(|r| !r.is_empty()).map(Into::into),
            ..Self::default()
        };
        for flag in flags {
            let (service, url) = match flag.split_once('=') {
                Some((service, url)) if !service.contains(':') => (Some(service), url),
                _ => (None, flag),
            };
            let url = url.trim_end_matches('/');
            if !(url.starts_with("http://") || url.starts_with("https://"))
                || url.parse::<http::Uri>().is_err()
            {
                return Err(format!(
                    "--aws-endpoint '{flag}': expected URL or SERVICE=URL with an http:// or https:// URL"
                ));
            }
            match service {
                Some(service) if !service.is_empty() => {
                    endpoints.by_service.insert(service.into(), url.into());
                }
                Some(_) => return Err(format!("--aws-endpoint '{flag}': empty service name")),
                None => endpoints.all = Some(url.into()),
            }
        }
        Ok(endpoints)
    }

    /// The node's default region.
    pub fn region(&self) -> &str {
        self.region.as_deref().unwrap_or(DEFAULT_REGION)
    }

    /// Whether calls to `service` go to an override rather than AWS's own
    /// host (given the integration's `endpoint_url`).
    pub fn overridden(&self, service: &str, integration: Option<&str>) -> bool {
        integration.is_some_and(|u| !u.is_empty())
            || self.by_service.contains_key(service)
            || self.all.is_some()
    }

    /// The base URL (no trailing slash) of a call to `service` in `region`,
    /// the integration's `endpoint_url` first.
    pub fn base_url(&self, service: &str, region: &str, integration: Option<&str>) -> String {
        if let Some(url) = integration.filter(|u| !u.is_empty()) {
            return url.trim_end_matches('/').to_owned();
        }
        match self.by_service.get(service).or(self.all.as_ref()) {
            Some(url) => url.to_string(),
            None => format!("https://{service}.{region}.amazonaws.com"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integration_first_then_service_then_all_then_aws() {
        let e = Endpoints::new(
            ["lambda=http://127.0.0.1:9001/", "http://127.0.0.1:5000"],
            None,
        )
        .unwrap();
        assert_eq!(
            e.base_url("lambda", "eu-west-1", Some("http://127.0.0.1:7/")),
            "http://127.0.0.1:7"
        );
        assert_eq!(
            e.base_url("lambda", "eu-west-1", Some("")),
            "http://127.0.0.1:9001"
        );
        assert_eq!(
            e.base_url("sqs", "eu-west-1", None),
            "http://127.0.0.1:5000"
        );
        let aws = Endpoints::new([], Some("eu-west-1")).unwrap();
        assert_eq!(
            aws.base_url("sqs", "eu-west-1", None),
            "https://sqs.eu-west-1.amazonaws.com"
        );
        assert_eq!(aws.region(), "eu-west-1");
        assert_eq!(Endpoints::default().region(), DEFAULT_REGION);
    }

    #[test]
    fn only_region_shaped_values_are_regions() {
        for good in [
            "us-east-1",
            "eu-west-1",
            "us-gov-west-1",
            "ap-southeast-2",
            "us-isob-east-1",
        ] {
            assert!(is_region(good), "{good}");
        }
        for bad in [
            "",
            "us",
            "us-1",
            "us-east",
            "US-EAST-1",
            "us-east-1.",
            "attacker.example/",
            "x@host/",
            "us-east-1@evil",
            "us-east-1/x",
            "us--1",
            "use-east-1",
            "us-east-1 ",
            "us-east-x",
        ] {
            assert!(!is_region(bad), "{bad:?}");
        }
        assert!(is_host_labels("my-bucket.s3") && is_host_labels("b1"));
        for bad in ["", "a..b", "x@h", "a/b", "A", "a.", "a:1"] {
            assert!(!is_host_labels(bad), "{bad:?}");
        }
    }

    #[test]
    fn a_value_that_is_not_a_url_is_refused() {
        for bad in [
            "127.0.0.1:5000",
            "sqs=",
            "=http://x",
            "ftp://x",
            "sqs=localhost",
        ] {
            assert!(Endpoints::new([bad], None).is_err(), "{bad}");
        }
    }
}
