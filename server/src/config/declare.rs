//! The machinery behind `settings.rs`: the `settings!` macro that turns one
//! declaration per setting into a typed field, its reading, its default, its
//! error messages and its README row; the settings as written; and how each
//! type is parsed and shown.

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::Duration;

use rocket::figment::value::{Dict, Value};

use super::{invalid, parse_duration, parse_limit, ConfigError, Limit, Secret};

/// One setting as the README's table shows it.
#[derive(Debug, Clone, Copy)]
pub struct SettingDoc {
    /// The environment variable; its lower case is the `Rocket.toml` key.
    pub name: &'static str,
    pub default: DefaultDoc,
    /// The meaning, as lines of one sentence.
    pub doc: &'static [&'static str],
    /// False for a setting read by another part of the server (the logger),
    /// which the configuration documents but does not read.
    pub read_here: bool,
}

/// The README's default column.
#[derive(Debug, Clone, Copy)]
pub enum DefaultDoc {
    /// A value in the setting's own syntax, parsed like a configured one.
    Value(&'static str),
    /// What happens when the setting is not given (`generated`, `unset`...).
    Text(&'static str),
}

impl SettingDoc {
    /// The setting's row in the README's configuration table.
    pub fn readme_row(&self) -> String {
        let default = match self.default {
            DefaultDoc::Value(value) => format!("`{value}`"),
            DefaultDoc::Text(text) => text.to_owned(),
        };
        let doc: Vec<&str> = self.doc.iter().map(|line| line.trim()).collect();
        format!("| `{}` | {default} | {} |", self.name, doc.join(" "))
    }
}

/// Declares groups of settings: for each group a struct with one typed field
/// per setting (and fields derived from them), `read`, which takes each
/// setting from what was written or from its default and names the setting
/// in every error, and `describe`, which lists the effective values; and
/// `SETTINGS`, the README's table. See `settings.rs` for the syntax.
macro_rules! settings {
    (
        $(
            $(#[$attr:meta])*
            pub struct $group:ident $(( $($arg:ident : $arg_ty:ty),* $(,)? ))? {
                $(
                    $(#[doc = $doc:literal])+
                    $name:ident => $field:ident : $ty:ty = $kind:ident $text:literal $($body:block)?
                        $(, via $parse:expr)? $(, check $check:expr)?;
                )*
            }
            $(then {
                $(
                    $(#[doc = $derived_doc:literal])*
                    $derived:ident : $derived_ty:ty = $derived_value:expr;
                )*
            })?
        )*
        elsewhere {
            $(
                $(#[doc = $elsewhere_doc:literal])+
                $elsewhere:ident = $elsewhere_kind:ident $elsewhere_text:literal;
            )*
        }
    ) => {
        $(
            $(#[$attr])*
            pub struct $group {
                $(
                    $(#[doc = $doc])+
                    #[doc = concat!("\n\nSetting `", stringify!($name), "`.")]
                    pub $field: $ty,
                )*
                $($(
                    $(#[doc = $derived_doc])*
                    pub $derived: $derived_ty,
                )*)?
            }

            impl $group {
                /// Reads the group's settings in order; a computed default or a
                /// check may use the settings above it and the parameters.
                pub(super) fn read(
                    written: &$crate::config::declare::Written
                    $($(, $arg: $arg_ty)*)?
                ) -> Result<Self, $crate::config::ConfigError> {
                    $(
                        let $field: $ty = {
                            const NAME: &str = stringify!($name);
                            let parse: fn(&str) -> Result<$ty, String> =
                                $crate::config::declare::parser!($ty $(, $parse)?);
                            match written.text(NAME)? {
                                Some(text) => parse(&text)
                                    .map_err(|reason| $crate::config::invalid(NAME, reason))?,
                                None => $crate::config::declare::default_value!(
                                    NAME, parse; $kind $text $($body)?
                                ),
                            }
                        };
                        $(
                            $crate::config::declare::check(stringify!($name), &$field, $check)?;
                        )?
                    )*
                    $($(
                        let $derived: $derived_ty = $derived_value;
                    )*)?
                    Ok($group {
                        $($field,)*
                        $($($derived,)*)?
                    })
                }

                /// Each setting's name and effective value, secrets redacted.
                pub(super) fn describe(&self, out: &mut Vec<(&'static str, String)>) {
                    $(
                        out.push((
                            stringify!($name),
                            $crate::config::declare::Show::show(&self.$field),
                        ));
                    )*
                }
            }
        )*

        /// Every setting, in the README's order.
        pub const SETTINGS: &[$crate::config::declare::SettingDoc] = &[
            $($(
                $crate::config::declare::SettingDoc {
                    name: stringify!($name),
                    default: $crate::config::declare::default_doc!($kind $text),
                    doc: &[$($doc),+],
                    read_here: true,
                },
            )*)*
            $(
                $crate::config::declare::SettingDoc {
                    name: stringify!($elsewhere),
                    default: $crate::config::declare::default_doc!(
                        $elsewhere_kind $elsewhere_text
                    ),
                    doc: &[$($elsewhere_doc),+],
                    read_here: false,
                },
            )*
        ];
    };
}

/// A setting's parser: its own (`via`), or its type's.
macro_rules! parser {
    ($ty:ty) => {
        <$ty as $crate::config::declare::FromSetting>::parse
    };
    ($ty:ty, $parse:expr) => {
        $parse
    };
}

/// A setting's value when nothing was written.
macro_rules! default_value {
    ($name:ident, $parse:ident; default $text:literal) => {
        $parse($text).map_err(|reason| {
            $crate::config::invalid(
                $name,
                format!("its default {:?} is invalid: {reason}", $text),
            )
        })?
    };
    ($name:ident, $parse:ident; unset $text:literal) => {
        None
    };
    ($name:ident, $parse:ident; computed $text:literal $body:block) => {
        $body
    };
}

macro_rules! default_doc {
    (default $text:literal) => {
        $crate::config::declare::DefaultDoc::Value($text)
    };
    (unset $text:literal) => {
        $crate::config::declare::DefaultDoc::Text($text)
    };
    (computed $text:literal) => {
        $crate::config::declare::DefaultDoc::Text($text)
    };
}

pub(crate) use {default_doc, default_value, parser, settings};

/// Runs a setting's check on its value, configured or default.
pub fn check<T>(
    name: &'static str,
    value: &T,
    check: impl FnOnce(&T) -> Result<(), String>,
) -> Result<(), ConfigError> {
    check(value).map_err(|reason| invalid(name, reason))
}

/// The settings as written, by name: given ones (the environment, or
/// [`Config::with_settings`](super::Config::with_settings)'s pairs) win over
/// `Rocket.toml`'s lower-case keys.
pub struct Written {
    given: HashMap<&'static str, String>,
    table: Dict,
}

impl Written {
    /// `given` by setting name, over `table`, the top level of Rocket's
    /// configuration (its selected profile).
    pub fn new(given: HashMap<&'static str, String>, table: Dict) -> Written {
        Written { given, table }
    }

    /// The declared settings found in the environment. Names match in any
    /// case, as Rocket's own environment provider matches them.
    pub fn environment(
        names: &[&'static str],
    ) -> Result<HashMap<&'static str, String>, ConfigError> {
        let mut given = HashMap::new();
        for (key, value) in std::env::vars_os() {
            let Some(name) = key
                .to_str()
                .and_then(|key| names.iter().find(|name| name.eq_ignore_ascii_case(key)))
            else {
                continue;
            };
            let value = value
                .into_string()
                .map_err(|_| invalid(name, "is not valid UTF-8"))?;
            given.insert(*name, value);
        }
        Ok(given)
    }

    /// The setting's text, if it was written anywhere.
    pub fn text(&self, name: &'static str) -> Result<Option<String>, ConfigError> {
        if let Some(text) = self.given.get(name) {
            return Ok(Some(text.clone()));
        }
        match self.table.get(&name.to_ascii_lowercase()) {
            None => Ok(None),
            Some(value) => text_of(value)
                .map(Some)
                .ok_or_else(|| invalid(name, "must be a single value, not a table or a list")),
        }
    }
}

/// A `Rocket.toml` value as the text an environment variable would hold:
/// `auth_bcrypt_cost = 12` and `auth_bcrypt_cost = "12"` are the same.
fn text_of(value: &Value) -> Option<String> {
    match value {
        Value::String(_, text) => Some(text.clone()),
        Value::Char(_, c) => Some(c.to_string()),
        Value::Bool(_, b) => Some(b.to_string()),
        Value::Num(_, n) => n
            .to_u128()
            .map(|n| n.to_string())
            .or_else(|| n.to_i128().map(|n| n.to_string()))
            .or_else(|| n.to_f64().map(|n| n.to_string())),
        Value::Empty(..) | Value::Dict(..) | Value::Array(..) => None,
    }
}

/// How a type is read from a setting's text (the reason of an error goes
/// after "NAME is invalid: ").
pub trait FromSetting: Sized {
    fn parse(text: &str) -> Result<Self, String>;
}

/// How a value is shown in a listing of the configuration: in the setting's
/// syntax where there is one, secrets redacted.
pub trait Show {
    fn show(&self) -> String;
}

/// Empty (or blank) is unset.
impl<T: FromSetting> FromSetting for Option<T> {
    fn parse(text: &str) -> Result<Self, String> {
        if text.trim().is_empty() {
            Ok(None)
        } else {
            T::parse(text).map(Some)
        }
    }
}

impl<T: Show> Show for Option<T> {
    fn show(&self) -> String {
        self.as_ref().map_or_else(|| "unset".to_owned(), Show::show)
    }
}

impl FromSetting for String {
    fn parse(text: &str) -> Result<Self, String> {
        Ok(text.to_owned())
    }
}

impl Show for String {
    fn show(&self) -> String {
        self.clone()
    }
}

impl FromSetting for PathBuf {
    fn parse(text: &str) -> Result<Self, String> {
        Ok(PathBuf::from(text))
    }
}

impl Show for PathBuf {
    fn show(&self) -> String {
        self.display().to_string()
    }
}

impl Show for Vec<String> {
    fn show(&self) -> String {
        self.join(",")
    }
}

macro_rules! whole_numbers {
    ($($ty:ty),*) => {$(
        impl FromSetting for $ty {
            fn parse(text: &str) -> Result<Self, String> {
                text.trim().parse().map_err(|_| {
                    format!("{text:?} is not a whole number from 0 to {}", <$ty>::MAX)
                })
            }
        }

        impl Show for $ty {
            fn show(&self) -> String {
                self.to_string()
            }
        }
    )*};
}

whole_numbers!(u16, u32, usize);

/// An IP address and a port: `127.0.0.1:9464`, `[::1]:9464`.
impl FromSetting for std::net::SocketAddr {
    fn parse(text: &str) -> Result<Self, String> {
        text.trim()
            .parse()
            .map_err(|_| format!("{text:?} is not an IP address and port such as 127.0.0.1:9464"))
    }
}

impl Show for std::net::SocketAddr {
    fn show(&self) -> String {
        self.to_string()
    }
}

impl FromSetting for Duration {
    fn parse(text: &str) -> Result<Self, String> {
        parse_duration(text)
    }
}

/// In the largest unit that gives a whole number: `2m`, `90d`, `250ms`.
impl Show for Duration {
    fn show(&self) -> String {
        let ms = self.as_millis();
        if ms == 0 {
            return "0s".to_owned();
        }
        const UNITS: [(&str, u128); 5] = [
            ("w", 604_800_000),
            ("d", 86_400_000),
            ("h", 3_600_000),
            ("m", 60_000),
            ("s", 1000),
        ];
        for (unit, size) in UNITS {
            if ms.is_multiple_of(size) {
                return format!("{}{unit}", ms / size);
            }
        }
        format!("{ms}ms")
    }
}

impl FromSetting for Limit {
    fn parse(text: &str) -> Result<Self, String> {
        parse_limit(text)
    }
}

impl Show for Limit {
    fn show(&self) -> String {
        format!("{}/{}", self.max, self.window.show())
    }
}

impl FromSetting for Secret {
    fn parse(text: &str) -> Result<Self, String> {
        Ok(Secret::new(text.as_bytes().to_vec()))
    }
}

impl Show for Secret {
    fn show(&self) -> String {
        format!("(secret, {} bytes)", self.expose().len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_show_in_their_largest_whole_unit() {
        let show = |text: &str| parse_duration(text).unwrap().show();
        assert_eq!(show("120s"), "2m");
        assert_eq!(show("90s"), "90s");
        assert_eq!(show("1d"), "1d");
        assert_eq!(show("14d"), "2w");
        assert_eq!(show("1500ms"), "1500ms");
        assert_eq!(show("0s"), "0s");
        assert_eq!(parse_limit("5/15m").unwrap().show(), "5/15m");
    }

    #[test]
    fn given_text_wins_over_the_table_and_numbers_read_as_text() {
        let mut table = Dict::new();
        table.insert("auth_bcrypt_cost".into(), Value::from(11u32));
        table.insert("email_from".into(), Value::from("a <a@example.com>"));
        table.insert("smtp_host".into(), Value::from(Dict::new()));
        let given = HashMap::from([("EMAIL_FROM", "b <b@example.com>".to_owned())]);
        let written = Written::new(given, table);
        assert_eq!(
            written.text("AUTH_BCRYPT_COST").unwrap().as_deref(),
            Some("11")
        );
        assert_eq!(
            written.text("EMAIL_FROM").unwrap().as_deref(),
            Some("b <b@example.com>")
        );
        assert_eq!(written.text("SMTP_PORT").unwrap(), None);
        let err = written.text("SMTP_HOST").unwrap_err().to_string();
        assert!(err.starts_with("SMTP_HOST is invalid"), "{err}");
    }

    #[test]
    fn blank_is_unset_for_optional_settings() {
        assert_eq!(Option::<String>::parse("  ").unwrap(), None);
        assert_eq!(
            Option::<String>::parse("smtp.example.com")
                .unwrap()
                .as_deref(),
            Some("smtp.example.com")
        );
        assert!(Option::<u16>::parse("x").is_err());
        assert!(u16::parse("70000").unwrap_err().contains("65535"));
    }
}
