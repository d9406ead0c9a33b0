//! One thing said about a cookie: an engine's reason (in the engine's own
//! words), an attribute an engine ignores, advice that is not an engine
//! fact, or a request-side budget. The pages, the API and the metrics show
//! them alike.

use serde::Serialize;

use crate::engine::Engine;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// The browser changes the cookie, or it works but is risky.
    Warning,
    /// An engine rejects the cookie: it is never stored there.
    Error,
}

/// One finding.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Finding {
    /// The engine's own name for it (`EXCLUDE_INVALID_PREFIX`,
    /// `CookieRejectedInvalidPrefix`), or cookie-lab's id for advice and
    /// request budgets (`session-without-httponly`, `too-many-cookies`).
    pub id: &'static str,
    /// The engine that says it; absent for advice and budgets.
    #[schema(value_type = Option<String>)]
    pub engine: Option<Engine>,
    pub severity: Severity,
    /// What happens, in a sentence.
    pub message: String,
    /// How to change the cookie so it works.
    pub fix: String,
}

impl Finding {
    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }

    /// `chromium: EXCLUDE_…`, or the id alone when no engine says it.
    pub fn label(&self) -> String {
        match self.engine {
            Some(engine) => format!("{}: {}", engine.name(), self.id),
            None => self.id.to_owned(),
        }
    }
}
