//! `${VAR}` interpolation from the environment.
//!
//! Interpolation happens on string scalars after YAML parsing, so a value can
//! never inject YAML structure and every error keeps its location.
//! `${VAR:-default}` supplies a default, which may hold references itself
//! (`${A:-${B}}`); `$${` writes a literal `${`. `$NAME` without braces stays
//! text: [`bare_references`] finds it where it is surely a mistake.
//! `${outputs.WAIT.KEY}` is left for the engine: it names a value captured by
//! an earlier wait.

/// A piece of an interpolated string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Piece {
    /// Literal text.
    Text(String),
    /// A value captured by another wait, filled in when this wait starts.
    Output { wait: String, key: String },
}

/// Why a `${...}` could not be expanded, with the byte range inside the
/// scalar so the diagnostic can point at it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum InterpolationError {
    /// The variable is not set (and no default was given).
    Unset {
        name: String,
        start: usize,
        len: usize,
    },
    /// `${` without a closing `}` or with an invalid name.
    Malformed {
        start: usize,
        len: usize,
        reason: String,
    },
}

/// Expands environment variables in `text`, keeping output references.
///
/// A default may itself hold references: `${A:-${B}}` is `A`, else `B`;
/// `${A:-${B:-x}}` falls back to `x`. Braces are matched, so the default
/// never ends at an inner `}`.
pub(crate) fn expand(
    text: &str,
    lookup: &dyn Fn(&str) -> Option<String>,
) -> Result<Vec<Piece>, Vec<InterpolationError>> {
    expand_at(text, 0, lookup, 0)
}

/// Defaults nested deeper than this are refused (each level is a re-parse).
const DEEPEST_DEFAULT: usize = 8;

/// [`expand`] for `text` found at byte `offset` of the scalar, `depth`
/// defaults deep; error positions are in the scalar.
fn expand_at(
    text: &str,
    offset: usize,
    lookup: &dyn Fn(&str) -> Option<String>,
    depth: usize,
) -> Result<Vec<Piece>, Vec<InterpolationError>> {
    let mut pieces: Vec<Piece> = Vec::new();
    let mut errors = Vec::new();
    let mut literal = String::new();
    let mut rest = text;
    let mut consumed = offset;
    while let Some(at) = rest.find('$') {
        literal.push_str(&rest[..at]);
        let after = &rest[at..];
        if after.starts_with("$${") {
            literal.push_str("${");
            consumed += at + 3;
            rest = &rest[at + 3..];
            continue;
        }
        if !after.starts_with("${") {
            literal.push('$');
            consumed += at + 1;
            rest = &rest[at + 1..];
            continue;
        }
        let start = consumed + at;
        let Some(close) = closing_brace(after) else {
            errors.push(InterpolationError::Malformed {
                start,
                len: after.len(),
                reason: "`${` is not closed by `}`".to_owned(),
            });
            literal.push_str(after);
            rest = "";
            break;
        };
        let inner = &after[2..close];
        let (name, default) = match inner.split_once(":-") {
            Some((name, default)) => (name, Some(default)),
            None => (inner, None),
        };
        if let Some(path) = name.strip_prefix("outputs.") {
            match path.split_once('.') {
                Some((wait, key))
                    if default.is_none()
                        && !wait.is_empty()
                        && !key.is_empty()
                        && !key.contains('.') =>
                {
                    if !literal.is_empty() {
                        pieces.push(Piece::Text(std::mem::take(&mut literal)));
                    }
                    pieces.push(Piece::Output {
                        wait: wait.to_owned(),
                        key: key.to_owned(),
                    });
                }
                _ => errors.push(InterpolationError::Malformed {
                    start,
                    len: close + 1,
                    reason:
                        "an output reference is written `${outputs.WAIT.KEY}`, without a default"
                            .to_owned(),
                }),
            }
        } else if !is_var_name(name) {
            errors.push(InterpolationError::Malformed {
                start,
                len: close + 1,
                reason: format!(
                    "`{name}` is not a variable name (letters, digits and `_`, not starting with a digit)"
                ),
            });
        } else {
            match (lookup(name).filter(|v| !v.is_empty()), default) {
                (Some(value), _) => literal.push_str(&value),
                (None, Some(default)) if default.contains('$') && depth >= DEEPEST_DEFAULT => {
                    errors.push(InterpolationError::Malformed {
                        start,
                        len: close + 1,
                        reason: format!("defaults are nested more than {DEEPEST_DEFAULT} deep"),
                    })
                }
                (None, Some(default)) => {
                    let at_default = start + 2 + name.len() + 2;
                    match expand_at(default, at_default, lookup, depth + 1) {
                        Ok(inner) => {
                            for piece in inner {
                                match piece {
                                    Piece::Text(t) => literal.push_str(&t),
                                    output => {
                                        if !literal.is_empty() {
                                            pieces.push(Piece::Text(std::mem::take(&mut literal)));
                                        }
                                        pieces.push(output);
                                    }
                                }
                            }
                        }
                        Err(inner) => errors.extend(inner),
                    }
                }
                (None, None) => errors.push(InterpolationError::Unset {
                    name: name.to_owned(),
                    start,
                    len: close + 1,
                }),
            }
        }
        consumed += at + close + 1;
        rest = &rest[at + close + 1..];
    }
    literal.push_str(rest);
    if !literal.is_empty() || pieces.is_empty() {
        pieces.push(Piece::Text(literal));
    }
    if errors.is_empty() {
        Ok(pieces)
    } else {
        Err(errors)
    }
}

/// The byte offset of the `}` that closes the `${` at the start of `text`,
/// skipping nested `${...}` (and the literal `$${`).
fn closing_brace(text: &str) -> Option<usize> {
    let bytes = text.as_bytes();
    let mut depth = 0usize;
    let mut at = 0;
    while at < bytes.len() {
        if bytes[at..].starts_with(b"$${") {
            at += 3;
        } else if bytes[at..].starts_with(b"${") {
            depth += 1;
            at += 2;
        } else if bytes[at] == b'}' {
            depth -= 1;
            if depth == 0 {
                return Some(at);
            }
            at += 1;
        } else {
            at += 1;
        }
    }
    None
}

/// A `$NAME` written without braces, which is kept as literal text: in an
/// id it is almost surely a `${NAME}` with its braces forgotten.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct BareReference {
    /// The name after the `$`.
    pub(crate) name: String,
    /// Byte offset of the `$` in the scalar.
    pub(crate) start: usize,
    /// Length of `$NAME` in bytes.
    pub(crate) len: usize,
}

/// Every `$NAME` (a `$` followed by a variable name, outside `${...}` or in
/// a `${VAR:-default}`'s default) in `text` as written.
pub(crate) fn bare_references(text: &str) -> Vec<BareReference> {
    let mut found = Vec::new();
    bare_references_at(text, 0, &mut found);
    found
}

fn bare_references_at(text: &str, offset: usize, found: &mut Vec<BareReference>) {
    let mut at = 0;
    while let Some(i) = text[at..].find('$') {
        let start = at + i;
        let after = &text[start..];
        if after.starts_with("$${") {
            at = start + 3;
        } else if after.starts_with("${") {
            let Some(close) = closing_brace(after) else {
                return;
            };
            // A default is text like any other: `${A:-$B}` falls back to
            // the literal `$B`.
            if let Some(split) = after[2..close].find(":-") {
                let default = 2 + split + 2;
                bare_references_at(&after[default..close], offset + start + default, found);
            }
            at = start + close + 1;
        } else {
            let name_len = after[1..]
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(after.len() - 1);
            let name = &after[1..1 + name_len];
            if is_var_name(name) {
                found.push(BareReference {
                    name: name.to_owned(),
                    start: offset + start,
                    len: 1 + name_len,
                });
            }
            at = start + 1 + name_len;
        }
    }
}

fn is_var_name(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(name: &str) -> Option<String> {
        match name {
            "JOB" => Some("abc".into()),
            "EMPTY" => Some(String::new()),
            _ => None,
        }
    }

    fn text(s: &str) -> Vec<Piece> {
        vec![Piece::Text(s.into())]
    }

    #[test]
    fn expands_set_variables_and_defaults() {
        assert_eq!(expand("id-${JOB}-x", &env), Ok(text("id-abc-x")));
        assert_eq!(expand("${NOPE:-5m}", &env), Ok(text("5m")));
        assert_eq!(expand("${EMPTY:-d}", &env), Ok(text("d")));
        assert_eq!(
            expand("cost $5 and $${JOB}", &env),
            Ok(text("cost $5 and ${JOB}"))
        );
        assert_eq!(expand("", &env), Ok(text("")));
    }

    #[test]
    fn unset_variables_are_named_and_located() {
        let errors = expand("a ${MISSING} b ${JOB} ${EMPTY}", &env).unwrap_err();
        assert_eq!(
            errors,
            vec![
                InterpolationError::Unset {
                    name: "MISSING".into(),
                    start: 2,
                    len: 10
                },
                InterpolationError::Unset {
                    name: "EMPTY".into(),
                    start: 22,
                    len: 8
                },
            ]
        );
    }

    #[test]
    fn malformed_references_are_errors() {
        assert!(matches!(
            expand("${JOB", &env).unwrap_err()[0],
            InterpolationError::Malformed { start: 0, .. }
        ));
        assert!(matches!(
            expand("${1X}", &env).unwrap_err()[0],
            InterpolationError::Malformed { .. }
        ));
        assert!(matches!(
            expand("${outputs.only}", &env).unwrap_err()[0],
            InterpolationError::Malformed { .. }
        ));
    }

    #[test]
    fn defaults_may_hold_references() {
        assert_eq!(expand("${NOPE:-${JOB}}", &env), Ok(text("abc")));
        assert_eq!(expand("${JOB:-${NOPE}}", &env), Ok(text("abc")));
        assert_eq!(expand("x${A:-${B:-d}}y", &env), Ok(text("xdy")));
        assert_eq!(expand("${A:-a}}", &env), Ok(text("a}")));
        assert_eq!(
            expand("${A:-${outputs.w.k}}", &env),
            Ok(vec![Piece::Output {
                wait: "w".into(),
                key: "k".into()
            }])
        );
        // An unset inner variable is located where it is written.
        assert_eq!(
            expand("${A:-${B}}", &env),
            Err(vec![InterpolationError::Unset {
                name: "B".into(),
                start: 5,
                len: 4
            }])
        );
        assert!(matches!(
            expand("${A:-${B}", &env).unwrap_err()[0],
            InterpolationError::Malformed { start: 0, .. }
        ));
        let deep = format!("{}x{}", "${A:-".repeat(20), "}".repeat(20));
        assert!(expand(&deep, &env).is_err());
    }

    #[test]
    fn bare_references_are_found_outside_braces() {
        let found = bare_references("$JOB-${X}-$${Y}-$1-$.a-$_z9");
        let names: Vec<(&str, usize, usize)> = found
            .iter()
            .map(|b| (b.name.as_str(), b.start, b.len))
            .collect();
        assert_eq!(names, [("JOB", 0, 4), ("_z9", 23, 4)]);
        assert!(bare_references("${A}$").is_empty());
        // In a default, `$B` is literal text too.
        let found = bare_references("x${A:-y$B}");
        assert_eq!(
            found,
            [BareReference {
                name: "B".into(),
                start: 7,
                len: 2
            }]
        );
    }

    #[test]
    fn keeps_output_references() {
        assert_eq!(
            expand("img-${outputs.build.image_id}", &env),
            Ok(vec![
                Piece::Text("img-".into()),
                Piece::Output {
                    wait: "build".into(),
                    key: "image_id".into()
                }
            ])
        );
    }
}
