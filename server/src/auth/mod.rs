//! Who is asking: passwords, access tokens (JWT), refresh and reset tokens
//! (opaque, stored hashed), the refresh cookie, and the request guards that put
//! them together.

pub mod client;
pub mod cookie;
pub mod guards;
pub mod opaque;
pub mod password;
pub mod tokens;

pub use client::ClientInfo;
pub use guards::AuthUser;
