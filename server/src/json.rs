//! `ApiJson<T>`: a JSON body guard whose failures speak the API's error body.
//!
//! A body that is not `application/json` (parameters such as `charset` are
//! fine) gets 415 before it is read: `text/plain`, form and multipart bodies
//! are what a hostile page can send cross-site without a CORS preflight, so
//! requiring JSON makes every browser ask first. Bodies over 16 KiB get 413 (checked against `Content-Length` first, then
//! while reading, for chunked bodies), malformed JSON 400, JSON of the wrong
//! shape 422. Rocket's own `Json` would answer some of these with HTML.

use rocket::data::{self, Data, FromData, ToByteUnit};
use rocket::request::Request;
use serde::de::DeserializeOwned;

use crate::error::{remember, ApiError};
use gatepass_common::FieldError;

pub const MAX_BODY_BYTES: u64 = 16 * 1024;

pub struct ApiJson<T>(pub T);

#[rocket::async_trait]
impl<'r, T: DeserializeOwned> FromData<'r> for ApiJson<T> {
    type Error = ApiError;

    async fn from_data(request: &'r Request<'_>, data: Data<'r>) -> data::Outcome<'r, Self> {
        match read(request, data).await {
            Ok(value) => data::Outcome::Success(ApiJson(value)),
            Err(e) => data::Outcome::Error(remember(request, e)),
        }
    }
}

async fn read<T: DeserializeOwned>(request: &Request<'_>, data: Data<'_>) -> Result<T, ApiError> {
    // `is_json` compares the type and subtype only (case-insensitively), so
    // `application/json; charset=utf-8` is JSON.
    if !request.content_type().is_some_and(|ct| ct.is_json()) {
        return Err(ApiError::UnsupportedMediaType);
    }
    if request
        .headers()
        .get_one("Content-Length")
        .and_then(|len| len.trim().parse::<u64>().ok())
        .is_some_and(|len| len > MAX_BODY_BYTES)
    {
        return Err(ApiError::PayloadTooLarge);
    }
    let bytes = data
        .open(MAX_BODY_BYTES.bytes())
        .into_bytes()
        .await
        .map_err(|e| ApiError::MalformedJson(format!("reading the body: {e}")))?;
    if !bytes.is_complete() {
        return Err(ApiError::PayloadTooLarge);
    }
    serde_json::from_slice(&bytes.into_inner()).map_err(|e| {
        if e.is_data() {
            ApiError::Validation(vec![FieldError::body(
                "body",
                format!(
                    "The body has a field of the wrong type ({})",
                    strip_position(&e.to_string())
                ),
            )])
        } else {
            ApiError::MalformedJson(e.to_string())
        }
    })
}

/// serde_json's messages end in " at line 1 column 12", which helps nobody.
fn strip_position(message: &str) -> &str {
    message.split(" at line ").next().unwrap_or(message)
}
