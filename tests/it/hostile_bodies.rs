//! A fuzz-style property test of the gate: random response bodies around
//! the documented shape (fields missing, wrong types, huge numbers, floats
//! for counts, ids repeated, deep nesting, extra fields, statuses in odd
//! case, duplicated keys, truncated text) never yield `met` unless the
//! conditions truly hold on a correct reading of them.
//!
//! Each body is generated together with what a correct reading makes of
//! it, decided here from the generator's choices and the API reference,
//! sharing no code with jobgate: `Met` (the conditions hold), `NotMet` (a
//! reading that makes them hold would be wrong or a guess: the gate must
//! stay shut) or `Unclear` (a reading could go either way, e.g. a total
//! written `3.0`: not asserted). `jobgate eval` judges each body; a handful
//! go through `run` against a scripted server too.

use crate::common::harness;
use crate::common::hostile;

use std::time::Duration;

use harness::*;
use hostile::{Hostile, Reply};
use proptest::prelude::*;
use proptest::test_runner::{Config, FileFailurePersistence};

const JOB: &str = "800000000000000001";

/// What a correct reading of a body makes of the wait's conditions.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Reading {
    Met,
    Unclear,
    NotMet,
}

/// The worst of two readings: one reason to stay shut is enough.
fn worst(a: Reading, b: Reading) -> Reading {
    a.max(b)
}

/// A status as written.
#[derive(Clone, Debug)]
enum StatusForm {
    Exact(&'static str),
    /// `Success`, `success`: not a documented status.
    OddCase(&'static str),
    /// `"SUCCESS "`: not a documented status either.
    Padded(&'static str),
    /// The status with JSON escapes (`"SUCC\u0045SS"`): the same text once
    /// read, so SUCCESS written so is SUCCESS.
    Escaped(&'static str),
    /// A trailing NUL (`"SUCCESS\u0000"`) or a look-alike letter
    /// (Cyrillic `С`): other text.
    Spoofed(&'static str, bool),
    Number,
    Null,
    Missing,
}

fn status_form() -> impl Strategy<Value = StatusForm> {
    let status =
        || prop::sample::select(vec!["SUCCESS", "SUCCESS", "SUCCESS", "RUNNING", "FAILED"]);
    prop_oneof![
        12 => status().prop_map(StatusForm::Exact),
        1 => status().prop_map(StatusForm::OddCase),
        1 => status().prop_map(StatusForm::Padded),
        1 => status().prop_map(StatusForm::Escaped),
        1 => (status(), any::<bool>()).prop_map(|(s, nul)| StatusForm::Spoofed(s, nul)),
        1 => Just(StatusForm::Number),
        1 => Just(StatusForm::Null),
        1 => Just(StatusForm::Missing),
    ]
}

impl StatusForm {
    fn field(&self) -> Option<String> {
        let v = match self {
            StatusForm::Exact(s) => format!("\"{s}\""),
            StatusForm::OddCase(s) => {
                let mut c = s.chars();
                let first = c.next().unwrap();
                format!("\"{first}{}\"", c.as_str().to_lowercase())
            }
            StatusForm::Padded(s) => format!("\"{s} \""),
            StatusForm::Escaped(s) => {
                format!("\"{}\\u00{:02X}{}\"", &s[..4], s.as_bytes()[4], &s[5..])
            }
            StatusForm::Spoofed(s, true) => format!("\"{s}\\u0000\""),
            StatusForm::Spoofed(s, false) => format!("\"{}\"", s.replacen('S', "\u{421}", 1)),
            StatusForm::Number => "1".into(),
            StatusForm::Null => "null".into(),
            StatusForm::Missing => return None,
        };
        Some(format!("\"status\":{v}"))
    }

    /// Only an exact SUCCESS is success.
    fn reading(&self) -> Reading {
        match self {
            StatusForm::Exact("SUCCESS") | StatusForm::Escaped("SUCCESS") => Reading::Met,
            _ => Reading::NotMet,
        }
    }
}

/// A sub-job id as written; `n` picks the id, so two sub-jobs may share it.
#[derive(Clone, Debug)]
enum IdForm {
    Str(u8),
    /// The same id as a JSON number (`1` and `"1"` are one id).
    Int(u8),
    /// A float such as `1.0`.
    Float(u8),
    Null,
    Missing,
}

fn id_form() -> impl Strategy<Value = IdForm> {
    prop_oneof![
        10 => (0u8..8).prop_map(IdForm::Str),
        2 => (0u8..8).prop_map(IdForm::Int),
        1 => (0u8..8).prop_map(IdForm::Float),
        1 => Just(IdForm::Null),
        1 => Just(IdForm::Missing),
    ]
}

impl IdForm {
    fn field(&self) -> Option<String> {
        let v = match self {
            IdForm::Str(n) => format!("\"{n}\""),
            IdForm::Int(n) => format!("{n}"),
            IdForm::Float(n) => format!("{n}.0"),
            IdForm::Null => "null".into(),
            IdForm::Missing => return None,
        };
        Some(format!("\"id\":{v}"))
    }

    /// The id as text, if it has a clear one.
    fn text(&self) -> Option<String> {
        match self {
            IdForm::Str(n) | IdForm::Int(n) => Some(n.to_string()),
            _ => None,
        }
    }
}

/// One sub-job (or list item).
#[derive(Clone, Debug)]
struct SubGen {
    id: IdForm,
    status: StatusForm,
    /// Its `job_id`: absent, the job, or another job.
    job_id: Option<bool>,
    /// An extra field, maybe nested, that nobody reads.
    extra: Option<Extra>,
    /// `"status":"FAILED"` again, before (`false`) or after the real one.
    duplicate_status: Option<bool>,
    /// Written as another JSON value than an object (null, a string, an
    /// array holding a FAILED sub-job): no sub-job can be read from it.
    not_an_object: Option<u8>,
}

fn sub_gen() -> impl Strategy<Value = SubGen> {
    (
        id_form(),
        status_form(),
        prop_oneof![3 => Just(Some(true)), 2 => Just(None), 1 => Just(Some(false))],
        prop::option::weighted(0.3, extra()),
        duplicate_key(),
        prop::option::weighted(0.05, 0u8..3),
    )
        .prop_map(
            |(id, status, job_id, extra, duplicate_status, not_an_object)| SubGen {
                id,
                status,
                job_id,
                extra,
                duplicate_status,
                not_an_object,
            },
        )
}

impl SubGen {
    fn render(&self) -> String {
        match self.not_an_object {
            Some(0) => return "null".into(),
            Some(1) => return "\"FAILED\"".into(),
            Some(_) => return "[{\"id\":\"9\",\"status\":\"FAILED\"}]".into(),
            None => {}
        }
        let mut fields: Vec<String> = vec!["\"job_type\":\"CREATE_SERVER\"".into()];
        fields.extend(self.id.field());
        if self.duplicate_status == Some(false) {
            fields.push("\"status\":\"FAILED\"".into());
        }
        fields.extend(self.status.field());
        if self.duplicate_status == Some(true) {
            fields.push("\"status\":\"FAILED\"".into());
        }
        match self.job_id {
            Some(true) => fields.push(format!("\"job_id\":\"{JOB}\"")),
            Some(false) => fields.push("\"job_id\":\"800000000000000002\"".into()),
            None => {}
        }
        if let Some(e) = &self.extra {
            fields.push(e.render());
        }
        format!("{{{}}}", fields.join(","))
    }

    fn reading(&self) -> Reading {
        if self.not_an_object.is_some() {
            return Reading::NotMet;
        }
        let mut r = self.status.reading();
        // Two statuses for one item: ambiguous, never success.
        if self.duplicate_status.is_some() {
            r = Reading::NotMet;
        }
        // An item of another job is no evidence about this one.
        if self.job_id == Some(false) {
            r = worst(r, Reading::NotMet);
        }
        if let Some(e) = &self.extra {
            r = worst(r, e.reading());
        }
        // Without a clear id an item cannot be told from a repeat of
        // another: whether that is refused is a design choice.
        if self.id.text().is_none() {
            r = worst(r, Reading::Unclear);
        }
        r
    }
}

/// A field no condition reads: harmless unless it makes the document
/// unreadable (deeper than a JSON reader's nesting limit of 128).
#[derive(Clone, Debug)]
enum Extra {
    Flat,
    Deep(usize),
    HugeNumber,
}

fn extra() -> impl Strategy<Value = Extra> {
    prop_oneof![
        3 => Just(Extra::Flat),
        1 => prop::sample::select(vec![5usize, 60, 126, 127, 200, 5000]).prop_map(Extra::Deep),
        1 => Just(Extra::HugeNumber),
    ]
}

impl Extra {
    fn render(&self) -> String {
        match self {
            Extra::Flat => "\"x_extra\":{\"note\":\"SUCCESS\",\"status\":\"FAILED\"}".into(),
            Extra::Deep(d) => format!("\"x_deep\":{}1{}", "[".repeat(*d), "]".repeat(*d)),
            Extra::HugeNumber => "\"x_big\":123456789012345678901234567890".into(),
        }
    }

    /// The nesting the field adds, beside the depth where it sits (at most
    /// 3 for an item in a job: document, array, item).
    fn reading(&self) -> Reading {
        match self {
            Extra::Flat | Extra::HugeNumber => Reading::Met,
            // serde_json, the reference reader, stops at 128 levels; the
            // API documents none of this: refusing a document that deep
            // is right, reading it is not wrong, unless near the limit.
            Extra::Deep(d) if *d <= 100 => Reading::Met,
            Extra::Deep(_) => Reading::Unclear,
        }
    }
}

/// `sub_jobs_total` / `count` as written.
#[derive(Clone, Debug)]
enum TotalForm {
    Exact,
    /// The right total plus this (never 0).
    Off(i8),
    /// `3.0`.
    WholeFloat,
    /// `3.5`.
    Fraction,
    Huge,
    Negative,
    Str,
    Null,
    Missing,
}

fn total_form() -> impl Strategy<Value = TotalForm> {
    prop_oneof![
        12 => Just(TotalForm::Exact),
        2 => prop::sample::select(vec![-2i8, -1, 1, 3]).prop_map(TotalForm::Off),
        1 => Just(TotalForm::WholeFloat),
        1 => Just(TotalForm::Fraction),
        1 => Just(TotalForm::Huge),
        1 => Just(TotalForm::Negative),
        1 => Just(TotalForm::Str),
        1 => Just(TotalForm::Null),
        1 => Just(TotalForm::Missing),
    ]
}

impl TotalForm {
    fn field(&self, name: &str, n: usize) -> Option<String> {
        let v = match self {
            TotalForm::Exact => n.to_string(),
            TotalForm::Off(d) => (n as i64 + i64::from(*d)).to_string(),
            TotalForm::WholeFloat => format!("{n}.0"),
            TotalForm::Fraction => format!("{n}.5"),
            TotalForm::Huge => "18446744073709551617".into(),
            TotalForm::Negative => "-1".into(),
            TotalForm::Str => format!("\"{n}\""),
            TotalForm::Null => "null".into(),
            TotalForm::Missing => return None,
        };
        Some(format!("\"{name}\":{v}"))
    }

    fn reading(&self) -> Reading {
        match self {
            TotalForm::Exact => Reading::Met,
            TotalForm::WholeFloat | TotalForm::Str => Reading::Unclear,
            _ => Reading::NotMet,
        }
    }
}

/// The list of sub-jobs as written.
#[derive(Clone, Debug)]
enum ListForm {
    List(Vec<SubGen>),
    Object,
    Null,
    Str,
    Missing,
}

fn list_form() -> impl Strategy<Value = ListForm> {
    prop_oneof![
        12 => prop::collection::vec(sub_gen(), 0..6).prop_map(ListForm::List),
        1 => Just(ListForm::Object),
        1 => Just(ListForm::Null),
        1 => Just(ListForm::Str),
        1 => Just(ListForm::Missing),
    ]
}

impl ListForm {
    fn len(&self) -> usize {
        match self {
            ListForm::List(subs) => subs.len(),
            _ => 1,
        }
    }

    fn field(&self, name: &str) -> Option<String> {
        let v = match self {
            ListForm::List(subs) => {
                let items: Vec<String> = subs.iter().map(SubGen::render).collect();
                format!("[{}]", items.join(","))
            }
            ListForm::Object => "{\"0\":{\"id\":\"0\",\"status\":\"SUCCESS\"}}".into(),
            ListForm::Null => "null".into(),
            ListForm::Str => "\"SUCCESS\"".into(),
            ListForm::Missing => return None,
        };
        Some(format!("\"{name}\":{v}"))
    }

    /// Every listed item SUCCESS, at least one, no id twice.
    fn reading(&self) -> Reading {
        let ListForm::List(subs) = self else {
            return Reading::NotMet;
        };
        if subs.is_empty() {
            return Reading::NotMet;
        }
        let mut r = subs.iter().map(SubGen::reading).fold(Reading::Met, worst);
        let ids: Vec<String> = subs.iter().filter_map(|s| s.id.text()).collect();
        let distinct: std::collections::BTreeSet<&String> = ids.iter().collect();
        if distinct.len() < ids.len() {
            r = worst(r, Reading::NotMet);
        }
        r
    }
}

/// Whether bodies repeat a key with another value. A JSON reader that
/// keeps the last of them would open the gate on `"status":"FAILED",
/// "status":"SUCCESS"`; jobgate refuses such an answer as malformed (see
/// `duplicate_keys_with_other_values_never_pass`).
const DUPLICATE_KEYS: bool = true;

/// A repeated key, before (`false`) or after (`true`) the real one.
fn duplicate_key() -> BoxedStrategy<Option<bool>> {
    if DUPLICATE_KEYS {
        prop::option::weighted(0.1, any::<bool>()).boxed()
    } else {
        Just(None).boxed()
    }
}

/// A whole body: the fields of a job detail or list page, and what is
/// done to its text.
#[derive(Clone, Debug)]
struct Body {
    /// The job's id: as asked, as a number, another, missing.
    job_id: u8,
    status: StatusForm,
    total: TotalForm,
    list: ListForm,
    extra: Option<Extra>,
    /// The first key again with another value (`"status":"FAILED"` after
    /// the real one or before it).
    duplicate_key: Option<bool>,
    /// Cut the text at this fraction of its length (per mille).
    truncate: Option<u16>,
}

/// Any mix of defects, or a body that passes with one defect: the
/// question that matters most is whether a single flaw keeps the gate
/// shut.
fn body() -> impl Strategy<Value = Body> {
    prop_oneof![
        any_body(),
        (passing_body(), any_body(), 0usize..8).prop_map(one_defect)
    ]
}

fn any_body() -> impl Strategy<Value = Body> {
    (
        prop_oneof![10 => Just(0u8), 1 => Just(1u8), 1 => Just(2u8), 1 => Just(3u8), 1 => Just(4u8)],
        status_form(),
        total_form(),
        list_form(),
        prop::option::weighted(0.2, extra()),
        duplicate_key(),
        prop::option::weighted(0.08, 1u16..1000),
    )
        .prop_map(
            |(job_id, status, total, list, extra, duplicate_key, truncate)| Body {
                job_id,
                status,
                total,
                list,
                extra,
                duplicate_key,
                truncate,
            },
        )
}

/// A body whose conditions hold: the job asked for, SUCCESS, with 1 to 5
/// SUCCESS sub-jobs of distinct ids, all counted.
fn passing_body() -> impl Strategy<Value = Body> {
    (1u8..=5, any::<bool>()).prop_map(|(n, with_job_id)| Body {
        job_id: 0,
        status: StatusForm::Exact("SUCCESS"),
        total: TotalForm::Exact,
        list: ListForm::List(
            (0..n)
                .map(|i| SubGen {
                    id: IdForm::Str(i),
                    status: StatusForm::Exact("SUCCESS"),
                    job_id: with_job_id.then_some(true),
                    extra: None,
                    duplicate_status: None,
                    not_an_object: None,
                })
                .collect(),
        ),
        extra: None,
        duplicate_key: None,
        truncate: None,
    })
}

/// `base` with one part taken from `other`: `which` picks the part (for
/// the list, one sub-job of it).
fn one_defect((mut base, other, which): (Body, Body, usize)) -> Body {
    match which {
        0 => base.job_id = other.job_id,
        1 => base.status = other.status,
        2 => base.total = other.total,
        3 => base.extra = other.extra,
        4 => base.duplicate_key = other.duplicate_key,
        5 => base.truncate = other.truncate,
        6 => base.list = other.list,
        _ => {
            if let (ListForm::List(subs), ListForm::List(theirs)) = (&mut base.list, &other.list)
                && let Some(sub) = theirs.first()
            {
                let at = subs.len() - 1;
                subs[at] = sub.clone();
            }
        }
    }
    base
}

impl Body {
    /// As a job detail (`image_job`).
    fn job_text(&self) -> String {
        let mut fields = Vec::new();
        match self.job_id {
            0 => fields.push(format!("\"id\":\"{JOB}\"")),
            1 => fields.push(format!("\"id\":{JOB}")),
            2 => fields.push("\"id\":\"800000000000000002\"".into()),
            // The id as a float, which reads as 800000000000000000.
            4 => fields.push("\"id\":8.00000000000000001e17".into()),
            _ => {}
        }
        fields.push("\"job_type\":\"CREATE_IMAGE\"".into());
        let status = self.status.field();
        if self.duplicate_key == Some(false) {
            fields.push("\"status\":\"FAILED\"".into());
        }
        fields.extend(status);
        if self.duplicate_key == Some(true) {
            fields.push("\"status\":\"FAILED\"".into());
        }
        fields.extend(self.total.field("sub_jobs_total", self.list.len()));
        fields.extend(self.list.field("sub_jobs"));
        if let Some(e) = &self.extra {
            fields.push(e.render());
        }
        self.cut(format!("{{{}}}", fields.join(",")))
    }

    /// As a list page (`image_sub_jobs`); the job's status and id are not
    /// part of it.
    fn page_text(&self) -> String {
        let mut fields = Vec::new();
        if self.duplicate_key == Some(false) {
            fields.push("\"count\":0".into());
        }
        fields.extend(self.total.field("count", self.list.len()));
        if self.duplicate_key == Some(true) {
            fields.push("\"count\":0".into());
        }
        fields.extend(self.list.field("items"));
        if let Some(e) = &self.extra {
            fields.push(e.render());
        }
        self.cut(format!("{{{}}}", fields.join(",")))
    }

    fn cut(&self, text: String) -> String {
        match self.truncate {
            Some(per_mille) => {
                let at = text.len() * usize::from(per_mille) / 1000;
                text[..at.min(text.len() - 1)].to_owned()
            }
            None => text,
        }
    }

    fn common_reading(&self) -> Reading {
        let mut r = worst(self.total.reading(), self.list.reading());
        if let Some(e) = &self.extra {
            r = worst(r, e.reading());
        }
        if self.truncate.is_some() {
            r = Reading::NotMet;
        }
        r
    }

    /// Job: status SUCCESS, the job asked for, every sub-job SUCCESS.
    fn job_reading(&self) -> Reading {
        let mut r = worst(self.common_reading(), self.status.reading());
        r = worst(
            r,
            match self.job_id {
                0 | 1 => Reading::Met,
                3 => Reading::Unclear,
                _ => Reading::NotMet,
            },
        );
        // Two statuses for one job: ambiguous, never success.
        if self.duplicate_key.is_some() && !matches!(self.status, StatusForm::Missing) {
            r = Reading::NotMet;
        }
        r
    }

    /// List: every item SUCCESS.
    fn page_reading(&self) -> Reading {
        let mut r = self.common_reading();
        if self.duplicate_key.is_some() && !matches!(self.total, TotalForm::Missing) {
            r = Reading::NotMet;
        }
        r
    }
}

const SPEC: &str = r#"version: 1
waits:
  job:
    image_job: "800000000000000001"
    success: [{ status: [SUCCESS] }, { all: [SUCCESS] }]
    failure: { any: [FAILED] }
    unknown_status: wait
    timeout: 2s
    poll: { initial: 50ms, max: 100ms, adaptive: false }
  list:
    image_sub_jobs: { job_type: CREATE_SERVER, job_id: "800000000000000001" }
    success: { all: [SUCCESS] }
    failure: { any: [FAILED] }
    unknown_status: wait
    timeout: 2s
    poll: { initial: 50ms, max: 100ms, adaptive: false }
"#;

/// A fixed case budget (each case spawns the binary; CI fixes the seed),
/// failures kept beside this file.
fn config(cases: u32, max_shrink_iters: u32) -> Config {
    Config {
        cases,
        max_shrink_iters,
        failure_persistence: Some(Box::new(FileFailurePersistence::WithSource(
            "proptest-regressions",
        ))),
        ..Config::default()
    }
}

fn eval(dir: &Workdir, wait: &str, text: &str) -> (i32, String) {
    let spec = dir.path("spec.yaml");
    if !spec.exists() {
        dir.write("spec.yaml", SPEC);
    }
    let response = dir.write("response.json", text);
    let out = output_within(
        jobgate()
            .arg("eval")
            .arg(&spec)
            .args(["--wait", wait, "--response"])
            .arg(&response),
        Duration::from_secs(60),
    );
    (
        code(&out),
        format!("{}{}", String::from_utf8_lossy(&out.stdout), stderr(&out)),
    )
}

fn check_eval(
    dir: &Workdir,
    wait: &str,
    text: &str,
    reading: Reading,
) -> Result<(), TestCaseError> {
    let (got, shown) = eval(dir, wait, text);
    prop_assert!(
        got != 0 || reading != Reading::NotMet,
        "FALSE PASS: eval --wait {} said met on a body no correct reading meets:\n{}\n{}",
        wait,
        text,
        shown
    );
    prop_assert!(
        got == 0 || reading != Reading::Met,
        "false fail: eval --wait {} exit {} on a body whose conditions hold:\n{}\n{}",
        wait,
        got,
        text,
        shown
    );
    prop_assert!(
        [0, 1, 2, 3].contains(&got),
        "eval ended with exit {} (a crash?):\n{}\n{}",
        got,
        text,
        shown
    );
    Ok(())
}

proptest! {
    #![proptest_config(config(160, 200))]

    /// A job detail: exit 0 only on a body that truly meets the conditions.
    #[test]
    fn eval_passes_a_job_body_only_when_it_truly_holds(b in body()) {
        let dir = Workdir::new();
        check_eval(&dir, "job", &b.job_text(), b.job_reading())?;
    }

    /// A list page (which `eval` takes as the whole list).
    #[test]
    fn eval_passes_a_list_page_only_when_it_truly_holds(b in body()) {
        let dir = Workdir::new();
        check_eval(&dir, "list", &b.page_text(), b.page_reading())?;
    }
}

proptest! {
    #![proptest_config(config(8, 8))]

    /// The same bodies, served by a scripted server to `run`: exit 0 only
    /// when they truly hold; a body that cannot pass ends non-zero with a
    /// complete report.
    #[test]
    fn run_passes_a_served_body_only_when_it_truly_holds(b in body()) {
        let text = b.job_text();
        let served = text.clone();
        let server = Hostile::start(move |_| Reply::json(served.clone()));
        let spec = SPEC.split("  list:").next().unwrap();
        let (out, report) = run_reported(&server.url(), spec, &[]);
        let got = code(&out);
        let reading = b.job_reading();
        prop_assert!(
            got != 0 || reading != Reading::NotMet,
            "FALSE PASS: run said met on a served body no correct reading meets:\n{}\n{:#}",
            text,
            report
        );
        prop_assert!(
            got == 0 || reading != Reading::Met,
            "false fail: run exit {} on a served body whose conditions hold:\n{}\n{:#}",
            got,
            text,
            report
        );
        prop_assert!(report["waits"][0]["outcome"].is_string(), "{:#}", report);
    }
}

/// A key repeated with another value makes a document ambiguous (RFC 8259
/// leaves it to the reader which value counts): it must never open the
/// gate. A reader that keeps the last value passes every one of these, by
/// `eval` and by `run` (a count answer `{"count":1,"count":0}` for FAILED
/// opens a `count: [FAILED] == 0` gate).
#[test]
fn duplicate_keys_with_other_values_never_pass() {
    let dir = Workdir::new();
    let job = SPEC.split("  list:").next().unwrap();
    let bodies = [
        (
            "job",
            format!(
                r#"{{"id":"{JOB}","status":"FAILED","status":"SUCCESS","sub_jobs_total":1,"sub_jobs":[{{"id":"0","status":"SUCCESS"}}]}}"#
            ),
        ),
        (
            "job",
            format!(
                r#"{{"id":"{JOB}","status":"SUCCESS","sub_jobs_total":1,"sub_jobs":[{{"id":"0","status":"FAILED","status":"SUCCESS"}}]}}"#
            ),
        ),
        // The same key once written with an escape: equal once read.
        (
            "job",
            format!(
                r#"{{"id":"{JOB}","status":"FAILED","st\u0061tus":"SUCCESS","sub_jobs_total":1,"sub_jobs":[{{"id":"0","status":"SUCCESS"}}]}}"#
            ),
        ),
        // A whole list of sub-jobs, one FAILED, replaced by another.
        (
            "job",
            format!(
                r#"{{"id":"{JOB}","status":"SUCCESS","sub_jobs_total":1,"sub_jobs":[{{"id":"1","status":"FAILED"}}],"sub_jobs":[{{"id":"0","status":"SUCCESS"}}]}}"#
            ),
        ),
        (
            "list",
            r#"{"count":2,"count":1,"items":[{"id":"0","job_type":"CREATE_SERVER","status":"SUCCESS"}]}"#
                .to_owned(),
        ),
    ];
    // Every case is tried, and every pass is listed.
    let mut passed = Vec::new();
    for (wait, text) in &bodies {
        let (got, shown) = eval(&dir, wait, text);
        if got == 0 {
            passed.push(format!("eval --wait {wait}: {text}\n{shown}"));
        }
    }
    for (_, text) in bodies.iter().filter(|b| b.0 == "job") {
        let served = text.clone();
        let server = Hostile::start(move |_| Reply::json(served.clone()));
        let (out, _) = run_reported(&server.url(), job, &[]);
        if code(&out) == 0 {
            passed.push(format!("run: {text}"));
        }
    }
    let server = Hostile::start(|seen| {
        Reply::json(match seen.param("status") {
            Some("FAILED") => r#"{"count":1,"count":0}"#,
            _ => r#"{"count":3}"#,
        })
    });
    let count = format!(
        "version: 1\nwaits:\n  count:\n    image_sub_job_count: {{ job_type: CREATE_SERVER, job_id: \"{JOB}\" }}\n    success: {{ count: [FAILED], is: \"== 0\" }}\n    timeout: 2s\n"
    );
    let (out, _) = run_reported(&server.url(), &count, &[]);
    if code(&out) == 0 {
        passed.push("run: FAILED counted {\"count\":1,\"count\":0}".into());
    }
    assert!(
        passed.is_empty(),
        "ambiguous bodies passed:\n{}",
        passed.join("\n")
    );
}

/// What a correct reading makes of one count answer written `form` for a
/// true count of `n`, for `count: [FAILED] == 0` (`total: false`) or for
/// the total beside it, which only has to be at least one.
fn count_reading(form: &TotalForm, n: usize, total: bool) -> Reading {
    let fits = if total { n >= 1 } else { n == 0 };
    match form {
        TotalForm::Exact if fits => Reading::Met,
        // Another total is still a total; another count of FAILED is not 0.
        TotalForm::Off(_) if total => Reading::Met,
        TotalForm::WholeFloat | TotalForm::Str if fits => Reading::Unclear,
        // Beyond 64 bits: a total that large proves nothing wrong, but no
        // reader has to take it.
        TotalForm::Huge if total => Reading::Unclear,
        _ => Reading::NotMet,
    }
}

proptest! {
    #![proptest_config(config(8, 8))]

    /// A count plan whose answers are mutated (floats, strings, negative,
    /// huge, null, missing, truncated): exit 0 only when the counts as
    /// written truly make `count: [FAILED] == 0` hold.
    #[test]
    fn run_passes_served_counts_only_when_they_truly_hold(
        failed in 0usize..=1,
        failed_form in total_form(),
        total_form in total_form(),
        truncate in prop::option::weighted(0.1, any::<bool>()),
    ) {
        let (ff, tf) = (failed_form.clone(), total_form.clone());
        let server = Hostile::start(move |seen| {
            let (form, n) = match seen.param("status") {
                Some("FAILED") => (&ff, failed),
                _ => (&tf, 3),
            };
            let mut text = format!("{{{}}}", form.field("count", n).unwrap_or_default());
            if truncate == Some(seen.param("status").is_some()) {
                text.truncate(text.len() - 1);
            }
            Reply::json(text)
        });
        let spec = format!(
            "version: 1\nwaits:\n  count:\n    image_sub_job_count: {{ job_type: CREATE_SERVER, job_id: \"{JOB}\" }}\n    success: {{ count: [FAILED], is: \"== 0\" }}\n    timeout: 2s\n    error_budget: 2\n    poll: {{ initial: 50ms, max: 100ms }}\n"
        );
        let (out, report) = run_reported(&server.url(), &spec, &[]);
        let got = code(&out);
        let mut reading = worst(count_reading(&failed_form, failed, false), count_reading(&total_form, 3, true));
        if truncate.is_some() {
            reading = Reading::NotMet;
        }
        prop_assert!(
            got != 0 || reading != Reading::NotMet,
            "FALSE PASS: run said met on counts no correct reading meets: FAILED {} written {:?}, total 3 written {:?}, truncated {:?}\n{:#}",
            failed, failed_form, total_form, truncate, report
        );
        prop_assert!(
            got == 0 || reading != Reading::Met,
            "false fail: run exit {} on counts that hold: FAILED {} written {:?}, total 3 written {:?}\n{:#}",
            got, failed, failed_form, total_form, report
        );
        prop_assert!(report["waits"][0]["outcome"].is_string(), "{:#}", report);
    }
}
