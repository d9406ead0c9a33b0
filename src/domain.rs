//! Parse-don't-validate newtypes for everything a request hands us.
//!
//! No axum here: handlers turn their form/query DTOs into these types on
//! their first line, so nothing past that line is a bare `String`.

mod cookie_name;
mod email;
mod max_age;
mod password;
mod user_id;

pub use cookie_name::{CookieName, CookieNameError};
pub use email::{Email, EmailError};
pub use max_age::{MaxAge, MaxAgeError};
pub use password::Password;
pub use user_id::{UserId, UserIdError};
