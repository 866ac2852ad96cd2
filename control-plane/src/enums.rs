//! Enums as people spell them: the proto's value names without their type
//! prefix (`REST` for `API_PROTOCOL_REST`), in documents, CLI flags and
//! messages. One pair, so that reading and writing a short name agree.

use archway_proto::v1::{
    ApiKeySource, ApiProtocol, AuthorizerType, ContentHandling, EndpointType, PassthroughBehavior,
    QuotaPeriod, UnauthorizedCacheControlHeaderStrategy,
};

/// `name` without the enum's `prefix`: `short_name("QUOTA_PERIOD_DAY",
/// "QUOTA_PERIOD_")` is `DAY`.
pub fn short_name<'a>(name: &'a str, prefix: &str) -> &'a str {
    name.strip_prefix(prefix).unwrap_or(name)
}

/// How people spell one enum: its value names' prefix, the short names a
/// refusal offers, and the proto's parser and namer. One constant per enum,
/// so a document, a CLI flag and a message offer the same choices, and
/// what is written reads back.
pub struct Spelling<E: 'static> {
    pub prefix: &'static str,
    pub choices: &'static str,
    pub parse: fn(&str) -> Option<E>,
    pub name: fn(&E) -> &'static str,
}

impl<E> Spelling<E> {
    /// The short name of `value`: `REST` for `ApiProtocol::Rest`.
    pub fn short(&self, value: E) -> &'static str {
        short_name((self.name)(&value), self.prefix)
    }

    /// The short name of `value`, or None when it is `unset` (a document
    /// leaves such a field out).
    pub fn short_unless(&self, value: E, unset: E) -> Option<String>
    where
        E: PartialEq,
    {
        (value != unset).then(|| self.short(value).to_owned())
    }

    /// The value a short name (any case) spells, `default` when there is
    /// none; the refusal lists the choices. `UNSPECIFIED` is a value like
    /// the others: the rules refuse it where it is not allowed.
    pub fn read(&self, value: Option<&str>, default: E) -> Result<E, String> {
        match value {
            None => Ok(default),
            Some(v) => (self.parse)(&format!("{}{}", self.prefix, v.to_ascii_uppercase()))
                .ok_or_else(|| format!("'{v}' is not one of {}", self.choices)),
        }
    }
}

pub const API_PROTOCOL: Spelling<ApiProtocol> = Spelling {
    prefix: "API_PROTOCOL_",
    choices: "REST, HTTP, WEBSOCKET",
    parse: ApiProtocol::from_str_name,
    name: ApiProtocol::as_str_name,
};
pub const API_KEY_SOURCE: Spelling<ApiKeySource> = Spelling {
    prefix: "API_KEY_SOURCE_",
    choices: "HEADER, AUTHORIZER",
    parse: ApiKeySource::from_str_name,
    name: ApiKeySource::as_str_name,
};
pub const ENDPOINT_TYPE: Spelling<EndpointType> = Spelling {
    prefix: "ENDPOINT_TYPE_",
    choices: "REGIONAL, PRIVATE",
    parse: EndpointType::from_str_name,
    name: EndpointType::as_str_name,
};
pub const QUOTA_PERIOD: Spelling<QuotaPeriod> = Spelling {
    prefix: "QUOTA_PERIOD_",
    choices: "DAY, WEEK, MONTH",
    parse: QuotaPeriod::from_str_name,
    name: QuotaPeriod::as_str_name,
};
pub const AUTHORIZER_TYPE: Spelling<AuthorizerType> = Spelling {
    prefix: "AUTHORIZER_TYPE_",
    choices: "JWT, TOKEN, REQUEST",
    parse: AuthorizerType::from_str_name,
    name: AuthorizerType::as_str_name,
};
pub const UNAUTHORIZED_STRATEGY: Spelling<UnauthorizedCacheControlHeaderStrategy> = Spelling {
    prefix: "UNAUTHORIZED_CACHE_CONTROL_HEADER_STRATEGY_",
    choices: "FAIL_WITH_403, SUCCEED_WITH_RESPONSE_HEADER, SUCCEED_WITHOUT_RESPONSE_HEADER",
    parse: UnauthorizedCacheControlHeaderStrategy::from_str_name,
    name: UnauthorizedCacheControlHeaderStrategy::as_str_name,
};
pub const PASSTHROUGH_BEHAVIOR: Spelling<PassthroughBehavior> = Spelling {
    prefix: "PASSTHROUGH_BEHAVIOR_",
    choices: "WHEN_NO_MATCH, WHEN_NO_TEMPLATES, NEVER",
    parse: PassthroughBehavior::from_str_name,
    name: PassthroughBehavior::as_str_name,
};
pub const CONTENT_HANDLING: Spelling<ContentHandling> = Spelling {
    prefix: "CONTENT_HANDLING_",
    choices: "CONVERT_TO_TEXT, CONVERT_TO_BINARY",
    parse: ContentHandling::from_str_name,
    name: ContentHandling::as_str_name,
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_short_name_reads_back_as_its_value() {
        let name = QUOTA_PERIOD.short(QuotaPeriod::Week);
        assert_eq!(name, "WEEK");
        assert_eq!(
            QUOTA_PERIOD.read(Some(name), QuotaPeriod::Day),
            Ok(QuotaPeriod::Week)
        );
        assert_eq!(
            QUOTA_PERIOD.short_unless(QuotaPeriod::Week, QuotaPeriod::Unspecified),
            Some("WEEK".to_string())
        );
        assert_eq!(
            QUOTA_PERIOD.short_unless(QuotaPeriod::Unspecified, QuotaPeriod::Unspecified),
            None
        );
        let parse = |v| QUOTA_PERIOD.read(v, QuotaPeriod::Day);
        assert_eq!(parse(Some("week")), Ok(QuotaPeriod::Week));
        assert_eq!(parse(None), Ok(QuotaPeriod::Day));
        assert_eq!(
            parse(Some("year")),
            Err("'year' is not one of DAY, WEEK, MONTH".to_string())
        );
        // A name without the prefix is left as it is.
        assert_eq!(short_name("OTHER", "QUOTA_PERIOD_"), "OTHER");
    }
}
