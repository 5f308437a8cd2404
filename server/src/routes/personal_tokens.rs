//! Personal access tokens: make, list and revoke them (signed-in sessions
//! only), and exchange one for an access token (scripts and CI).

use gatepass_common::{
    CreateTokenRequest, CreatedTokenResponse, ErrorBody, ReauthResponse, TokensResponse,
};
use rocket::http::Status;
use rocket::serde::json::Json;
use rocket::{delete, get, post, Request};

use super::guards::{PerAddress, SessionUser};
use super::responses::{
    OriginNotAllowed, PayloadTooLarge, TooManyAttempts, Unauthorized, UnsupportedMediaType,
    ValidationFailed,
};
use crate::accounts::Accounts;
use crate::auth::ClientInfo;
use crate::cors::AllowedOrigin;
use crate::error::{ApiError, ApiResult};
use crate::json::ApiJson;
use crate::sessions::Sessions;
use crate::throttle;

/// Make a personal access token
///
/// 201 with the token (`gp_pat_…`), shown this once and stored only as an
/// HMAC. `expiresIn` in the settings' forms (`30d`, `12h`), at most `365d`,
/// `90d` if left out; with two-factor sign-in on, also `code`. Only a
/// signed-in session may (403 `session_required` for a personal token's
/// access token). Master-logout, a password change and a password reset do
/// not revoke personal tokens: revoke them here.
#[utoipa::path(
    operation_id = "createToken",
    tag = "tokens",
    security(("bearer" = [])),
    request_body = CreateTokenRequest,
    responses(
        (status = 201, description = "The token, shown this once.", body = CreatedTokenResponse),
        (status = 400, description = "A wrong code (`invalid_code`) or malformed JSON.", body = ErrorBody),
        (status = 401, response = Unauthorized),
        (status = 403, description = "A personal token's access token (`session_required`), a \
            missing second factor (`mfa_required`), or a page whose origin is not allowed.",
            body = ErrorBody),
        (status = 413, response = PayloadTooLarge),
        (status = 415, response = UnsupportedMediaType),
        (status = 422, response = ValidationFailed),
        (status = 429, response = TooManyAttempts),
    ),
)]
#[post("/tokens", data = "<body>")]
pub async fn create(
    _origin: AllowedOrigin,
    auth: SessionUser,
    accounts: Accounts<'_>,
    client: ClientInfo,
    body: ApiJson<CreateTokenRequest>,
) -> ApiResult<(Status, Json<CreatedTokenResponse>)> {
    let created = accounts
        .create_personal_token(&auth.user, &auth.session_id, &body.0, &client)
        .await?;
    Ok((Status::Created, Json(created)))
}

/// List personal access tokens
///
/// The user's live tokens, newest first: never their secrets.
#[utoipa::path(
    operation_id = "listTokens",
    tag = "tokens",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The tokens.", body = TokensResponse),
        (status = 401, response = Unauthorized),
        (status = 403, description = "A personal token's access token (`session_required`).",
            body = ErrorBody),
    ),
)]
#[get("/tokens")]
pub async fn list(auth: SessionUser, accounts: Accounts<'_>) -> ApiResult<Json<TokensResponse>> {
    Ok(Json(TokensResponse {
        success: true,
        tokens: accounts.personal_tokens(&auth.user).await?,
    }))
}

/// Revoke a personal access token
///
/// 204: the token and the access tokens it minted stop working at once. Another
/// user's token, or an unknown one: 404 `token_not_found`.
#[utoipa::path(
    operation_id = "revokeToken",
    tag = "tokens",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "The token's id.")),
    responses(
        (status = 204, description = "Revoked."),
        (status = 401, response = Unauthorized),
        (status = 403, description = "A personal token's access token (`session_required`), or a \
            page whose origin is not allowed.", body = ErrorBody),
        (status = 404, description = "No such token of this user (`token_not_found`).", body = ErrorBody),
    ),
)]
#[delete("/tokens/<id>")]
pub async fn revoke(
    _origin: AllowedOrigin,
    auth: SessionUser,
    sessions: Sessions<'_>,
    client: ClientInfo,
    id: &str,
) -> ApiResult<Status> {
    sessions
        .revoke_personal_token(&auth.user.id, id, &auth.session_id, &client)
        .await?;
    Ok(Status::NoContent)
}

/// The personal access token of `Authorization: Bearer gp_pat_…`.
pub struct PersonalTokenHeader(String);

#[rocket::async_trait]
impl<'r> rocket::request::FromRequest<'r> for PersonalTokenHeader {
    type Error = ApiError;

    async fn from_request(request: &'r Request<'_>) -> rocket::request::Outcome<Self, ApiError> {
        let token = request
            .headers()
            .get_one("Authorization")
            .and_then(|h| h.trim().split_once(' '))
            .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
            .map(|(_, token)| token.trim().to_owned())
            .filter(|token| !token.is_empty());
        match token {
            Some(token) => rocket::request::Outcome::Success(PersonalTokenHeader(token)),
            None => {
                let (status, error) = crate::error::remember(request, ApiError::InvalidApiToken);
                rocket::request::Outcome::Error((status, error))
            }
        }
    }
}

/// Exchange a personal access token for an access token
///
/// `Authorization: Bearer gp_pat_…`, no body: 200 `{success, accessToken}`, an
/// access token like a login's whose session is the personal token (revoking
/// it stops the access token on this server at once). No cookie. Limited per
/// token and per client address. An unknown, expired or revoked token: 401
/// `invalid_api_token`.
#[utoipa::path(
    operation_id = "exchangeToken",
    tag = "tokens",
    security(("personalToken" = [])),
    responses(
        (status = 200, description = "An access token.", body = ReauthResponse),
        (status = 401, response = Unauthorized),
        (status = 429, response = TooManyAttempts),
        (status = 403, response = OriginNotAllowed),
    ),
)]
#[post("/token")]
pub async fn exchange(
    _limit: PerAddress<throttle::TokenExchange>,
    token: PersonalTokenHeader,
    sessions: Sessions<'_>,
    client: ClientInfo,
) -> ApiResult<Json<ReauthResponse>> {
    let access_token = sessions.exchange_personal_token(&token.0, &client).await?;
    Ok(Json(ReauthResponse {
        success: true,
        access_token,
    }))
}
