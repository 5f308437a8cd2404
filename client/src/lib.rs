//! The gatepass client library: the API client every command and the TUI
//! use, and where it keeps the access token and the refresh cookie. Only
//! `cli` (the `gatepass` command) prints; `ApiClient` hands notices for the
//! user back to its caller, so a TUI can show them its own way.

pub mod api;
pub mod cli;
pub mod config;
pub mod display;
pub mod error;
pub mod jwt;
pub mod qr;
pub mod store;
pub mod tui;

pub use api::{ApiClient, ClientConfig, Login, LogoutOutcome, SecondFactor, Status};
pub use error::{ClientError, Result};
