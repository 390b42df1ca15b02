//! Secrets in every encoding, control characters and workflow commands,
//! across whole reports.

use super::*;
use crate::api::status::Status;
use base64::Engine as _;
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
