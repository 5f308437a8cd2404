//! Abuse limits: `max/window` settings such as `5/15m` (the settings
//! themselves are declared in `settings.rs`).

use std::time::Duration;

use super::parse_duration;

/// At most `max` events per `window`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limit {
    pub max: u32,
    pub window: Duration,
}

impl Limit {
    pub const fn new(max: u32, window_secs: u64) -> Limit {
        Limit {
            max,
            window: Duration::from_secs(window_secs),
        }
    }

    pub fn window_ms(&self) -> i64 {
        self.window.as_millis() as i64
    }
}

pub fn parse_limit(text: &str) -> Result<Limit, String> {
    let (max, window) = text
        .split_once('/')
        .ok_or_else(|| format!("{text:?} is not a limit like 5/15m"))?;
    let max: u32 = max
        .trim()
        .parse()
        .map_err(|_| format!("{text:?}: {max:?} is not a count"))?;
    if max == 0 {
        return Err(format!("{text:?}: the count must be at least 1"));
    }
    let window = parse_duration(window)?;
    if window.is_zero() {
        return Err(format!("{text:?}: the window must be longer than zero"));
    }
    Ok(Limit { max, window })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_parse() {
        assert_eq!(parse_limit("5/15m"), Ok(Limit::new(5, 900)));
        assert_eq!(parse_limit(" 50 / 1h "), Ok(Limit::new(50, 3600)));
        assert!(parse_limit("5").is_err());
        assert!(parse_limit("0/1m").is_err());
        assert!(parse_limit("x/1m").is_err());
        assert!(parse_limit("5/0s").is_err());
    }
}
