//! Enums as people spell them: the proto's value names without their type
//! prefix (`REST` for `API_PROTOCOL_REST`), in documents, CLI flags and
//! messages. One pair, so that reading and writing a short name agree.

/// `name` without the enum's `prefix`: `short_name("QUOTA_PERIOD_DAY",
/// "QUOTA_PERIOD_")` is `DAY`.
pub fn short_name<'a>(name: &'a str, prefix: &str) -> &'a str {
    name.strip_prefix(prefix).unwrap_or(name)
}

/// The enum value a short name (any case) spells, `default` when there is
/// none; the refusal lists the `choices`. `UNSPECIFIED` is a value like the
/// others: the rules refuse it where it is not allowed.
pub fn enum_value<E>(
    value: Option<&str>,
    default: E,
    prefix: &str,
    choices: &str,
    parse: impl Fn(&str) -> Option<E>,
) -> Result<E, String> {
    match value {
        None => Ok(default),
        Some(v) => parse(&format!("{prefix}{}", v.to_ascii_uppercase()))
            .ok_or_else(|| format!("'{v}' is not one of {choices}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use archway_proto::v1::QuotaPeriod;

    #[test]
    fn a_short_name_reads_back_as_its_value() {
        let name = short_name(QuotaPeriod::Week.as_str_name(), "QUOTA_PERIOD_");
        assert_eq!(name, "WEEK");
        let parse = |v| {
            enum_value(
                v,
                QuotaPeriod::Day,
                "QUOTA_PERIOD_",
                "DAY, WEEK, MONTH",
                QuotaPeriod::from_str_name,
            )
        };
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
