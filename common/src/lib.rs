//! The gatepass wire contract, shared by the server and the client so the two
//! cannot drift apart: route paths, the refresh cookie's name, error codes, and
//! every request and response body. No I/O lives here.

pub mod error;
pub mod paths;
pub mod wire;

pub use error::{ErrorBody, ErrorCode, FieldError};
pub use wire::*;

/// The cookie that carries the refresh token (the reference tutorial's name).
pub const REFRESH_COOKIE: &str = "refreshTkn";

/// The header a front-end may send with `/forgotpass` to choose the base of the
/// reset link; honoured only for allowed origins.
pub const RESET_BASE_HEADER: &str = "X-reset-base";
