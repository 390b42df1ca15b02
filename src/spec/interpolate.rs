//! `${VAR}` interpolation from the environment.
//!
//! Interpolation happens on string scalars after YAML parsing, so a value can
//! never inject YAML structure and every error keeps its location.
//! `${VAR:-default}` supplies a default; `$${` writes a literal `${`.
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
pub enum InterpolationError {
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
pub fn expand(
    text: &str,
    lookup: &dyn Fn(&str) -> Option<String>,
) -> Result<Vec<Piece>, Vec<InterpolationError>> {
    let mut pieces: Vec<Piece> = Vec::new();
    let mut errors = Vec::new();
    let mut literal = String::new();
    let mut rest = text;
    let mut consumed = 0;
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
        let Some(close) = after.find('}') else {
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
                Some((wait, key)) if !wait.is_empty() && !key.is_empty() && !key.contains('.') => {
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
                    reason: "an output reference is written `${outputs.WAIT.KEY}`".to_owned(),
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
            match lookup(name)
                .filter(|v| !v.is_empty())
                .or(default.map(str::to_owned))
            {
                Some(value) => literal.push_str(&value),
                None => errors.push(InterpolationError::Unset {
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
