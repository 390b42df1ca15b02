//! Any text given to `spec::parse` yields a spec or located diagnostics that
//! render; it never panics.
#![no_main]

use libfuzzer_sys::fuzz_target;

fn env(name: &str) -> Option<String> {
    match name {
        "HUAWEICLOUD_SDK_PROJECT_ID" => Some("0123456789abcdef0123456789abcdef".into()),
        "IMAGE_JOB_ID" => Some("702364883651395584".into()),
        _ => None,
    }
}

fuzz_target!(|data: &[u8]| {
    // The binary refuses non-UTF-8 files before parsing.
    let Ok(source) = std::str::from_utf8(data) else {
        return;
    };
    if let Err(errors) = jobgate::spec::parse("fuzz.yaml", source, &env) {
        for d in &errors.diagnostics {
            assert!(d.span.line >= 1 && d.span.column >= 1, "{d:?}");
            assert!(d.span.offset <= source.len(), "{d:?}");
        }
        let _ = errors.render(false, 100);
    }
});
