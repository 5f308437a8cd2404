//! Who is asking: passwords, access tokens (JWT), refresh and reset tokens
//! (opaque, stored hashed), the refresh cookie, and the client's address.
//! (The request guards that put them together are in `routes/guards.rs`.)

pub mod client;
pub mod cookie;
pub mod keys;
pub mod opaque;
pub mod password;
pub mod seal;
pub mod tokens;
pub mod totp;

pub use client::ClientInfo;
