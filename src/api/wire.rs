//! Reading response bodies straight from their bytes into the few fields
//! jobgate uses, without building a JSON tree first.
//!
//! A poll of 10,000 desktop sub-jobs is several megabytes of JSON. Building
//! `serde_json::Value` trees of it (and copying them) cost 513–547 ms of CPU
//! per poll round; visiting the bytes once, keeping each item's text for the
//! rare wait that filters on other fields, costs about 35 ms for the paged
//! listing and 26 ms for the job detail (docs/BENCHMARKS.md, `python3
//! bench/run.py --only footprint`).
//!
//! The visitors are lenient the way the API is loose: any field may be
//! missing, null, or of another type than documented, and then reads as
//! absent. Only what could make a gate pass wrongly is refused (see
//! [`super::model`]).

use std::borrow::Cow;
use std::collections::HashSet;
use std::fmt;

use serde::Deserializer;
use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::value::RawValue;

/// A JSON value kept as its text: cheap to hold, parsed only when needed.
#[derive(Debug, Clone)]
pub(crate) struct RawJson(pub Box<RawValue>);

impl RawJson {
    /// `null`, for items built by hand in tests.
    #[cfg(test)]
    pub(crate) fn null() -> RawJson {
        RawJson(RawValue::from_string("null".into()).expect("null is JSON"))
    }

    /// The JSON text.
    pub(crate) fn get(&self) -> &str {
        self.0.get()
    }
}

impl PartialEq for RawJson {
    fn eq(&self, other: &Self) -> bool {
        self.get() == other.get()
    }
}

/// A scalar field as the API sent it.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) enum Leaf {
    /// Absent or `null`.
    #[default]
    Missing,
    Text(String),
    /// A number, as JSON writes it.
    Number(String),
    Bool(bool),
    /// An object or an array (skipped).
    Composite,
}

impl Leaf {
    /// The value as text: a non-empty string or a number.
    pub(crate) fn text(self) -> Option<String> {
        match self {
            Leaf::Text(s) if !s.is_empty() => Some(s),
            Leaf::Number(n) => Some(n),
            _ => None,
        }
    }

    /// The value as a non-negative integer, from a number or a numeric string.
    pub(crate) fn integer(&self) -> Option<u64> {
        match self {
            Leaf::Text(s) | Leaf::Number(s) => s.parse().ok(),
            _ => None,
        }
    }

    /// How the value looks, for error messages.
    pub(crate) fn describe(&self) -> String {
        match self {
            Leaf::Missing => "null".into(),
            Leaf::Text(s) => format!("{s:?}"),
            Leaf::Number(n) => n.clone(),
            Leaf::Bool(b) => b.to_string(),
            Leaf::Composite => "an object or a list".into(),
        }
    }
}

/// What a known key of an object holds.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Kind {
    /// A scalar.
    Leaf,
    /// A list whose elements are kept as their JSON text.
    List,
    /// An object, read with its own known keys.
    Object(&'static [(&'static str, Kind)]),
}

/// A list field, each element kept as its JSON text.
#[derive(Debug)]
pub(crate) enum RawList {
    Null,
    List(Vec<RawJson>),
    /// Anything else: an object, a string, a number.
    NotAList,
}

#[derive(Debug)]
enum Field {
    Leaf(Leaf),
    List(RawList),
    /// `None`: the value is not an object.
    Object(Option<Fields>),
}

/// The known keys of one JSON object, as read. Later duplicates win, as in a
/// JSON tree; unknown keys are skipped without being stored.
#[derive(Debug)]
pub(crate) struct Fields {
    keys: &'static [(&'static str, Kind)],
    values: Vec<Option<Field>>,
}

impl Fields {
    fn take(&mut self, key: &str) -> Option<Field> {
        let index = self.keys.iter().position(|(k, _)| *k == key);
        debug_assert!(index.is_some(), "`{key}` is not a known key");
        self.values.get_mut(index?)?.take()
    }

    /// A scalar key (missing when absent or of another kind).
    pub(crate) fn leaf(&mut self, key: &str) -> Leaf {
        match self.take(key) {
            Some(Field::Leaf(leaf)) => leaf,
            _ => Leaf::Missing,
        }
    }

    /// A scalar key as text (see [`Leaf::text`]).
    pub(crate) fn text(&mut self, key: &str) -> Option<String> {
        self.leaf(key).text()
    }

    /// A list key; `None` when the key is absent.
    pub(crate) fn list(&mut self, key: &str) -> Option<RawList> {
        match self.take(key) {
            Some(Field::List(list)) => Some(list),
            _ => None,
        }
    }

    /// A scalar key of a nested object (missing when either is absent).
    pub(crate) fn nested(&mut self, key: &str, inner: &str) -> Leaf {
        let index = self.keys.iter().position(|(k, _)| *k == key);
        match index.and_then(|i| self.values.get_mut(i)?.as_mut()) {
            Some(Field::Object(Some(object))) => object.leaf(inner),
            _ => Leaf::Missing,
        }
    }
}

/// Reads a whole JSON text as an object with these known keys: `Ok(None)`
/// when it is valid JSON but not an object, `Err` when it is not JSON.
pub(crate) fn read_object(
    text: &[u8],
    keys: &'static [(&'static str, Kind)],
) -> Result<Option<Fields>, serde_json::Error> {
    let mut d = serde_json::Deserializer::from_slice(text);
    let fields = ObjectSeed(keys).deserialize(&mut d)?;
    d.end()?;
    Ok(fields)
}

/// Visitor methods for the JSON types a visitor does not read: each skips
/// the value and gives `$value`.
macro_rules! other_types {
    ($value:expr) => {
        fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> {
            Ok($value)
        }
        fn visit_i64<E>(self, _: i64) -> Result<Self::Value, E> {
            Ok($value)
        }
        fn visit_u64<E>(self, _: u64) -> Result<Self::Value, E> {
            Ok($value)
        }
        fn visit_f64<E>(self, _: f64) -> Result<Self::Value, E> {
            Ok($value)
        }
        fn visit_str<E>(self, _: &str) -> Result<Self::Value, E> {
            Ok($value)
        }
    };
}

/// Checks that a JSON text can be read as a `serde_json::Value` tree,
/// without building one: the same deserializer, so the same limits (nesting
/// deeper than 128 levels, numbers out of range, invalid escapes). The field
/// readers above skip what they do not read and would accept such a text,
/// and a tree built from it later (for JSONPath, `where` filters, outputs)
/// would fail: this refuses it when it is read, as a malformed answer.
pub(crate) fn check_tree(text: &[u8]) -> Result<(), serde_json::Error> {
    let mut d = serde_json::Deserializer::from_slice(text);
    TreeSeed(&mut Vec::new()).deserialize(&mut d)?;
    d.end()
}

/// Up to this many keys, an object's keys are compared one by one (no
/// allocation, and faster than hashing for the 10-20 keys of an item);
/// beyond, they go into a hash set so a huge object costs linear time.
const LINEAR_KEYS: usize = 16;

/// Any JSON value, visited as `serde_json::Value` would visit it. `keys`
/// is one stack of the keys of the objects being read, shared by every
/// level, so a document of many small objects allocates it once. A key is
/// borrowed from the text unless it has escapes.
struct TreeSeed<'k, 'de>(&'k mut Vec<Cow<'de, str>>);

impl<'de> DeserializeSeed<'de> for TreeSeed<'_, 'de> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for TreeSeed<'_, 'de> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_unit<E>(self) -> Result<(), E> {
        Ok(())
    }
    /// A key written twice is refused: readers disagree on which value
    /// counts (serde_json keeps the last), so a server could show a person
    /// one status and the gate another. Keys are compared unescaped (so
    /// `"st\u0061tus"` is `status`).
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let keys = self.0;
        let start = keys.len();
        let mut hashed: Option<HashSet<Cow<'de, str>>> = None;
        while let Some(KeyText(key)) = map.next_key::<KeyText>()? {
            let distinct = match &mut hashed {
                Some(set) => set.len(),
                None => keys.len() - start,
            };
            let repeated = match &mut hashed {
                Some(set) => !set.insert(key),
                None if keys[start..].contains(&key) => true,
                None => {
                    keys.push(key);
                    if keys.len() - start > LINEAR_KEYS {
                        hashed = Some(keys.drain(start..).collect());
                    }
                    false
                }
            };
            if repeated {
                keys.truncate(start);
                return Err(de::Error::custom(duplicate_key(distinct)));
            }
            map.next_value_seed(TreeSeed(keys))?;
        }
        keys.truncate(start);
        Ok(())
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let keys = self.0;
        while seq.next_element_seed(TreeSeed(keys))?.is_some() {}
        Ok(())
    }
    other_types!(());
}

/// An object key, read as a `Value` reads it: as a string, unescaped.
struct KeyText<'de>(Cow<'de, str>);

/// The message for a key written twice in one object.
fn duplicate_key(position: usize) -> String {
    format!(
        "a key appears twice in one object (after its {position} distinct keys); which value counts would be a guess"
    )
}

impl<'de> de::Deserialize<'de> for KeyText<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = KeyText<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a key")
            }
            fn visit_borrowed_str<E>(self, key: &'de str) -> Result<KeyText<'de>, E> {
                Ok(KeyText(Cow::Borrowed(key)))
            }
            fn visit_str<E>(self, key: &str) -> Result<KeyText<'de>, E> {
                Ok(KeyText(Cow::Owned(key.to_owned())))
            }
        }
        d.deserialize_str(V)
    }
}

fn skip_map<'de, A: MapAccess<'de>>(mut map: A) -> Result<(), A::Error> {
    while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
    Ok(())
}

fn skip_seq<'de, A: SeqAccess<'de>>(mut seq: A) -> Result<(), A::Error> {
    while seq.next_element::<IgnoredAny>()?.is_some() {}
    Ok(())
}

impl<'de> de::Deserialize<'de> for Leaf {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Leaf;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_str<E>(self, v: &str) -> Result<Leaf, E> {
                Ok(Leaf::Text(v.to_owned()))
            }
            fn visit_string<E>(self, v: String) -> Result<Leaf, E> {
                Ok(Leaf::Text(v))
            }
            fn visit_u64<E>(self, v: u64) -> Result<Leaf, E> {
                Ok(Leaf::Number(v.to_string()))
            }
            fn visit_i64<E>(self, v: i64) -> Result<Leaf, E> {
                Ok(Leaf::Number(v.to_string()))
            }
            fn visit_f64<E>(self, v: f64) -> Result<Leaf, E> {
                Ok(Leaf::Number(
                    serde_json::Number::from_f64(v)
                        .map_or_else(|| v.to_string(), |n| n.to_string()),
                ))
            }
            fn visit_bool<E>(self, v: bool) -> Result<Leaf, E> {
                Ok(Leaf::Bool(v))
            }
            fn visit_unit<E>(self) -> Result<Leaf, E> {
                Ok(Leaf::Missing)
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Leaf, A::Error> {
                skip_map(map).map(|()| Leaf::Composite)
            }
            fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Leaf, A::Error> {
                skip_seq(seq).map(|()| Leaf::Composite)
            }
        }
        d.deserialize_any(V)
    }
}

impl<'de> de::Deserialize<'de> for RawList {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = RawList;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a list")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<RawList, A::Error> {
                let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(0));
                while let Some(raw) = seq.next_element::<Box<RawValue>>()? {
                    out.push(RawJson(raw));
                }
                Ok(RawList::List(out))
            }
            fn visit_unit<E>(self) -> Result<RawList, E> {
                Ok(RawList::Null)
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<RawList, A::Error> {
                skip_map(map).map(|()| RawList::NotAList)
            }
            other_types!(RawList::NotAList);
        }
        d.deserialize_any(V)
    }
}

/// An object with known keys (`None` for any other JSON value).
struct ObjectSeed(&'static [(&'static str, Kind)]);

impl<'de> DeserializeSeed<'de> for ObjectSeed {
    type Value = Option<Fields>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for ObjectSeed {
    type Value = Option<Fields>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON object")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let keys = self.0;
        let mut values: Vec<Option<Field>> = keys.iter().map(|_| None).collect();
        while let Some(key) = map.next_key_seed(KeySeed(keys))? {
            let Some(i) = key else {
                map.next_value::<IgnoredAny>()?;
                continue;
            };
            if values[i].is_some() {
                return Err(de::Error::custom(format!(
                    "the key `{}` appears twice in one object; which value counts would be a guess",
                    keys[i].0
                )));
            }
            values[i] = Some(match keys[i].1 {
                Kind::Leaf => Field::Leaf(map.next_value()?),
                Kind::List => Field::List(map.next_value()?),
                Kind::Object(inner) => Field::Object(map.next_value_seed(ObjectSeed(inner))?),
            });
        }
        Ok(Some(Fields { keys, values }))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
        skip_seq(seq).map(|()| None)
    }
    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
    other_types!(None);
}

/// A key, as its index in the known keys (`None`: not one of them). Keys
/// are matched without allocating.
struct KeySeed(&'static [(&'static str, Kind)]);

impl<'de> DeserializeSeed<'de> for KeySeed {
    type Value = Option<usize>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Option<usize>, D::Error> {
        d.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for KeySeed {
    type Value = Option<usize>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a key")
    }
    fn visit_str<E>(self, v: &str) -> Result<Option<usize>, E> {
        Ok(self.0.iter().position(|(k, _)| *k == v))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn leaf(json: &str) -> Leaf {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn leaves_read_any_json() {
        assert_eq!(leaf(r#""abc""#).text().as_deref(), Some("abc"));
        assert_eq!(leaf(r#""""#).text(), None, "an empty string is absent");
        assert_eq!(leaf("12").text().as_deref(), Some("12"));
        assert_eq!(leaf("-3").text().as_deref(), Some("-3"));
        assert_eq!(leaf("1.5").text().as_deref(), Some("1.5"));
        assert_eq!(leaf("null"), Leaf::Missing);
        assert_eq!(leaf("true"), Leaf::Bool(true));
        assert_eq!(leaf(r#"{"a": [1, {"b": 2}]}"#), Leaf::Composite);
        assert_eq!(leaf("[1, 2]"), Leaf::Composite);
        assert_eq!(leaf(r#""40""#).integer(), Some(40));
        assert_eq!(leaf("40").integer(), Some(40));
        assert_eq!(leaf("40.5").integer(), None);
    }

    #[test]
    fn a_tree_check_refuses_what_a_value_cannot_hold() {
        let deep = |n: usize| format!("{}1{}", "[".repeat(n), "]".repeat(n));
        for ok in [
            deep(100),
            r#"{"a": [1, -2, 3.5, "s\u00e9", null, true]}"#.into(),
        ] {
            assert!(check_tree(ok.as_bytes()).is_ok(), "{ok}");
            assert!(serde_json::from_str::<serde_json::Value>(&ok).is_ok());
        }
        let nested = format!(r#"{{"id": "j", "x": {}}}"#, deep(200));
        for bad in [
            nested,
            r#"{"x": 1e400}"#.into(),
            r#"{"x": "\ud800"}"#.into(),
            "{} x".into(),
        ] {
            assert!(check_tree(bad.as_bytes()).is_err(), "{bad}");
            assert!(
                serde_json::from_str::<serde_json::Value>(&bad).is_err(),
                "{bad}"
            );
        }
        // Around the depth limit and on odd numbers and strings, the check
        // and a tree agree exactly: what passes the check always becomes a
        // tree later (`Item::json`, `Observation::document` rely on it).
        let mut cases: Vec<String> = (120..135).map(deep).collect();
        cases.extend((120..135).map(|n| format!("{}{}", "{\"a\":".repeat(n), "}".repeat(n))));
        for odd in [
            "1e308",
            "-1e308",
            "1e309",
            "-0",
            "0.0000000000000000000001",
            "18446744073709551616",
            "-9223372036854775809",
            r#""\udc00""#,
            r#""\ud83d\ude00""#,
            r#""\u0000""#,
            "[]",
            "{}",
            "[1,]",
            r#"{"a" 1}"#,
        ] {
            cases.push(odd.to_owned());
        }
        for case in cases {
            assert_eq!(
                check_tree(case.as_bytes()).is_ok(),
                serde_json::from_str::<serde_json::Value>(&case).is_ok(),
                "{case}"
            );
        }
        // The field readers skip it all and would have accepted it.
        let skipped = format!(r#"{{"x": {}}}"#, deep(200));
        assert!(read_object(skipped.as_bytes(), OUTER).is_ok());
    }

    /// serde_json keeps a repeated key's last value; the tree check refuses
    /// the text instead, whatever the key and however it is escaped.
    #[test]
    fn a_key_written_twice_is_refused() {
        for case in [
            r#"{"a":1,"a":2}"#,
            r#"{"status":"FAILED","st\u0061tus":"SUCCESS"}"#,
            r#"[{"x":{"k":1,"k":1}}]"#,
        ] {
            assert!(serde_json::from_str::<serde_json::Value>(case).is_ok());
            let e = check_tree(case.as_bytes()).unwrap_err();
            assert!(e.to_string().contains("appears twice"), "{case}: {e}");
        }
        assert!(check_tree(br#"{"a":{"k":1},"b":{"k":1}}"#).is_ok());
        let e = read_object(br#"{"x": 1, "x": "last"}"#, OUTER).unwrap_err();
        assert!(e.to_string().contains("`x` appears twice"), "{e}");
    }

    /// Every place a repeated key can hide: escaped spellings of one name,
    /// nested objects, objects in lists, and objects past the size where
    /// keys are hashed rather than compared one by one.
    #[test]
    fn a_key_written_twice_is_refused_wherever_it_is() {
        let many = |n: usize| -> Vec<String> { (0..n).map(|i| format!(r#""k{i}":{i}"#)).collect() };
        let object = |keys: &[String]| format!("{{{}}}", keys.join(","));
        let mut refused = vec![
            r#"{"a":1,"\u0061":2}"#.to_owned(),
            r#"{"\u0061":1,"a":2}"#.to_owned(),
            r#"{"\u0061":1,"\u0061":2}"#.to_owned(),
            r#"{"a\"b":1,"a\u0022b":2}"#.to_owned(),
            r#"{"x":{"y":{"z":[{"k":1,"k":2}]}}}"#.to_owned(),
            r#"[{"a":1},{"b":1,"b":2}]"#.to_owned(),
            r#"{"list":[[{"ok":1}],[{"d":1,"e":{},"d":{}}]]}"#.to_owned(),
        ];
        // Small and large objects, the repeat early, at the switch and late,
        // plain or escaped.
        for n in [1, 2, LINEAR_KEYS - 1, LINEAR_KEYS, LINEAR_KEYS + 1, 40] {
            for at in [0, n / 2, n - 1] {
                let mut keys = many(n);
                keys.push(format!(r#""k{at}":"again""#));
                refused.push(object(&keys));
                let mut keys = many(n);
                let escaped = format!("k{at}").replace('k', "\\u006b");
                keys.push(format!(r#""{escaped}":"again""#));
                refused.push(object(&keys));
                let mut keys = many(n);
                keys.insert(0, format!(r#""k{at}":"first""#));
                refused.push(format!(r#"[{{"nested":{}}}]"#, object(&keys)));
            }
        }
        for case in &refused {
            assert!(
                serde_json::from_str::<serde_json::Value>(case).is_ok(),
                "{case}"
            );
            let e = check_tree(case.as_bytes()).unwrap_err();
            assert!(e.to_string().contains("appears twice"), "{case}: {e}");
        }
        // The same names in sibling or nested objects are no repeat, and a
        // large object of distinct keys passes.
        for fine in [
            r#"{"a":{"a":{"a":1}},"b":[{"a":1},{"a":2}],"c":{"a":1,"b":2}}"#.to_owned(),
            object(&many(40)),
            format!(r#"{{"x":{},"y":{}}}"#, object(&many(20)), object(&many(20))),
            r#"{"a":1,"\u0062":2,"A":3}"#.to_owned(),
        ] {
            assert!(check_tree(fine.as_bytes()).is_ok(), "{fine}");
        }
    }

    const INNER: &[(&str, Kind)] = &[("a", Kind::Leaf), ("b", Kind::Leaf)];
    const OUTER: &[(&str, Kind)] = &[
        ("x", Kind::Leaf),
        ("list", Kind::List),
        ("nested", Kind::Object(INNER)),
    ];

    #[test]
    fn objects_keep_known_keys_and_tolerate_other_types() {
        let mut f = read_object(
            br#"{"x": "last", "skip": {"deep": [1]}, "list": [{"id": 1}, 2],
                "nested": {"b": "B", "c": 3, "a": 1}}"#,
            OUTER,
        )
        .unwrap()
        .unwrap();
        assert_eq!(f.text("x").as_deref(), Some("last"));
        assert_eq!(f.nested("nested", "a"), Leaf::Number("1".into()));
        assert_eq!(f.nested("nested", "b"), Leaf::Text("B".into()));
        let Some(RawList::List(list)) = f.list("list") else {
            panic!("a list")
        };
        let texts: Vec<&str> = list.iter().map(RawJson::get).collect();
        assert_eq!(texts, [r#"{"id": 1}"#, "2"]);

        let mut odd = read_object(br#"{"list": {}, "nested": "text"}"#, OUTER)
            .unwrap()
            .unwrap();
        assert!(matches!(odd.list("list"), Some(RawList::NotAList)));
        assert_eq!(odd.nested("nested", "a"), Leaf::Missing);
        assert_eq!(odd.leaf("x"), Leaf::Missing);
        assert!(odd.list("x").is_none());

        for not_an_object in ["[1]", "\"s\"", "3", "true", "null"] {
            assert!(
                read_object(not_an_object.as_bytes(), OUTER)
                    .unwrap()
                    .is_none()
            );
        }
        assert!(read_object(b"{\"x\": ", OUTER).is_err(), "cut JSON");
        assert!(read_object(b"{} {}", OUTER).is_err(), "trailing text");
    }
}
