//! `state.json`: the non-secret facts about one server's sign-in: which token
//! store holds the access token (so later commands read the right one without
//! probing every keyring) and the user who signed in (for `gatepass status`).

use std::path::Path;

use gatepass_common::User;
use serde::{Deserialize, Serialize};

use super::token::Backend;
use super::{read_optional, write_atomic};
use crate::error::{ClientError, Result};

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct State {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_store: Option<Backend>,
    /// Why `auto` fell back to the file (shown by `gatepass status`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_store_fallback: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<User>,
}

impl State {
    /// Reads the state; a missing file is the empty state.
    pub fn load(path: &Path) -> Result<State> {
        let Some(bytes) = read_optional(path)? else {
            return Ok(State::default());
        };
        serde_json::from_slice(&bytes).map_err(|e| ClientError::CorruptStore {
            what: "the sign-in state file",
            location: path.display().to_string(),
            detail: e.to_string(),
        })
    }

    pub fn save(&self, path: &Path) -> Result<()> {
        let json = serde_json::to_vec_pretty(self)
            .map_err(|e| ClientError::Protocol(format!("cannot encode the state: {e}")))?;
        write_atomic(path, &json)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_round_trips_and_reports_corruption() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.json");
        assert_eq!(State::load(&path).unwrap(), State::default());
        let state = State {
            token_store: Some(Backend::File),
            token_store_fallback: Some("no keyring".into()),
            user: None,
        };
        state.save(&path).unwrap();
        assert_eq!(State::load(&path).unwrap(), state);
        std::fs::write(&path, b"{not json").unwrap();
        let err = State::load(&path).unwrap_err();
        assert!(matches!(err, ClientError::CorruptStore { .. }), "{err}");
    }
}
