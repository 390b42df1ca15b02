//! Errors of the simulator: an unusable scenario, or a failure to serve.

use std::fmt;

/// A scenario that cannot be used, with what is wrong, where and how to fix it.
#[derive(Debug, thiserror::Error)]
pub enum ScenarioError {
    /// The file could not be read.
    #[error("cannot read scenario {origin}: {source}")]
    Read {
        origin: String,
        #[source]
        source: std::io::Error,
    },
    /// The text is not YAML of the expected shape (unknown key, wrong type...).
    #[error("{origin}: {message}")]
    Syntax { origin: String, message: String },
    /// The YAML has the right shape but a value is unusable.
    #[error("{}", render_invalid(.origin, .at, .path, .message, .hint))]
    Invalid {
        origin: String,
        /// Line and column (1-based) of the offending node, when known.
        at: Option<(u64, u64)>,
        /// Where in the document, e.g. `jobs[2].timeline[1]`.
        path: String,
        message: String,
        /// How to fix it.
        hint: String,
    },
}

fn render_invalid(
    origin: &str,
    at: &Option<(u64, u64)>,
    path: &str,
    message: &str,
    hint: &str,
) -> String {
    let mut text = String::from(origin);
    if let Some((line, column)) = at {
        text.push_str(&format!(":{line}:{column}"));
    }
    text.push_str(&format!(": {path}: {message}"));
    if !hint.is_empty() {
        text.push_str(&format!("\n  hint: {hint}"));
    }
    text
}

/// Why `jobgate simulate` could not run.
#[derive(Debug, thiserror::Error)]
pub enum SimError {
    #[error(transparent)]
    Scenario(#[from] ScenarioError),
    /// The command line is inconsistent (e.g. an access key without its secret).
    #[error("invalid simulate options: {0}")]
    Options(String),
    /// Binding or serving failed.
    #[error("simulator I/O error: {0}")]
    Io(#[from] std::io::Error),
}

/// A request the simulator answers with an API error body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ApiError {
    pub(crate) status: u16,
    pub(crate) code: &'static str,
    pub(crate) message: String,
}

impl ApiError {
    /// 400 with the API's parameter error code.
    pub(crate) fn bad_request(message: impl Into<String>) -> Self {
        Self {
            status: 400,
            code: "WKS.00000400",
            message: message.into(),
        }
    }

    /// 404 for an unknown project, job or path.
    pub(crate) fn not_found(message: impl Into<String>) -> Self {
        Self {
            status: 404,
            code: "WKS.00000404",
            message: message.into(),
        }
    }

    /// The JSON error body: `{error_code, error_msg}`, plus `error_detail`
    /// for the workspace v2 API, which documents it.
    pub(crate) fn body(&self, workspace_v2: bool) -> serde_json::Value {
        let mut body = serde_json::json!({
            "error_code": self.code,
            "error_msg": self.message,
        });
        if workspace_v2 {
            body["error_detail"] = serde_json::Value::String(self.message.clone());
        }
        body
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}: {}", self.status, self.code, self.message)
    }
}
