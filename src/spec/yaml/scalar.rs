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
//! scalar: never at a wrong character.

use super::{Node, Span};

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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::yaml::parse;

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
