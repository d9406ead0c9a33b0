use thiserror::Error;

/// `?max_age=` of the `/cookies` demo: whole seconds, 0 to 400 days.
///
/// 400 days is the longest lifetime Chromium and Firefox keep (RFC 6265bis);
/// anything longer would be silently shortened by the browser.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MaxAge(u32);

#[derive(Debug, Error, PartialEq, Eq)]
pub enum MaxAgeError {
    #[error("max_age must be a whole number of seconds, got {0:?}")]
    NotANumber(String),
    #[error(
        "max_age must be at most {max} seconds (400 days, the longest browsers keep a cookie), got {got}"
    )]
    TooLong { got: String, max: u32 },
}

impl MaxAge {
    /// The engines' cap, which fits a `u32` (34 560 000).
    pub const MAX_SECONDS: u32 = crate::engine::MAX_LIFETIME_SECONDS as u32;
    /// The tutorial's example: the `code` cookie lives 30 seconds.
    pub const DEMO_DEFAULT: MaxAge = MaxAge(30);

    pub fn parse(raw: &str) -> Result<Self, MaxAgeError> {
        let trimmed = raw.trim();
        if trimmed.is_empty() || !trimmed.bytes().all(|b| b.is_ascii_digit()) {
            return Err(MaxAgeError::NotANumber(raw.to_owned()));
        }
        let too_long = || MaxAgeError::TooLong {
            got: trimmed.to_owned(),
            max: Self::MAX_SECONDS,
        };
        let seconds: u32 = trimmed.parse().map_err(|_| too_long())?;
        if seconds > Self::MAX_SECONDS {
            return Err(too_long());
        }
        Ok(Self(seconds))
    }

    pub fn seconds(self) -> u32 {
        self.0
    }

    pub fn duration(self) -> time::Duration {
        time::Duration::seconds(i64::from(self.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whole_seconds_in_range_are_accepted() {
        assert_eq!(MaxAge::parse("0").unwrap().seconds(), 0);
        assert_eq!(MaxAge::parse("30").unwrap().seconds(), 30);
        assert_eq!(MaxAge::parse(" 10 ").unwrap().seconds(), 10);
        assert_eq!(
            MaxAge::parse("34560000").unwrap().seconds(),
            MaxAge::MAX_SECONDS
        );
    }

    #[test]
    fn anything_else_is_refused() {
        for raw in ["", "-1", "1.5", "ten", "3e2", "+5"] {
            assert!(
                matches!(MaxAge::parse(raw), Err(MaxAgeError::NotANumber(_))),
                "{raw:?}"
            );
        }
        for raw in ["34560001", "99999999999999999999"] {
            assert!(
                matches!(MaxAge::parse(raw), Err(MaxAgeError::TooLong { .. })),
                "{raw:?}"
            );
        }
    }
}
