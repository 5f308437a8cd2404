//! Input validation: every field checked, every problem reported at once as a
//! 422 in express-validator's shape (`errors[]`, first message as `feedback`).

use gatepass_common::{FieldError, LoginRequest, SignupRequest};
use icu_properties::props::{DefaultIgnorableCodePoint, GeneralCategory};
use icu_properties::{CodePointMapData, CodePointSetData};
use unicode_normalization::UnicodeNormalization;

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
    } else if value.chars().any(is_refused_char) {
        errors.push(FieldError::body(
            param,
            format!("{label} must not contain invisible, control or bidi characters"),
        ));
    }
    value.to_owned()
}

/// Whether `c` is refused in emails and names: it shows as nothing, or it
/// changes how the text around it shows, so two different strings could look
/// the same (`ad\u{200b}min`) or a name could reorder what a reader sees
/// (U+202E). That is every control (Cc) and format character (Cf: zero-width
/// spaces and joiners, bidi controls, the soft hyphen, the BOM), the line and
/// paragraph separators (Zl, Zp), and the rest of Unicode's default-ignorable
/// code points (Hangul fillers, variation selectors), by the Unicode data in
/// ICU4X rather than a hand-kept list.
pub fn is_refused_char(c: char) -> bool {
    let category = CodePointMapData::<GeneralCategory>::new().get(c);
    matches!(
        category,
        GeneralCategory::Control
            | GeneralCategory::Format
            | GeneralCategory::LineSeparator
            | GeneralCategory::ParagraphSeparator
    ) || CodePointSetData::new::<DefaultIgnorableCodePoint>().contains(c)
}

/// The form emails are stored and compared in, so that addresses that look
/// the same are one account: trimmed, NFKC (fullwidth letters, ligatures and
/// other compatibility forms become their plain letters, and `＠` becomes
/// `@`), lower case, and the domain in its ASCII form (UTS 46: `bücher.example`
/// is `xn--bcher-kva.example`). NFKC runs again after lower-casing, which can
/// leave a string that is not in NFKC; the result is a fixed point. `None`
/// when there is no `@` or the domain is not a valid internationalised name.
/// Validity beyond that (and refused characters) is [`email`]'s business.
pub fn normalize_email(value: &str) -> Option<String> {
    let folded: String = value
        .trim()
        .nfkc()
        .collect::<String>()
        .to_lowercase()
        .nfkc()
        .collect();
    let (local, domain) = folded.rsplit_once('@')?;
    let domain = idna::domain_to_ascii(domain).ok()?;
    Some(format!("{local}@{domain}"))
}

/// An email as stored, or why it cannot be one.
pub fn stored_email(value: &str) -> Result<String, &'static str> {
    let value = value.trim();
    if value.is_empty() {
        return Err("Email is required");
    }
    // Before normalising: NFKC keeps most of these, but UTS 46 silently drops
    // some from a domain, and the address the user typed is what must be clean.
    if value.chars().any(is_refused_char) {
        return Err("Email must not contain invisible, control or bidi characters");
    }
    let email = normalize_email(value).ok_or("Email is invalid")?;
    let domain_ok = email
        .rsplit('@')
        .next()
        .is_some_and(|domain| domain.contains('.') || domain == "localhost");
    if email.chars().any(is_refused_char)
        || email.len() > MAX_EMAIL_BYTES
        || email.parse::<lettre::Address>().is_err()
        || !domain_ok
    {
        return Err("Email is invalid");
    }
    Ok(email)
}

/// The stored form of an email (empty when it is refused: the 422 ends the
/// request before anything uses it).
fn email(errors: &mut Vec<FieldError>, value: &str) -> String {
    stored_email(value).unwrap_or_else(|msg| {
        errors.push(FieldError::body("email", msg));
        String::new()
    })
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

    /// Invisible, control, bidi and separator characters, each of which
    /// makes a string that looks like another or reorders what is shown.
    const REFUSED: &[char] = &[
        '\u{0000}',
        '\u{0007}',
        '\u{0009}',
        '\u{007f}',
        '\u{0085}', // controls
        '\u{00ad}', // soft hyphen
        '\u{061c}', // Arabic letter mark
        '\u{180e}', // Mongolian vowel separator
        '\u{200b}',
        '\u{200c}',
        '\u{200d}',
        '\u{200e}',
        '\u{200f}', // zero-width, marks
        '\u{2028}',
        '\u{2029}', // line and paragraph separators
        '\u{202a}',
        '\u{202b}',
        '\u{202c}',
        '\u{202d}',
        '\u{202e}', // bidi embeddings
        '\u{2060}',
        '\u{2061}',
        '\u{2062}',
        '\u{2063}',
        '\u{2064}', // word joiner, invisible math
        '\u{2066}',
        '\u{2067}',
        '\u{2068}',
        '\u{2069}',  // bidi isolates
        '\u{3164}',  // Hangul filler
        '\u{fe0f}',  // variation selector
        '\u{feff}',  // BOM, zero-width no-break space
        '\u{e0041}', // tag letter
    ];

    #[test]
    fn emails_with_invisible_characters_are_refused_naming_the_field() {
        for &c in REFUSED {
            for raw in [
                format!("ad{c}min@example.com"),
                format!("admin@exa{c}mple.com"),
            ] {
                let e = stored_email(&raw).err();
                assert_eq!(
                    e,
                    Some("Email must not contain invisible, control or bidi characters"),
                    "{raw:?}"
                );
                let login = login(&LoginRequest {
                    email: raw.clone(),
                    password: "whatever".into(),
                });
                assert_eq!(params(login.err().unwrap()), ["email"], "{raw:?}");
            }
        }
    }

    #[test]
    fn names_with_invisible_characters_are_refused_naming_the_field() {
        for &c in REFUSED {
            let e = signup(&SignupRequest {
                first_name: format!("A{c}da"),
                last_name: format!("Love{c}lace"),
                email: "ada@example.com".into(),
                password: "tY7#mQ2v!pLx".into(),
                password_confirm: None,
            })
            .err()
            .unwrap();
            let ApiError::Validation(errors) = e else {
                panic!("expected a 422 for {c:?}");
            };
            let named: Vec<_> = errors.iter().map(|e| e.param.as_str()).collect();
            assert_eq!(named, ["firstName", "lastName"], "{c:?}");
            assert_eq!(
                errors[0].msg,
                "First name must not contain invisible, control or bidi characters"
            );
        }
    }

    #[test]
    fn visible_letters_of_any_script_are_accepted() {
        for name in [
            "José",
            "Zoë",
            "Łukasz",
            "Ægir",
            "山田",
            "Σωκράτης",
            "O'Brien-Smith",
        ] {
            let mut errors = Vec::new();
            super::name(&mut errors, "firstName", "First name", name);
            assert!(errors.is_empty(), "{name}: {errors:?}");
        }
        assert_eq!(
            stored_email("José@example.com").as_deref(),
            Ok("josé@example.com")
        );
    }

    #[test]
    fn look_alike_emails_have_one_stored_form() {
        let same = [
            "ada@example.com",
            "  Ada@Example.COM ",
            "ＡＤＡ@example.com",          // fullwidth letters
            "ada＠ｅｘａｍｐｌｅ．ｃｏｍ", // fullwidth @, domain and dot
            "𝐚𝐝𝐚@example.com",             // mathematical bold
        ];
        for raw in same {
            assert_eq!(stored_email(raw).as_deref(), Ok("ada@example.com"), "{raw}");
        }
        // Canonically equivalent spellings (é precomposed or e + U+0301).
        assert_eq!(
            stored_email("jose\u{301}@example.com"),
            stored_email("jos\u{e9}@example.com")
        );
        // The ligature ﬁ is the letters f, i.
        assert_eq!(
            stored_email("\u{fb01}ona@example.com").as_deref(),
            Ok("fiona@example.com")
        );
    }

    #[test]
    fn idn_domains_are_stored_in_ascii() {
        for raw in [
            "user@bücher.example",
            "USER@BÜCHER.EXAMPLE",
            "user@xn--bcher-kva.example",
            "user@XN--BCHER-KVA.example",
        ] {
            assert_eq!(
                stored_email(raw).as_deref(),
                Ok("user@xn--bcher-kva.example"),
                "{raw}"
            );
        }
        // Not a valid punycode label.
        assert_eq!(stored_email("user@xn--a-.example"), Err("Email is invalid"));
    }

    #[test]
    fn the_stored_form_is_a_fixed_point() {
        for raw in [
            "ada@example.com",
            "ＡＤＡ@Example.com",
            "İstanbul@example.com",
            "ǅemal@example.com",
            "user@bücher.example",
            "jose\u{301}@example.com",
        ] {
            let once = stored_email(raw).unwrap();
            assert_eq!(stored_email(&once).as_deref(), Ok(once.as_str()), "{raw}");
        }
    }

    #[test]
    fn login_and_forgot_use_the_stored_form() {
        let signed_up = signup(&SignupRequest {
            first_name: "Ada".into(),
            last_name: "Lovelace".into(),
            email: "Ada@Bücher.Example".into(),
            password: "tY7#mQ2v!pLx".into(),
            password_confirm: None,
        })
        .ok()
        .unwrap()
        .email;
        for typed in ["ada@xn--bcher-kva.example", "ａｄａ@bücher.example"] {
            let logged_in = login(&LoginRequest {
                email: typed.into(),
                password: "x".into(),
            });
            assert_eq!(logged_in.ok().as_ref(), Some(&signed_up), "{typed}");
            assert_eq!(forgot(typed).ok().as_ref(), Some(&signed_up), "{typed}");
        }
    }
}
