//! Ids, names and lengths.

use super::{Checked, Violation};

/// An API id: 1 to 63 lowercase letters, digits or '-', starting with a
/// letter or digit (it appears in hostnames and ARNs).
pub fn api_id(field: &str, id: &str) -> Checked {
    let ok = !id.is_empty()
        && id.len() <= 63
        && id.starts_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit())
        && id
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    if ok {
        Ok(())
    } else {
        Err(Violation::new(
            field,
            format!(
                "'{id}' is not a valid API id: use 1 to 63 lowercase letters, digits or '-', starting with a letter or digit"
            ),
        ))
    }
}

/// A display name: not blank, at most 1024 bytes.
pub fn name(field: &str, name: &str) -> Checked {
    if name.trim().is_empty() {
        return Err(Violation::new(field, "must not be empty"));
    }
    max_len(field, name, 1024)
}

pub fn max_len(field: &str, value: &str, max: usize) -> Checked {
    if value.len() > max {
        return Err(Violation::new(
            field,
            format!("must be at most {max} bytes, got {}", value.len()),
        ));
    }
    Ok(())
}

/// A stage name: 1 to 128 letters, digits, '_' or '-' (it is a path segment).
pub fn stage_name(field: &str, name: &str) -> Checked {
    let ok = !name.is_empty()
        && name.len() <= 128
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if ok {
        Ok(())
    } else {
        Err(Violation::new(
            field,
            format!("'{name}' is not a valid stage name: use 1 to 128 letters, digits, '_' or '-'"),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_ids() {
        assert!(api_id("id", "petstore-1").is_ok());
        for bad in ["", "Pets", "-a", "a/b", &"a".repeat(64)] {
            assert_eq!(api_id("id", bad).unwrap_err().field, "id", "{bad}");
        }
    }

    #[test]
    fn names_and_stage_names() {
        assert!(name("n", "pets").is_ok());
        assert_eq!(name("n", "  ").unwrap_err().reason, "must not be empty");
        assert!(name("n", &"x".repeat(1025)).is_err());
        assert!(stage_name("s", "prod_2-a").is_ok());
        for bad in ["", "a/b", "a b", &"s".repeat(129)] {
            assert!(stage_name("s", bad).is_err(), "{bad}");
        }
    }
}
