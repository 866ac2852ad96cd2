//! Following the pages of the admin API's List* calls, written once for
//! every client (the CLI, the all-in-one, the tests).
//!
//! Every List* request has `page_size` and `page_token`, every response
//! `next_page_token` (empty on the last page). [`all_pages`] asks for pages
//! until the server says there are no more, and refuses a server that hands
//! back a token it already gave (it would loop forever).

use crate::v1::*;
use std::future::Future;

/// A List* request: where the next page starts.
pub trait PagedRequest: Clone {
    fn set_page(&mut self, page_size: i32, page_token: String);
}

/// A List* response: its items and the token of the next page.
pub trait PagedResponse {
    type Item;
    fn into_page(self) -> (Vec<Self::Item>, String);
}

macro_rules! paged {
    ($($request:ty => $response:ty, $items:ident: $item:ty;)*) => {$(
        impl PagedRequest for $request {
            fn set_page(&mut self, page_size: i32, page_token: String) {
                self.page_size = page_size;
                self.page_token = page_token;
            }
        }
        impl PagedResponse for $response {
            type Item = $item;
            fn into_page(self) -> (Vec<Self::Item>, String) {
                (self.$items, self.next_page_token)
            }
        }
    )*};
}

paged! {
    ListRestApisRequest => ListRestApisResponse, items: RestApi;
    ListResourcesRequest => ListResourcesResponse, items: Resource;
    ListMethodsRequest => ListMethodsResponse, items: Method;
    ListAuthorizersRequest => ListAuthorizersResponse, items: Authorizer;
    ListDeploymentsRequest => ListDeploymentsResponse, items: Deployment;
    ListStagesRequest => ListStagesResponse, items: Stage;
    ListApiKeysRequest => ListApiKeysResponse, items: ApiKey;
    ListUsagePlansRequest => ListUsagePlansResponse, items: UsagePlan;
    ListTokensRequest => ListTokensResponse, items: AdminToken;
    ListPrincipalsRequest => ListPrincipalsResponse, items: IamPrincipal;
    ListAccessKeysRequest => ListAccessKeysResponse, items: AccessKey;
    ListModelsRequest => ListModelsResponse, items: Model;
    ListRequestValidatorsRequest => ListRequestValidatorsResponse, items: RequestValidator;
    ListOutboundCredentialsRequest => ListOutboundCredentialsResponse, items: OutboundCredential;
    ListNodesRequest => ListNodesResponse, nodes: NodeStatus;
}

/// The largest page the admin API serves; [`all_pages`] asks for it, so a
/// list of n records takes ⌈n / 1000⌉ calls.
pub const MAX_PAGE_SIZE: i32 = 1000;

/// Pages a list may span before [`all_pages`] gives up: far more than any
/// configuration holds (a billion records at the largest page size).
const MAX_PAGES: usize = 1_000_000;

/// Every item of a list: calls `list` with `request` for the first page,
/// then with each `next_page_token` until the last page.
pub async fn all_pages<Q, R, E, F, Fut>(mut request: Q, mut list: F) -> Result<Vec<R::Item>, E>
where
    Q: PagedRequest,
    R: PagedResponse,
    E: From<tonic::Status>,
    F: FnMut(Q) -> Fut,
    Fut: Future<Output = Result<R, E>>,
{
    let mut items = Vec::new();
    let mut token = String::new();
    let mut seen = std::collections::HashSet::new();
    for _ in 0..MAX_PAGES {
        request.set_page(MAX_PAGE_SIZE, token);
        let (page, next) = list(request.clone()).await?.into_page();
        items.extend(page);
        if next.is_empty() {
            return Ok(items);
        }
        if !seen.insert(next.clone()) {
            return Err(tonic::Status::internal(
                "the server repeated a page token; the list would never end",
            )
            .into());
        }
        token = next;
    }
    Err(tonic::Status::internal(format!("the list spans more than {MAX_PAGES} pages")).into())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A server over `total` numbered APIs, pages of `size`, tokens that
    /// are the next index.
    fn page(total: usize, size: usize, req: &ListRestApisRequest) -> ListRestApisResponse {
        let start: usize = if req.page_token.is_empty() {
            0
        } else {
            req.page_token.parse().unwrap()
        };
        let end = (start + size).min(total);
        ListRestApisResponse {
            items: (start..end)
                .map(|i| RestApi {
                    id: i.to_string(),
                    ..Default::default()
                })
                .collect(),
            next_page_token: if end < total {
                end.to_string()
            } else {
                String::new()
            },
        }
    }

    fn block_on<T>(f: impl Future<Output = T>) -> T {
        // The futures here never wait: one poll finishes them.
        let mut f = std::pin::pin!(f);
        let waker = std::task::Waker::noop();
        match f.as_mut().poll(&mut std::task::Context::from_waker(waker)) {
            std::task::Poll::Ready(v) => v,
            std::task::Poll::Pending => panic!("pending"),
        }
    }

    #[test]
    fn every_page_is_followed_once() {
        let mut calls = 0;
        let items = block_on(all_pages(ListRestApisRequest::default(), |req| {
            calls += 1;
            assert_eq!(req.page_size, MAX_PAGE_SIZE);
            std::future::ready(Ok::<_, tonic::Status>(page(2500, 1000, &req)))
        }))
        .unwrap();
        assert_eq!(calls, 3);
        let ids: Vec<usize> = items.iter().map(|a| a.id.parse().unwrap()).collect();
        assert_eq!(ids, (0..2500).collect::<Vec<_>>());
    }

    #[test]
    fn a_repeated_token_is_refused_instead_of_looping() {
        let err = block_on(all_pages(ListRestApisRequest::default(), |_req| {
            std::future::ready(Ok::<_, tonic::Status>(ListRestApisResponse {
                items: vec![],
                next_page_token: "same".into(),
            }))
        }))
        .unwrap_err();
        assert!(err.message().contains("repeated a page token"), "{err}");
    }
}
