//! Names accepted wherever the CLI takes an id: an API, usage plan or API
//! key is given by its id or by its name. An id wins (ids are
//! unique); otherwise the name must match exactly one record, and a name
//! several records share is refused with their ids, so a script never acts
//! on the wrong one. Lists are read through every page.

use super::client::AdminClient;
use crate::all_pages;
use crate::lookup::{Found, id_or_name};
use anyhow::bail;
use archway_proto::v1::*;

/// The one of `items` whose id is `arg`, or else whose name is (the rule
/// the declarative planner uses too, [`crate::lookup::id_or_name`]).
fn pick<T>(
    what: &str,
    arg: &str,
    items: Vec<T>,
    id: impl Fn(&T) -> &str,
    name: impl Fn(&T) -> &str,
    list_hint: &str,
) -> anyhow::Result<T> {
    if arg.is_empty() {
        bail!("the {what} is empty; pass its id or name");
    }
    match id_or_name(items, arg, &id, name) {
        Found::One(item) => Ok(item),
        Found::None => bail!("no {what} has the id or name '{arg}'; see `{list_hint}`"),
        Found::Shared(shared) => {
            let ids: Vec<&str> = shared.iter().map(&id).collect();
            bail!(
                "{} {what}s are named '{arg}' ({}); pass the id of the one you mean",
                shared.len(),
                ids.join(", ")
            )
        }
    }
}

/// The API `arg` names (id or name).
pub async fn api(client: &AdminClient, arg: &str) -> anyhow::Result<RestApi> {
    // An id is the common case: one call, not every page of the list. Only
    // "no such id" (or not an id at all) falls back to names; any other
    // failure (a bad token, no server) is the answer.
    if !arg.is_empty() {
        match client
            .apis
            .clone()
            .get_rest_api(GetRestApiRequest {
                api_id: arg.to_owned(),
            })
            .await
        {
            Ok(api) => return Ok(api.into_inner()),
            Err(status)
                if matches!(
                    status.code(),
                    tonic::Code::NotFound | tonic::Code::InvalidArgument
                ) => {}
            Err(status) => {
                return Err(crate::cli::client::status_error(
                    &format!("reading API '{arg}'"),
                    status,
                ));
            }
        }
    }
    let apis = all_pages!(
        client.apis,
        list_rest_apis,
        ListRestApisRequest::default(),
        "listing APIs"
    )?;
    pick(
        "API",
        arg,
        apis,
        |a| &a.id,
        |a| &a.name,
        "archwayctl get apis",
    )
}

/// The id of the API `arg` names.
pub async fn api_id(client: &AdminClient, arg: &str) -> anyhow::Result<String> {
    Ok(api(client, arg).await?.id)
}

/// The id of the usage plan `arg` names.
pub async fn plan_id(client: &AdminClient, arg: &str) -> anyhow::Result<String> {
    let plans = all_pages!(
        client.plans,
        list_usage_plans,
        ListUsagePlansRequest::default(),
        "listing usage plans"
    )?;
    Ok(pick(
        "usage plan",
        arg,
        plans,
        |p| &p.id,
        |p| &p.name,
        "archwayctl get plans",
    )?
    .id)
}

/// The id of the API key `arg` names.
pub async fn key_id(client: &AdminClient, arg: &str) -> anyhow::Result<String> {
    let keys = all_pages!(
        client.plans,
        list_api_keys,
        ListApiKeysRequest::default(),
        "listing API keys"
    )?;
    Ok(pick(
        "API key",
        arg,
        keys,
        |k| &k.id,
        |k| &k.name,
        "archwayctl get keys",
    )?
    .id)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn apis() -> Vec<RestApi> {
        [
            ("a1", "pets"),
            ("a2", "shop"),
            ("a3", "shop"),
            ("pets", "other"),
        ]
        .into_iter()
        .map(|(id, name)| RestApi {
            id: id.into(),
            name: name.into(),
            ..Default::default()
        })
        .collect()
    }

    fn resolve(arg: &str) -> anyhow::Result<String> {
        pick(
            "API",
            arg,
            apis(),
            |a| &a.id,
            |a| &a.name,
            "archwayctl get apis",
        )
        .map(|a| a.id)
    }

    #[test]
    fn ids_win_then_unique_names() {
        assert_eq!(resolve("a2").unwrap(), "a2");
        // "pets" is one API's id and another's name: the id wins.
        assert_eq!(resolve("pets").unwrap(), "pets");
        assert_eq!(resolve("other").unwrap(), "pets");
    }

    #[test]
    fn ambiguous_and_unknown_names_are_refused() {
        let err = resolve("shop").unwrap_err().to_string();
        assert_eq!(
            err,
            "2 APIs are named 'shop' (a2, a3); pass the id of the one you mean"
        );
        let err = resolve("nope").unwrap_err().to_string();
        assert!(err.starts_with("no API has the id or name 'nope'"), "{err}");
    }
}
