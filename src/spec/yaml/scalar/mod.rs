//! Mapping a place in a scalar's value back to its source text.
//!
//! A diagnostic about part of a string (a JSONPath error at byte 21, an unset
//! `${VAR}` at bytes 4..12) knows where that part is in the *value*; the label
//! must go where it was *written*. The two differ by the opening quote, by
//! escapes (`\"`, `\u00e9`, `''`), by the indentation and header of block
//! scalars and by line folding. So the scalar's source is read again, by its
//! style, recording for every character of the value the source bytes that
//! produced it. If the re-read value differs from the parsed one (a style
//! this reader gets wrong), there is no mapping and callers point at the whole
//! scalar: never at a wrong character.//!
//! `flow` re-reads plain and quoted scalars, `block` literal and folded ones.

use super::{Node, Span};

mod block;
mod flow;
#[cfg(test)]
mod tests;

use block::{block_header, decode_block};
use flow::decode_flow;

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

impl Node {
    /// The span of bytes `start..start + len` of this scalar's value, e.g.
    /// one character of a bad JSONPath expression or a `${VAR}` reference:
    /// the source text those bytes were written as (see
    /// [`value_range_to_source`]). The whole scalar when the mapping is
    /// unsure, including when re-reading the source does not yield exactly
    /// the parsed value.
    pub(crate) fn narrow(&self, source: &str, start: usize, len: usize) -> Span {
        self.scalar_text()
            .and_then(|value| value_range_to_source(source, self.span, &value, start, len))
            .map_or(self.span, |(from, to)| self.span.within(source, from, to))
    }
}
