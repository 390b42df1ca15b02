//! Finding a secret in text: raw, cut short, or in the encodings a server
//! or proxy echoing a request is likely to use.

use std::ops::Range;

use base64::Engine as _;

use super::{MASK, MIN_ENCODED, PARTIAL, Redactor};

#[derive(Default, Clone)]
pub(super) struct Targets {
    /// The secrets themselves: matched whole or by a start or end of at
    /// least [`PARTIAL`] bytes.
    secrets: Vec<Vec<u8>>,
    /// Hex and base64 forms: matched whole.
    encoded: Vec<Vec<u8>>,
}

impl Targets {
    /// Adds a secret and, when it is long enough, its encodings (an empty
    /// or known secret adds nothing).
    pub(super) fn add(&mut self, secret: &[u8]) {
        if secret.is_empty() || self.secrets.iter().any(|s| s == secret) {
            return;
        }
        self.secrets.push(secret.to_vec());
        if secret.len() >= MIN_ENCODED {
            self.encoded.extend(encodings(secret));
            // Overlapping matches merge into one mask, so order does not matter.
            self.encoded.sort();
            self.encoded.dedup();
        }
    }

    /// How many secrets are known.
    pub(super) fn count(&self) -> usize {
        self.secrets.len()
    }

    /// Where any target occurs in `haystack`.
    fn find(&self, haystack: &[u8]) -> Vec<Range<usize>> {
        let mut out = Vec::new();
        for secret in &self.secrets {
            if secret.len() <= PARTIAL {
                out.extend(occurrences(haystack, secret).map(|at| at..at + secret.len()));
                continue;
            }
            let (head, tail) = (&secret[..PARTIAL], &secret[secret.len() - PARTIAL..]);
            for at in occurrences(haystack, head) {
                let mut end = at + PARTIAL;
                while end < haystack.len()
                    && end - at < secret.len()
                    && haystack[end] == secret[end - at]
                {
                    end += 1;
                }
                out.push(at..end);
            }
            for at in occurrences(haystack, tail) {
                let end = at + PARTIAL;
                let mut start = at;
                while start > 0
                    && end - start < secret.len()
                    && haystack[start - 1] == secret[secret.len() - (end - start) - 1]
                {
                    start -= 1;
                }
                out.push(start..end);
            }
        }
        for target in &self.encoded {
            out.extend(occurrences(haystack, target).map(|at| at..at + target.len()));
        }
        out
    }
}

impl Redactor {
    /// Every secret in `text` masked.
    pub(super) fn secrets(&self, text: &str) -> String {
        let targets = self.targets();
        if targets.secrets.is_empty() {
            return text.to_owned();
        }
        // The raw view, and one decoded view per escape family: a secret
        // may itself contain `%41` or `\"`, which a view decoding them no
        // longer shows, and one view decoding every family at once would
        // miss a JSON-escaped secret that contains `%41`. All ranges are in
        // the text, so overlapping ones merge into one mask.
        let mut ranges = targets.find(text.as_bytes());
        for (family, marker) in [
            (Family::Percent, '%'),
            (Family::Json, '\\'),
            (Family::Html, '&'),
        ] {
            if !text.contains(marker) {
                continue;
            }
            let (decoded, spans) = decode(text, family);
            if decoded.len() != text.len() {
                ranges.extend(
                    targets
                        .find(&decoded)
                        .into_iter()
                        .map(|r| spans[r.start].start..spans[r.end - 1].end),
                );
            }
        }
        replace(text, ranges)
    }
}

/// Hex and base64 forms of a secret.
fn encodings(secret: &[u8]) -> Vec<Vec<u8>> {
    let mut out = vec![
        hex::encode(secret).into_bytes(),
        hex::encode_upper(secret).into_bytes(),
    ];
    let engines = [
        base64::engine::general_purpose::STANDARD_NO_PAD,
        base64::engine::general_purpose::URL_SAFE_NO_PAD,
    ];
    for offset in 0..3usize {
        let mut input = vec![0u8; offset];
        input.extend_from_slice(secret);
        // Characters whose six bits all come from the secret: the first
        // ones also carry bits of whatever precedes it, the last one of
        // whatever follows it.
        let start = (8 * offset).div_ceil(6);
        let end = 8 * input.len() / 6;
        for engine in &engines {
            let encoded = engine.encode(&input);
            if let Some(piece) = encoded.as_bytes().get(start..end) {
                out.push(piece.to_vec());
            }
        }
    }
    out
}

/// An escape syntax the redactor decodes.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Family {
    Percent,
    Json,
    Html,
}

/// One level of one family of escapes decoded, with the span of the text
/// each decoded byte came from.
pub(super) fn decode(text: &str, family: Family) -> (Vec<u8>, Vec<Range<usize>>) {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut spans = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let (decoded, used) =
            decode_one(&bytes[i..], family).unwrap_or((Decoded::Byte(bytes[i]), 1));
        match decoded {
            Decoded::Byte(b) => {
                out.push(b);
                spans.push(i..i + used);
            }
            Decoded::Char(c) => {
                let mut buf = [0u8; 4];
                for b in c.encode_utf8(&mut buf).bytes() {
                    out.push(b);
                    spans.push(i..i + used);
                }
            }
        }
        i += used;
    }
    (out, spans)
}

pub(super) enum Decoded {
    Byte(u8),
    Char(char),
}

pub(super) fn hex_value(b: u8) -> Option<u32> {
    (b as char).to_digit(16)
}

/// The escape at the start of `rest`, if there is one, and its length.
pub(super) fn decode_one(rest: &[u8], family: Family) -> Option<(Decoded, usize)> {
    match rest {
        [b'%', h, l, ..] if family == Family::Percent => {
            let v = hex_value(*h)? * 16 + hex_value(*l)?;
            Some((Decoded::Byte(v as u8), 3))
        }
        [b'\\', b'u', a, b, c, d, ..] if family == Family::Json => {
            let v = [a, b, c, d]
                .iter()
                .try_fold(0u32, |acc, x| Some(acc * 16 + hex_value(**x)?))?;
            Some((Decoded::Char(char::from_u32(v)?), 6))
        }
        // `\\u0041` is more likely a backslash before an escape than an
        // escaped backslash before plain text: the escape wins.
        [b'\\', b'\\', b'u', a, b, c, d, ..]
            if family == Family::Json && [a, b, c, d].iter().all(|x| x.is_ascii_hexdigit()) =>
        {
            None
        }
        [b'\\', c @ (b'"' | b'\\' | b'/'), ..] if family == Family::Json => {
            Some((Decoded::Byte(*c), 2))
        }
        [b'&', ..] if family == Family::Html => {
            let end = rest.iter().take(12).position(|&b| b == b';')?;
            let name = std::str::from_utf8(&rest[1..end]).ok()?;
            let c = match name {
                "amp" => '&',
                "lt" => '<',
                "gt" => '>',
                "quot" => '"',
                "apos" => '\'',
                _ => {
                    let number = name.strip_prefix('#')?;
                    let value = match number.strip_prefix(['x', 'X']) {
                        Some(hex) => u32::from_str_radix(hex, 16).ok()?,
                        None => number.parse().ok()?,
                    };
                    char::from_u32(value)?
                }
            };
            Some((Decoded::Char(c), end + 1))
        }
        _ => None,
    }
}

/// Every start of `needle` in `haystack`, overlapping ones included.
pub(super) fn occurrences<'a>(
    haystack: &'a [u8],
    needle: &'a [u8],
) -> impl Iterator<Item = usize> + 'a {
    let first = needle.first().copied();
    haystack
        .windows(needle.len().max(1))
        .enumerate()
        .filter(move |(_, w)| Some(w[0]) == first && *w == needle)
        .map(|(at, _)| at)
}

/// `text` with each range (merged where they touch, widened to whole
/// characters) replaced by [`MASK`].
pub(super) fn replace(text: &str, mut ranges: Vec<Range<usize>>) -> String {
    if ranges.is_empty() {
        return text.to_owned();
    }
    for r in &mut ranges {
        while !text.is_char_boundary(r.start) {
            r.start -= 1;
        }
        while !text.is_char_boundary(r.end) {
            r.end += 1;
        }
    }
    ranges.sort_by_key(|r| r.start);
    let mut out = String::with_capacity(text.len());
    let mut at = 0;
    let mut current: Option<Range<usize>> = None;
    for r in ranges {
        match &mut current {
            Some(c) if r.start <= c.end => c.end = c.end.max(r.end),
            _ => {
                if let Some(c) = current.take() {
                    out.push_str(&text[at..c.start]);
                    out.push_str(MASK);
                    at = c.end;
                }
                current = Some(r);
            }
        }
    }
    if let Some(c) = current {
        out.push_str(&text[at..c.start]);
        out.push_str(MASK);
        at = c.end;
    }
    out.push_str(&text[at..]);
    out
}
