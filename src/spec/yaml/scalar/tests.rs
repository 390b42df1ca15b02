//! Narrowing a value range to where it was written, in every scalar style,
//! and falling back when unsure.

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
