//! A YAML document as a tree of nodes that remember where they came from.
//!
//! The spec is validated by walking this tree rather than by deriving
//! `Deserialize` on the spec types: a walk can report every mistake at once
//! (serde stops at the first) and point at the exact text of each one.
//! [`Node::narrow`] (in `scalar`) points at part of a scalar's value, as
//! written.

mod scalar;

use std::fmt;

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_saphyr::Spanned;

/// Where a node's text lies in the source: a byte range for labels, and the
/// 1-based line and column for messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Span {
    /// Byte offset of the first character.
    pub offset: usize,
    /// Length in bytes (at least 1 so that a label is always visible).
    pub len: usize,
    /// 1-based line.
    pub line: usize,
    /// 1-based column.
    pub column: usize,
}

impl Span {
    fn from_location(location: &serde_saphyr::Location, source: &str) -> Self {
        let span = location.span();
        let offset = span.byte_offset().unwrap_or(0) as usize;
        let mut len = span.byte_len().unwrap_or(0) as usize;
        if len == 0 {
            len = scalar_len_at(source, offset);
        }
        Span {
            offset,
            len: len.max(1),
            line: location.line() as usize,
            column: location.column() as usize,
        }
    }

    /// The span of the character at a 1-based line and column, if it exists.
    pub(crate) fn at(source: &str, line: usize, column: usize) -> Option<Span> {
        if line == 0 || column == 0 {
            return None;
        }
        let mut start = 0;
        for _ in 1..line {
            start += source.get(start..)?.find('\n')? + 1;
        }
        let text = source[start..].split('\n').next().unwrap_or("");
        let (at, ch) = text
            .char_indices()
            .nth(column - 1)
            .or_else(|| text.char_indices().last())?;
        Some(Span {
            offset: start + at,
            len: ch.len_utf8(),
            line,
            column: text[..at].chars().count() + 1,
        })
    }

    /// The span of `source[from..to]`, a range near this span (block
    /// scalars' leading empty lines lie before it), with its line and
    /// column counted from this span's so that no line is searched twice.
    pub(crate) fn within(self, source: &str, from: usize, to: usize) -> Span {
        let (line, column) = if from >= self.offset {
            let between = &source[self.offset..from];
            match between.rfind('\n') {
                None => (self.line, self.column + between.chars().count()),
                Some(at) => (
                    self.line + between.matches('\n').count(),
                    between[at + 1..].chars().count() + 1,
                ),
            }
        } else {
            let before = &source[..from];
            let line_start = before.rfind('\n').map_or(0, |at| at + 1);
            (
                self.line
                    .saturating_sub(source[from..self.offset].matches('\n').count()),
                before[line_start..].chars().count() + 1,
            )
        };
        Span {
            offset: from,
            len: (to - from).max(1),
            line: line.max(1),
            column,
        }
    }
}

/// Length of the plain scalar starting at `offset`, used when the parser
/// gives a location without a length.
fn scalar_len_at(source: &str, offset: usize) -> usize {
    source
        .get(offset..)
        .map(|rest| rest.find(['\n', '#']).unwrap_or(rest.len()))
        .map(|len| source[offset..offset + len].trim_end().len())
        .unwrap_or(1)
}

/// A YAML value with its location.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Node {
    pub(crate) value: Value,
    pub(crate) span: Span,
    /// For a scalar that YAML typed as a number or boolean, the text as
    /// written (`0x1F`, `007`, `no`, a 36-digit id): ids, `where` values and
    /// keys are text, and must not become what YAML made of them. `None`
    /// when the written text cannot be recovered (an alias).
    pub(crate) written: Option<String>,
}

/// The shapes a YAML value can take.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Value {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    Seq(Vec<Node>),
    /// Keys keep their order and their own spans (for "unknown key" labels).
    Map(Vec<(Node, Node)>),
}

impl Value {
    /// The word used in "expected a ..., found a ..." messages.
    pub(crate) fn kind(&self) -> &'static str {
        match self {
            Value::Null => "null",
            Value::Bool(_) => "boolean",
            Value::Int(_) | Value::Float(_) => "number",
            Value::Str(_) => "string",
            Value::Seq(_) => "list",
            Value::Map(_) => "mapping",
        }
    }
}

impl Node {
    /// The string value, if this node is a string scalar.
    pub(crate) fn as_str(&self) -> Option<&str> {
        match &self.value {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }

    /// The scalar's text whatever its YAML type, for fields where `5` and
    /// `"5"` mean the same (numbers written through `${VAR}` arrive as strings).
    /// A number or boolean is its text as written: `0x1F` stays `0x1F`,
    /// `007` stays `007`, `on` stays `on`.
    pub(crate) fn scalar_text(&self) -> Option<String> {
        if let (Some(written), Value::Int(_) | Value::Float(_) | Value::Bool(_)) =
            (&self.written, &self.value)
        {
            return Some(written.clone());
        }
        match &self.value {
            Value::Str(s) => Some(s.clone()),
            Value::Int(i) => Some(i.to_string()),
            Value::Float(f) => Some(f.to_string()),
            Value::Bool(b) => Some(b.to_string()),
            _ => None,
        }
    }

    /// Looks up a key in a mapping node.
    pub(crate) fn get(&self, key: &str) -> Option<&Node> {
        match &self.value {
            Value::Map(entries) => entries
                .iter()
                .find(|(k, _)| k.as_str() == Some(key))
                .map(|(_, v)| v),
            _ => None,
        }
    }
}

/// Parses YAML text into a located tree. Errors carry serde-saphyr's message
/// and location.
pub(crate) fn parse(source: &str) -> Result<Node, ParseError> {
    let spanned: Spanned<RawValue> =
        serde_saphyr::from_str(source).map_err(|error| ParseError::from_saphyr(&error, source))?;
    Ok(convert(spanned, source))
}

/// A YAML syntax error, located.
#[derive(Debug, Clone)]
pub(crate) struct ParseError {
    pub(crate) message: String,
    pub(crate) span: Span,
    /// The file holds a second document (a `---` after the first); `span`
    /// is that `---`.
    pub(crate) second_document: bool,
}

impl ParseError {
    fn from_saphyr(error: &serde_saphyr::Error, source: &str) -> Self {
        // Parser errors may carry a line and column without a byte offset;
        // derive the offset here so every reader of the span gets the place.
        let span = error
            .location()
            .map(|location| {
                let span = Span::from_location(&location, source);
                let unlocated = span.offset == 0 && (span.line, span.column) != (1, 1);
                match unlocated
                    .then(|| Span::at(source, span.line, span.column))
                    .flatten()
                {
                    Some(located) => located,
                    None => span,
                }
            })
            .unwrap_or(Span {
                offset: 0,
                len: 1,
                line: 1,
                column: 1,
            });
        // The library's Display repeats the location; keep its first line.
        let message = error.to_string();
        if message.contains("multiple YAML documents") {
            return ParseError {
                message: "the file holds more than one YAML document".to_owned(),
                span: second_document_marker(source, span.offset).unwrap_or(span),
                second_document: true,
            };
        }
        let message = message.lines().next().unwrap_or("invalid YAML").to_owned();
        ParseError {
            message,
            span,
            second_document: false,
        }
    }
}

/// The `---` line that starts a second document, the last one at or before
/// `before` (where the parser noticed it).
fn second_document_marker(source: &str, before: usize) -> Option<Span> {
    let mut found = None;
    let mut offset = 0;
    let mut documents = 0;
    for (index, line) in source.split_inclusive('\n').enumerate() {
        if offset > before && found.is_some() {
            break;
        }
        let text = line.trim_end();
        if text == "---" || text.starts_with("--- ") {
            // A `---` before any content opens the first document.
            let content_before = source[..offset].lines().any(|l| {
                !l.trim().is_empty() && !l.trim_start().starts_with('#') && !l.starts_with('%')
            });
            if content_before || documents > 0 {
                found = Some(Span {
                    offset,
                    len: 3,
                    line: index + 1,
                    column: 1,
                });
            }
            documents += 1;
        }
        offset += line.len();
    }
    found
}

fn convert(spanned: Spanned<RawValue>, source: &str) -> Node {
    let span = Span::from_location(&spanned.referenced, source);
    let written = match spanned.value {
        RawValue::Int(_) | RawValue::Float(_) | RawValue::Bool(_) => written_text(source, span),
        _ => None,
    };
    let value = match spanned.value {
        RawValue::Null => Value::Null,
        RawValue::Bool(b) => Value::Bool(b),
        RawValue::Int(i) => Value::Int(i),
        RawValue::Float(f) => Value::Float(f),
        RawValue::Str(s) => Value::Str(s),
        RawValue::Seq(items) => Value::Seq(items.into_iter().map(|i| convert(i, source)).collect()),
        RawValue::Map(entries) => Value::Map(
            entries
                .into_iter()
                .map(|(k, v)| (convert(k, source), convert(v, source)))
                .collect(),
        ),
    };
    Node {
        value,
        span,
        written,
    }
}

/// The source text of a plain scalar YAML read as a number or boolean:
/// one token, without quotes, tags, anchors or aliases around it.
fn written_text(source: &str, span: Span) -> Option<String> {
    let text = source.get(span.offset..span.offset.checked_add(span.len)?)?;
    let token = text.trim();
    let plain = !token.is_empty()
        && !token.starts_with(['*', '&', '!', '"', '\''])
        && !token.contains(|c: char| {
            c.is_whitespace() || matches!(c, ',' | '[' | ']' | '{' | '}' | '#')
        });
    plain.then(|| token.to_owned())
}

/// The deserialized form, before spans are turned into [`Span`]s.
enum RawValue {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    Seq(Vec<Spanned<RawValue>>),
    Map(Vec<(Spanned<RawValue>, Spanned<RawValue>)>),
}

impl<'de> Deserialize<'de> for RawValue {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(RawVisitor)
    }
}

struct RawVisitor;

impl<'de> Visitor<'de> for RawVisitor {
    type Value = RawValue;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any YAML value")
    }
    fn visit_unit<E: de::Error>(self) -> Result<RawValue, E> {
        Ok(RawValue::Null)
    }
    fn visit_none<E: de::Error>(self) -> Result<RawValue, E> {
        Ok(RawValue::Null)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<RawValue, D::Error> {
        RawValue::deserialize(d)
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<RawValue, E> {
        Ok(RawValue::Bool(v))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<RawValue, E> {
        Ok(RawValue::Int(v))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<RawValue, E> {
        Ok(i64::try_from(v).map_or(RawValue::Float(v as f64), RawValue::Int))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<RawValue, E> {
        Ok(RawValue::Float(v))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<RawValue, E> {
        Ok(RawValue::Str(v.to_owned()))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<RawValue, E> {
        Ok(RawValue::Str(v))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<RawValue, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element::<Spanned<RawValue>>()? {
            items.push(item);
        }
        Ok(RawValue::Seq(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<RawValue, A::Error> {
        let mut entries = Vec::new();
        while let Some(key) = map.next_key::<Spanned<RawValue>>()? {
            let value = map.next_value::<Spanned<RawValue>>()?;
            entries.push((key, value));
        }
        Ok(RawValue::Map(entries))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_locations_of_keys_and_values() {
        let source =
            "version: 1\nwaits:\n  build:\n    image_job: abc\n    target: [SUCCESS, FAILED]\n";
        let root = parse(source).unwrap();
        let waits = root.get("waits").unwrap();
        let Value::Map(entries) = &waits.value else {
            panic!("not a map")
        };
        let (key, build) = &entries[0];
        assert_eq!(key.as_str(), Some("build"));
        assert_eq!((key.span.line, key.span.column), (3, 3));
        let job = build.get("image_job").unwrap();
        assert_eq!(
            &source[job.span.offset..job.span.offset + job.span.len],
            "abc"
        );
        let Value::Seq(targets) = &build.get("target").unwrap().value else {
            panic!()
        };
        let failed = &targets[1];
        assert_eq!(
            &source[failed.span.offset..failed.span.offset + failed.span.len],
            "FAILED"
        );
        assert_eq!((failed.span.line, failed.span.column), (5, 23));
    }

    #[test]
    fn scalar_types() {
        let root = parse("a: 1\nb: 1.5\nc: true\nd: ~\ne: text\n").unwrap();
        assert_eq!(root.get("a").unwrap().value, Value::Int(1));
        assert_eq!(root.get("b").unwrap().value, Value::Float(1.5));
        assert_eq!(root.get("c").unwrap().value, Value::Bool(true));
        assert_eq!(root.get("d").unwrap().value, Value::Null);
        assert_eq!(root.get("e").unwrap().as_str(), Some("text"));
    }

    #[test]
    fn numbers_and_booleans_keep_their_written_text() {
        let source = "a: [0x1F, 007, yes, 1e3]\nb: { x: 0123, z: no }\non: 123456789012345678901234567890123456\nc: !!int 5\nd: &x 0o17\ne: *x\n";
        let root = parse(source).unwrap();
        let Value::Seq(a) = &root.get("a").unwrap().value else {
            panic!()
        };
        let texts: Vec<String> = a.iter().filter_map(Node::scalar_text).collect();
        assert_eq!(texts, ["0x1F", "007", "yes", "1e3"]);
        let b = root.get("b").unwrap();
        assert_eq!(b.get("x").unwrap().scalar_text().unwrap(), "0123");
        assert_eq!(b.get("z").unwrap().scalar_text().unwrap(), "no");
        let Value::Map(entries) = &root.value else {
            panic!()
        };
        // A key YAML reads as `true` is still the word written.
        let (key, id) = &entries[2];
        assert_eq!(key.scalar_text().unwrap(), "on");
        assert_eq!(
            id.scalar_text().unwrap(),
            "123456789012345678901234567890123456"
        );
        assert_eq!(root.get("c").unwrap().scalar_text().unwrap(), "5");
        assert_eq!(root.get("d").unwrap().scalar_text().unwrap(), "0o17");
        // An alias has no text of its own: its value is formatted.
        assert_eq!(root.get("e").unwrap().written, None);
    }

    #[test]
    fn syntax_errors_are_located() {
        let source = "waits:\n  a: [1, 2\n";
        let error = parse(source).unwrap_err();
        assert!(error.span.line >= 2, "{error:?}");
        let line_start: usize = source
            .split('\n')
            .take(error.span.line - 1)
            .map(|l| l.len() + 1)
            .sum();
        assert!(
            error.span.offset >= line_start,
            "the byte offset agrees with the line: {error:?}"
        );
    }

    #[test]
    fn a_second_document_is_named_at_its_marker() {
        for source in [
            "version: 1\n---\nversion: 1\n",
            "---\nversion: 1\n---\nversion: 1\n",
            "# c\nversion: 1\n--- # again\nversion: 1\n",
        ] {
            let error = parse(source).unwrap_err();
            assert!(error.second_document, "{source:?}");
            assert_eq!(error.message, "the file holds more than one YAML document");
            assert_eq!(&source[error.span.offset..error.span.offset + 3], "---");
            assert!(error.span.line > 1, "{source:?}: {error:?}");
        }
    }

    #[test]
    fn quoted_scalars_span_their_quotes() {
        let source = "path: \"$.items[\"\n";
        let root = parse(source).unwrap();
        let node = root.get("path").unwrap();
        let narrowed = node.narrow(source, 2, 1);
        assert_eq!(&source[narrowed.offset..narrowed.offset + 1], "i");
    }
}
