//! What every admin service does with records, written once: read through
//! one version of the store, load a record or refuse with NotFound, refuse
//! an empty id or a missing request body with the field, refuse a duplicate,
//! refuse to delete what something still uses, write in one durable batch,
//! then tell the fleet.
//!
//! Handlers keep only what is particular to them (their checks and what they
//! build); the shape around it lives here, so every service answers a
//! missing record, an empty id or a failed write the same way.

use super::ControlPlaneState;
use super::paging::PageRequest;
use crate::error::{ApiError, ApiResult};
use crate::ids;
use crate::store::{Txn, View};
use prost::Message;
use tonic::Status;

impl ControlPlaneState {
    /// Runs `f` over one consistent version of the store.
    pub(crate) fn read<T>(&self, f: impl FnOnce(&View) -> ApiResult<T>) -> Result<T, Status> {
        Ok(self.store.read(f)?)
    }

    /// One page of the records under `prefix` (see [`page_of`]).
    pub(crate) fn list_page<M: Message + Default>(
        &self,
        prefix: &str,
        page_size: i32,
        page_token: &str,
    ) -> Result<(Vec<M>, String), Status> {
        self.read(|view| page_of(view, prefix, page_size, page_token))
    }

    /// Runs `f` with exclusive write access and commits what it staged in
    /// one durable batch (nothing is written when `f` fails), then
    /// publishes it to the fleet before the call answers: its caller can
    /// then wait for the nodes to ACK the write's version.
    pub(crate) async fn write<T>(
        &self,
        f: impl FnMut(&mut Txn) -> ApiResult<T>,
    ) -> Result<T, Status> {
        let (value, _revision) = self.store.write(f).await?;
        self.sync()?;
        Ok(value)
    }

    /// Publishes what the store now holds to the fleet (see
    /// [`crate::distribution::Distribution::sync`]).
    fn sync(&self) -> Result<(), Status> {
        self.distribution
            .sync(&self.store)
            .map_err(ApiError::from)?;
        Ok(())
    }
}

/// One page of the records under `prefix`, in key order, from `view` (one
/// version of the store), and the token of the next page (empty on the
/// last); see [`PageRequest`].
pub(crate) fn page_of<M: Message + Default>(
    view: &View,
    prefix: &str,
    page_size: i32,
    page_token: &str,
) -> ApiResult<(Vec<M>, String)> {
    let page = PageRequest::new(prefix, page_size, page_token)?;
    Ok(page.take(view.scan_after(prefix, page.after()))?)
}

/// The record at `key`, or NotFound naming it as `what` says (e.g.
/// "stage 'prod' of API 'pets'").
pub(crate) fn load<M: Message + Default>(
    view: &View,
    key: &str,
    what: impl FnOnce() -> String,
) -> ApiResult<M> {
    view.get(key)?.ok_or_else(|| ApiError::NotFound(what()))
}

/// Refuses an empty id field, then loads as [`load`].
pub(crate) fn load_by_id<M: Message + Default>(
    view: &View,
    field: &str,
    id: &str,
    key: impl FnOnce(&str) -> String,
    what: impl FnOnce(&str) -> String,
) -> ApiResult<M> {
    required(field, id)?;
    load(view, &key(id), || what(id))
}

/// Refuses an empty required field.
pub(crate) fn required(field: &str, value: &str) -> ApiResult<()> {
    if value.is_empty() {
        Err(ApiError::invalid(field, "is required"))
    } else {
        Ok(())
    }
}

/// The request's body message, which proto3 makes optional.
pub(crate) fn body<T>(field: &str, value: Option<T>) -> ApiResult<T> {
    value.ok_or_else(|| ApiError::invalid(field, "is required"))
}

/// Refuses to create what exists: AlreadyExists naming it as `what` says.
pub(crate) fn ensure_absent(
    view: &View,
    key: &str,
    what: impl FnOnce() -> String,
) -> ApiResult<()> {
    if view.get_raw(key)?.is_some() {
        return Err(ApiError::AlreadyExists(what()));
    }
    Ok(())
}

/// Refuses to delete what a dependent still uses: the first of
/// `dependents` that `uses` it fails the delete, explained by `why`.
pub(crate) fn refuse_if_used<T>(
    dependents: impl IntoIterator<Item = T>,
    mut uses: impl FnMut(&T) -> bool,
    why: impl FnOnce(T) -> String,
) -> ApiResult<()> {
    match dependents.into_iter().find(|d| uses(d)) {
        Some(d) => Err(ApiError::FailedPrecondition(why(d))),
        None => Ok(()),
    }
}

/// A new random id of `len` characters that no record at `key(id)` has.
pub(crate) fn unused_id(
    view: &View,
    len: usize,
    key: impl Fn(&str) -> String,
) -> ApiResult<String> {
    ids::unused(len, |id| {
        Ok::<_, ApiError>(view.get_raw(&key(id))?.is_some())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{Store, StoreError, keys};
    use archway_proto::v1::{Resource, RestApi};

    async fn store_with_api() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        store
            .write(|txn| {
                txn.put(&keys::api("a1"), &RestApi::default());
                Ok::<_, StoreError>(())
            })
            .await
            .unwrap();
        (dir, store)
    }

    #[tokio::test]
    async fn loading_names_the_field_or_the_missing_record() {
        let (_dir, store) = store_with_api().await;
        let view = store.view();
        let load_api =
            |id| load_by_id::<RestApi>(&view, "api_id", id, keys::api, |id| format!("API '{id}'"));
        assert!(load_api("a1").is_ok());
        assert_eq!(load_api("").unwrap_err().to_string(), "api_id: is required");
        assert_eq!(
            load_api("zz").unwrap_err().to_string(),
            "API 'zz' not found"
        );
    }

    /// Pages come from the view they are read with: writes after it (a
    /// record inserted before the cursor, one after it) do not reach a
    /// page of the old view, and a later view's next page continues after
    /// the cursor without repeating or skipping a record that existed.
    #[tokio::test]
    async fn pages_read_one_version_in_key_order() {
        let (_dir, store) = store_with_api().await;
        store
            .write(|txn| {
                for i in 2..=9 {
                    txn.put(&keys::api(&format!("a{i}")), &RestApi::default());
                }
                // Another kind under a neighbouring prefix stays out.
                txn.put(&keys::resource("a1", "r"), &Resource::default());
                Ok::<_, StoreError>(())
            })
            .await
            .unwrap();
        let old = store.view();
        let (first, token) = page_of::<RestApi>(&old, keys::APIS, 4, "").unwrap();
        assert_eq!(first.len(), 4);
        store
            .write(|txn| {
                txn.put(&keys::api("a0"), &RestApi::default());
                txn.put(&keys::api("a95"), &RestApi::default());
                Ok::<_, StoreError>(())
            })
            .await
            .unwrap();
        let (rest, end) = page_of::<RestApi>(&old, keys::APIS, 100, &token).unwrap();
        assert_eq!((rest.len(), end.as_str()), (5, ""), "the old view: a5..a9");
        let (rest, _) = page_of::<RestApi>(&store.view(), keys::APIS, 100, &token).unwrap();
        assert_eq!(rest.len(), 6, "the new view: a5..a9 and a95, not a0");
    }

    #[tokio::test]
    async fn duplicates_and_used_records_are_refused() {
        let (_dir, store) = store_with_api().await;
        let view = store.view();
        let err = ensure_absent(&view, &keys::api("a1"), || "API 'a1'".into()).unwrap_err();
        assert_eq!(err.to_string(), "API 'a1' already exists");
        assert!(ensure_absent(&view, &keys::api("a2"), || unreachable!()).is_ok());
        let err = refuse_if_used([1, 2, 3], |n| *n == 2, |n| format!("{n} uses it")).unwrap_err();
        assert!(matches!(&err, ApiError::FailedPrecondition(m) if m == "2 uses it"));
        assert!(refuse_if_used([1, 3], |n| *n == 2, |_| unreachable!()).is_ok());
        let id = unused_id(&view, 6, keys::api).unwrap();
        assert_eq!(id.len(), 6);
        assert_ne!(id, "a1");
    }
}
