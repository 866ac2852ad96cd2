//! The contract's message descriptors, for the few places that handle
//! messages field by field, by name: update masks on the admin API
//! ([`crate::api::update_mask`]) and the CLI's JSON and YAML output. Written
//! against descriptors rather than per message, so a field added to the
//! .proto files is covered without touching that code.

use prost::Message;
use prost_reflect::{DescriptorPool, DynamicMessage, MessageDescriptor};
use std::sync::LazyLock;

static POOL: LazyLock<DescriptorPool> = LazyLock::new(|| {
    DescriptorPool::decode(archway_proto::FILE_DESCRIPTOR_SET)
        .expect("the proto crate embeds a valid descriptor set")
});

/// The descriptor of `archway.v1.{name}`.
pub fn message(name: &str) -> MessageDescriptor {
    POOL.get_message_by_name(&format!("archway.v1.{name}"))
        .unwrap_or_else(|| panic!("archway.v1.{name} is not in the descriptor set"))
}

/// `msg` as a dynamic message of type `archway.v1.{name}`.
pub fn to_dynamic(msg: &impl Message, name: &str) -> DynamicMessage {
    DynamicMessage::decode(message(name), msg.encode_to_vec().as_slice())
        .expect("a message decodes as its own type")
}

/// A dynamic message back as its generated type.
pub fn from_dynamic<M: Message + Default>(msg: &DynamicMessage) -> M {
    M::decode(msg.encode_to_vec().as_slice()).expect("a dynamic message decodes as its own type")
}
