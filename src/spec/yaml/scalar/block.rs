//! Re-reading literal `|` and folded `>` block scalars: the header's
//! indicators, indentation, folding and chomping.

use super::{Decoded, break_len, is_blank};

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
pub(super) struct BlockHeader {
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
pub(super) fn block_header(source: &str, content: usize) -> Option<BlockHeader> {
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
pub(super) fn decode_block(source: &str, header: &BlockHeader) -> Option<Decoded> {
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
