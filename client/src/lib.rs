//! The gatepass client library: the API client every command and the TUI
//! use, and where it keeps the access token and the refresh cookie. Only
//! `cli` (the `gatepass` command) prints; `ApiClient` hands notices for the
//! user back to its caller, so a TUI can show them its own way.
//!
//! The `app` feature (on by default) adds the `gatepass` command (`cli`),
//! the terminal app (`tui`) and the QR drawing they use (`qr`); a program
//! that wants only the API client turns default features off and builds
//! without ratatui, crossterm or clap.

pub mod api;
#[cfg(feature = "app")]
pub mod cli;
pub mod config;
pub mod display;
pub mod error;
pub mod jwt;
#[cfg(feature = "app")]
pub mod qr;
pub mod store;
#[cfg(feature = "app")]
pub mod tui;

pub use api::{ApiClient, ClientConfig, Login, LogoutOutcome, SecondFactor, Status};
pub use error::{ClientError, Result};
