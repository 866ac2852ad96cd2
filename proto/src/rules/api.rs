//! An API's own settings: protocol, where API keys come from, endpoint type.

use super::{Checked, Violation};
use crate::v1::{ApiKeySource, ApiProtocol, EndpointType};

/// REST unless said otherwise. (A WEBSOCKET API's own rules, such as its
/// required route selection expression, are [`super::websocket`]'s.)
pub fn protocol(field: &str, value: i32) -> Checked<ApiProtocol> {
    match ApiProtocol::try_from(value) {
        Ok(ApiProtocol::Unspecified) => Ok(ApiProtocol::Rest),
        Ok(p) => Ok(p),
        Err(_) => Err(Violation::new(
            field,
            format!("unknown protocol {value}; use REST, HTTP or WEBSOCKET"),
        )),
    }
}

pub fn api_key_source(field: &str, value: i32) -> Checked<ApiKeySource> {
    ApiKeySource::try_from(value).map_err(|_| {
        Violation::new(
            field,
            format!("unknown key source {value}; use HEADER or AUTHORIZER"),
        )
    })
}

pub fn endpoint_type(field: &str, value: i32) -> Checked<EndpointType> {
    EndpointType::try_from(value).map_err(|_| Violation::new(field, "must be REGIONAL or PRIVATE"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn protocols_default_to_rest() {
        assert_eq!(protocol("p", 0).unwrap(), ApiProtocol::Rest);
        assert_eq!(
            protocol("p", ApiProtocol::Http as i32).unwrap(),
            ApiProtocol::Http
        );
        assert_eq!(
            protocol("p", ApiProtocol::Websocket as i32).unwrap(),
            ApiProtocol::Websocket
        );
        assert!(protocol("p", 99).is_err());
        assert!(api_key_source("k", 99).is_err());
        assert!(endpoint_type("e", 99).is_err());
    }
}
