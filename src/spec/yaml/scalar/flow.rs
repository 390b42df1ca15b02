//! Re-reading plain, single- and double-quoted scalars: escapes, `''` and
//! line folding.

use super::{Decoded, FlowStyle, break_len, is_blank};

/// Reads a plain or quoted scalar's text `body` (inside the quotes): escapes,
/// `''`, and line folding (a single line break is a space, each empty line
/// a `\n`, blanks around line breaks are dropped).
pub(super) fn decode_flow(source: &str, body: (usize, usize), style: FlowStyle) -> Option<Decoded> {
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
