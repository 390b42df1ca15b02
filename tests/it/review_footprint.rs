//! Attacks on the cheaper reading of big answers: the duplicate-key check
//! that borrows keys and scans small objects linearly, bodies read into a
//! buffer sized from `Content-Length`, a list judged at its total without
//! the page after it while the wait is pending, and a timeout that reports
//! what it kept of the last answer rather than the answer. Each test plays
//! a hostile server on loopback and checks the exit code, the outcome and
//! the message: none of them may open the gate, panic, hang, or lose the
//! evidence a timeout reports.

use crate::common::harness;
use crate::common::hostile;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use harness::*;
use hostile::{Hostile, Reply, Seen};

const JOB: &str = "800000000000000001";

/// A wait for [`JOB`] to be SUCCESS; malformed answers end it after two.
fn job_spec(timeout: &str, error_budget: u32) -> String {
    format!(
        "version: 1\nwaits:\n  build:\n    image_job: \"{JOB}\"\n    target: [SUCCESS]\n    timeout: {timeout}\n    error_budget: {error_budget}\n    poll: {{ initial: 100ms, max: 200ms }}\n"
    )
}

/// Runs `job_spec("30s", 1)` against a server that gives every request
/// `body`.
fn answered_by(body: String) -> (std::process::Output, serde_json::Value) {
    let server = Hostile::start(move |_| Reply::json(body.clone()));
    run_reported(&server.url(), &job_spec("30s", 1), &[])
}

/// Runs `list_spec("")` against a server that gives every request `body`.
fn list_answered_by(body: String) -> (std::process::Output, serde_json::Value) {
    let server = Hostile::start(move |_| Reply::json(body.clone()));
    run_reported(&server.url(), &list_spec(""), &[])
}

/// A job answer: `fields` are written into it as they are, before the end.
fn job_body(fields: &str) -> String {
    format!(r#"{{"id":"{JOB}","job_type":"CREATE_IMAGE","sub_jobs":[],{fields}}}"#)
}

fn wait(report: &serde_json::Value) -> &serde_json::Value {
    &report["waits"][0]
}

/// What the report says went wrong: the reason and the last error.
fn said(report: &serde_json::Value) -> String {
    let wait = wait(report);
    format!(
        "{} | {}",
        wait["reason"].as_str().unwrap_or_default(),
        wait["last_error"]["message"].as_str().unwrap_or_default()
    )
}

/// The run ends `api_error` (exit 5) and its report says `needle`.
fn assert_api_error(out: &std::process::Output, report: &serde_json::Value, needle: &str) {
    let wait = wait(report);
    assert_eq!(code(out), 5, "{wait:#}\n{}", stderr(out));
    assert_eq!(wait["outcome"], "api_error", "{wait:#}");
    let said = said(report);
    assert!(said.contains(needle), "expected {needle:?} in: {said}");
}

/// The run ends `met` (exit 0): positive evidence read correctly.
fn assert_met(out: &std::process::Output, report: &serde_json::Value) {
    let wait = wait(report);
    assert_eq!(code(out), 0, "{wait:#}\n{}", stderr(out));
    assert_eq!(wait["outcome"], "met", "{wait:#}");
    assert!(
        wait["reason"]
            .as_str()
            .unwrap_or_default()
            .contains("SUCCESS"),
        "{wait:#}"
    );
}

// ---------------------------------------------------------------------------
// Duplicate keys: the borrowed, linear-then-hashed check.
// ---------------------------------------------------------------------------

/// `n` distinct filler keys, to push an object past the linear scan.
fn filler(n: usize) -> String {
    (0..n)
        .map(|i| format!(r#""f{i}":{i}"#))
        .collect::<Vec<_>>()
        .join(",")
}

/// The job's own status written twice, the second time with an escape
/// (`st\u0061tus`): the field reader keeps the last (SUCCESS), a reader
/// keeping the first sees FAILED. In a small object, and in one far past
/// the linear scan with the repeat on either side of the switch.
#[test]
fn an_escaped_repeat_of_the_job_status_is_refused_in_small_and_big_objects() {
    for before in [0, 14, 15, 16, 17, 40] {
        let mut fields = filler(before);
        if !fields.is_empty() {
            fields.push(',');
        }
        fields.push_str(r#""status":"FAILED","st\u0061tus":"SUCCESS""#);
        let body = job_body(&fields);
        assert_eq!(
            serde_json::from_str::<serde_json::Value>(&body).unwrap()["status"],
            "SUCCESS",
            "the last value is what a tree keeps"
        );
        let (out, report) = answered_by(body);
        assert_api_error(&out, &report, "appears twice");
    }
}

/// The same repeat with both spellings escaped, the escaped one first, and
/// the repeat late in a big object whose other keys are escaped too (so
/// none of them is borrowed).
#[test]
fn a_repeat_where_every_key_is_escaped_is_refused() {
    let escaped: Vec<String> = (0..30).map(|i| format!(r#""\u0066{i}":{i}"#)).collect();
    for fields in [
        r#""\u0073tatus":"FAILED","status":"SUCCESS""#.to_owned(),
        r#""\u0073tatus":"FAILED","st\u0061tus":"SUCCESS""#.to_owned(),
        format!(
            r#""status":"SUCCESS",{},"\u0066\u0032\u0039":"x""#,
            escaped.join(",")
        ),
        format!(r#"{},"status":"SUCCESS","f7":"x""#, escaped.join(",")),
    ] {
        let body = job_body(&fields);
        let (out, report) = answered_by(body);
        assert_api_error(&out, &report, "appears twice");
    }
}

/// Keys that only look alike are different keys: `é` precomposed and `e`
/// with a combining accent decode to different text, so an answer holding
/// both is read (and met); `é` written plainly and as `\u00e9` decode to
/// the same key, so an answer holding both is refused. Small and big
/// objects alike.
#[test]
fn keys_are_equal_when_they_decode_equal_and_only_then() {
    for big in [false, true] {
        let pad = if big {
            format!("{},", filler(20))
        } else {
            String::new()
        };
        let distinct = job_body(&format!(
            r#"{pad}"caf\u00e9":1,"cafe\u0301":2,"Caf\u00c9":3,"status":"SUCCESS""#
        ));
        let (out, report) = answered_by(distinct);
        assert_met(&out, &report);

        for same in [
            format!(r#"{pad}"café":1,"caf\u00e9":2,"status":"SUCCESS""#),
            format!(r#"{pad}"😀":1,"\ud83d\ude00":2,"status":"SUCCESS""#),
        ] {
            let same = job_body(&same);
            let (out, report) = answered_by(same);
            assert_api_error(&out, &report, "appears twice");
        }
    }
}

/// Keys shared by siblings, by nested objects and by the objects of a
/// list are no repeat, whichever side of the linear scan each object is
/// on: one stack of keys serves every level, and no level may see
/// another's. A big, valid answer is met.
#[test]
fn the_same_keys_at_other_levels_are_no_repeat() {
    let keys = |n: usize, prefix: &str| -> String {
        (0..n)
            .map(|i| format!(r#""k{i}":"{prefix}{i}""#))
            .collect::<Vec<_>>()
            .join(",")
    };
    let sub_jobs: Vec<String> = (0..30)
        .map(|i| {
            let width = [3, 16, 17, 25][i % 4];
            format!(
                r#"{{"id":"s{i}","job_type":"CREATE_SERVER","status":"SUCCESS",{},"nested":{{{},"status":"x","id":"y","nested":{{{}}}}},"list":[{{{}}},{{{}}}]}}"#,
                keys(width, "a"),
                keys(width, "b"),
                keys(width + 1, "c"),
                keys(width, "d"),
                keys(20 - width.min(19), "e"),
            )
        })
        .collect();
    let body = format!(
        r#"{{"id":"{JOB}","job_type":"CREATE_IMAGE",{},"sub_jobs":[{}],"nested":{{{}}},"status":"SUCCESS","s\u0075b":1}}"#,
        keys(20, "top"),
        sub_jobs.join(","),
        keys(40, "n"),
    );
    assert!(serde_json::from_str::<serde_json::Value>(&body).is_ok());
    let (out, report) = answered_by(body);
    assert_met(&out, &report);
}

/// A wait on the sub-jobs of [`JOB`] in pages of 100, all to be SUCCESS.
fn list_spec(extra: &str) -> String {
    format!(
        "version: 1\nwaits:\n  subs:\n    image_sub_jobs: {{ job_id: \"{JOB}\", job_type: CREATE_SERVER }}\n    success: {{ all: [SUCCESS] }}\n    timeout: 30s\n    error_budget: 1\n    poll: {{ initial: 100ms, max: 200ms }}\n{extra}"
    )
}

fn item(i: usize, status: &str) -> String {
    format!(r#"{{"id":"s{i}","job_type":"CREATE_SERVER","pool":"p","status":"{status}"}}"#)
}

fn page_of(total: usize, items: &[String]) -> String {
    format!(r#"{{"count":{total},"items":[{}]}}"#, items.join(","))
}

fn page(total: usize, ids: std::ops::Range<usize>, status: &str) -> String {
    let items: Vec<String> = ids.map(|i| item(i, status)).collect();
    page_of(total, &items)
}

fn offset(seen: &Seen) -> usize {
    seen.param("offset")
        .and_then(|o| o.parse().ok())
        .unwrap_or(0)
}

/// A repeat hidden in a list item, in an object in a list in a field the
/// wait never reads (kept for `where`), in a small and in a big object.
/// Every item of the list reads SUCCESS: only the check keeps it shut.
#[test]
fn a_repeat_nested_in_a_list_item_is_refused() {
    for inner in [
        r#"[{"k":1},{"k":1,"\u006b":2}]"#.to_owned(),
        format!(r#"[[{{"ok":1}}],[{{{},"k":1,"k":2}}]]"#, filler(20)),
        format!(r#"{{"a":{{"b":[{{{},"f3":"again"}}]}}}}"#, filler(17)),
    ] {
        let body = format!(
            r#"{{"count":2,"items":[{},{{"id":"s1","job_type":"CREATE_SERVER","status":"SUCCESS","extra":{inner}}}]}}"#,
            item(0, "SUCCESS")
        );
        let (out, report) = list_answered_by(body);
        assert_api_error(&out, &report, "appears twice");
    }
}

/// An item's status written twice in an item of more than sixteen keys,
/// the repeat escaped: the item reads SUCCESS to the field reader.
#[test]
fn a_repeated_status_in_a_big_list_item_is_refused() {
    let body = format!(
        r#"{{"count":1,"items":[{{"id":"s0","job_type":"CREATE_SERVER",{},"status":"FAILED","\u0073\u0074\u0061\u0074\u0075\u0073":"SUCCESS"}}]}}"#,
        filler(30)
    );
    let (out, report) = list_answered_by(body);
    assert_api_error(&out, &report, "appears twice");
}

/// The page itself with its list written twice: the first `items` holds a
/// FAILED sub-job, the second the same sub-job SUCCESS. A reader keeping
/// the first value sees a failure; the page must be refused, not read as
/// its last `items`.
#[test]
fn a_page_with_its_items_written_twice_is_refused() {
    let body = format!(
        r#"{{"count":1,"items":[{}],"items":[{}]}}"#,
        item(0, "FAILED"),
        item(0, "SUCCESS")
    );
    let (out, report) = list_answered_by(body);
    assert_api_error(&out, &report, "appears twice");
}

/// The same with the total written twice, the first one larger than what
/// is listed: to a first-wins reader part of the list is missing.
#[test]
fn a_page_with_its_total_written_twice_is_refused() {
    let body = format!(
        r#"{{"count":5,"items":[{}],"count":1}}"#,
        item(0, "SUCCESS")
    );
    let (out, report) = list_answered_by(body);
    assert_api_error(&out, &report, "appears twice");
}

// ---------------------------------------------------------------------------
// Content-Length: a hint that sizes the buffer, never trusted for the cap.
// ---------------------------------------------------------------------------

/// A 200 with these headers (each `Name: value`) and body, then close.
fn raw(headers: &[&str], body: &[u8]) -> Reply {
    let mut out =
        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n".to_vec();
    for h in headers {
        out.extend_from_slice(h.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(body);
    Reply::Raw(out)
}

fn success_body() -> String {
    job_body(r#""status":"SUCCESS""#)
}

/// Lengths announced beyond the cap (by one byte, the largest `u64`, past
/// it) over a short SUCCESS body: refused at once, never read, never
/// retried, no panic converting the length.
#[test]
fn a_length_beyond_the_cap_is_refused_before_reading() {
    for (length, says) in [
        ("67108865", "larger than 64 MiB"),
        // hyper refuses this one itself, as a head it cannot read.
        ("18446744073709551615", ""),
        ("18446744073709551616", ""),
    ] {
        let header = format!("Content-Length: {length}");
        let server = Hostile::start(move |_| raw(&[&header], success_body().as_bytes()));
        let (out, report) = run_reported(&server.url(), &job_spec("30s", 1), &[]);
        assert_api_error(&out, &report, says);
        if !says.is_empty() {
            assert_eq!(
                server.seen().len(),
                1,
                "{length}: an oversized answer is not retried"
            );
        }
    }
}

/// A length that does not match the body: longer than what is sent (the
/// body is cut), shorter (the JSON is cut), zero, two different lengths,
/// a length that is not a number. Each is an unreadable answer, retried
/// within the budget, then `api_error`; never the SUCCESS the bytes hold.
#[test]
fn a_length_that_does_not_match_the_body_never_opens_the_gate() {
    let body = success_body();
    let n = body.len();
    let cases: Vec<Vec<String>> = vec![
        vec![format!("Content-Length: {}", n + 100)],
        vec![format!("Content-Length: {}", n + 1)],
        vec![format!("Content-Length: {}", n - 1)],
        vec!["Content-Length: 0".to_owned()],
        vec![
            format!("Content-Length: {n}"),
            format!("Content-Length: {}", n + 1),
        ],
        vec![format!("Content-Length: {n}x")],
        vec!["Content-Length: -1".to_owned()],
        vec![format!("Content-Length: +{n}")],
    ];
    for headers in cases {
        let body = body.clone();
        let sent = headers.clone();
        let server = Hostile::start(move |_| {
            let headers: Vec<&str> = sent.iter().map(String::as_str).collect();
            raw(&headers, body.as_bytes())
        });
        let (out, report) = run_reported(&server.url(), &job_spec("30s", 1), &[]);
        let wait = wait(&report);
        assert_eq!(code(&out), 5, "{headers:?}: {wait:#}");
        assert_eq!(wait["outcome"], "api_error", "{headers:?}: {wait:#}");
        assert!(
            !wait["reason"].as_str().unwrap_or_default().is_empty(),
            "{headers:?}: {wait:#}"
        );
        assert!(
            server.seen().len() >= 2,
            "{headers:?}: an unreadable answer is retried: {wait:#}"
        );
    }
}

/// Bodies without a length: read to the connection's close, or chunked
/// (in many small chunks, or with a length beside the chunking, which the
/// chunking overrides). Whole SUCCESS answers, so met: the hint is only a
/// hint.
#[test]
fn a_body_without_a_usable_length_is_read_whole() {
    let body = success_body();
    let chunked = |pieces: usize| -> Vec<u8> {
        let bytes = body.as_bytes();
        let size = bytes.len().div_ceil(pieces);
        let mut out = Vec::new();
        for piece in bytes.chunks(size) {
            out.extend_from_slice(format!("{:x}\r\n", piece.len()).as_bytes());
            out.extend_from_slice(piece);
            out.extend_from_slice(b"\r\n");
        }
        out.extend_from_slice(b"0\r\n\r\n");
        out
    };
    let cases: Vec<(Vec<&str>, Vec<u8>)> = vec![
        (vec![], body.as_bytes().to_vec()),
        (vec!["Transfer-Encoding: chunked"], chunked(1)),
        (vec!["Transfer-Encoding: chunked"], chunked(body.len())),
    ];
    for (headers, bytes) in cases {
        let label = format!("{headers:?}");
        let headers: Vec<String> = headers.into_iter().map(str::to_owned).collect();
        let server = Hostile::start(move |_| {
            let h: Vec<&str> = headers.iter().map(String::as_str).collect();
            raw(&h, &bytes)
        });
        let (out, report) = run_reported(&server.url(), &job_spec("30s", 1), &[]);
        assert_eq!(code(&out), 0, "{label}: {:#}", wait(&report));
        assert_met(&out, &report);
    }
}

/// A chunked body whose chunk announces more than the cap: refused as too
/// large, or cut; never a pass, never a panic.
#[test]
fn a_chunk_announced_beyond_the_cap_never_opens_the_gate() {
    let server = Hostile::start(|_| {
        let mut body = b"4000001\r\n".to_vec();
        body.extend_from_slice(success_body().as_bytes());
        raw(&["Transfer-Encoding: chunked"], &body)
    });
    let (out, report) = run_reported(&server.url(), &job_spec("30s", 1), &[]);
    let wait = wait(&report);
    assert_eq!(code(&out), 5, "{wait:#}");
    assert_eq!(wait["outcome"], "api_error", "{wait:#}");
}

/// A gzip body (which jobgate never asks for) is not JSON to jobgate: an
/// unreadable answer, not a pass. The bytes are a real gzip member (one
/// stored deflate block) of a SUCCESS answer.
#[test]
fn a_gzip_body_is_unreadable_not_a_pass() {
    let json = success_body().into_bytes();
    let mut gz = vec![0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff];
    let len = json.len() as u16;
    gz.push(1);
    gz.extend_from_slice(&len.to_le_bytes());
    gz.extend_from_slice(&(!len).to_le_bytes());
    gz.extend_from_slice(&json);
    gz.extend_from_slice(&crc32(&json).to_le_bytes());
    gz.extend_from_slice(&(json.len() as u32).to_le_bytes());
    let server = Hostile::start(move |_| {
        let mut reply = Reply::json("");
        if let Reply::Full { headers, body, .. } = &mut reply {
            headers.push(("Content-Encoding".into(), "gzip".into()));
            *body = gz.clone();
        }
        reply
    });
    let (out, report) = run_reported(&server.url(), &job_spec("30s", 1), &[]);
    assert_api_error(&out, &report, "not valid JSON");
}

fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in bytes {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

// ---------------------------------------------------------------------------
// Paging: a list judged at its total, the page after read for a verdict.
// ---------------------------------------------------------------------------

/// A server whose answers change with the poll: `answer(poll, offset)`,
/// polls counted from 1 by the requests for offset 0.
fn by_poll(answer: impl Fn(usize, usize) -> String + Send + Sync + 'static) -> Hostile {
    by_poll_reply(move |poll, at| Reply::json(answer(poll, at)))
}

/// The offsets asked for, in order.
fn offsets(server: &Hostile) -> Vec<usize> {
    server.seen().iter().map(offset).collect()
}

/// The page after a full page must not have been read before the sub-jobs
/// read SUCCESS (poll 4): up to then, each poll reads offsets 0 and 100.
fn assert_end_read_only_for_a_verdict(offsets: &[usize]) {
    let first = offsets
        .iter()
        .position(|&o| o == 200)
        .unwrap_or_else(|| panic!("the end was never checked: {offsets:?}"));
    let polls = offsets[..first].iter().filter(|&&o| o == 0).count();
    assert!(polls > 3, "the end was read while pending: {offsets:?}");
    assert_eq!(
        offsets[..first].iter().filter(|&&o| o == 100).count(),
        polls,
        "{offsets:?}"
    );
}

/// The total is reached on a full page that repeats an id already read
/// (`s0`): 199 different sub-jobs for a total of 199. Once all read
/// SUCCESS, the page after carries a new FAILED sub-job: the list goes on
/// past its total, an inconsistent answer, never a pass.
#[test]
fn a_total_reached_with_a_repeated_id_still_proves_its_end() {
    let server = by_poll(|poll, at| {
        let status = if poll <= 3 { "RUNNING" } else { "SUCCESS" };
        match at {
            0 => page(199, 0..100, status),
            100 => {
                let mut items: Vec<String> = (100..199).map(|i| item(i, status)).collect();
                items.push(item(0, status));
                page_of(199, &items)
            }
            _ => page(199, 199..200, "FAILED"),
        }
    });
    let (out, report) = run_reported(&server.url(), &list_spec(""), &[]);
    assert_api_error(&out, &report, "more than the list's total of 199");
    assert_end_read_only_for_a_verdict(&offsets(&server));
}

/// The page after the total changes the total (grows, then drops): the
/// pages are not one list, never a pass.
#[test]
fn a_total_that_moves_on_the_page_after_never_opens_the_gate() {
    for after in [250, 150] {
        let server = by_poll(move |poll, at| {
            let status = if poll <= 3 { "RUNNING" } else { "SUCCESS" };
            match at {
                0 | 100 => page(200, at..at + 100, status),
                _ => page(after, 0..0, status),
            }
        });
        let (out, report) = run_reported(&server.url(), &list_spec(""), &[]);
        assert_api_error(&out, &report, &format!("changed from 200 to {after}"));
        assert_end_read_only_for_a_verdict(&offsets(&server));
    }
}

/// A list whose total drops between polls so that it is reached exactly
/// on a full page when everything reads SUCCESS: the 50 FAILED sub-jobs
/// that had been listed past the old total are still served after the new
/// one. Whatever the condition (`all`, a `count` that a partial list may
/// prove, `any`), the page after is read and the gate stays shut.
#[test]
fn a_list_that_turns_met_exactly_at_a_dropped_total_reads_the_page_after() {
    for success in [
        "{ all: [SUCCESS] }",
        // A `where` on another field keeps the count on the listed pages.
        "{ count: [SUCCESS], is: \">= 200\", where: { job_type: CREATE_SERVER, pool: p } }",
        "{ any: [SUCCESS] }",
    ] {
        let server = by_poll(|poll, at| {
            if poll <= 3 {
                return match at {
                    0 | 100 => page(250, at..at + 100, "RUNNING"),
                    _ => page(250, 200..250, "RUNNING"),
                };
            }
            match at {
                0 | 100 => page(200, at..at + 100, "SUCCESS"),
                _ => page(200, 200..250, "FAILED"),
            }
        });
        let spec = list_spec("").replace("{ all: [SUCCESS] }", success);
        let (out, report) = run_reported(&server.url(), &spec, &[]);
        let wait = wait(&report);
        assert_ne!(code(&out), 0, "{success}: {wait:#}");
        assert_eq!(code(&out), 5, "{success}: {wait:#}");
        let said = said(&report);
        assert!(
            said.contains("more than the list's total of 200"),
            "{success}: {said}"
        );
        let seen = offsets(&server);
        let polls_at_250 = 3;
        assert!(
            seen.iter().filter(|&&o| o == 200).count() > polls_at_250,
            "{success}: the page after the new total was never read: {seen:?}"
        );
    }
}

/// A list that grows between polls: 200 sub-jobs RUNNING (judged at the
/// total, no page after), then 300 SUCCESS over three full pages and an
/// empty one. Met, with the end read once, on the poll with the verdict.
#[test]
fn a_list_that_grows_between_polls_is_read_to_its_new_end() {
    let server = by_poll(|poll, at| {
        let (total, status) = if poll <= 3 {
            (200, "RUNNING")
        } else {
            (300, "SUCCESS")
        };
        page(total, at..(at + 100).min(total), status)
    });
    let (out, report) = run_reported(&server.url(), &list_spec(""), &[]);
    assert_met(&out, &report);
    let seen = offsets(&server);
    assert_eq!(seen.iter().filter(|&&o| o == 300).count(), 1, "{seen:?}");
    assert_eq!(seen.iter().filter(|&&o| o == 200).count(), 1, "{seen:?}");
    assert!(
        wait(&report)["reason"]
            .as_str()
            .unwrap_or_default()
            .contains("300"),
        "{:#}",
        wait(&report)
    );
}

/// A list that stays RUNNING up to its total while the page after it
/// carries a FAILED sub-job the total does not count. A pending list is
/// judged without that page, so the wait times out (exit 3) with the 200
/// pending sub-jobs as evidence; reading every page, as before, made every
/// poll an inconsistent answer, never judged (`api_error`, or a timeout
/// with no evidence). Either way shut; this pins the trade-off so that it
/// never turns into a pass.
#[test]
fn a_failure_past_the_total_of_a_pending_list_keeps_the_gate_shut() {
    let server = by_poll(|_, at| match at {
        0 | 100 => page(200, at..at + 100, "RUNNING"),
        _ => page(200, 200..201, "FAILED"),
    });
    let spec = list_spec("")
        .replace("timeout: 30s", "timeout: 4s")
        .replace(
            "{ all: [SUCCESS] }",
            "{ all: [SUCCESS] }\n    failure: { any: [FAILED] }",
        );
    let (out, report) = run_reported(&server.url(), &spec, &[]);
    let wait = wait(&report);
    assert_eq!(code(&out), 3, "{wait:#}");
    assert_eq!(wait["outcome"], "timed_out", "{wait:#}");
    let cause = wait["evidence"]["cause"].as_str().unwrap_or_default();
    assert!(
        cause.starts_with("200 of 200 items had not ended"),
        "{cause}"
    );
    assert!(!offsets(&server).contains(&200), "{:?}", offsets(&server));
}

/// An honest list at its total: the page after (empty) is read once for
/// each poll judged met, and only then; with `stable_for: 2`, twice.
#[test]
fn an_honest_list_at_its_total_is_met_with_its_end_read_per_verdict() {
    let server = by_poll(|poll, at| {
        let status = if poll <= 3 { "RUNNING" } else { "SUCCESS" };
        match at {
            0 | 100 => page(200, at..at + 100, status),
            _ => page(200, 0..0, status),
        }
    });
    let (out, report) = run_reported(&server.url(), &list_spec("    stable_for: 2\n"), &[]);
    assert_met(&out, &report);
    let seen = offsets(&server);
    assert_eq!(seen.iter().filter(|&&o| o == 200).count(), 2, "{seen:?}");
    assert_end_read_only_for_a_verdict(&seen);
    assert_eq!(
        wait(&report)["requests_sent"].as_u64(),
        Some(seen.len() as u64),
        "{seen:?}"
    );
}

// ---------------------------------------------------------------------------
// A timeout reports the evidence of the last answer judged.
// ---------------------------------------------------------------------------

fn timed(id: usize, status: &str, begin: &str) -> String {
    format!(
        r#"{{"id":"s{id}","job_type":"CREATE_SERVER","status":"{status}","begin_time":"{begin}"}}"#
    )
}

/// A list of 200 that stays RUNNING, judged at its total without the page
/// after: the timeout reports all 200 pending, the longest running (the
/// earliest start) first, exactly as from a list read to its end.
#[test]
fn a_timeout_after_paged_reads_reports_the_whole_list() {
    let server = Hostile::start(|seen| {
        let at = offset(seen);
        let items: Vec<String> = (at..at + 100)
            .filter(|&i| i < 200)
            .map(|i| {
                let begin = if i == 137 {
                    "2024-01-01T00:00:00Z"
                } else {
                    "2024-01-01T01:00:00Z"
                };
                let status = if i % 2 == 0 { "RUNNING" } else { "WAITING" };
                timed(i, status, begin)
            })
            .collect();
        Reply::json(page_of(200, &items))
    });
    let spec = list_spec("").replace("timeout: 30s", "timeout: 4s");
    let (out, report) = run_reported(&server.url(), &spec, &[]);
    let wait = wait(&report);
    assert_eq!(code(&out), 3, "{wait:#}");
    assert_eq!(wait["outcome"], "timed_out", "{wait:#}");
    let evidence = &wait["evidence"];
    assert_eq!(evidence["pending_total"], 200, "{evidence:#}");
    let cause = evidence["cause"].as_str().unwrap_or_default();
    assert!(
        cause.starts_with("200 of 200 items had not ended (100 RUNNING, 100 WAITING); longest running: sub-job s137"),
        "{cause}"
    );
    assert_eq!(evidence["pending_counts"]["RUNNING"], 100, "{evidence:#}");
    assert!(
        !offsets(&server).contains(&200),
        "a pending list needs no proof of its end: {:?}",
        offsets(&server)
    );
}

/// Three RUNNING answers, each naming another sub-job (`p1`, `p2`, `p3`),
/// then only malformed ones (a repeated key, then cut JSON) until the
/// timeout: the evidence is the last answer judged (`p3`), not an earlier
/// one, and not lost to the errors after it.
#[test]
fn a_timeout_after_malformed_answers_reports_the_last_answer_judged() {
    for malformed in [
        job_body(r#""status":"RUNNING","status":"SUCCESS""#),
        r#"{"id":"800000000000000001","status":"#.to_owned(),
    ] {
        let served = Arc::new(Mutex::new(0usize));
        let count = served.clone();
        let server = Hostile::start(move |seen| {
            // Only the job's own answers are counted: the read of past
            // jobs (a list) gets none of them, wherever the schedule puts it.
            if !seen.path.ends_with(JOB) {
                return Reply::status_json(
                    404,
                    r#"{"error_code":"WKS.0404","error_msg":"not here"}"#,
                );
            }
            let mut n = count.lock().unwrap();
            *n += 1;
            if *n <= 3 {
                Reply::json(format!(
                    r#"{{"id":"{JOB}","job_type":"CREATE_IMAGE","status":"RUNNING","sub_jobs":[{{"id":"p{n}","job_type":"CREATE_SERVER","status":"RUNNING"}}]}}"#
                ))
            } else {
                Reply::json(malformed.clone())
            }
        });
        let (out, report) = run_reported(&server.url(), &job_spec("5s", 100), &[]);
        let wait = wait(&report);
        assert_eq!(code(&out), 3, "{wait:#}");
        assert_eq!(wait["outcome"], "timed_out", "{wait:#}");
        assert!(*served.lock().unwrap() > 4, "no malformed answer was read");
        let cause = wait["evidence"]["cause"].as_str().unwrap_or_default();
        assert!(
            cause.contains("1 of 1 items had not ended") && cause.contains("sub-job p3"),
            "{cause}\n{wait:#}"
        );
        assert_eq!(wait["evidence"]["pending"][0]["id"], "p3", "{wait:#}");
        assert_eq!(wait["evidence"]["job"]["status"], "RUNNING", "{wait:#}");
    }
}

/// A `where` that selects none of a paged list's sub-jobs (a typo): the
/// list stays pending and is judged at its total; the timeout still names
/// the unmatched `where` and the closest value, leading the evidence.
#[test]
fn a_timeout_on_an_unmatched_where_names_it_after_paged_reads() {
    let server = Hostile::start(|seen| {
        let at = offset(seen);
        Reply::json(page(200, at..(at + 100).min(200), "RUNNING"))
    });
    let spec = list_spec("")
        .replace("timeout: 30s", "timeout: 4s")
        .replace(
            "{ all: [SUCCESS] }",
            "{ all: [SUCCESS], where: { job_type: CREATE_SERVR } }",
        );
    let (out, report) = run_reported(&server.url(), &spec, &[]);
    let wait = wait(&report);
    assert_eq!(code(&out), 3, "{wait:#}");
    assert_eq!(wait["outcome"], "timed_out", "{wait:#}");
    let reason = wait["reason"].as_str().unwrap_or_default();
    assert!(
        reason.contains("matched none of the 200 sub-jobs seen")
            && reason.contains("did you mean `CREATE_SERVER`"),
        "{reason}"
    );
    let cause = wait["evidence"]["cause"].as_str().unwrap_or_default();
    assert!(
        cause.starts_with("the `where` job_type: [CREATE_SERVR] matched none"),
        "{cause}"
    );
}

// ---------------------------------------------------------------------------
// The page after a verdict must be read and must answer.
// ---------------------------------------------------------------------------

/// Once the sub-jobs read SUCCESS at the total, the page after answers a
/// 503, a body that is not JSON, or a sub-job of another job: the verdict
/// has no proof of the list's end, so it never counts.
#[test]
fn a_verdict_whose_page_after_fails_never_opens_the_gate() {
    for (after, says) in [
        (
            Reply::status_json(503, r#"{"error_code":"X","error_msg":"busy"}"#),
            "503",
        ),
        (Reply::json("not json"), "not valid JSON"),
        (
            Reply::json(
                r#"{"count":200,"items":[{"id":"o1","job_id":"800000000000000002","job_type":"CREATE_SERVER","status":"SUCCESS"}]}"#,
            ),
            "of job 800000000000000002",
        ),
    ] {
        let server = by_poll_reply(move |poll, at| {
            let status = if poll <= 2 { "RUNNING" } else { "SUCCESS" };
            match at {
                0 | 100 => Reply::json(page(200, at..at + 100, status)),
                _ => after.clone(),
            }
        });
        let (out, report) = run_reported(&server.url(), &list_spec(""), &[]);
        assert_api_error(&out, &report, says);
        assert!(offsets(&server).contains(&200), "{:?}", offsets(&server));
    }
}

// ---------------------------------------------------------------------------
// A job detail's sub-jobs, de-duplicated in place; names formatted lazily.
// ---------------------------------------------------------------------------

fn sub_job_spec(success: &str) -> String {
    format!(
        "version: 1\nwaits:\n  build:\n    image_job: \"{JOB}\"\n    success: {success}\n    timeout: 3s\n    error_budget: 1\n    poll: {{ initial: 100ms, max: 200ms }}\n"
    )
}

/// Three sightings of two sub-jobs (`s1` twice, or `1` and `"1"`) for a
/// `sub_jobs_total` of 3: after de-duplication two are listed, fewer than
/// the total, so a share of 100% does not hold and the wait times out.
#[test]
fn a_sub_job_listed_twice_does_not_fill_the_total() {
    for ids in [[r#""s1""#, r#""s1""#, r#""s2""#], ["1", r#""1""#, "2"]] {
        let subs: Vec<String> = ids
            .iter()
            .map(|id| format!(r#"{{"id":{id},"job_type":"CREATE_SERVER","status":"SUCCESS"}}"#))
            .collect();
        let body = format!(
            r#"{{"id":"{JOB}","job_type":"CREATE_IMAGE","status":"RUNNING","sub_jobs_total":3,"sub_jobs":[{}]}}"#,
            subs.join(",")
        );
        let server = Hostile::start(move |_| Reply::json(body.clone()));
        let spec = sub_job_spec("{ count: [SUCCESS], is: \">= 100%\" }");
        let (out, report) = run_reported(&server.url(), &spec, &[]);
        let wait = wait(&report);
        assert_eq!(code(&out), 3, "{ids:?}: {wait:#}");
        assert_eq!(wait["outcome"], "timed_out", "{ids:?}: {wait:#}");
        let reason = wait["reason"].as_str().unwrap_or_default();
        assert!(reason.contains("2 sub-jobs"), "{ids:?}: {reason}");
    }
}

/// A sub-job without a status, deep in a job detail: the error names that
/// sub-job (its name is formatted only now), and the answer is malformed.
#[test]
fn a_sub_job_without_a_status_is_named() {
    let mut subs: Vec<String> = (0..50)
        .map(|i| format!(r#"{{"id":"s{i}","job_type":"CREATE_SERVER","status":"SUCCESS"}}"#))
        .collect();
    subs[37] = r#"{"id":"s37","job_type":"CREATE_SERVER","status":null}"#.to_owned();
    let body = format!(
        r#"{{"id":"{JOB}","job_type":"CREATE_IMAGE","status":"SUCCESS","sub_jobs_total":50,"sub_jobs":[{}]}}"#,
        subs.join(",")
    );
    let server = Hostile::start(move |_| Reply::json(body.clone()));
    let spec = sub_job_spec("{ all: [SUCCESS] }");
    let (out, report) = run_reported(&server.url(), &spec, &[]);
    assert_api_error(&out, &report, "sub-job s37 has no `status` field");
}

/// The sub-jobs themselves written twice, the repeat escaped: FAILED in
/// the first list, SUCCESS in the second. Refused, never judged.
#[test]
fn a_job_with_its_sub_jobs_written_twice_is_refused() {
    let sub =
        |status: &str| format!(r#"[{{"id":"s1","job_type":"CREATE_SERVER","status":"{status}"}}]"#);
    let body = format!(
        r#"{{"id":"{JOB}","job_type":"CREATE_IMAGE","status":"RUNNING","sub_jobs_total":1,"sub_jobs":{},"sub_j\u006fbs":{}}}"#,
        sub("FAILED"),
        sub("SUCCESS")
    );
    let server = Hostile::start(move |_| Reply::json(body.clone()));
    let (out, report) = run_reported(&server.url(), &sub_job_spec("{ all: [SUCCESS] }"), &[]);
    assert_api_error(&out, &report, "appears twice");
}

/// The list reads SUCCESS at its total, but the page after never answers:
/// the verdict is never reached, and the timeout reports the last answer
/// judged (the RUNNING list), not the SUCCESS one that was never proved.
#[test]
fn a_verdict_whose_page_after_hangs_times_out_with_the_last_judged_answer() {
    let server = by_poll_reply(|poll, at| {
        let status = if poll <= 2 { "RUNNING" } else { "SUCCESS" };
        match at {
            0 | 100 => Reply::json(page(200, at..at + 100, status)),
            _ => Reply::Hang,
        }
    });
    let spec = list_spec("").replace("timeout: 30s", "timeout: 6s");
    let (out, report) = run_reported(&server.url(), &spec, &[]);
    let wait = wait(&report);
    assert_eq!(code(&out), 3, "{wait:#}");
    assert_eq!(wait["outcome"], "timed_out", "{wait:#}");
    let cause = wait["evidence"]["cause"].as_str().unwrap_or_default();
    assert!(
        cause.starts_with("200 of 200 items had not ended (200 RUNNING)"),
        "{cause}\n{wait:#}"
    );
    assert!(offsets(&server).contains(&200), "{:?}", offsets(&server));
}

/// [`by_poll`] for any reply.
fn by_poll_reply(answer: impl Fn(usize, usize) -> Reply + Send + Sync + 'static) -> Hostile {
    let polls = AtomicUsize::new(0);
    Hostile::start(move |seen| {
        let at = offset(seen);
        let poll = if at == 0 {
            polls.fetch_add(1, Ordering::SeqCst) + 1
        } else {
            polls.load(Ordering::SeqCst)
        };
        answer(poll, at)
    })
}
