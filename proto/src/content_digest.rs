//! A digest of a set of configuration resources that both planes compute the
//! same way, so a node reconnecting to a restarted control plane can show it
//! already holds the published configuration and skip a full re-apply.
//!
//! Why a set hash and not a hash of one encoding: both sides change their
//! sets one resource at a time (a million API keys, one new key), so the
//! digest must follow each upsert and removal in O(1). Each resource is
//! hashed on its own (SHA-256 of its protobuf encoding, which carries its
//! name) and the per-resource hashes are combined by XOR, which is order
//! free and undoes itself on removal. The resources' names are unique
//! within a set, so no hash is ever combined twice. This guards against
//! accidents (a node and a control plane that drifted apart), not against
//! an attacker: XOR is linear, so whoever can write a few hundred chosen
//! resources could make two different sets collide. Only an admin can
//! write resources, and an admin can change the configuration outright;
//! should that ever matter, a lattice hash (LtHash) drops in here.
//!
//! The encoding is deterministic because every protobuf map in the contract
//! is generated as a `BTreeMap` (see `build.rs`).

use crate::v1::ConfigResource;
use prost::Message;
use sha2::{Digest, Sha256};

/// The XOR of the SHA-256 of every resource's encoding.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ContentDigest([u8; 32]);

impl ContentDigest {
    /// The digest of `resources`, however they are ordered.
    pub fn of<'a>(resources: impl IntoIterator<Item = &'a ConfigResource>) -> Self {
        let mut digest = Self::default();
        for resource in resources {
            digest.toggle(resource);
        }
        digest
    }

    /// Adds a resource that is not in the set, or removes one that is.
    pub fn toggle(&mut self, resource: &ConfigResource) {
        let mut buf = Vec::with_capacity(resource.encoded_len());
        resource
            .encode(&mut buf)
            .expect("a Vec grows to fit any message");
        let hash = Sha256::digest(&buf);
        for (acc, byte) in self.0.iter_mut().zip(hash.iter()) {
            *acc ^= byte;
        }
    }

    /// Replaces `old` by `new` (the same name) in the set.
    pub fn replace(&mut self, old: Option<&ConfigResource>, new: &ConfigResource) {
        if let Some(old) = old {
            self.toggle(old);
        }
        self.toggle(new);
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// The digest a peer sent; None when it is not 32 bytes (an older peer
    /// sends none).
    pub fn from_bytes(bytes: &[u8]) -> Option<Self> {
        bytes.try_into().ok().map(Self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::v1::config_resource::Resource as Body;
    use crate::v1::{NodeSettings, RestApi, Stage};

    fn api(id: &str, description: &str) -> ConfigResource {
        ConfigResource {
            name: format!("api/{id}"),
            resource: Some(Body::Api(RestApi {
                id: id.into(),
                description: description.into(),
                ..Default::default()
            })),
        }
    }

    #[test]
    fn order_does_not_matter_and_removal_undoes_addition() {
        let (a, b, c) = (api("a", ""), api("b", ""), api("c", ""));
        let forward = ContentDigest::of([&a, &b, &c]);
        let backward = ContentDigest::of([&c, &b, &a]);
        assert_eq!(forward, backward);
        let mut partial = forward;
        partial.toggle(&c);
        assert_eq!(partial, ContentDigest::of([&a, &b]));
        assert_ne!(partial, forward);
    }

    #[test]
    fn a_changed_resource_changes_the_digest() {
        let before = ContentDigest::of([&api("a", "one")]);
        let mut after = before;
        after.replace(Some(&api("a", "one")), &api("a", "two"));
        assert_ne!(before, after);
        assert_eq!(after, ContentDigest::of([&api("a", "two")]));
    }

    #[test]
    fn maps_encode_the_same_whatever_the_insertion_order() {
        let stage = |pairs: &[(&str, &str)]| ConfigResource {
            name: "stage/a/prod".into(),
            resource: Some(Body::Stage(Stage {
                variables: pairs
                    .iter()
                    .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                    .collect(),
                ..Default::default()
            })),
        };
        let pairs: Vec<(String, String)> = (0..50)
            .map(|i| (format!("k{i}"), format!("v{i}")))
            .collect();
        let forward: Vec<(&str, &str)> = pairs.iter().map(|(k, v)| (&**k, &**v)).collect();
        let mut backward = forward.clone();
        backward.reverse();
        assert_eq!(
            ContentDigest::of([&stage(&forward)]),
            ContentDigest::of([&stage(&backward)])
        );
        let settings = ConfigResource {
            name: "settings".into(),
            resource: Some(Body::Settings(NodeSettings::default())),
        };
        assert_ne!(
            ContentDigest::of([&settings]),
            ContentDigest::of([&stage(&forward)])
        );
    }

    #[test]
    fn peers_digests_of_the_wrong_length_are_ignored() {
        assert!(ContentDigest::from_bytes(&[0; 31]).is_none());
        assert!(ContentDigest::from_bytes(&[]).is_none());
        let d = ContentDigest::of([&api("a", "")]);
        assert_eq!(ContentDigest::from_bytes(d.as_bytes()), Some(d));
    }
}
