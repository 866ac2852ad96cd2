//! The AWS credentials outbound calls are signed with.
//!
//! An integration's `credentials` names an [`OutboundCredential`] (by name,
//! or by the role ARN it stands for, so that an AWS definition naming
//! `arn:aws:iam::…:role/x` works unchanged); an integration without
//! credentials signs with the node's own, read once from its environment
//! (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`) at
//! start. The table is compiled with each configuration version and kept
//! beside the tables, like the IAM access keys.
//!
//! Secrets never appear in `Debug` output or logs: [`Credentials`] prints
//! its key id only.

use archway_proto::v1::OutboundCredential;
use std::collections::HashMap;
use std::sync::Arc;

/// One key pair (and session token, for temporary credentials).
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    pub access_key_id: Box<str>,
    secret_access_key: Box<str>,
    session_token: Option<Box<str>>,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("access_key_id", &self.access_key_id)
            .field("secret_access_key", &"<redacted>")
            .field(
                "session_token",
                &self.session_token.as_ref().map(|_| "<redacted>"),
            )
            .finish()
    }
}

impl Credentials {
    pub fn new(access_key_id: &str, secret_access_key: &str, session_token: Option<&str>) -> Self {
        Self {
            access_key_id: access_key_id.into(),
            secret_access_key: secret_access_key.into(),
            session_token: session_token.filter(|t| !t.is_empty()).map(Into::into),
        }
    }

    /// The node's own credentials from an environment lookup (`std::env::var`
    /// in the node, a map in tests); None unless both key id and secret are
    /// set.
    pub fn from_env(var: impl Fn(&str) -> Option<String>) -> Option<Self> {
        let id = var("AWS_ACCESS_KEY_ID").filter(|v| !v.is_empty())?;
        let secret = var("AWS_SECRET_ACCESS_KEY").filter(|v| !v.is_empty())?;
        let token = var("AWS_SESSION_TOKEN");
        Some(Self::new(&id, &secret, token.as_deref()))
    }

    /// The credentials as the `aws-sigv4` crate takes them (it makes its
    /// signing identity from them).
    pub(super) fn identity(&self) -> aws_credential_types::Credentials {
        aws_credential_types::Credentials::new(
            &*self.access_key_id,
            &*self.secret_access_key,
            self.session_token.as_deref().map(str::to_owned),
            None,
            "archway",
        )
    }
}

/// The configured outbound credentials, by name and by role ARN.
#[derive(Debug, Default)]
pub struct OutboundCredentials {
    by_name: HashMap<Box<str>, Arc<Credentials>>,
    by_role_arn: HashMap<Box<str>, Arc<Credentials>>,
}

impl OutboundCredentials {
    /// The table of `credentials`; refuses one without a key id or secret
    /// (the control plane never sends such), naming it.
    pub fn compile<'a>(
        credentials: impl IntoIterator<Item = &'a OutboundCredential>,
    ) -> Result<Self, String> {
        let mut table = Self::default();
        for c in credentials {
            if c.access_key_id.is_empty() || c.secret_access_key.is_empty() {
                return Err(format!(
                    "outbound credential '{}' has no access key id or secret",
                    c.name
                ));
            }
            let creds = Arc::new(Credentials::new(
                &c.access_key_id,
                &c.secret_access_key,
                Some(&c.session_token),
            ));
            table.by_name.insert(c.name.as_str().into(), creds.clone());
            if !c.role_arn.is_empty() {
                table.by_role_arn.insert(c.role_arn.as_str().into(), creds);
            }
        }
        Ok(table)
    }

    /// The credentials an integration's `credentials` field names: a
    /// credential's name or its role ARN.
    pub fn find(&self, name_or_role_arn: &str) -> Option<&Arc<Credentials>> {
        self.by_name
            .get(name_or_role_arn)
            .or_else(|| self.by_role_arn.get(name_or_role_arn))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";

    fn credential(name: &str, role: &str) -> OutboundCredential {
        OutboundCredential {
            name: name.into(),
            role_arn: role.into(),
            access_key_id: format!("AKIA{}", name.to_uppercase()),
            secret_access_key: SECRET.into(),
            session_token: "token-secret".into(),
            ..Default::default()
        }
    }

    #[test]
    fn found_by_name_or_role_arn() {
        let role = "arn:aws:iam::123456789012:role/invoker";
        let table =
            OutboundCredentials::compile(&[credential("a", role), credential("b", "")]).unwrap();
        assert_eq!(&*table.find("a").unwrap().access_key_id, "AKIAA");
        assert_eq!(&*table.find(role).unwrap().access_key_id, "AKIAA");
        assert_eq!(&*table.find("b").unwrap().access_key_id, "AKIAB");
        assert!(table.find("c").is_none());
        assert!(table.find("").is_none());
    }

    #[test]
    fn a_credential_without_secret_is_refused() {
        let mut c = credential("a", "");
        c.secret_access_key.clear();
        let e = OutboundCredentials::compile(&[c]).unwrap_err();
        assert!(e.contains("'a'"), "{e}");
    }

    #[test]
    fn secrets_never_reach_debug_output() {
        let table = OutboundCredentials::compile(&[credential("a", "")]).unwrap();
        for text in [
            format!("{table:?}"),
            format!("{:?}", table.find("a").unwrap()),
            format!("{:#?}", table),
        ] {
            assert!(!text.contains(SECRET), "{text}");
            assert!(!text.contains("token-secret"), "{text}");
            assert!(text.contains("AKIAA"), "{text}");
        }
    }

    #[test]
    fn environment_needs_both_key_and_secret() {
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |k: &str| {
                pairs
                    .iter()
                    .find(|(n, _)| *n == k)
                    .map(|(_, v)| v.to_string())
            }
        };
        assert!(Credentials::from_env(env(&[("AWS_ACCESS_KEY_ID", "AKIA1")])).is_none());
        assert!(
            Credentials::from_env(env(&[
                ("AWS_ACCESS_KEY_ID", ""),
                ("AWS_SECRET_ACCESS_KEY", "s")
            ]))
            .is_none()
        );
        let c = Credentials::from_env(env(&[
            ("AWS_ACCESS_KEY_ID", "AKIA1"),
            ("AWS_SECRET_ACCESS_KEY", "s"),
            ("AWS_SESSION_TOKEN", ""),
        ]))
        .unwrap();
        assert_eq!(c, Credentials::new("AKIA1", "s", None));
    }
}
