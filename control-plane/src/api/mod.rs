//! The gRPC admin API, one file per service. Handlers validate, write through
//! the store and, when what the fleet serves changed, refresh distribution;
//! the shape they share (load or NotFound, list, write, publish) is in
//! [`records`].

pub mod configuration;
pub mod deployments;
pub mod fleet;
pub(crate) mod gateway_responses;
pub mod iam;
pub(crate) mod models;
pub mod openapi;
pub(crate) mod outbound;
mod paging;
mod promotion;
pub(crate) mod records;
pub mod rest_apis;
pub(crate) mod stage_history;
pub mod tokens;
mod update_mask;
pub mod usage_plans;
pub(crate) mod validators;

use crate::distribution::Distribution;
use crate::store::Store;
use std::sync::Arc;

/// What every admin service shares.
pub struct ControlPlaneState {
    pub store: Arc<Store>,
    pub distribution: Arc<Distribution>,
    /// The domain stages are served under (`{api_id}.{domain}/{stage}`),
    /// port included when not 80: what exports and SDKs name as an API's
    /// URL (`--public-domain`).
    pub public_domain: String,
    /// The other replicas' nodes, on a shared store (see
    /// [`crate::fleet_share`]).
    #[cfg(feature = "etcd")]
    pub fleet_share: Option<Arc<crate::fleet_share::FleetShare>>,
}

pub type SharedState = Arc<ControlPlaneState>;
