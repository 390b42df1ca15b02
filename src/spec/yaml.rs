//! A YAML document as a tree of nodes that remember where they came from.
//!
//! The spec is validated by walking this tree rather than by deriving
//! `Deserialize` on the spec types: a walk can report every mistake at once
//! (serde stops at the first) and point at the exact text of each one.

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
    pub fn at(source: &str, line: usize, column: usize) -> Option<Span> {
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

// Mapping a place in a scalar's value back to its source text.
//
// A diagnostic about part of a string (a JSONPath error at byte 21, an unset
// `${VAR}` at bytes 4..12) knows where that part is in the *value*; the label
// must go where it was *written*. The two differ by the opening quote, by
// escapes (`\"`, `\u00e9`, `''`), by the indentation and header of block
// scalars and by line folding. So the scalar's source is read again, by its
// style, recording for every character of the value the source bytes that
// produced it. If the re-read value differs from the parsed one (a style
// this reader gets wrong), there is no mapping and callers point at the whole
// scalar: never at a wrong character.

/// Scalars longer than this are not re-read: a diagnostic about one is
/// labelled on the whole scalar (whose beginning is shown) rather than paying
/// a re-read per diagnostic.
const LONGEST_MAPPED_SCALAR: usize = 64 * 1024;

/// Maps bytes `start..start + len` of the value of the scalar at `scalar` to
/// the source byte range `(from, to)` they were written as.
///
/// `value` is the parsed value: the mapping is only given if re-reading the
/// source yields exactly that value. Offsets are in bytes and
/// must fall on character boundaries of the value. `start` at the end of the
/// value maps to the place just after its last character (where a parser
/// that wanted more would point), e.g. the closing quote. An escape maps to
/// the whole escape (`\u00e9`), a folded line break to the line break, a
/// range to everything from its first character's source to its last's.
///
/// Styles: plain (also multi-line), single-quoted, double-quoted (all YAML
/// 1.2 escapes, escaped line breaks), literal `|` and folded `>` blocks with
/// any chomping and indentation indicator. `None` when unsure.
fn value_range_to_source(
    source: &str,
    scalar: Span,
    value: &str,
    start: usize,
    len: usize,
) -> Option<(usize, usize)> {
    if scalar.len > LONGEST_MAPPED_SCALAR {
        return None;
    }
    let decoded = decode_scalar(source, scalar)?;
    if value != decoded.value {
        return None;
    }
    if start >= decoded.value.len() {
        return (start == decoded.value.len()).then_some((decoded.end, decoded.end));
    }
    let first = decoded.char_at(start)?;
    let last_byte = (start + len.max(1)).min(decoded.value.len()) - 1;
    let last = decoded
        .chars
        .partition_point(|c| c.value <= last_byte)
        .checked_sub(1)?;
    let from = decoded.chars[first].source.0;
    let to = decoded.chars[last].source.1.max(from);
    Some((from, to))
}

/// A scalar read again from its source: its value, and for each character
/// of the value the source bytes that produced it.
#[derive(Debug, Default)]
struct Decoded {
    value: String,
    chars: Vec<Origin>,
    /// Where the value ends in the source (just after its last character,
    /// or the closing quote).
    end: usize,
}

#[derive(Debug, Clone, Copy)]
struct Origin {
    /// Byte offset of the character in the value.
    value: usize,
    /// Source bytes `(from, to)` it was written as.
    source: (usize, usize),
}

impl Decoded {
    fn push(&mut self, ch: char, from: usize, to: usize) {
        self.chars.push(Origin {
            value: self.value.len(),
            source: (from, to),
        });
        self.value.push(ch);
    }

    /// The index of the character starting at value byte `at`.
    fn char_at(&self, at: usize) -> Option<usize> {
        self.chars.binary_search_by_key(&at, |c| c.value).ok()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum FlowStyle {
    Plain,
    Single,
    Double,
}

fn decode_scalar(source: &str, scalar: Span) -> Option<Decoded> {
    let end = scalar.offset.checked_add(scalar.len)?;
    let text = source.get(scalar.offset..end)?;
    let style = match text.as_bytes().first()? {
        b'"' => FlowStyle::Double,
        b'\'' => FlowStyle::Single,
        _ => {
            if let Some(header) = block_header(source, scalar.offset) {
                return decode_block(source, &header);
            }
            FlowStyle::Plain
        }
    };
    let body = if style == FlowStyle::Plain {
        // A plain scalar's span is its text, without surrounding blanks.
        if text.starts_with(is_blank) || text.ends_with(is_blank_or_break) {
            return None;
        }
        (scalar.offset, end)
    } else {
        // The span runs from the opening quote to the closing one.
        if text.len() < 2 || !text.ends_with(&text[..1]) {
            return None;
        }
        (scalar.offset + 1, end - 1)
    };
    let mut out = decode_flow(source, body, style)?;
    out.end = body.1;
    Some(out)
}

fn is_blank(c: char) -> bool {
    c == ' ' || c == '\t'
}

fn is_blank_or_break(c: char) -> bool {
    is_blank(c) || c == '\n' || c == '\r'
}

/// The length of the line break at `at` (`\n`, `\r\n` or `\r`), 0 if none.
fn break_len(source: &str, at: usize) -> usize {
    let rest = source.as_bytes().get(at..).unwrap_or_default();
    match rest {
        [b'\r', b'\n', ..] => 2,
        [b'\n' | b'\r', ..] => 1,
        _ => 0,
    }
}

/// Reads a plain or quoted scalar's text `body` (inside the quotes): escapes,
/// `''`, and line folding (a single line break is a space, each empty line
/// a `\n`, blanks around line breaks are dropped).
fn decode_flow(source: &str, body: (usize, usize), style: FlowStyle) -> Option<Decoded> {
    let (mut at, end) = body;
    let mut out = Decoded::default();
    while at < end {
        let ch = source.get(at..end)?.chars().next()?;
        match ch {
            ' ' | '\t' => {
                let run = source[at..end].find(|c| !is_blank(c)).unwrap_or(end - at);
                // Blanks before a line break are not part of the value.
                if break_len(source, at + run) == 0 || at + run >= end {
                    for (i, b) in source[at..at + run].char_indices() {
                        out.push(b, at + i, at + i + 1);
                    }
                }
                at += run;
            }
            '\n' | '\r' => at = fold(source, at, end, &mut out, false)?,
            '\'' if style == FlowStyle::Single => {
                // Inside single quotes, `''` is one quote; a lone one would
                // have closed the scalar.
                if source.get(at + 1..end)?.starts_with('\'') {
                    out.push('\'', at, at + 2);
                    at += 2;
                } else {
                    return None;
                }
            }
            '"' if style == FlowStyle::Double => return None,
            '\\' if style == FlowStyle::Double => {
                let escaped = source.get(at + 1..end)?.chars().next()?;
                if escaped == '\n' || escaped == '\r' {
                    at = fold(source, at + 1, end, &mut out, true)?;
                    continue;
                }
                let (ch, len) = unescape(source.get(at + 1..end)?)?;
                out.push(ch, at, at + 1 + len);
                at += 1 + len;
            }
            _ => {
                out.push(ch, at, at + ch.len_utf8());
                at += ch.len_utf8();
            }
        }
    }
    Some(out)
}

/// Folds the line break at `at` and the empty lines after it, skipping the
/// next line's leading blanks; returns where that line's text starts. The
/// break becomes a space (nothing if `escaped`, i.e. after `\\`), unless
/// empty lines follow: each of those becomes a `\n`.
fn fold(source: &str, at: usize, end: usize, out: &mut Decoded, escaped: bool) -> Option<usize> {
    let first = (at, at + break_len(source, at));
    let mut next = first.1;
    let mut empty = Vec::new();
    loop {
        let rest = source.get(next..end)?;
        let text = next + rest.find(|c| !is_blank(c)).unwrap_or(rest.len());
        match break_len(source, text) {
            0 => {
                next = text;
                break;
            }
            n if text < end => {
                empty.push((text, text + n));
                next = text + n;
            }
            _ => return None,
        }
    }
    if empty.is_empty() {
        if !escaped {
            out.push(' ', first.0, first.1);
        }
    } else {
        for (from, to) in empty {
            out.push('\n', from, to);
        }
    }
    Some(next)
}

/// The character a double-quoted escape stands for (the text after the
/// backslash), and the length of the escape after the backslash.
fn unescape(rest: &str) -> Option<(char, usize)> {
    let letter = rest.chars().next()?;
    let simple = match letter {
        '0' => Some('\0'),
        'a' => Some('\u{7}'),
        'b' => Some('\u{8}'),
        't' | '\t' => Some('\t'),
        'n' => Some('\n'),
        'v' => Some('\u{b}'),
        'f' => Some('\u{c}'),
        'r' => Some('\r'),
        'e' => Some('\u{1b}'),
        ' ' => Some(' '),
        '"' => Some('"'),
        '/' => Some('/'),
        '\\' => Some('\\'),
        'N' => Some('\u{85}'),
        '_' => Some('\u{a0}'),
        'L' => Some('\u{2028}'),
        'P' => Some('\u{2029}'),
        _ => None,
    };
    if let Some(ch) = simple {
        return Some((ch, letter.len_utf8()));
    }
    let digits = match letter {
        'x' => 2,
        'u' => 4,
        'U' => 8,
        _ => return None,
    };
    let hex = rest.get(1..1 + digits)?;
    if !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    let ch = char::from_u32(u32::from_str_radix(hex, 16).ok()?)?;
    Some((ch, 1 + digits))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Chomping {
    /// `-`: no final line break.
    Strip,
    /// No indicator: one final line break.
    Clip,
    /// `+`: the final line break and the empty lines after it.
    Keep,
}

/// What a block scalar's header says, and where its lines are.
#[derive(Debug)]
struct BlockHeader {
    folded: bool,
    chomping: Chomping,
    /// Spaces of indentation of the content.
    indent: usize,
    /// Start of the first line after the header.
    lines: usize,
}

/// The header of the block scalar whose content starts at `content` (the
/// parser's span of a block scalar starts at its first text, after the
/// indentation and any leading empty lines). `None` if the text before
/// `content` is not a header, empty lines and indentation, i.e. the scalar
/// is plain.
fn block_header(source: &str, content: usize) -> Option<BlockHeader> {
    let before = source.get(..content)?;
    let line_start = before.rfind('\n').map_or(0, |at| at + 1);
    let indent = content - line_start;
    if indent == 0 || !before[line_start..].bytes().all(|b| b == b' ') {
        return None;
    }
    // Back over leading empty lines to the header's line.
    let mut end = line_start.checked_sub(1)?;
    let header = loop {
        let start = before[..end].rfind('\n').map_or(0, |at| at + 1);
        let line = before[start..end].trim_end_matches('\r');
        if !line.bytes().all(|b| b == b' ') {
            break (start, line);
        }
        end = start.checked_sub(1)?;
    };
    let (folded, chomping) = header_indicators(header.1)?;
    Some(BlockHeader {
        folded,
        chomping,
        indent,
        lines: header.0 + header.1.len() + break_len(source, header.0 + header.1.len()),
    })
}

/// Finds `|` or `>` with its chomping and indentation indicators at the end
/// of a header line (`key: |`, `- path: >-  # comment`, `k: !!str |2+`).
fn header_indicators(line: &str) -> Option<(bool, Chomping)> {
    for (at, c) in line.char_indices() {
        // Indicators and comments start after a blank (or the line start).
        if at > 0 && !line[..at].ends_with(is_blank) {
            continue;
        }
        match c {
            '|' | '>' => {}
            // Everything from a comment on is no header.
            '#' => return None,
            _ => continue,
        }
        let rest = &line[at + 1..];
        let token_len = rest
            .find(|c: char| !matches!(c, '1'..='9' | '+' | '-'))
            .unwrap_or(rest.len());
        let (token, after) = rest.split_at(token_len);
        // After the indicators: nothing, or blanks and maybe a comment.
        let trimmed = after.trim_start_matches(is_blank);
        if !(trimmed.is_empty() || trimmed.starts_with('#') && trimmed.len() < after.len()) {
            continue;
        }
        let signs = token.matches(['+', '-']).count();
        let digits = token.len() - signs;
        if signs > 1 || digits > 1 {
            continue;
        }
        let chomping = if token.contains('-') {
            Chomping::Strip
        } else if token.contains('+') {
            Chomping::Keep
        } else {
            Chomping::Clip
        };
        return Some((c == '>', chomping));
    }
    None
}

/// One line of a block scalar.
#[derive(Debug)]
enum BlockLine {
    /// Only indentation: a `\n` in the value (or in the chomped tail).
    Empty { brk: (usize, usize) },
    /// Text after the indentation; `spaced` if it starts with a blank
    /// (folding keeps the line breaks around such lines).
    Text {
        text: (usize, usize),
        brk: (usize, usize),
        spaced: bool,
    },
}

/// Reads a literal or folded block scalar from the lines after its header.
fn decode_block(source: &str, header: &BlockHeader) -> Option<Decoded> {
    let n = header.indent;
    let mut lines = Vec::new();
    let mut at = header.lines;
    while at < source.len() {
        let line_end = source[at..].find('\n').map_or(source.len(), |i| at + i);
        let line = source[at..line_end]
            .strip_suffix('\r')
            .unwrap_or(&source[at..line_end]);
        let brk = (
            at + line.len(),
            line_end + usize::from(line_end < source.len()),
        );
        let spaces = line.bytes().take_while(|&b| b == b' ').count();
        if spaces == line.len() && brk.0 == brk.1 {
            break; // blanks at the end of the file, without a line break
        } else if spaces == line.len() && spaces <= n {
            lines.push(BlockLine::Empty { brk });
        } else if spaces >= n {
            let text = &line[n..];
            lines.push(BlockLine::Text {
                text: (at + n, at + line.len()),
                brk,
                spaced: text.starts_with(is_blank),
            });
        } else if line.bytes().all(|b| b == b' ' || b == b'\t') {
            // Tabs in a line's indentation: unsure how the parser reads it.
            return None;
        } else {
            break; // less indented: the scalar has ended
        }
        at = brk.1;
    }
    let mut out = Decoded::default();
    let mut pending = Vec::new(); // empty lines since the last text line
    let mut previous: Option<((usize, usize), bool)> = None; // last text line's break, spaced
    for line in &lines {
        match *line {
            BlockLine::Empty { brk } => pending.push(brk),
            BlockLine::Text { text, brk, spaced } => {
                // Leading empty lines are kept in both styles; between text
                // lines, a single break may fold into a space.
                if let Some((prev_brk, prev_spaced)) = previous {
                    let folds = header.folded && !prev_spaced && !spaced;
                    if !folds {
                        out.push('\n', prev_brk.0, prev_brk.1);
                    } else if pending.is_empty() {
                        out.push(' ', prev_brk.0, prev_brk.1);
                    }
                }
                for (from, to) in pending.drain(..) {
                    out.push('\n', from, to);
                }
                for (j, ch) in source[text.0..text.1].char_indices() {
                    out.push(ch, text.0 + j, text.0 + j + ch.len_utf8());
                }
                out.end = text.1;
                previous = Some((brk, spaced));
            }
        }
    }
    // Only text lines place the value's end; without any, point at the
    // whole scalar.
    let (last_brk, _) = previous?;
    // The last text line's break, then the empty lines after it.
    let tail = Some(last_brk)
        .filter(|brk| brk.1 > brk.0)
        .into_iter()
        .chain(pending);
    let kept = match header.chomping {
        Chomping::Strip => 0,
        Chomping::Clip => 1,
        Chomping::Keep => usize::MAX,
    };
    for (from, to) in tail.take(kept) {
        out.push('\n', from, to);
    }
    Some(out)
}

impl Node {
    /// The span of bytes `start..start + len` of this scalar's value, e.g.
    /// one character of a bad JSONPath expression or a `${VAR}` reference:
    /// the source text those bytes were written as (see
    /// [`value_range_to_source`]). The whole scalar when the mapping is
    /// unsure, including when re-reading the source does not yield exactly
    /// the parsed value.
    pub fn narrow(&self, source: &str, start: usize, len: usize) -> Span {
        self.scalar_text()
            .and_then(|value| value_range_to_source(source, self.span, &value, start, len))
            .map_or(self.span, |(from, to)| self.span.within(source, from, to))
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
pub struct Node {
    pub value: Value,
    pub span: Span,
    /// For a scalar that YAML typed as a number or boolean, the text as
    /// written (`0x1F`, `007`, `no`, a 36-digit id): ids, `where` values and
    /// keys are text, and must not become what YAML made of them. `None`
    /// when the written text cannot be recovered (an alias).
    pub written: Option<String>,
}

/// The shapes a YAML value can take.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
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
    pub fn kind(&self) -> &'static str {
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
    pub fn as_str(&self) -> Option<&str> {
        match &self.value {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }

    /// The scalar's text whatever its YAML type, for fields where `5` and
    /// `"5"` mean the same (numbers written through `${VAR}` arrive as strings).
    /// A number or boolean is its text as written: `0x1F` stays `0x1F`,
    /// `007` stays `007`, `on` stays `on`.
    pub fn scalar_text(&self) -> Option<String> {
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
    pub fn get(&self, key: &str) -> Option<&Node> {
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
pub fn parse(source: &str) -> Result<Node, ParseError> {
    let spanned: Spanned<RawValue> =
        serde_saphyr::from_str(source).map_err(|error| ParseError::from_saphyr(&error, source))?;
    Ok(convert(spanned, source))
}

/// A YAML syntax error, located.
#[derive(Debug, Clone)]
pub struct ParseError {
    pub message: String,
    pub span: Span,
    /// The file holds a second document (a `---` after the first); `span`
    /// is that `---`.
    pub second_document: bool,
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

    /// The node at a dotted path of keys, e.g. `waits.a.path`.
    fn node_at(root: &Node, keys: &str) -> Node {
        keys.split('.')
            .try_fold(root, |node, key| node.get(key))
            .unwrap_or_else(|| panic!("no {keys}"))
            .clone()
    }

    /// Narrows the value at `keys` to the `nth` (0-based) occurrence of
    /// `needle` in the value; returns the source text under the span, its
    /// line and its column (checked against the byte offset).
    fn narrowed(source: &str, keys: &str, needle: &str, nth: usize) -> (String, usize, usize) {
        let node = node_at(&parse(source).unwrap(), keys);
        let value = node.as_str().unwrap();
        let (start, _) = value
            .match_indices(needle)
            .nth(nth)
            .unwrap_or_else(|| panic!("{needle:?} not in {value:?}"));
        let span = node.narrow(source, start, needle.len());
        let line_start = source[..span.offset].rfind('\n').map_or(0, |at| at + 1);
        assert_eq!(span.line, source[..span.offset].matches('\n').count() + 1);
        assert_eq!(
            span.column,
            source[line_start..span.offset].chars().count() + 1
        );
        let text = source[span.offset..span.offset + span.len].to_owned();
        (text, span.line, span.column)
    }

    fn value_of(source: &str, keys: &str) -> String {
        let node = node_at(&parse(source).unwrap(), keys);
        node.as_str().unwrap().to_owned()
    }

    #[test]
    fn narrows_plain_scalars() {
        let source = "a: 1\npath: $.items[?@.x == ]\n";
        assert_eq!(narrowed(source, "path", "]", 0), ("]".into(), 2, 23));
        // Folded over lines: the blanks around a break become one space,
        // which maps to the break.
        let source = "path: $.a.b\n  [?@.x ==   \n    ]\n";
        assert_eq!(value_of(source, "path"), "$.a.b [?@.x == ]");
        assert_eq!(narrowed(source, "path", "]", 0), ("]".into(), 3, 5));
        assert_eq!(narrowed(source, "path", " ", 0), ("\n".into(), 1, 12));
        // Non-ASCII before: offsets are bytes, columns characters.
        let source = "path: $['héllo wörld'].x[\n";
        assert_eq!(narrowed(source, "path", "[", 1), ("[".into(), 1, 25));
    }

    #[test]
    fn narrows_double_quoted_scalars_past_escapes() {
        let source = r#"path: "$['a\"b\\c\u00e9'].x ==""#;
        assert_eq!(value_of(source, "path"), "$['a\"b\\cé'].x ==");
        assert_eq!(narrowed(source, "path", "==", 0), ("==".into(), 1, 29));
        // An escape maps to the whole escape.
        assert_eq!(narrowed(source, "path", "é", 0), (r"\u00e9".into(), 1, 18));
        assert_eq!(narrowed(source, "path", "\"", 0), ("\\\"".into(), 1, 12));
        // An escaped line break, a folded one and an empty line.
        let source = "path: \"$.a\\\n    .b\n  .c\n\n  [\"\n";
        assert_eq!(value_of(source, "path"), "$.a.b .c\n[");
        assert_eq!(narrowed(source, "path", ".b", 0), (".b".into(), 2, 5));
        assert_eq!(narrowed(source, "path", "\n", 0), ("\n".into(), 4, 1));
        assert_eq!(narrowed(source, "path", "[", 0), ("[".into(), 5, 3));
    }

    #[test]
    fn narrows_single_quoted_scalars_past_doubled_quotes() {
        let source = "path: '$[''it''''s''] ?'\n";
        assert_eq!(value_of(source, "path"), "$['it''s'] ?");
        assert_eq!(narrowed(source, "path", "?", 0), ("?".into(), 1, 23));
        assert_eq!(narrowed(source, "path", "'", 1), ("''".into(), 1, 14));
    }

    #[test]
    fn narrows_literal_block_scalars() {
        let source = "waits:\n  a:\n    path: |\n      $.items[?@.x == ]\n    next: 1\n";
        let path = "waits.a.path";
        assert_eq!(value_of(source, path), "$.items[?@.x == ]\n");
        assert_eq!(narrowed(source, path, "]", 0), ("]".into(), 4, 23));
        // The clipped final line break is the line's own.
        assert_eq!(narrowed(source, path, "\n", 0), ("\n".into(), 4, 24));
        // Leading empty line, a comment after the header, keep chomping, CRLF.
        let source = "path: |+  # a | comment\r\n\r\n  $.a\r\n  [?\r\n\r\nnext: 1\r\n";
        assert_eq!(value_of(source, "path"), "\n$.a\n[?\n\n");
        assert_eq!(narrowed(source, "path", "[", 0), ("[".into(), 4, 3));
        assert_eq!(narrowed(source, "path", "\n", 0), ("\r\n".into(), 2, 1));
        assert_eq!(narrowed(source, "path", "\n", 3), ("\r\n".into(), 5, 1));
    }

    #[test]
    fn narrows_folded_block_scalars() {
        let source = "path: >-\n  $.a\n  .b\n\n    .c\n  [?@ ==\nnext: 1\n";
        assert_eq!(value_of(source, "path"), "$.a .b\n\n  .c\n[?@ ==");
        assert_eq!(narrowed(source, "path", "[", 0), ("[".into(), 6, 3));
        assert_eq!(narrowed(source, "path", ".c", 0), (".c".into(), 5, 5));
        assert_eq!(narrowed(source, "path", " ", 0), ("\n".into(), 2, 6));
        // An explicit indentation indicator keeps extra spaces as text.
        let source = "path: >2\n    $.a ]\n";
        assert_eq!(value_of(source, "path"), "  $.a ]\n");
        assert_eq!(narrowed(source, "path", "]", 0), ("]".into(), 2, 9));
    }

    #[test]
    fn the_end_of_a_value_maps_after_its_last_character() {
        let source = "a: \"$.x[\"\nb: $.x[\nc: >-\n  $.x[\n";
        let root = parse(source).unwrap();
        for (key, expected) in [("a", "\""), ("b", "\n"), ("c", "\n")] {
            let node = root.get(key).unwrap();
            let span = node.narrow(source, 4, 0);
            assert_eq!(&source[span.offset..span.offset + 1], expected, "{key}");
        }
    }

    #[test]
    fn unsure_mappings_fall_back_to_the_whole_scalar() {
        let source = "path: \"$.a\\u00e9b\"\nnum: 0x10\n";
        let root = parse(source).unwrap();
        let node = root.get("path").unwrap();
        // Inside a character, or past the end: no character to point at.
        assert_eq!(node.narrow(source, 4, 1), node.span);
        assert_eq!(node.narrow(source, 9, 1), node.span);
        // The source does not read as the given value.
        assert_eq!(value_range_to_source(source, node.span, "$.ab", 0, 1), None);
        // A number written in hex: its text is what was written.
        let n = root.get("num").unwrap();
        let x = n.narrow(source, 1, 1);
        assert_eq!(&source[x.offset..x.offset + x.len], "x");
    }
}
