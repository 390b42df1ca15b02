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
//! redacted here too.

use std::collections::BTreeMap;
use std::ops::{Deref, Range};
use std::sync::Arc;

use base64::Engine as _;

use crate::api::model::{Item, JobState, Timestamp};
use crate::api::status::Status;
use crate::engine::Event;
use crate::report::model::{
    ApiErrorInfo, Estimate, Evidence, HistoryEntry, LastObservation, RunReport, WaitReport,
};

/// The run's redactor, for reports written by the panic hook.
static PROCESS: std::sync::OnceLock<Redactor> = std::sync::OnceLock::new();

/// What a secret is replaced with.
pub const MASK: &str = "***";

/// A run of this many bytes from a secret's start or end is redacted even
/// when the rest of the secret is missing (a message truncated mid-secret).
/// Shorter secrets are redacted only whole.
pub const PARTIAL: usize = 16;

/// Secrets shorter than this are redacted raw and percent/JSON/HTML-escaped,
/// but not as hex or base64: those forms of a few bytes are short enough to
/// occur in ordinary text by chance.
pub const MIN_ENCODED: usize = 8;

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
        write!(f, "Redactor({} secrets)", self.targets().secrets.len())
    }
}

#[derive(Default, Clone)]
struct Targets {
    /// The secrets themselves: matched whole or by a start or end of at
    /// least [`PARTIAL`] bytes.
    secrets: Vec<Vec<u8>>,
    /// Hex and base64 forms: matched whole.
    encoded: Vec<Vec<u8>>,
}

impl Targets {
    /// Where any target occurs in `haystack`.
    fn find(&self, haystack: &[u8]) -> Vec<Range<usize>> {
        let mut out = Vec::new();
        for secret in &self.secrets {
            if secret.len() <= PARTIAL {
                out.extend(occurrences(haystack, secret).map(|at| at..at + secret.len()));
                continue;
            }
            let (head, tail) = (&secret[..PARTIAL], &secret[secret.len() - PARTIAL..]);
            for at in occurrences(haystack, head) {
                let mut end = at + PARTIAL;
                while end < haystack.len()
                    && end - at < secret.len()
                    && haystack[end] == secret[end - at]
                {
                    end += 1;
                }
                out.push(at..end);
            }
            for at in occurrences(haystack, tail) {
                let end = at + PARTIAL;
                let mut start = at;
                while start > 0
                    && end - start < secret.len()
                    && haystack[start - 1] == secret[secret.len() - (end - start) - 1]
                {
                    start -= 1;
                }
                out.push(start..end);
            }
        }
        for target in &self.encoded {
            out.extend(occurrences(haystack, target).map(|at| at..at + target.len()));
        }
        out
    }
}

impl Redactor {
    /// A redactor for these secret values (empty ones are ignored).
    pub fn new<'a>(secrets: impl IntoIterator<Item = &'a str>) -> Self {
        let redactor = Redactor::default();
        redactor.learn(secrets);
        redactor
    }

    /// Adds secret values, for this redactor and every clone of it: renewed
    /// temporary credentials are secrets from the moment they exist.
    pub fn learn<'a>(&self, secrets: impl IntoIterator<Item = &'a str>) {
        let mut slot = self.targets.write().unwrap_or_else(|e| e.into_inner());
        let mut targets = Targets::clone(&slot);
        for secret in secrets {
            let bytes = secret.as_bytes();
            if bytes.is_empty() || targets.secrets.iter().any(|s| s == bytes) {
                continue;
            }
            targets.secrets.push(bytes.to_vec());
            if bytes.len() >= MIN_ENCODED {
                targets.encoded.extend(encodings(bytes));
            }
        }
        // Overlapping matches merge into one mask, so order does not matter.
        targets.encoded.sort();
        targets.encoded.dedup();
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
    pub fn register(&self) {
        let _ = PROCESS.set(self.clone());
    }

    /// The redactor a run registered, or one that knows no secrets (before
    /// a run starts, no server text has been read).
    pub fn registered() -> Self {
        PROCESS.get().cloned().unwrap_or_default()
    }

    /// A redactor that knows no secrets: it still removes control
    /// characters and workflow commands.
    pub fn none() -> Self {
        Self::default()
    }

    /// Text made safe for any output. This is the one function server text
    /// passes through.
    pub fn text(&self, text: &str) -> String {
        let text = printable(text);
        let text = self.secrets(&text);
        neutralise_commands(&text)
    }

    fn secrets(&self, text: &str) -> String {
        let targets = self.targets();
        if targets.secrets.is_empty() {
            return text.to_owned();
        }
        // The raw view, and one decoded view per escape family: a secret
        // may itself contain `%41` or `\"`, which a view decoding them no
        // longer shows, and one view decoding every family at once would
        // miss a JSON-escaped secret that contains `%41`. All ranges are in
        // the text, so overlapping ones merge into one mask.
        let mut ranges = targets.find(text.as_bytes());
        for (family, marker) in [
            (Family::Percent, '%'),
            (Family::Json, '\\'),
            (Family::Html, '&'),
        ] {
            if !text.contains(marker) {
                continue;
            }
            let (decoded, spans) = decode(text, family);
            if decoded.len() != text.len() {
                ranges.extend(
                    targets
                        .find(&decoded)
                        .into_iter()
                        .map(|r| spans[r.start].start..spans[r.end - 1].end),
                );
            }
        }
        replace(text, ranges)
    }

    /// The report with every string redacted, ready for the writers.
    pub fn report(&self, report: RunReport) -> Redacted {
        let RunReport {
            schema_version,
            tool,
            version,
            spec,
            started_at,
            ended_at,
            outcome,
            exit_code,
            interrupted_by,
            waits,
        } = report;
        Redacted(RunReport {
            schema_version,
            tool: self.text(&tool),
            version: self.text(&version),
            spec: self.text(&spec),
            started_at: self.text(&started_at),
            ended_at: self.text(&ended_at),
            outcome,
            exit_code,
            interrupted_by: self.opt(interrupted_by),
            waits: waits.into_iter().map(|w| self.wait(w)).collect(),
        })
    }

    fn opt(&self, text: Option<String>) -> Option<String> {
        text.map(|t| self.text(&t))
    }

    fn wait(&self, wait: WaitReport) -> WaitReport {
        let WaitReport {
            name,
            kind,
            requests,
            success,
            failure,
            outcome,
            reason,
            polls,
            requests_sent,
            retries,
            elapsed_ms,
            last_observation,
            blame,
            evidence,
            outputs,
            last_error,
            history,
            estimate,
            declared_at,
        } = wait;
        WaitReport {
            name: self.text(&name),
            kind: self.text(&kind),
            requests: requests.iter().map(|r| self.text(r)).collect(),
            success: self.text(&success),
            failure: self.opt(failure),
            outcome,
            reason: self.text(&reason),
            polls,
            requests_sent,
            retries,
            elapsed_ms,
            last_observation: last_observation.map(|o| self.observation(o)),
            blame: blame.into_iter().map(|i| self.item(i)).collect(),
            evidence: evidence.map(|e| self.evidence(e)),
            outputs: outputs
                .into_iter()
                .map(|(k, v)| (self.text(&k), self.text(&v)))
                .collect(),
            last_error: last_error.map(|e| self.api_error(e)),
            history: history.into_iter().map(|h| self.history(h)).collect(),
            estimate: estimate.map(|e| self.estimate(e)),
            declared_at,
        }
    }

    fn evidence(&self, evidence: Evidence) -> Evidence {
        let Evidence {
            cause,
            job,
            failed,
            failed_total,
            pending,
            pending_total,
            pending_counts,
            known_codes,
        } = evidence;
        Evidence {
            cause: self.text(&cause),
            job: job.map(|j| self.job(j)),
            failed: failed.into_iter().map(|i| self.item(i)).collect(),
            failed_total,
            pending: pending.into_iter().map(|i| self.item(i)).collect(),
            pending_total,
            pending_counts: self.counts(pending_counts),
            known_codes: known_codes
                .into_iter()
                .map(|(k, v)| (self.text(&k), self.text(&v)))
                .collect(),
        }
    }

    fn observation(&self, observation: LastObservation) -> LastObservation {
        let LastObservation {
            job,
            status_counts,
            items,
            counts,
            progress,
            found,
        } = observation;
        LastObservation {
            job: job.map(|j| self.job(j)),
            status_counts: self.counts(status_counts),
            items,
            counts: self.counts(counts),
            progress,
            found: self.text(&found),
        }
    }

    /// Keys that redact to the same text are added up, never dropped.
    fn counts(&self, counts: BTreeMap<String, u64>) -> BTreeMap<String, u64> {
        let mut out = BTreeMap::new();
        for (key, n) in counts {
            let slot: &mut u64 = out.entry(self.text(&key)).or_default();
            *slot = slot.saturating_add(n);
        }
        out
    }

    fn job(&self, job: JobState) -> JobState {
        let JobState {
            id,
            job_type,
            status,
            begin_time,
            end_time,
            sub_jobs_total,
            error_code,
            error_message,
        } = job;
        JobState {
            id: self.text(&id),
            job_type: self.opt(job_type),
            status: self.status(status),
            begin_time: begin_time.map(|t| self.timestamp(t)),
            end_time: end_time.map(|t| self.timestamp(t)),
            sub_jobs_total,
            error_code: self.opt(error_code),
            error_message: self.opt(error_message),
        }
    }

    fn item(&self, item: Item) -> Item {
        let Item {
            id,
            job_type,
            status,
            resource_id,
            resource_name,
            user_name,
            error_code,
            error_message,
            begin_time,
            end_time,
            progress,
            // Not in any output: kept for `where` filters only.
            raw,
        } = item;
        Item {
            id: self.text(&id),
            job_type: self.opt(job_type),
            status: self.status(status),
            resource_id: self.opt(resource_id),
            resource_name: self.opt(resource_name),
            user_name: self.opt(user_name),
            error_code: self.opt(error_code),
            error_message: self.opt(error_message),
            begin_time: begin_time.map(|t| self.timestamp(t)),
            end_time: end_time.map(|t| self.timestamp(t)),
            progress,
            raw,
        }
    }

    /// An undocumented status stays undocumented whatever redaction makes
    /// of its text: it is never re-parsed into a known one.
    fn status(&self, status: Status) -> Status {
        match status {
            Status::Other(raw) => Status::Other(self.text(&raw)),
            known => known,
        }
    }

    fn timestamp(&self, timestamp: Timestamp) -> Timestamp {
        let Timestamp { raw, parsed } = timestamp;
        Timestamp {
            raw: self.text(&raw),
            parsed,
        }
    }

    fn api_error(&self, error: ApiErrorInfo) -> ApiErrorInfo {
        let ApiErrorInfo {
            http_status,
            code,
            message,
            request_id,
        } = error;
        ApiErrorInfo {
            http_status,
            code: self.opt(code),
            message: self.text(&message),
            request_id: self.opt(request_id),
        }
    }

    fn history(&self, entry: HistoryEntry) -> HistoryEntry {
        let HistoryEntry { at_ms, poll, state } = entry;
        HistoryEntry {
            at_ms,
            poll,
            state: self.text(&state),
        }
    }

    fn estimate(&self, estimate: Estimate) -> Estimate {
        let Estimate {
            basis,
            signals,
            job_type,
            samples,
            members,
            median_ms,
            p90_ms,
        } = estimate;
        Estimate {
            basis,
            signals,
            job_type: job_type.map(|t| self.text(&t)),
            samples,
            members,
            median_ms,
            p90_ms,
        }
    }

    /// A live-view event with its server text redacted.
    pub fn event(&self, event: Event) -> Event {
        match event {
            Event::Started { wait, deadline } => Event::Started {
                wait: self.text(&wait),
                deadline,
            },
            Event::Observed {
                wait,
                state,
                progress,
            } => Event::Observed {
                wait: self.text(&wait),
                state: self.text(&state),
                progress,
            },
            Event::Progress { wait, progress } => Event::Progress {
                wait: self.text(&wait),
                progress,
            },
            Event::Retrying { wait, error } => Event::Retrying {
                wait: self.text(&wait),
                error: self.text(&error),
            },
            Event::Finished {
                wait,
                outcome,
                reason,
            } => Event::Finished {
                wait: self.text(&wait),
                outcome,
                reason: self.text(&reason),
            },
        }
    }
}

/// A report that went through [`Redactor::report`]: the only kind the
/// output code publishes.
#[derive(Debug, Clone, PartialEq)]
pub struct Redacted(RunReport);

impl Deref for Redacted {
    type Target = RunReport;
    fn deref(&self) -> &RunReport {
        &self.0
    }
}

impl Redacted {
    /// Sets the run's exit code: a number, nothing to redact. Publishing
    /// uses it when an output cannot be written, so that the outputs that
    /// were written give the process's code.
    pub(crate) fn set_exit_code(&mut self, code: u8) {
        self.0.exit_code = code;
    }

    /// The report itself.
    pub fn into_inner(self) -> RunReport {
        self.0
    }
}

/// Control characters replaced (see the module documentation). Bidi
/// controls are included because they reorder what a reader sees.
pub fn printable(text: &str) -> String {
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
pub fn neutralise_commands(text: &str) -> String {
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

/// Hex and base64 forms of a secret.
fn encodings(secret: &[u8]) -> Vec<Vec<u8>> {
    let mut out = vec![
        hex::encode(secret).into_bytes(),
        hex::encode_upper(secret).into_bytes(),
    ];
    let engines = [
        base64::engine::general_purpose::STANDARD_NO_PAD,
        base64::engine::general_purpose::URL_SAFE_NO_PAD,
    ];
    for offset in 0..3usize {
        let mut input = vec![0u8; offset];
        input.extend_from_slice(secret);
        // Characters whose six bits all come from the secret: the first
        // ones also carry bits of whatever precedes it, the last one of
        // whatever follows it.
        let start = (8 * offset).div_ceil(6);
        let end = 8 * input.len() / 6;
        for engine in &engines {
            let encoded = engine.encode(&input);
            if let Some(piece) = encoded.as_bytes().get(start..end) {
                out.push(piece.to_vec());
            }
        }
    }
    out
}

/// An escape syntax the redactor decodes.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Family {
    Percent,
    Json,
    Html,
}

/// One level of one family of escapes decoded, with the span of the text
/// each decoded byte came from.
fn decode(text: &str, family: Family) -> (Vec<u8>, Vec<Range<usize>>) {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut spans = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let (decoded, used) =
            decode_one(&bytes[i..], family).unwrap_or((Decoded::Byte(bytes[i]), 1));
        match decoded {
            Decoded::Byte(b) => {
                out.push(b);
                spans.push(i..i + used);
            }
            Decoded::Char(c) => {
                let mut buf = [0u8; 4];
                for b in c.encode_utf8(&mut buf).bytes() {
                    out.push(b);
                    spans.push(i..i + used);
                }
            }
        }
        i += used;
    }
    (out, spans)
}

enum Decoded {
    Byte(u8),
    Char(char),
}

fn hex_value(b: u8) -> Option<u32> {
    (b as char).to_digit(16)
}

/// The escape at the start of `rest`, if there is one, and its length.
fn decode_one(rest: &[u8], family: Family) -> Option<(Decoded, usize)> {
    match rest {
        [b'%', h, l, ..] if family == Family::Percent => {
            let v = hex_value(*h)? * 16 + hex_value(*l)?;
            Some((Decoded::Byte(v as u8), 3))
        }
        [b'\\', b'u', a, b, c, d, ..] if family == Family::Json => {
            let v = [a, b, c, d]
                .iter()
                .try_fold(0u32, |acc, x| Some(acc * 16 + hex_value(**x)?))?;
            Some((Decoded::Char(char::from_u32(v)?), 6))
        }
        // `\\u0041` is more likely a backslash before an escape than an
        // escaped backslash before plain text: the escape wins.
        [b'\\', b'\\', b'u', a, b, c, d, ..]
            if family == Family::Json && [a, b, c, d].iter().all(|x| x.is_ascii_hexdigit()) =>
        {
            None
        }
        [b'\\', c @ (b'"' | b'\\' | b'/'), ..] if family == Family::Json => {
            Some((Decoded::Byte(*c), 2))
        }
        [b'&', ..] if family == Family::Html => {
            let end = rest.iter().take(12).position(|&b| b == b';')?;
            let name = std::str::from_utf8(&rest[1..end]).ok()?;
            let c = match name {
                "amp" => '&',
                "lt" => '<',
                "gt" => '>',
                "quot" => '"',
                "apos" => '\'',
                _ => {
                    let number = name.strip_prefix('#')?;
                    let value = match number.strip_prefix(['x', 'X']) {
                        Some(hex) => u32::from_str_radix(hex, 16).ok()?,
                        None => number.parse().ok()?,
                    };
                    char::from_u32(value)?
                }
            };
            Some((Decoded::Char(c), end + 1))
        }
        _ => None,
    }
}

/// Every start of `needle` in `haystack`, overlapping ones included.
fn occurrences<'a>(haystack: &'a [u8], needle: &'a [u8]) -> impl Iterator<Item = usize> + 'a {
    let first = needle.first().copied();
    haystack
        .windows(needle.len().max(1))
        .enumerate()
        .filter(move |(_, w)| Some(w[0]) == first && *w == needle)
        .map(|(at, _)| at)
}

/// `text` with each range (merged where they touch, widened to whole
/// characters) replaced by [`MASK`].
fn replace(text: &str, mut ranges: Vec<Range<usize>>) -> String {
    if ranges.is_empty() {
        return text.to_owned();
    }
    for r in &mut ranges {
        while !text.is_char_boundary(r.start) {
            r.start -= 1;
        }
        while !text.is_char_boundary(r.end) {
            r.end += 1;
        }
    }
    ranges.sort_by_key(|r| r.start);
    let mut out = String::with_capacity(text.len());
    let mut at = 0;
    let mut current: Option<Range<usize>> = None;
    for r in ranges {
        match &mut current {
            Some(c) if r.start <= c.end => c.end = c.end.max(r.end),
            _ => {
                if let Some(c) = current.take() {
                    out.push_str(&text[at..c.start]);
                    out.push_str(MASK);
                    at = c.end;
                }
                current = Some(r);
            }
        }
    }
    if let Some(c) = current {
        out.push_str(&text[at..c.start]);
        out.push_str(MASK);
        at = c.end;
    }
    out.push_str(&text[at..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const SK: &str = "SKtestharness000000000000000000000000001";
    const TOKEN: &str = "MIIaBgYJKoZIhvcNAQcCoIIa+zCCGvcCAQExDTALBglghkgBZQMEAgEwghkcBgkqhkiG9w0BBwGgghkNBIIZCXsidG9rZW4iOnsiZXhwaXJlc19hdCI6IjIwMjYtMTItMDVUMTU6/==";

    fn redactor() -> Redactor {
        Redactor::new([SK, TOKEN, "AKTESTHARNESS0000001", ""])
    }

    #[test]
    fn secrets_are_masked_and_the_rest_stays() {
        let r = redactor();
        assert_eq!(
            r.text(&format!("bad header X-Auth-Token: {TOKEN} (request 7)")),
            "bad header X-Auth-Token: *** (request 7)"
        );
        assert_eq!(r.text(&format!("{SK}{SK} and {SK}")), "*** and ***");
        assert_eq!(r.text("nothing secret here"), "nothing secret here");
    }

    #[test]
    fn encodings_are_masked() {
        use base64::engine::general_purpose::{STANDARD, URL_SAFE};
        let r = redactor();
        let cases = [
            percent_encoding::utf8_percent_encode(TOKEN, percent_encoding::NON_ALPHANUMERIC)
                .to_string(),
            // Lower-case hex, and only some characters encoded.
            TOKEN
                .bytes()
                .enumerate()
                .map(|(n, b)| match n % 3 {
                    0 => format!("%{b:02x}"),
                    _ => (b as char).to_string(),
                })
                .collect(),
            serde_json::to_string(TOKEN).unwrap().replace('/', "\\/"),
            TOKEN
                .chars()
                .map(|c| format!("\\u{:04x}", c as u32))
                .collect(),
            TOKEN.replace('+', "&#43;").replace('/', "&#x2F;"),
            hex::encode(SK),
            hex::encode_upper(TOKEN),
            STANDARD.encode(SK),
            STANDARD.encode(format!("AK:{SK}")),
            STANDARD.encode(format!("A:{SK}")),
            URL_SAFE.encode(format!("{TOKEN}x")),
        ];
        for case in cases {
            let text = format!("echo: [{case}] end");
            let out = r.text(&text);
            assert!(
                out.starts_with("echo: [") && out.ends_with("] end"),
                "{out}"
            );
            assert!(out.contains(MASK), "{case} -> {out}");
            assert!(
                !out.contains(SK) && !out.contains(&TOKEN[..PARTIAL]),
                "{out}"
            );
        }
    }

    #[test]
    fn a_truncated_secret_is_masked() {
        let r = redactor();
        let cut = &TOKEN[..40];
        assert_eq!(r.text(&format!("token {cut}…")), "token ***…");
        let tail = &TOKEN[TOKEN.len() - 30..];
        assert_eq!(r.text(&format!("…{tail} rest")), "…*** rest");
    }

    #[test]
    fn control_characters_are_replaced_and_line_feeds_kept() {
        let r = Redactor::none();
        assert_eq!(
            r.text("a\x1b[31mb\x07c\0d\re\u{85}f\u{202E}g\th\nnext"),
            "a\u{FFFD}[31mb\u{FFFD}c\u{FFFD}d\u{FFFD}e\u{FFFD}f\u{FFFD}g h\nnext"
        );
    }

    #[test]
    fn workflow_commands_are_neutralised() {
        let r = Redactor::none();
        assert_eq!(
            r.text("::error::pwned\n  ::add-mask::x\nok a::b ::set-output name=outcome::met"),
            ": :error::pwned\n  : :add-mask::x\nok a::b : :set-output name=outcome::met"
        );
        assert_eq!(r.text("x ##[error]y"), "x ## [error]y");
        assert_eq!(r.text(":::x"), ": ::x");
    }

    /// What the runner would take for a workflow command, on any line.
    fn is_command(line: &str) -> bool {
        line.trim_start().starts_with("::") || line.contains("##[")
    }

    #[test]
    fn a_secret_learnt_later_is_redacted_by_every_clone() {
        let redactor = Redactor::new(["first-secret-value"]);
        let clone = redactor.clone();
        assert_eq!(
            clone.text("a renewed-secret-value"),
            "a renewed-secret-value"
        );
        redactor.learn(["renewed-secret-value"]);
        assert_eq!(clone.text("a renewed-secret-value b"), "a *** b");
        assert_eq!(clone.text("first-secret-value"), MASK);
    }

    #[test]
    fn reports_are_redacted_everywhere() {
        let mut report = crate::report::json::samples::mixed();
        let hostile = format!("\n::error::pwned {SK}\x1b[2J");
        for wait in &mut report.waits {
            wait.reason.push_str(&hostile);
            wait.outputs.insert("k".into(), hostile.clone());
            for item in &mut wait.blame {
                item.error_message = Some(hostile.clone());
                item.status = Status::Other(hostile.clone());
            }
            // Evidence is server text too, and leads every output.
            if let Some(evidence) = &mut wait.evidence {
                evidence.cause.push_str(&hostile);
                for item in evidence.failed.iter_mut().chain(&mut evidence.pending) {
                    item.error_message = Some(hostile.clone());
                    item.user_name = Some(hostile.clone());
                }
                evidence
                    .known_codes
                    .insert(hostile.clone(), hostile.clone());
                evidence.pending_counts.insert(hostile.clone(), 1);
            }
        }
        assert!(report.waits.iter().any(|w| w.evidence.is_some()));
        let redacted = redactor().report(report);
        let json = crate::report::json::to_json(&redacted).unwrap();
        assert!(!json.contains(SK) && !json.contains("\\u001b"), "{json}");
        let junit = crate::report::junit::render(&redacted);
        let summary = crate::report::github::step_summary(&redacted);
        let human = crate::report::human::render(
            &redacted,
            crate::report::human::Style {
                color: false,
                width: 40,
            },
        );
        for line in crate::report::github::annotations(&redacted) {
            assert!(!line.contains(SK) && !line.contains('\x1b'), "{line}");
            // One command per annotation: nothing in it starts another.
            assert!(!line.contains('\n') && !line.contains("%0A::"), "{line}");
        }
        for text in [&junit, &summary, &human] {
            assert!(!text.contains(SK), "{text}");
            assert!(!text.contains('\x1b'), "{text}");
            assert!(!text.lines().any(is_command), "{text}");
        }
    }

    proptest! {
        #[test]
        fn no_secret_survives_in_any_encoding(
            secret in "[!-~]{8,60}",
            before in ".{0,20}",
            after in ".{0,20}",
            encoding in 0usize..11,
            other in "[!-~]{8,30}",
        ) {
            use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
            let encoded = match encoding {
                0 => secret.clone(),
                1 => percent_encoding::utf8_percent_encode(&secret, percent_encoding::NON_ALPHANUMERIC).to_string(),
                2 => serde_json::to_string(&secret).unwrap(),
                3 => secret.chars().map(|c| format!("\\u{:04X}", c as u32)).collect(),
                4 => hex::encode(&secret),
                5 => STANDARD.encode(format!("{before}{secret}")),
                6 => URL_SAFE_NO_PAD.encode(format!("x{secret}{after}")),
                7 => secret.chars().map(|c| format!("&#{};", c as u32)).collect(),
                8 => secret.chars().map(|c| format!("&#x{:x};", c as u32)).collect(),
                // Some characters percent-encoded, in lower case.
                9 => secret
                    .bytes()
                    .enumerate()
                    .map(|(n, b)| if n % 2 == 0 { format!("%{b:02x}") } else { (b as char).to_string() })
                    .collect(),
                _ => hex::encode_upper(&secret),
            };
            let text = format!("{before}{encoded}{after}");
            let out = Redactor::new([other.as_str(), secret.as_str()]).text(&text);
            prop_assert!(!out.contains(&secret), "{out}");
            prop_assert!(!out.contains(&encoded), "{out}");
            prop_assert!(out.contains(MASK), "{out}");
            prop_assert!(!out.lines().any(is_command), "{out}");
            prop_assert!(!out.chars().any(|c| c.is_control() && c != '\n'), "{out}");
        }

        #[test]
        fn text_without_secrets_keeps_its_printable_words(words in "[a-zA-Z0-9 .,]{0,80}") {
            prop_assert_eq!(redactor().text(&words), words);
        }
    }
}
