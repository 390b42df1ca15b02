//! The one redactor: every string that may carry server text passes through
//! [`Redactor::text`] before it reaches any output (reports, JUnit, step
//! summary, annotations, step outputs, log groups, the live view, stderr and
//! stdout).
//!
//! It does three things, in this order:
//!
//! 1. **Control characters** (C0 except the line feed, DEL, C1, and the
//!    Unicode controls that reorder text) become U+FFFD and tabs become
//!    spaces, so server text cannot move the cursor, recolour or clear a
//!    terminal or a log, cannot start a new line with a carriage return, and
//!    is valid XML. Line feeds stay: multi-line error messages are legitimate.
//! 2. **Secrets** (the values [`crate::api::credentials::Credentials`] lists)
//!    become `***`, raw and in the encodings a server or proxy echoing a
//!    request is likely to use: percent-encoding (any mix of encoded and
//!    plain characters, either hex case), JSON string escapes (`\uXXXX`,
//!    `\/`, `\"`, `\\`), HTML character references, hex (either case) and
//!    base64 (standard and URL-safe alphabets, at each of the three byte
//!    alignments a secret can have inside a longer base64 text, as in a
//!    `Basic` header). A run of at least [`PARTIAL`] bytes of the secret's
//!    start or end is redacted too, so a message cut short mid-secret does not
//!    leak most of it.
//! 3. **Workflow commands**: GitHub runners act on a line whose first
//!    non-blank characters are `::` and on `##[` anywhere in a line. `::` at
//!    the start of the text or after whitespace (where word wrapping may put
//!    a line break) becomes `: :`, and `##[` becomes `## [`.
//!
//! Reports pass through [`Redactor::report`] once, before any writer sees
//! them; writers take the resulting [`Redacted`] report, which nothing else
//! can build, so no output can forget. The walk destructures every report
//! type without `..`: a field added later does not compile until it is
//! redacted here too.//!
//! `secrets` finds the secrets in their encodings, `report` walks reports
//! and live-view events.

use std::sync::Arc;

mod report;
mod secrets;
#[cfg(test)]
mod tests;

pub(crate) use report::Redacted;
use secrets::Targets;

/// The run's redactor, for reports written by the panic hook.
static PROCESS: std::sync::OnceLock<Redactor> = std::sync::OnceLock::new();

/// What a secret is replaced with.
pub(crate) const MASK: &str = "***";

/// A run of this many bytes from a secret's start or end is redacted even
/// when the rest of the secret is missing (a message truncated mid-secret).
/// Shorter secrets are redacted only whole.
pub(crate) const PARTIAL: usize = 16;

/// Secrets shorter than this are redacted raw and percent/JSON/HTML-escaped,
/// but not as hex or base64: those forms of a few bytes are short enough to
/// occur in ordinary text by chance.
pub(crate) const MIN_ENCODED: usize = 8;

/// Removes secrets, control characters and workflow commands from text.
/// Cheap to clone: clones share their targets, so a secret learnt later
/// (renewed temporary credentials) is redacted by every clone.
#[derive(Clone, Default)]
pub struct Redactor {
    targets: Arc<std::sync::RwLock<Arc<Targets>>>,
}

impl std::fmt::Debug for Redactor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The targets are the secrets: never print them.
        write!(f, "Redactor({} secrets)", self.targets().count())
    }
}

impl Redactor {
    /// A redactor for these secret values (empty ones are ignored).
    pub(crate) fn new<'a>(secrets: impl IntoIterator<Item = &'a str>) -> Self {
        let redactor = Redactor::default();
        redactor.learn(secrets);
        redactor
    }

    /// Adds secret values, for this redactor and every clone of it: renewed
    /// temporary credentials are secrets from the moment they exist.
    pub(crate) fn learn<'a>(&self, secrets: impl IntoIterator<Item = &'a str>) {
        let mut slot = self.targets.write().unwrap_or_else(|e| e.into_inner());
        let mut targets = Targets::clone(&slot);
        for secret in secrets {
            targets.add(secret.as_bytes());
        }
        *slot = Arc::new(targets);
    }

    /// The targets as they stand (a snapshot: text is redacted against one
    /// consistent set).
    fn targets(&self) -> Arc<Targets> {
        self.targets
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Makes this the redactor of the process's crash path: a panic hook
    /// that writes the report must redact it with the run's secrets too.
    pub(crate) fn register(&self) {
        let _ = PROCESS.set(self.clone());
    }

    /// The redactor a run registered, or one that knows no secrets (before
    /// a run starts, no server text has been read).
    pub(crate) fn registered() -> Self {
        PROCESS.get().cloned().unwrap_or_default()
    }

    /// A redactor that knows no secrets: it still removes control
    /// characters and workflow commands.
    pub(crate) fn none() -> Self {
        Self::default()
    }

    /// Text made safe for any output. This is the one function server text
    /// passes through.
    pub(crate) fn text(&self, text: &str) -> String {
        let text = printable(text);
        let text = self.secrets(&text);
        neutralise_commands(&text)
    }
}

/// Control characters replaced (see the module documentation). Bidi
/// controls are included because they reorder what a reader sees.
pub(crate) fn printable(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            '\n' => '\n',
            '\t' => ' ',
            '\u{2028}' | '\u{2029}' => ' ',
            '\u{061C}'
            | '\u{200E}'
            | '\u{200F}'
            | '\u{202A}'..='\u{202E}'
            | '\u{2066}'..='\u{2069}' => '\u{FFFD}',
            c if c.is_control() => '\u{FFFD}',
            c => c,
        })
        .collect()
}

/// Text that no GitHub runner reads as a workflow command, wherever a line
/// break falls in it (see the module documentation).
pub(crate) fn neutralise_commands(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut word_start = true;
    for (i, c) in text.char_indices() {
        out.push(c);
        if word_start && c == ':' && text[i + 1..].starts_with(':') {
            out.push(' ');
        }
        word_start = c.is_whitespace();
    }
    if out.contains("##[") {
        out = out.replace("##[", "## [");
    }
    out
}
