//! Generates the Rust types and gRPC stubs from `archway/v1/*.proto`.
//!
//! protox compiles the .proto files in pure Rust, so neither developers nor CI
//! need `protoc`. The encoded descriptor set is written next to the generated
//! code for gRPC server reflection.

use prost::Message;
use std::path::PathBuf;

const PROTOS: &[&str] = &[
    "archway/v1/config.proto",
    "archway/v1/admin.proto",
    "archway/v1/distribution.proto",
    "archway/v1/configuration.proto",
    "archway/v1/openapi.proto",
];

fn main() -> Result<(), Box<dyn std::error::Error>> {
    for proto in PROTOS {
        println!("cargo:rerun-if-changed={proto}");
    }
    let fds = protox::compile(PROTOS, ["."])?;
    let out = PathBuf::from(std::env::var("OUT_DIR")?);
    std::fs::write(out.join("archway_descriptor.bin"), fds.encode_to_vec())?;
    tonic_prost_build::configure()
        // Ordered maps encode deterministically, so both planes hash a
        // resource to the same content digest (see `content_digest`).
        .btree_map(".")
        .build_client(true)
        .build_server(true)
        .compile_fds(fds)?;
    Ok(())
}
