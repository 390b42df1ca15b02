//! Robustness of spec parsing: whatever the input, `spec::parse` returns a
//! spec or located diagnostics, and never panics.

use jobgate::spec::{self, SpecErrors};
use proptest::prelude::*;

const DEMO: &str = include_str!("../../examples/demo.yaml");

fn env(name: &str) -> Option<String> {
    match name {
        "HUAWEICLOUD_SDK_PROJECT_ID" => Some("0123456789abcdef0123456789abcdef".into()),
        "IMAGE_JOB_ID" => Some("702364883651395584".into()),
        _ => None,
    }
}

/// Every diagnostic lies inside the source, on a character boundary, at a
/// line and column that exist; rendering them does not panic either.
fn check_located(source: &str, errors: &SpecErrors) -> Result<(), TestCaseError> {
    prop_assert!(
        !errors.diagnostics.is_empty(),
        "an error without diagnostics"
    );
    for d in &errors.diagnostics {
        prop_assert!(d.span.line >= 1, "{}: line {}", d.code, d.span.line);
        prop_assert!(d.span.column >= 1, "{}: column {}", d.code, d.span.column);
        prop_assert!(
            d.span.offset <= source.len(),
            "{}: offset {} past the end ({})",
            d.code,
            d.span.offset,
            source.len()
        );
        prop_assert!(
            d.span.offset + d.span.len <= source.len() + 1,
            "{}: span {}+{} past the end ({})",
            d.code,
            d.span.offset,
            d.span.len,
            source.len()
        );
        prop_assert!(
            d.span.line <= source.lines().count().max(1) + 1,
            "{}: line {} of {}",
            d.code,
            d.span.line,
            source.lines().count()
        );
        prop_assert!(d.code.starts_with("spec::"), "{}", d.code);
        prop_assert!(!d.message.is_empty(), "{}: empty message", d.code);
    }
    let rendered = errors.render(false, 100);
    prop_assert!(rendered.ends_with("nothing was polled.\n"));
    Ok(())
}

fn parse_and_check(source: &str) -> Result<(), TestCaseError> {
    match spec::parse("prop.yaml", source, &env) {
        Ok(spec) => prop_assert!(!spec.waits.is_empty()),
        Err(errors) => check_located(source, &errors)?,
    }
    Ok(())
}

/// A byte-level edit of the demo spec.
#[derive(Debug, Clone)]
enum Mutation {
    Flip { at: usize, bit: u8 },
    Insert { at: usize, byte: u8 },
    Delete { at: usize, len: usize },
    Duplicate { at: usize, len: usize },
    Truncate { at: usize },
}

fn mutation() -> impl Strategy<Value = Mutation> {
    // Positions are fractions of the length, resolved against the current
    // text so that every mutation applies.
    let at = 0usize..10_000;
    let interesting = prop::sample::select(b" \t\n:-[]{}\"'#$&*!|>%@`,?\\\x00\x7f".to_vec());
    prop_oneof![
        (at.clone(), 0u8..8).prop_map(|(at, bit)| Mutation::Flip { at, bit }),
        (at.clone(), prop_oneof![interesting, any::<u8>()])
            .prop_map(|(at, byte)| Mutation::Insert { at, byte }),
        (at.clone(), 1usize..40).prop_map(|(at, len)| Mutation::Delete { at, len }),
        (at.clone(), 1usize..80).prop_map(|(at, len)| Mutation::Duplicate { at, len }),
        at.prop_map(|at| Mutation::Truncate { at }),
    ]
}

fn apply(bytes: &mut Vec<u8>, m: &Mutation) {
    let pos = |at: usize, len: usize| if len == 0 { 0 } else { at * len / 10_000 };
    match *m {
        Mutation::Flip { at, bit } => {
            if !bytes.is_empty() {
                let i = pos(at, bytes.len()).min(bytes.len() - 1);
                bytes[i] ^= 1 << bit;
            }
        }
        Mutation::Insert { at, byte } => {
            let i = pos(at, bytes.len() + 1).min(bytes.len());
            bytes.insert(i, byte);
        }
        Mutation::Delete { at, len } => {
            let i = pos(at, bytes.len()).min(bytes.len());
            let end = (i + len).min(bytes.len());
            bytes.drain(i..end);
        }
        Mutation::Duplicate { at, len } => {
            let i = pos(at, bytes.len()).min(bytes.len());
            let end = (i + len).min(bytes.len());
            let copy = bytes[i..end].to_vec();
            bytes.splice(end..end, copy);
        }
        Mutation::Truncate { at } => {
            let i = pos(at, bytes.len()).min(bytes.len());
            bytes.truncate(i);
        }
    }
}

#[test]
fn the_demo_spec_is_valid() {
    let spec = spec::parse("demo.yaml", DEMO, &env).expect("the demo spec is valid");
    assert_eq!(spec.waits.len(), 4);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn arbitrary_strings_never_panic(source in any::<String>()) {
        parse_and_check(&source)?;
    }

    #[test]
    fn yaml_like_strings_never_panic(
        source in r"(version: [0-9]\n)?(waits:\n)?(  [a-z -]{0,8}:\n(    [a-z_]{1,12}: [\[\]{}$A-Za-z0-9 ,:./?@=']{0,30}\n){0,6}){0,3}"
    ) {
        parse_and_check(&source)?;
    }

    #[test]
    fn mutations_of_the_demo_never_panic(mutations in prop::collection::vec(mutation(), 1..8)) {
        let mut bytes = DEMO.as_bytes().to_vec();
        for m in &mutations {
            apply(&mut bytes, m);
        }
        // The binary refuses non-UTF-8 files before parsing; the library
        // takes text, so lossy conversion keeps the other mutations.
        let source = String::from_utf8_lossy(&bytes);
        parse_and_check(&source)?;
    }
}
