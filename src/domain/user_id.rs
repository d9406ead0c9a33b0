use thiserror::Error;

/// The tutorial's `userID` form value.
///
/// Any UTF-8 text is allowed, spaces and semicolons included: the cookie
/// module percent-encodes what a cookie cannot carry, so the value is kept
/// exactly as typed (no trimming). Its size limit is the cookie's, checked
/// where the cookie is built, because only there is the encoded size known.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserId(String);

#[derive(Debug, Error, PartialEq, Eq)]
pub enum UserIdError {
    #[error("the user ID is empty: type something to store in the cookie")]
    Empty,
}

impl UserId {
    pub fn parse(raw: String) -> Result<Self, UserIdError> {
        if raw.is_empty() {
            return Err(UserIdError::Empty);
        }
        Ok(Self(raw))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_inner(self) -> String {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_is_refused() {
        assert_eq!(UserId::parse(String::new()), Err(UserIdError::Empty));
    }

    #[test]
    fn text_is_kept_exactly_as_typed() {
        for raw in [" alice ", "a;b c", "café", "\"bar:baz\"", "<script>"] {
            assert_eq!(UserId::parse(raw.to_owned()).unwrap().as_str(), raw);
        }
    }
}
