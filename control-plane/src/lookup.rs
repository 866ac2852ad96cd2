//! Finding a record given by id or by name, as people give them: an id
//! wins (ids are unique); otherwise the name must be one record's, and a
//! name several records share is ambiguous. The declarative planner and the
//! CLI read names the same way; each words its own refusals.

/// What an id-or-name found.
#[derive(Debug, PartialEq)]
pub enum Found<T> {
    /// The record with that id, or else the one with that name.
    One(T),
    /// No record has that id or name.
    None,
    /// No record has that id, and these share the name.
    Shared(Vec<T>),
}

/// The one of `items` whose id is `arg`, or else whose name is.
pub fn id_or_name<T>(
    items: impl IntoIterator<Item = T>,
    arg: &str,
    id: impl Fn(&T) -> &str,
    name: impl Fn(&T) -> &str,
) -> Found<T> {
    let mut by_name = Vec::new();
    for item in items {
        if id(&item) == arg {
            return Found::One(item);
        }
        if name(&item) == arg {
            by_name.push(item);
        }
    }
    match by_name.len() {
        0 => Found::None,
        1 => Found::One(by_name.pop().expect("one")),
        _ => Found::Shared(by_name),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_id_wins_and_a_shared_name_is_ambiguous() {
        let items = [("a1", "pets"), ("a2", "pets"), ("pets", "other")];
        let find = |arg| id_or_name(items.iter(), arg, |i| i.0, |i| i.1);
        // "pets" is the third's id: it wins over the two named so.
        assert_eq!(find("pets"), Found::One(&items[2]));
        assert_eq!(find("other"), Found::One(&items[2]));
        assert_eq!(find("a2"), Found::One(&items[1]));
        assert_eq!(find("nobody"), Found::None);
        let two = [("a1", "x"), ("a2", "x")];
        assert_eq!(
            id_or_name(two.iter(), "x", |i| i.0, |i| i.1),
            Found::Shared(vec![&two[0], &two[1]])
        );
    }
}
