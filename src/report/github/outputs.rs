//! Step outputs (`$GITHUB_OUTPUT`): the fixed names and one `<wait>-<key>`
//! per captured value, in the file format the runner parses.

use std::fmt::Write as _;

use crate::report::model::RunReport;

/// The fixed output names, which win over captured outputs of the same name.
pub(crate) const FIXED_OUTPUTS: [&str; 3] = ["outcome", "exit-code", "report"];

/// The step output name of a captured value.
pub(crate) fn output_name(wait: &str, key: &str) -> String {
    format!("{wait}-{key}")
}

/// The step outputs: `outcome`, `exit-code`, `report` (when a report file
/// was written, its path as given) and every captured value as
/// `<wait>-<key>`, in that order.
pub(crate) fn outputs(report: &RunReport, report_path: Option<&str>) -> Vec<(String, String)> {
    let mut out = vec![
        ("outcome".to_owned(), report.outcome.as_str().to_owned()),
        ("exit-code".to_owned(), report.exit_code.to_string()),
    ];
    if let Some(path) = report_path {
        out.push(("report".to_owned(), path.to_owned()));
    }
    for wait in &report.waits {
        for (key, value) in &wait.outputs {
            let name = output_name(&wait.name, key);
            if !FIXED_OUTPUTS.contains(&name.as_str()) {
                out.push((name, value.clone()));
            }
        }
    }
    out
}

/// Formats outputs for `$GITHUB_OUTPUT`: `name=value` for one-line values,
/// and the heredoc form `name<<DELIMITER` for values with line breaks, with
/// a random delimiter that the value does not contain (so a captured value
/// cannot end the heredoc early and inject outputs of its own).
pub(crate) fn format_outputs(outputs: &[(String, String)]) -> String {
    let mut text = String::new();
    for (name, value) in outputs {
        if value.contains(['\n', '\r']) {
            let delimiter = loop {
                let candidate = format!(
                    "ghadelimiter_{:016x}{:016x}",
                    fastrand::u64(..),
                    fastrand::u64(..)
                );
                if !value.contains(&candidate) {
                    break candidate;
                }
            };
            let _ = write!(text, "{name}<<{delimiter}\n{value}\n{delimiter}\n");
        } else {
            let _ = writeln!(text, "{name}={value}");
        }
    }
    text
}

/// Parses `$GITHUB_OUTPUT` the way the runner does.
#[cfg(test)]
pub(super) fn parse_output_file(text: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut lines = text.split('\n');
    while let Some(line) = lines.next() {
        if line.is_empty() {
            continue;
        }
        if let Some((name, delimiter)) = line.split_once("<<") {
            let mut value = Vec::new();
            for l in lines.by_ref() {
                if l == delimiter {
                    break;
                }
                value.push(l);
            }
            out.push((name.to_owned(), value.join("\n")));
        } else {
            let (name, value) = line.split_once('=').expect("name=value");
            out.push((name.to_owned(), value.to_owned()));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::json::samples;

    #[test]
    fn outputs_have_fixed_and_per_wait_names() {
        let mut report = samples::mixed();
        report.waits[3].name = "exit".into();
        report.waits[3].outputs.insert("code".into(), "42".into());
        let got = outputs(&report, Some("out/report.json"));
        let names: Vec<&str> = got.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(
            names,
            vec![
                "outcome",
                "exit-code",
                "report",
                "golden-image-image_id",
                "golden-image-note"
            ]
        );
        assert_eq!(got[1].1, "1");
        assert!(!outputs(&report, None).iter().any(|(n, _)| n == "report"));
    }

    #[test]
    fn output_file_round_trips_multi_line_values() {
        let values = vec![
            ("a".to_owned(), "one line".to_owned()),
            ("b".to_owned(), "two\nlines\nb<<EOF".to_owned()),
            ("c".to_owned(), "x=y".to_owned()),
        ];
        let text = format_outputs(&values);
        assert!(text.starts_with("a=one line\nb<<ghadelimiter_"), "{text}");
        assert_eq!(parse_output_file(&text), values);
    }

    #[test]
    fn heredoc_delimiters_are_random() {
        let values = vec![("x".to_owned(), "1\n2".to_owned())];
        assert_ne!(format_outputs(&values), format_outputs(&values));
    }
}
