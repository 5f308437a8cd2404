//! Rocket's catchers, all answering with the API's JSON error body: a guard's
//! remembered `ApiError` when there is one, else the bare status (unknown
//! route, wrong method, a panic's 500 with nothing leaked).

use rocket::http::Status;
use rocket::{Catcher, Request};

use crate::error::{remembered, ApiError};

#[rocket::catch(default)]
fn default_catcher(status: Status, request: &Request<'_>) -> ApiError {
    remembered(request)
        .filter(|e| e.status() == status)
        .unwrap_or(ApiError::Status(status))
}

pub fn catchers() -> Vec<Catcher> {
    rocket::catchers![default_catcher]
}
