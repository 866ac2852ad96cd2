//! AdminTokenService: tokens for operators, read-only tools and nodes.

use super::SharedState;
use super::paging::PageRequest;
use crate::auth;
use crate::error::ApiError;
use crate::store::keys;
use crate::validate;
use archway_proto::v1::admin_token_service_server::AdminTokenService;
use archway_proto::v1::*;
use tonic::{Request, Response, Status};

pub struct Tokens {
    state: SharedState,
}

impl Tokens {
    pub fn new(state: SharedState) -> Self {
        Self { state }
    }
}

#[tonic::async_trait]
impl AdminTokenService for Tokens {
    async fn create_token(
        &self,
        request: Request<CreateTokenRequest>,
    ) -> Result<Response<CreateTokenResponse>, Status> {
        let req = request.into_inner();
        validate::name("name", &req.name)?;
        let role = match TokenRole::try_from(req.role) {
            Ok(r @ (TokenRole::Admin | TokenRole::ReadOnly | TokenRole::Node)) => r,
            _ => return Err(ApiError::invalid("role", "must be ADMIN, READ_ONLY or NODE").into()),
        };
        let secret = auth::generate();
        let token = self
            .state
            .write(|txn| auth::insert(txn, &secret, &req.name, role))
            .await?;
        Ok(Response::new(CreateTokenResponse {
            token: Some(token),
            secret,
        }))
    }

    /// In id order. Tokens are stored under their full hash, which no
    /// answer shows; so the pages follow the public id, not the store key,
    /// and page tokens carry only ids.
    async fn list_tokens(
        &self,
        request: Request<ListTokensRequest>,
    ) -> Result<Response<ListTokensResponse>, Status> {
        let req = request.into_inner();
        let page = PageRequest::new(keys::ADMIN_TOKENS, req.page_size, &req.page_token)?;
        let mut tokens: Vec<AdminToken> = self
            .state
            .read(|view| Ok::<_, ApiError>(view.scan(keys::ADMIN_TOKENS)?))?;
        tokens.sort_by(|a, b| a.id.cmp(&b.id));
        let (items, next_page_token) = page.take(
            tokens
                .into_iter()
                .map(|t| Ok::<_, ApiError>((t.id.clone(), t))),
        )?;
        Ok(Response::new(ListTokensResponse {
            items,
            next_page_token,
        }))
    }

    async fn delete_token(
        &self,
        request: Request<DeleteTokenRequest>,
    ) -> Result<Response<Empty>, Status> {
        let req = request.into_inner();
        let prefix = format!("{}{}", keys::ADMIN_TOKENS, req.id);
        if req.id.len() < 12 {
            return Err(ApiError::invalid("id", "is the 12-digit id ListTokens shows").into());
        }
        self.state
            .write(|txn| {
                if !txn.any_under(&prefix) {
                    return Err(ApiError::NotFound(format!("token '{}'", req.id)));
                }
                txn.delete_prefix(&prefix)?;
                Ok(())
            })
            .await?;
        Ok(Response::new(Empty {}))
    }
}
