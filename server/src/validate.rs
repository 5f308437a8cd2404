//! Input validation: every field checked, every problem reported at once as a
//! 422 in express-validator's shape (`errors[]`, first message as `feedback`).

use gatepass_common::{FieldError, LoginRequest, SignupRequest};

use crate::auth::password::policy_violation;
use crate::error::ApiError;

const MAX_NAME_CHARS: usize = 100;
const MAX_EMAIL_BYTES: usize = 254;

/// A signup that passed validation, with the email normalised.
pub struct ValidSignup {
    pub first_name: String,
    pub last_name: String,
    pub email: String,
}

pub fn signup(req: &SignupRequest) -> Result<ValidSignup, ApiError> {
    let mut errors = Vec::new();
    let first_name = name(&mut errors, "firstName", "First name", &req.first_name);
    let last_name = name(&mut errors, "lastName", "Last name", &req.last_name);
    let email = email(&mut errors, &req.email);
    new_password(
        &mut errors,
        &req.password,
        req.password_confirm.as_deref(),
        &[&first_name, &last_name, &email],
    );
    finish(errors)?;
    Ok(ValidSignup {
        first_name,
        last_name,
        email,
    })
}

/// Login only checks presence and shape; the password policy is not applied,
/// so a user whose password predates a policy change can still sign in.
pub fn login(req: &LoginRequest) -> Result<String, ApiError> {
    let mut errors = Vec::new();
    let email = email(&mut errors, &req.email);
    if req.password.is_empty() {
        errors.push(FieldError::body("password", "Password is required"));
    } else if req.password.len() > 1024 {
        errors.push(FieldError::body("password", "Password is too long"));
    }
    finish(errors)?;
    Ok(email)
}

/// The email of a forgot-password request, normalised.
pub fn forgot(raw_email: &str) -> Result<String, ApiError> {
    let mut errors = Vec::new();
    let email = email(&mut errors, raw_email);
    finish(errors)?;
    Ok(email)
}

/// A new password and its confirmation (reset, change).
pub fn new_password_pair(
    password: &str,
    confirm: &str,
    user_inputs: &[&str],
) -> Result<(), ApiError> {
    let mut errors = Vec::new();
    if confirm.is_empty() {
        errors.push(FieldError::body(
            "passwordConfirm",
            "Password confirmation is required",
        ));
    }
    new_password(
        &mut errors,
        password,
        Some(confirm).filter(|c| !c.is_empty()),
        user_inputs,
    );
    finish(errors)
}

fn finish(errors: Vec<FieldError>) -> Result<(), ApiError> {
    if errors.is_empty() {
        Ok(())
    } else {
        Err(ApiError::Validation(errors))
    }
}

fn name(errors: &mut Vec<FieldError>, param: &str, label: &str, value: &str) -> String {
    let value = value.trim();
    if value.is_empty() {
        errors.push(FieldError::body(param, format!("{label} is required")));
    } else if value.chars().count() > MAX_NAME_CHARS {
        errors.push(FieldError::body(
            param,
            format!("{label} must be at most {MAX_NAME_CHARS} characters"),
        ));
    } else if value.chars().any(char::is_control) {
        errors.push(FieldError::body(
            param,
            format!("{label} must not contain control characters"),
        ));
    }
    value.to_owned()
}

/// Trimmed and lower-cased: emails compare case-insensitively.
pub fn normalize_email(value: &str) -> String {
    value.trim().to_lowercase()
}

fn email(errors: &mut Vec<FieldError>, value: &str) -> String {
    let email = normalize_email(value);
    if email.is_empty() {
        errors.push(FieldError::body("email", "Email is required"));
    } else if email.len() > MAX_EMAIL_BYTES
        || email.parse::<lettre::Address>().is_err()
        || !email
            .rsplit('@')
            .next()
            .is_some_and(|domain| domain.contains('.') || domain == "localhost")
    {
        errors.push(FieldError::body("email", "Email is invalid"));
    }
    email
}

fn new_password(
    errors: &mut Vec<FieldError>,
    password: &str,
    confirm: Option<&str>,
    user_inputs: &[&str],
) {
    if let Some(msg) = policy_violation(password, user_inputs) {
        errors.push(FieldError::body("password", msg));
    }
    if let Some(confirm) = confirm {
        if confirm != password {
            errors.push(FieldError::body(
                "passwordConfirm",
                "Passwords do not match",
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(e: ApiError) -> Vec<String> {
        match e {
            ApiError::Validation(errors) => errors.into_iter().map(|e| e.param).collect(),
            other => panic!("expected a 422, got {other:?}"),
        }
    }

    #[test]
    fn an_empty_signup_names_every_field() {
        let e = signup(&SignupRequest::default()).err().unwrap();
        assert_eq!(params(e), ["firstName", "lastName", "email", "password"]);
    }

    #[test]
    fn a_good_signup_is_normalised() {
        let ok = signup(&SignupRequest {
            first_name: "  Ada ".into(),
            last_name: "Lovelace".into(),
            email: "  Ada@Example.COM ".into(),
            password: "tY7#mQ2v!pLx".into(),
            password_confirm: Some("tY7#mQ2v!pLx".into()),
        })
        .ok()
        .unwrap();
        assert_eq!(ok.first_name, "Ada");
        assert_eq!(ok.email, "ada@example.com");
    }

    #[test]
    fn mismatched_confirmation_and_bad_email() {
        let e = signup(&SignupRequest {
            first_name: "Ada".into(),
            last_name: "Lovelace".into(),
            email: "not-an-email".into(),
            password: "tY7#mQ2v!pLx".into(),
            password_confirm: Some("something else".into()),
        })
        .err()
        .unwrap();
        assert_eq!(params(e), ["email", "passwordConfirm"]);
    }

    #[test]
    fn emails() {
        let check = |s: &str| {
            let mut errors = Vec::new();
            email(&mut errors, s);
            errors.is_empty()
        };
        assert!(check("a@example.com"));
        assert!(check("first.last+tag@sub.example.org"));
        assert!(!check("a@b"));
        assert!(!check("@example.com"));
        assert!(!check("a b@example.com"));
        assert!(!check(&format!("{}@example.com", "a".repeat(250))));
    }

    #[test]
    fn login_needs_both_fields_but_no_policy() {
        assert_eq!(
            params(login(&LoginRequest::default()).err().unwrap()),
            ["email", "password"]
        );
        let ok = login(&LoginRequest {
            email: "A@Example.com".into(),
            password: "short".into(),
        });
        assert_eq!(ok.ok().as_deref(), Some("a@example.com"));
    }
}
