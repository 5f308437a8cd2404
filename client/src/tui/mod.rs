//! The full-screen terminal app (`gatepass`, `gatepass tui`), in the Elm
//! style: one `App` state, a pure `update(&mut App, Message) -> Vec<Command>`,
//! a `view(&App, &mut Frame)`. The runner turns keys, ticks and answers from
//! the server into messages and runs commands as tasks, so the screen never
//! waits on the network. One module per screen; a screen's state lives in
//! its variant of `app::Screen` and goes with it, and a screen opens
//! another by building that one's state. The form screens share
//! `form::Form`, generic over each form's field and button enums.

pub mod account;
pub mod app;
pub mod confirm;
pub mod forgot;
pub mod form;
pub mod help;
pub mod reset;
mod runner;
pub mod sign_in;
pub mod sign_up;
pub mod status;
pub mod theme;
pub mod tokens;
pub mod two_factor;
pub mod view;

#[cfg(test)]
pub(crate) mod testing;

pub use app::{update, App, Command, Message, Screen, ScreenId};
pub use view::view;

use crate::api::ApiClient;
use crate::error::Result;

/// Opens the app on the terminal and returns when the user quits. The
/// terminal is restored on every way out, a panic included.
pub async fn run(client: ApiClient) -> Result<()> {
    runner::run(client).await
}
