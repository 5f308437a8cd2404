//! The routes, one thin method each: build the request, send it (with the
//! session's access token where the route needs one), read the answer.

use gatepass_common::{
    paths, ChangePasswordRequest, CreateTokenRequest, CreatedTokenResponse, ErrorCode,
    ForgotPasswordRequest, LoginRequest, LoginSecondFactorRequest, MessageResponse,
    MfaRequiredBody, PersonalToken, RecoveryCodesResponse, ResetPasswordRequest,
    SecondFactorStatus, SessionInfo, SessionsResponse, SignupRequest, TokensResponse,
    TotpCodeRequest, TotpDisableRequest, TotpSetupRequest, TotpSetupResponse, User, UserResponse,
    UserView, UserViewResponse,
};
use reqwest::{Method, StatusCode, Url};
use serde::Serialize;

use super::{ApiClient, Login, SecondFactor};
use crate::error::{ClientError, Result};

impl ApiClient {
    // ---- the routes ------------------------------------------------------

    /// `POST /signup`: creates the account and signs in.
    pub async fn signup(&self, request: &SignupRequest) -> Result<User> {
        self.stored()?;
        let reply = self
            .send(Method::POST, paths::SIGNUP, Some(json(request)?), None)
            .await?
            .expect(Some(StatusCode::CREATED))?;
        self.signed_in(reply.json()?).await
    }

    /// `POST /login`. With two-factor sign-in on, the right password
    /// answers [`Login::MfaRequired`] and stores nothing; finish with
    /// [`ApiClient::login_second_factor`].
    pub async fn login(&self, email: &str, password: &str) -> Result<Login> {
        self.stored()?;
        let request = LoginRequest {
            email: email.to_owned(),
            password: password.to_owned(),
        };
        let reply = self
            .send(Method::POST, paths::LOGIN, Some(json(&request)?), None)
            .await?;
        if reply.status == StatusCode::FORBIDDEN {
            if let Ok(body) = serde_json::from_slice::<MfaRequiredBody>(&reply.body) {
                if body.code == ErrorCode::MfaRequired && !body.mfa_token.is_empty() {
                    return Ok(Login::MfaRequired {
                        mfa_token: body.mfa_token,
                    });
                }
            }
        }
        let reply = reply.expect(Some(StatusCode::OK))?;
        Ok(Login::SignedIn(self.signed_in(reply.json()?).await?))
    }

    /// `POST /login/2fa`: completes a sign-in that answered
    /// [`Login::MfaRequired`]; stores the token and the cookie exactly as
    /// a sign-in without a second factor does.
    pub async fn login_second_factor(
        &self,
        mfa_token: &str,
        factor: &SecondFactor,
    ) -> Result<User> {
        self.stored()?;
        let (code, recovery_code) = match factor {
            SecondFactor::Code(code) => (Some(code.trim().to_owned()), None),
            SecondFactor::RecoveryCode(code) => (None, Some(code.trim().to_owned())),
        };
        let request = LoginSecondFactorRequest {
            mfa_token: mfa_token.to_owned(),
            code,
            recovery_code,
        };
        let reply = self
            .send(
                Method::POST,
                paths::LOGIN_SECOND_FACTOR,
                Some(json(&request)?),
                None,
            )
            .await?
            .expect(Some(StatusCode::OK))?;
        self.signed_in(reply.json()?).await
    }

    /// `GET /2fa`: whether sign-in asks for a code, and how many recovery
    /// codes are left.
    pub async fn second_factor_status(&self) -> Result<SecondFactorStatus> {
        self.authed(Method::GET, paths::SECOND_FACTOR, Some(StatusCode::OK))
            .await?
            .json()
    }

    /// `POST /2fa/totp/setup`: a new secret for the authenticator app
    /// (replacing an unconfirmed one). Nothing is on until
    /// [`ApiClient::totp_confirm`].
    pub async fn totp_setup(&self, current_password: &str) -> Result<TotpSetupResponse> {
        let request = TotpSetupRequest {
            current_password: current_password.to_owned(),
        };
        self.authed_with(
            Method::POST,
            paths::TOTP_SETUP,
            Some(json(&request)?),
            Some(StatusCode::OK),
        )
        .await?
        .json()
    }

    /// `POST /2fa/totp/confirm`: a right code turns TOTP on; the answer is
    /// the ten recovery codes, shown this once.
    pub async fn totp_confirm(&self, code: &str) -> Result<Vec<String>> {
        let request = TotpCodeRequest {
            code: code.trim().to_owned(),
        };
        let reply = self
            .authed_with(
                Method::POST,
                paths::TOTP_CONFIRM,
                Some(json(&request)?),
                Some(StatusCode::OK),
            )
            .await?;
        Ok(reply.json::<RecoveryCodesResponse>()?.recovery_codes)
    }

    /// `POST /2fa/recovery-codes`: ten new recovery codes replace the old ones.
    pub async fn regenerate_recovery_codes(&self, code: &str) -> Result<Vec<String>> {
        let request = TotpCodeRequest {
            code: code.trim().to_owned(),
        };
        let reply = self
            .authed_with(
                Method::POST,
                paths::RECOVERY_CODES,
                Some(json(&request)?),
                Some(StatusCode::OK),
            )
            .await?;
        Ok(reply.json::<RecoveryCodesResponse>()?.recovery_codes)
    }

    /// `DELETE /2fa/totp`: turns TOTP off; `code` may be a recovery code.
    pub async fn totp_disable(&self, current_password: &str, code: &str) -> Result<()> {
        let request = TotpDisableRequest {
            current_password: current_password.to_owned(),
            code: code.trim().to_owned(),
        };
        self.authed_with(
            Method::DELETE,
            paths::TOTP,
            Some(json(&request)?),
            Some(StatusCode::OK),
        )
        .await?;
        Ok(())
    }

    /// `POST /change-password`: every other session ends, this one goes on.
    /// With two-factor sign-in on, `code` (an authenticator or recovery
    /// code) is needed; without it the server answers 403 `mfa_required`.
    pub async fn change_password(
        &self,
        current_password: &str,
        new_password: &str,
        code: Option<&str>,
    ) -> Result<MessageResponse> {
        let request = ChangePasswordRequest {
            current_password: current_password.to_owned(),
            password: new_password.to_owned(),
            password_confirm: new_password.to_owned(),
            code: code.map(|c| c.trim().to_owned()),
        };
        self.authed_with(
            Method::POST,
            paths::CHANGE_PASSWORD,
            Some(json(&request)?),
            Some(StatusCode::OK),
        )
        .await?
        .json()
    }

    /// `GET /me`.
    pub async fn me(&self) -> Result<User> {
        let reply = self
            .authed(Method::GET, paths::ME, Some(StatusCode::OK))
            .await?;
        Ok(reply.json::<UserResponse>()?.user)
    }

    /// `GET /:id`: the full user for one's own id, a public profile (no
    /// email) for anyone else's.
    pub async fn user(&self, id: &str) -> Result<UserView> {
        let path = paths::user(&path_segment(id));
        let reply = self
            .authed(Method::GET, &path, Some(StatusCode::OK))
            .await?;
        Ok(reply.json::<UserViewResponse>()?.user)
    }

    /// `GET /sessions`.
    pub async fn sessions(&self) -> Result<Vec<SessionInfo>> {
        let reply = self
            .authed(Method::GET, paths::SESSIONS, Some(StatusCode::OK))
            .await?;
        Ok(reply.json::<SessionsResponse>()?.sessions)
    }

    /// `DELETE /sessions/:id`.
    pub async fn revoke_session(&self, id: &str) -> Result<()> {
        let path = paths::session(&path_segment(id));
        let reply = self.authed(Method::DELETE, &path, None).await?;
        if reply.set_cookie {
            // Revoking the current session clears the refresh cookie.
            self.persist_jar().await?;
        }
        Ok(())
    }

    /// `POST /tokens`: a personal access token for a script, shown this once
    /// in the answer. `expires_in` in the settings' forms (`30d`); the server
    /// picks 90 days without one. With two-factor sign-in on, `code` is needed.
    pub async fn create_personal_token(
        &self,
        name: &str,
        expires_in: Option<&str>,
        code: Option<&str>,
    ) -> Result<CreatedTokenResponse> {
        let request = CreateTokenRequest {
            name: name.to_owned(),
            expires_in: expires_in.map(str::to_owned),
            code: code.map(|c| c.trim().to_owned()),
        };
        self.authed_with(
            Method::POST,
            paths::TOKENS,
            Some(json(&request)?),
            Some(StatusCode::CREATED),
        )
        .await?
        .json()
    }

    /// `GET /tokens`: the account's personal access tokens, never a secret.
    pub async fn personal_tokens(&self) -> Result<Vec<PersonalToken>> {
        let reply = self
            .authed(Method::GET, paths::TOKENS, Some(StatusCode::OK))
            .await?;
        Ok(reply.json::<TokensResponse>()?.tokens)
    }

    /// `DELETE /tokens/:id`: the token and the access tokens it minted stop
    /// working at once.
    pub async fn revoke_personal_token(&self, id: &str) -> Result<()> {
        let path = paths::personal_token(&path_segment(id));
        self.authed(Method::DELETE, &path, Some(StatusCode::NO_CONTENT))
            .await?;
        Ok(())
    }

    /// `POST /forgotpass`: the same answer whether or not the address exists.
    pub async fn forgot_password(&self, email: &str) -> Result<MessageResponse> {
        let request = ForgotPasswordRequest {
            email: email.to_owned(),
        };
        self.send(
            Method::POST,
            paths::FORGOT_PASSWORD,
            Some(json(&request)?),
            None,
        )
        .await?
        .expect(Some(StatusCode::OK))?
        .json()
    }

    /// `PATCH /resetpass/:token`. `token_or_link` is the token or the whole
    /// link from the email.
    pub async fn reset_password(
        &self,
        token_or_link: &str,
        password: &str,
    ) -> Result<MessageResponse> {
        let token = reset_token(token_or_link)?;
        let request = ResetPasswordRequest {
            password: password.to_owned(),
            password_confirm: password.to_owned(),
        };
        self.send(
            Method::PATCH,
            &paths::reset_password(&token),
            Some(json(&request)?),
            None,
        )
        .await?
        .expect(Some(StatusCode::OK))?
        .json()
    }
}

/// Percent-encodes one path segment (a user or session id from the command
/// line), so it can never change the route.
fn path_segment(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    for byte in raw.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

fn json<T: Serialize>(value: &T) -> Result<serde_json::Value> {
    serde_json::to_value(value)
        .map_err(|e| ClientError::Protocol(format!("cannot encode the request: {e}")))
}

/// The reset token from a token or a reset link (`<base>/<token>`).
pub fn reset_token(token_or_link: &str) -> Result<String> {
    let raw = token_or_link.trim();
    let token = match Url::parse(raw) {
        Ok(url) => url
            .path_segments()
            .and_then(|mut segments| segments.rfind(|s| !s.is_empty()))
            .unwrap_or("")
            .to_owned(),
        Err(_) => raw
            .trim_end_matches('/')
            .rsplit('/')
            .next()
            .unwrap_or("")
            .to_owned(),
    };
    let valid = !token.is_empty()
        && token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if valid {
        Ok(token)
    } else {
        Err(ClientError::Usage(
            "that is neither a reset token nor a reset link".to_owned(),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reset_tokens_come_from_tokens_or_links() {
        assert_eq!(reset_token("abc_DEF-123").unwrap(), "abc_DEF-123");
        assert_eq!(
            reset_token("http://localhost:3000/reset-password/abc_DEF-123").unwrap(),
            "abc_DEF-123"
        );
        assert_eq!(
            reset_token("https://app.example.com/reset/abc123/").unwrap(),
            "abc123"
        );
        assert!(reset_token("http://localhost:3000/").is_err());
        assert!(reset_token("a b").is_err());
        // Only the last segment is kept: nothing can climb out of the route.
        assert_eq!(reset_token("../../abc").unwrap(), "abc");
        assert!(reset_token("..").is_err());
    }

    /// A URL where nothing listens: a port bound, then freed.

    #[test]
    fn ids_cannot_change_the_route() {
        assert_eq!(path_segment("0b0e-4a"), "0b0e-4a");
        assert_eq!(path_segment("../me"), "..%2Fme");
        assert_eq!(path_segment("a?b#c"), "a%3Fb%23c");
    }
}
