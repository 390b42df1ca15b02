//! Reading response bodies straight from their bytes into the few fields
//! jobgate uses, without building a JSON tree first.
//!
//! A poll of 10,000 desktop sub-jobs is about 5 MB of JSON. Building a
//! `serde_json::Value` of it, then dropping it, cost over 100 ms of CPU per
//! poll round; visiting the bytes once, keeping each item's text for the rare
//! wait that filters on other fields, costs a fraction of that.
//!
//! The visitors are lenient the way the API is loose: any field may be
//! missing, null, or of another type than documented, and then reads as
//! absent. Only what could make a gate pass wrongly is refused (see
//! [`super::model`]).

use std::fmt;

use serde::Deserializer;
use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::value::RawValue;

/// A scalar field as the API sent it.
#[derive(Debug, Clone, Default, PartialEq)]
pub enum Leaf {
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
    pub fn text(self) -> Option<String> {
        match self {
            Leaf::Text(s) if !s.is_empty() => Some(s),
            Leaf::Number(n) => Some(n),
            _ => None,
        }
    }

    /// The value as a non-negative integer, from a number or a numeric string.
    pub fn integer(&self) -> Option<u64> {
        match self {
            Leaf::Text(s) | Leaf::Number(s) => s.parse().ok(),
            _ => None,
        }
    }

    /// How the value looks, for error messages.
    pub fn describe(&self) -> String {
        match self {
            Leaf::Missing => "null".into(),
            Leaf::Text(s) => format!("{s:?}"),
            Leaf::Number(n) => n.clone(),
            Leaf::Bool(b) => b.to_string(),
            Leaf::Composite => "an object or a list".into(),
        }
    }
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
            fn visit_none<E>(self) -> Result<Leaf, E> {
                Ok(Leaf::Missing)
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Leaf, A::Error> {
                while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                Ok(Leaf::Composite)
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Leaf, A::Error> {
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(Leaf::Composite)
            }
        }
        d.deserialize_any(V)
    }
}

/// Reads an object as `(key, value)` pairs, handing each known key to
/// `field` and skipping the rest; anything but an object is `None`.
/// Later duplicates win, as in a JSON tree.
pub fn object<'de, D, T>(
    d: D,
    keys: &'static [&'static str],
    init: T,
    field: fn(&mut T, usize, &mut dyn FieldReader) -> Result<(), String>,
) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
{
    struct V<T, F> {
        keys: &'static [&'static str],
        init: T,
        field: F,
    }
    impl<'de, T, F> Visitor<'de> for V<T, F>
    where
        F: Fn(&mut T, usize, &mut dyn FieldReader) -> Result<(), String>,
    {
        type Value = Option<T>;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("a JSON object")
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Option<T>, A::Error> {
            let mut out = self.init;
            while let Some(key) = map.next_key_seed(KeySeed(self.keys))? {
                match key {
                    Some(i) => {
                        let mut reader = Reader(&mut map, None, std::marker::PhantomData);
                        (self.field)(&mut out, i, &mut reader).map_err(de::Error::custom)?;
                        if let Some(e) = reader.1 {
                            return Err(e);
                        }
                    }
                    None => {
                        map.next_value::<IgnoredAny>()?;
                    }
                }
            }
            Ok(Some(out))
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Option<T>, A::Error> {
            while seq.next_element::<IgnoredAny>()?.is_some() {}
            Ok(None)
        }
        fn visit_str<E>(self, _: &str) -> Result<Option<T>, E> {
            Ok(None)
        }
        fn visit_u64<E>(self, _: u64) -> Result<Option<T>, E> {
            Ok(None)
        }
        fn visit_i64<E>(self, _: i64) -> Result<Option<T>, E> {
            Ok(None)
        }
        fn visit_f64<E>(self, _: f64) -> Result<Option<T>, E> {
            Ok(None)
        }
        fn visit_bool<E>(self, _: bool) -> Result<Option<T>, E> {
            Ok(None)
        }
        fn visit_unit<E>(self) -> Result<Option<T>, E> {
            Ok(None)
        }
        fn visit_none<E>(self) -> Result<Option<T>, E> {
            Ok(None)
        }
    }
    d.deserialize_any(V { keys, init, field })
}

/// Reads the value of the current key in the form a field needs.
pub trait FieldReader {
    /// Any scalar (objects and lists read as [`Leaf::Composite`]).
    fn leaf(&mut self) -> Leaf;
    /// A list of raw JSON texts.
    fn raw_list(&mut self) -> RawList;
    /// A nested object's known keys as leaves (`None` if not an object).
    fn nested(&mut self, keys: &'static [&'static str]) -> Option<Vec<Leaf>>;
}

struct Reader<'m, 'de, A: MapAccess<'de>>(
    &'m mut A,
    Option<A::Error>,
    std::marker::PhantomData<&'de ()>,
);

impl<'de, A: MapAccess<'de>> FieldReader for Reader<'_, 'de, A> {
    fn leaf(&mut self) -> Leaf {
        self.0.next_value::<Leaf>().unwrap_or_else(|e| {
            self.1 = Some(e);
            Leaf::Missing
        })
    }

    fn raw_list(&mut self) -> RawList {
        self.0.next_value::<RawList>().unwrap_or_else(|e| {
            self.1 = Some(e);
            RawList::Null
        })
    }

    fn nested(&mut self, keys: &'static [&'static str]) -> Option<Vec<Leaf>> {
        match self.0.next_value_seed(Nested(keys)) {
            Ok(n) => n,
            Err(e) => {
                self.1 = Some(e);
                None
            }
        }
    }
}

/// A key, as its index in the known keys (`None`: not one of them). Keys
/// are matched without allocating.
struct KeySeed(&'static [&'static str]);

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
        Ok(self.0.iter().position(|k| *k == v))
    }
}

/// A field that should hold a list, each element kept as its JSON text.
#[derive(Debug)]
pub enum RawList {
    Null,
    List(Vec<Box<RawValue>>),
    /// Anything else: an object, a string, a number.
    NotAList,
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
                    out.push(raw);
                }
                Ok(RawList::List(out))
            }
            fn visit_unit<E>(self) -> Result<RawList, E> {
                Ok(RawList::Null)
            }
            fn visit_none<E>(self) -> Result<RawList, E> {
                Ok(RawList::Null)
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<RawList, A::Error> {
                while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                Ok(RawList::NotAList)
            }
            fn visit_str<E>(self, _: &str) -> Result<RawList, E> {
                Ok(RawList::NotAList)
            }
            fn visit_u64<E>(self, _: u64) -> Result<RawList, E> {
                Ok(RawList::NotAList)
            }
            fn visit_i64<E>(self, _: i64) -> Result<RawList, E> {
                Ok(RawList::NotAList)
            }
            fn visit_f64<E>(self, _: f64) -> Result<RawList, E> {
                Ok(RawList::NotAList)
            }
            fn visit_bool<E>(self, _: bool) -> Result<RawList, E> {
                Ok(RawList::NotAList)
            }
        }
        d.deserialize_any(V)
    }
}

/// A nested object's known keys as leaves.
struct Nested(&'static [&'static str]);

impl<'de> DeserializeSeed<'de> for Nested {
    type Value = Option<Vec<Leaf>>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        let keys = self.0;
        object(
            d,
            keys,
            vec![Leaf::Missing; keys.len()],
            |out: &mut Vec<Leaf>, i, r| {
                out[i] = r.leaf();
                Ok(())
            },
        )
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
    fn nested_objects_keep_known_keys_and_tolerate_other_types() {
        const KEYS: &[&str] = &["a", "b"];
        let read = |json: &str| {
            let mut d = serde_json::Deserializer::from_str(json);
            Nested(KEYS).deserialize(&mut d).unwrap()
        };
        assert_eq!(
            read(r#"{"b": "x", "c": {"deep": 1}, "a": 1, "a": 2}"#),
            Some(vec![Leaf::Number("2".into()), Leaf::Text("x".into())]),
            "unknown keys skipped, later duplicates win"
        );
        assert_eq!(read(r#""text""#), None);
        assert_eq!(read("[1]"), None);
        assert_eq!(read("null"), None);
    }
}
