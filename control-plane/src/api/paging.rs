//! Pages of every List* call, written once (see "Lists" in admin.proto).
//!
//! A page is `page_size` records (0: [`DEFAULT_PAGE_SIZE`], capped at
//! [`MAX_PAGE_SIZE`]) in the order of a cursor that every record of the
//! list has and that never repeats: the record's store key below the
//! list's prefix for store lists, read in one range scan from one
//! [`crate::store::View`], so a page costs O(log n + page) whatever the
//! list's length. The page token carries the list's scope (its prefix and
//! filter) and the cursor of the last record given, base64url-encoded:
//! opaque to clients, refused when malformed or when it comes from another
//! list (another API's resources, another call), so a token can never make
//! one list continue with another's records.

use crate::error::{ApiError, ApiResult};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

pub(crate) const DEFAULT_PAGE_SIZE: usize = 100;
pub(crate) const MAX_PAGE_SIZE: usize = archway_proto::paging::MAX_PAGE_SIZE as usize;

/// Marks (and versions) the token format.
const MAGIC: &[u8] = b"pg1";

/// Where a page starts and how long it is, read from a List* request.
#[derive(Debug)]
pub(crate) struct PageRequest {
    scope: String,
    size: usize,
    after: Option<String>,
}

impl PageRequest {
    /// Reads `page_size` and `page_token` of a request to the list
    /// `scope` names (e.g. `res/{api}/`, or a prefix plus its filter).
    pub(crate) fn new(
        scope: impl Into<String>,
        page_size: i32,
        page_token: &str,
    ) -> ApiResult<Self> {
        let scope = scope.into();
        let size = match page_size {
            0 => DEFAULT_PAGE_SIZE,
            n if n < 0 => {
                return Err(ApiError::invalid(
                    "page_size",
                    format!(
                        "{n} is negative; use 1 to {MAX_PAGE_SIZE}, or 0 for {DEFAULT_PAGE_SIZE}"
                    ),
                ));
            }
            n => (n as usize).min(MAX_PAGE_SIZE),
        };
        let after = if page_token.is_empty() {
            None
        } else {
            Some(decode(&scope, page_token)?)
        };
        Ok(Self { scope, size, after })
    }

    /// The cursor of the last record the previous page gave.
    pub(crate) fn after(&self) -> Option<&str> {
        self.after.as_deref()
    }

    /// The page from `records`: (cursor, record) pairs in cursor order,
    /// starting anywhere at or before the page (those at or before
    /// [`Self::after`] are skipped). Returns the records and the token of
    /// the next page (empty when this is the last).
    pub(crate) fn take<T, E>(
        &self,
        records: impl IntoIterator<Item = Result<(String, T), E>>,
    ) -> Result<(Vec<T>, String), E> {
        let mut items = Vec::with_capacity(self.size.min(64));
        let mut last = None;
        for record in records {
            let (cursor, item) = record?;
            if self
                .after
                .as_deref()
                .is_some_and(|after| cursor.as_str() <= after)
            {
                continue;
            }
            if items.len() == self.size {
                // One more exists: this page is not the last.
                let next = encode(&self.scope, last.as_deref().unwrap_or_default());
                return Ok((items, next));
            }
            items.push(item);
            last = Some(cursor);
        }
        Ok((items, String::new()))
    }
}

fn encode(scope: &str, cursor: &str) -> String {
    let mut raw = Vec::with_capacity(MAGIC.len() + 2 + scope.len() + cursor.len());
    raw.extend_from_slice(MAGIC);
    raw.extend_from_slice(&(scope.len() as u16).to_be_bytes());
    raw.extend_from_slice(scope.as_bytes());
    raw.extend_from_slice(cursor.as_bytes());
    URL_SAFE_NO_PAD.encode(raw)
}

fn decode(scope: &str, token: &str) -> ApiResult<String> {
    let malformed = || {
        ApiError::invalid(
            "page_token",
            "is not a page token of this API; pass next_page_token unchanged, or none for the first page",
        )
    };
    let raw = URL_SAFE_NO_PAD.decode(token).map_err(|_| malformed())?;
    let rest = raw.strip_prefix(MAGIC).ok_or_else(malformed)?;
    let (len, rest) = rest.split_first_chunk::<2>().ok_or_else(malformed)?;
    let len = usize::from(u16::from_be_bytes(*len));
    if rest.len() < len {
        return Err(malformed());
    }
    let (token_scope, cursor) = rest.split_at(len);
    if token_scope != scope.as_bytes() {
        return Err(ApiError::invalid(
            "page_token",
            "belongs to another list (another call, or another API, resource or principal); start this list without a token",
        ));
    }
    let cursor = String::from_utf8(cursor.to_vec()).map_err(|_| malformed())?;
    if cursor.is_empty() {
        return Err(malformed());
    }
    Ok(cursor)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn records(n: usize) -> Vec<Result<(String, usize), ApiError>> {
        (0..n).map(|i| Ok((format!("{i:05}"), i))).collect()
    }

    /// Follows every page of `n` records with `size`, as a client would.
    fn all(n: usize, size: i32) -> (Vec<usize>, Vec<usize>) {
        let (mut seen, mut sizes) = (Vec::new(), Vec::new());
        let mut token = String::new();
        for _ in 0..=n + 1 {
            let page = PageRequest::new("api/", size, &token).unwrap();
            let (items, next) = page.take(records(n)).unwrap();
            sizes.push(items.len());
            seen.extend(items);
            if next.is_empty() {
                return (seen, sizes);
            }
            token = next;
        }
        panic!("the pages never ended");
    }

    #[test]
    fn pages_cover_every_record_once_at_the_asked_size() {
        let (seen, sizes) = all(1001, 250);
        assert_eq!(seen, (0..1001).collect::<Vec<_>>());
        assert_eq!(sizes, vec![250, 250, 250, 250, 1]);
        // An exact multiple ends without an empty extra page.
        let (seen, sizes) = all(500, 250);
        assert_eq!(seen.len(), 500);
        assert_eq!(sizes, vec![250, 250]);
        let (seen, sizes) = all(0, 10);
        assert!(seen.is_empty());
        assert_eq!(sizes, vec![0]);
    }

    #[test]
    fn sizes_default_and_cap() {
        assert_eq!(all(250, 0).1, vec![100, 100, 50]);
        assert_eq!(all(2500, 5000).1, vec![1000, 1000, 500]);
        let err = PageRequest::new("api/", -1, "").unwrap_err();
        assert!(
            err.to_string().starts_with("page_size: -1 is negative"),
            "{err}"
        );
    }

    #[test]
    fn a_page_starts_after_its_cursor_even_when_records_changed() {
        let page = PageRequest::new("api/", 2, "").unwrap();
        let (_, token) = page.take(records(10)).unwrap();
        // Record 00001 (the cursor) was deleted meanwhile: the next page
        // still starts after it.
        let rest: Vec<_> = records(10)
            .into_iter()
            .filter(|r| r.as_ref().unwrap().1 != 1)
            .collect();
        let (items, _) = PageRequest::new("api/", 2, &token)
            .unwrap()
            .take(rest)
            .unwrap();
        assert_eq!(items, vec![2, 3]);
    }

    #[test]
    fn malformed_and_foreign_tokens_are_refused() {
        let (_, token) = PageRequest::new("res/a/", 1, "")
            .unwrap()
            .take(records(3))
            .unwrap();
        assert!(PageRequest::new("res/a/", 1, &token).is_ok());
        let foreign = PageRequest::new("res/b/", 1, &token)
            .unwrap_err()
            .to_string();
        assert!(
            foreign.starts_with("page_token: belongs to another list"),
            "{foreign}"
        );
        let mut altered = token.clone();
        altered.insert(0, 'x');
        for bad in [
            "!!",
            "cGcx",
            &altered,
            &URL_SAFE_NO_PAD.encode(b"pg1\x00\x06res/a/"),
        ] {
            let err = PageRequest::new("res/a/", 1, bad).unwrap_err().to_string();
            assert!(err.starts_with("page_token: "), "{bad}: {err}");
        }
    }
}
