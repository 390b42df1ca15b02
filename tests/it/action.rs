//! The composite action (`action.yml`) run the way a GitHub runner runs it.
//!
//! Each step of action.yml is executed as the runner would: `if:` evaluated,
//! `${{ }}` expressions substituted, `env:` set, the script run with `bash
//! --noprofile --norc -eo pipefail` in the workspace, and the runner's files
//! (`GITHUB_OUTPUT`, `GITHUB_STEP_SUMMARY`, `GITHUB_ENV`) read back between
//! steps. A fake GitHub (API and release downloads) and the simulator serve
//! on loopback, so nothing leaves the machine.
//!
//! The expression evaluator knows exactly the forms action.yml uses and
//! panics on anything else, and steps reject keys this runner does not
//! implement, so a change to action.yml that this file cannot follow breaks
//! the test rather than being silently misread.
//!
//! Needs bash, curl, tar, gzip and sha256sum (or shasum), as GitHub-hosted
//! runners have. Windows runners run the same bash scripts through Git Bash,
//! which this test does not imitate.
#![cfg(unix)]

use crate::common::harness;
use crate::common::scenarios::OK_AND_BAD_IMAGES;

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex, OnceLock};

use harness::*;
use serde::Deserialize;
use serde_json::json;
use sha2::{Digest, Sha256};

const REPO: &str = "acme/jobgate";
const TOKEN: &str = "ghs_testtoken0000000000000000000000001";
/// Releases with assets, newest first, as the API lists them. `v10.0.0`
/// must not count as a `v1` release.
const RELEASES: [&str; 5] = ["v10.0.0", "v2.0.0", "v1.4.0", "v1.2.3", "v1.2.0"];
/// A release whose published checksum does not match its asset.
const TAMPERED: &str = "v6.6.6";
/// A release published without a checksum.
const UNSUMMED: &str = "v7.0.0";
const BAD_SUM: &str = "0000000000000000000000000000000000000000000000000000000000000000";

// ---------------------------------------------------------------------------
// action.yml, as far as a runner reads it.

#[derive(Deserialize)]
struct Action {
    inputs: BTreeMap<String, Input>,
    outputs: BTreeMap<String, ActionOutput>,
    runs: Runs,
}

#[derive(Deserialize)]
struct Input {
    default: Option<String>,
}

#[derive(Deserialize)]
struct ActionOutput {
    value: String,
}

#[derive(Deserialize)]
struct Runs {
    using: String,
    steps: Vec<Step>,
}

/// Unknown keys (`working-directory`, `continue-on-error`, ...) are refused:
/// the runner below would ignore them and so test something else.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Step {
    name: String,
    id: Option<String>,
    #[serde(rename = "if")]
    condition: Option<String>,
    shell: Option<String>,
    #[serde(default)]
    env: BTreeMap<String, String>,
    run: Option<String>,
    uses: Option<String>,
    #[serde(default)]
    with: BTreeMap<String, String>,
}

fn load_action() -> Action {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("action.yml");
    let action: Action = serde_saphyr::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    assert_eq!(action.runs.using, "composite");
    action
}

// ---------------------------------------------------------------------------
// Expressions: exactly the forms action.yml uses.

#[derive(Debug, Clone, PartialEq)]
enum Value {
    Null,
    Bool(bool),
    Str(String),
    Json(serde_json::Value),
}

impl Value {
    fn truthy(&self) -> bool {
        match self {
            Value::Null => false,
            Value::Bool(b) => *b,
            Value::Str(s) => !s.is_empty(),
            Value::Json(_) => true,
        }
    }

    /// As the runner pastes a value into a string.
    fn render(&self) -> String {
        match self {
            Value::Null => String::new(),
            Value::Bool(b) => b.to_string(),
            Value::Str(s) => s.clone(),
            Value::Json(v) => serde_json::to_string_pretty(v).unwrap(),
        }
    }
}

/// What expressions can see.
struct Context<'a> {
    inputs: &'a BTreeMap<String, String>,
    github: &'a BTreeMap<&'static str, String>,
    /// Outputs of the steps that ran, by id.
    steps: &'a BTreeMap<String, BTreeMap<String, String>>,
    /// Every id action.yml declares, so a typo is an error, not a null.
    ids: &'a BTreeSet<String>,
}

fn unsupported(expr: &str, what: &str) -> ! {
    panic!("action.yml uses `{expr}`: {what} is not supported by the runner in tests/it/action.rs")
}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Ident(String),
    Str(String),
    Dot,
    Open,
    Close,
    Eq,
    Ne,
    And,
    Or,
}

fn tokenize(expr: &str) -> Vec<Token> {
    let mut tokens = Vec::new();
    let mut chars = expr.chars().peekable();
    while let Some(c) = chars.next() {
        tokens.push(match c {
            c if c.is_whitespace() => continue,
            '.' => Token::Dot,
            '(' => Token::Open,
            ')' => Token::Close,
            '\'' => {
                let mut s = String::new();
                loop {
                    match chars.next() {
                        Some('\'') if chars.peek() == Some(&'\'') => {
                            chars.next();
                            s.push('\'');
                        }
                        Some('\'') => break,
                        Some(c) => s.push(c),
                        None => unsupported(expr, "an unterminated string"),
                    }
                }
                Token::Str(s)
            }
            '=' | '!' | '&' | '|' => match (c, chars.next()) {
                ('=', Some('=')) => Token::Eq,
                ('!', Some('=')) => Token::Ne,
                ('&', Some('&')) => Token::And,
                ('|', Some('|')) => Token::Or,
                _ => unsupported(expr, "this operator"),
            },
            c if c.is_ascii_alphabetic() || c == '_' => {
                let mut s = c.to_string();
                while let Some(&n) = chars.peek()
                    && (n.is_ascii_alphanumeric() || n == '_' || n == '-')
                {
                    s.push(n);
                    chars.next();
                }
                Token::Ident(s)
            }
            c => unsupported(expr, &format!("`{c}`")),
        });
    }
    tokens
}

/// Recursive descent over `a || b`, `a && b`, `a == b`, `a != b`, string
/// literals, context paths and `toJSON(steps.<id>.outputs)`.
struct Parser<'a> {
    cx: &'a Context<'a>,
    expr: &'a str,
    tokens: Vec<Token>,
    pos: usize,
}

impl Parser<'_> {
    fn next(&mut self) -> Option<Token> {
        let token = self.tokens.get(self.pos).cloned();
        self.pos += 1;
        token
    }

    fn eat(&mut self, token: &Token) -> bool {
        let found = self.tokens.get(self.pos) == Some(token);
        self.pos += usize::from(found);
        found
    }

    fn expect(&mut self, token: &Token) {
        if !self.eat(token) {
            unsupported(self.expr, &format!("a missing {token:?}"));
        }
    }

    // `||` and `&&` yield an operand, not a boolean: that is what makes
    // `cond && a || b` work as a ternary.
    fn or(&mut self) -> Value {
        let mut left = self.and();
        while self.eat(&Token::Or) {
            let right = self.and();
            if !left.truthy() {
                left = right;
            }
        }
        left
    }

    fn and(&mut self) -> Value {
        let mut left = self.comparison();
        while self.eat(&Token::And) {
            let right = self.comparison();
            if left.truthy() {
                left = right;
            }
        }
        left
    }

    fn comparison(&mut self) -> Value {
        let left = self.primary();
        if self.eat(&Token::Eq) {
            let right = self.primary();
            Value::Bool(self.equal(&left, &right))
        } else if self.eat(&Token::Ne) {
            let right = self.primary();
            Value::Bool(!self.equal(&left, &right))
        } else {
            left
        }
    }

    /// GitHub compares strings ignoring case, and coerces null and strings
    /// to numbers (null and '' are both 0).
    fn equal(&self, a: &Value, b: &Value) -> bool {
        match (a, b) {
            (Value::Str(a), Value::Str(b)) => a.eq_ignore_ascii_case(b),
            (Value::Null, Value::Null) => true,
            (Value::Null, Value::Str(s)) | (Value::Str(s), Value::Null) => {
                s.is_empty() || s.trim().parse::<f64>() == Ok(0.0)
            }
            _ => unsupported(self.expr, &format!("comparing {a:?} with {b:?}")),
        }
    }

    fn primary(&mut self) -> Value {
        match self.next() {
            Some(Token::Str(s)) => Value::Str(s),
            Some(Token::Ident(f)) if f == "toJSON" => {
                self.expect(&Token::Open);
                let path = self.path();
                self.expect(&Token::Close);
                match path.iter().map(String::as_str).collect::<Vec<_>>()[..] {
                    ["steps", id, "outputs"] => {
                        self.known_id(id);
                        let outputs = self.cx.steps.get(id).cloned().unwrap_or_default();
                        Value::Json(json!(outputs))
                    }
                    _ => unsupported(self.expr, "toJSON of anything but step outputs"),
                }
            }
            Some(Token::Ident(_)) => {
                self.pos -= 1;
                let path = self.path();
                self.lookup(&path)
            }
            other => unsupported(self.expr, &format!("{other:?} here")),
        }
    }

    fn path(&mut self) -> Vec<String> {
        let mut path = Vec::new();
        loop {
            match self.next() {
                Some(Token::Ident(name)) => path.push(name),
                other => unsupported(self.expr, &format!("{other:?} in a path")),
            }
            if !self.eat(&Token::Dot) {
                return path;
            }
        }
    }

    fn known_id(&self, id: &str) {
        if !self.cx.ids.contains(id) {
            unsupported(self.expr, &format!("step id `{id}`, which no step has,"));
        }
    }

    fn lookup(&self, path: &[String]) -> Value {
        match path.iter().map(String::as_str).collect::<Vec<_>>()[..] {
            ["inputs", name] => match self.cx.inputs.get(name) {
                Some(value) => Value::Str(value.clone()),
                None => unsupported(self.expr, &format!("undeclared input `{name}`")),
            },
            [
                "github",
                key @ ("action_repository" | "action_ref" | "token"),
            ] => Value::Str(self.cx.github[key].clone()),
            ["steps", id, "outputs", name] => {
                self.known_id(id);
                match self.cx.steps.get(id).and_then(|o| o.get(name)) {
                    Some(value) => Value::Str(value.clone()),
                    None => Value::Null,
                }
            }
            _ => unsupported(self.expr, &format!("the context `{}`", path.join("."))),
        }
    }
}

impl Context<'_> {
    fn eval(&self, expr: &str) -> Value {
        let mut parser = Parser {
            cx: self,
            expr,
            tokens: tokenize(expr),
            pos: 0,
        };
        let value = parser.or();
        if parser.pos != parser.tokens.len() {
            unsupported(expr, "what follows the first expression");
        }
        value
    }

    /// Substitutes every `${{ ... }}` in `text`.
    fn interpolate(&self, text: &str) -> String {
        let mut out = String::new();
        let mut rest = text;
        while let Some(start) = rest.find("${{") {
            out.push_str(&rest[..start]);
            let after = &rest[start + 3..];
            let end = after
                .find("}}")
                .unwrap_or_else(|| unsupported(text, "an unclosed `${{`"));
            out.push_str(&self.eval(after[..end].trim()).render());
            rest = &after[end + 2..];
        }
        out.push_str(rest);
        out
    }

    /// An `if:`, written with or without `${{ }}`.
    fn condition(&self, text: &str) -> bool {
        let text = text.trim();
        let inner = text
            .strip_prefix("${{")
            .and_then(|t| t.strip_suffix("}}"))
            .unwrap_or(text);
        self.eval(inner.trim()).truthy()
    }
}

// ---------------------------------------------------------------------------
// A fake GitHub: the releases API and release downloads.

/// The release asset, built once from the binary under test.
struct Asset {
    bytes: Vec<u8>,
    sha256: String,
    /// Size of the executable packed, to compare with what the action unpacks.
    exe_len: u64,
}

fn asset() -> &'static Asset {
    static ASSET: OnceLock<Asset> = OnceLock::new();
    ASSET.get_or_init(|| {
        let stage = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap();
        let exe = stage.path().join("jobgate");
        std::fs::copy(env!("CARGO_BIN_EXE_jobgate"), &exe).unwrap();
        // Stripped like a release build (the debug info is most of a debug
        // binary, and slow to pack and unpack), with the executable at the
        // archive root as the release workflow packs it.
        let out = Command::new("bash")
            .args([
                "-c",
                r#"if command -v strip > /dev/null; then strip "$1/jobgate"; fi
tar -cf - -C "$1" jobgate | gzip -1"#,
                "-",
            ])
            .arg(stage.path())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        Asset {
            sha256: hex::encode(Sha256::digest(&out.stdout)),
            bytes: out.stdout,
            exe_len: std::fs::metadata(&exe).unwrap().len(),
        }
    })
}

/// The GitHub-hosted runner this machine stands for, and its release target.
fn platform() -> (&'static str, &'static str, &'static str) {
    match (std::env::consts::OS, std::env::consts::ARCH) {
        ("linux", "x86_64") => ("Linux", "X64", "x86_64-unknown-linux-musl"),
        ("linux", "aarch64") => ("Linux", "ARM64", "aarch64-unknown-linux-musl"),
        ("macos", "x86_64") => ("macOS", "X64", "x86_64-apple-darwin"),
        ("macos", "aarch64") => ("macOS", "ARM64", "aarch64-apple-darwin"),
        other => panic!("no GitHub-hosted runner is like {other:?}"),
    }
}

fn asset_name() -> String {
    format!("jobgate-{}.tar.gz", platform().2)
}

#[derive(Debug, Clone, PartialEq)]
struct Request {
    path: String,
    authorization: Option<String>,
}

struct FakeGithub {
    url: String,
    requests: Arc<Mutex<Vec<Request>>>,
}

impl FakeGithub {
    fn start() -> FakeGithub {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let requests = Arc::new(Mutex::new(Vec::new()));
        let log = Arc::clone(&requests);
        // Lives until the test process ends; each test has its own.
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let log = Arc::clone(&log);
                std::thread::spawn(move || serve(stream, &log));
            }
        });
        FakeGithub { url, requests }
    }

    fn paths(&self) -> Vec<String> {
        let requests = self.requests.lock().unwrap();
        requests.iter().map(|r| r.path.clone()).collect()
    }
}

/// Reads a request's head: its path and its `Authorization`, if any.
fn read_request(stream: &TcpStream) -> Request {
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut line = String::new();
    reader.read_line(&mut line).unwrap();
    let path = line.split_whitespace().nth(1).unwrap_or("").to_owned();
    let mut authorization = None;
    loop {
        let mut header = String::new();
        if reader.read_line(&mut header).unwrap() == 0 || header.trim().is_empty() {
            break;
        }
        if let Some((name, value)) = header.split_once(':')
            && name.eq_ignore_ascii_case("authorization")
        {
            authorization = Some(value.trim().to_owned());
        }
    }
    Request {
        path,
        authorization,
    }
}

fn serve(mut stream: TcpStream, log: &Mutex<Vec<Request>>) {
    let request = read_request(&stream);
    let (status, location, body) = route(&request.path);
    log.lock().unwrap().push(request);
    let mut head = format!(
        "HTTP/1.1 {status}\r\nContent-Length: {}\r\nConnection: close\r\n",
        body.len()
    );
    if let Some(location) = location {
        head.push_str(&format!("Location: {location}\r\n"));
    }
    head.push_str("\r\n");
    // curl may hang up early (e.g. on a 404 with -f); that is not an error.
    let _ = stream
        .write_all(head.as_bytes())
        .and_then(|()| stream.write_all(&body));
}

/// `(status, redirect, body)` for a path.
fn route(path: &str) -> (&'static str, Option<String>, Vec<u8>) {
    let not_found = ("404 Not Found", None, b"Not Found".to_vec());
    let asset_name = asset_name();
    let has_asset = |tag: &str| RELEASES.contains(&tag) || tag == TAMPERED || tag == UNSUMMED;
    if path == format!("/repos/{REPO}/releases/latest") {
        // Compact JSON here, indented in the list: both must parse.
        let body = json!({"tag_name": RELEASES[0], "name": "jobgate", "draft": false});
        return ("200 OK", None, body.to_string().into_bytes());
    }
    if path == format!("/repos/{REPO}/releases?per_page=100") {
        let list: Vec<_> = RELEASES
            .iter()
            .map(|tag| json!({"tag_name": tag, "name": format!("jobgate {tag}"), "draft": false}))
            .collect();
        return (
            "200 OK",
            None,
            serde_json::to_string_pretty(&list).unwrap().into_bytes(),
        );
    }
    // Downloads redirect to storage, as github.com does.
    if let Some(rest) = path.strip_prefix(&format!("/{REPO}/releases/download/"))
        && let Some((tag, file)) = rest.split_once('/')
        && has_asset(tag)
        && (file == asset_name || file == format!("{asset_name}.sha256"))
    {
        return (
            "302 Found",
            Some(format!("/storage/{tag}/{file}")),
            Vec::new(),
        );
    }
    if let Some(rest) = path.strip_prefix("/storage/")
        && let Some((tag, file)) = rest.split_once('/')
    {
        if file == asset_name {
            return ("200 OK", None, asset().bytes.clone());
        }
        if tag == UNSUMMED {
            return not_found;
        }
        let sum = if tag == TAMPERED {
            BAD_SUM
        } else {
            &asset().sha256
        };
        return ("200 OK", None, format!("{sum}  {file}\n").into_bytes());
    }
    not_found
}

// ---------------------------------------------------------------------------
// The runner.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Status {
    Skipped,
    /// A `uses:` step this test cannot run (see `Runner::run`).
    NotRunLocally,
    Passed,
    Failed(i32),
}

struct StepRun {
    /// The id, else the name.
    key: String,
    status: Status,
    stdout: String,
    stderr: String,
    outputs: BTreeMap<String, String>,
    /// `with:` of a `uses:` step, evaluated.
    with: BTreeMap<String, String>,
}

struct ActionRun {
    steps: Vec<StepRun>,
    outputs: BTreeMap<String, String>,
    summary: String,
}

impl ActionRun {
    fn statuses(&self) -> Vec<(&str, Status)> {
        self.steps
            .iter()
            .map(|s| (s.key.as_str(), s.status))
            .collect()
    }

    fn step(&self, key: &str) -> &StepRun {
        self.steps.iter().find(|s| s.key == key).unwrap()
    }

    fn output(&self, name: &str) -> &str {
        &self.outputs[name]
    }

    /// Every `::error` workflow command, as the runner would annotate.
    fn errors(&self) -> Vec<&str> {
        self.steps
            .iter()
            .flat_map(|s| s.stdout.lines())
            .filter(|l| l.starts_with("::error"))
            .collect()
    }

    fn log(&self) -> String {
        let mut log = String::new();
        for s in &self.steps {
            log.push_str(&format!(
                "--- {} {:?}\n{}{}",
                s.key, s.status, s.stdout, s.stderr
            ));
        }
        log
    }
}

/// The host PATH without any directory holding cargo, so the action can
/// never start a real (slow) build; tests that want cargo put a fake first.
fn path_without_cargo() -> String {
    let host = std::env::var_os("PATH").unwrap();
    let dirs: Vec<PathBuf> = std::env::split_paths(&host)
        .filter(|d| !d.join("cargo").exists())
        .collect();
    for tool in ["bash", "curl", "tar", "gzip"] {
        assert!(
            dirs.iter().any(|d| d.join(tool).exists()),
            "{tool} is needed, and not on PATH outside the directories holding cargo"
        );
    }
    std::env::join_paths(dirs).unwrap().into_string().unwrap()
}

/// One use of the action in a workflow step: `uses:`, `with:`, `env:`.
struct Runner {
    root: tempfile::TempDir,
    github: FakeGithub,
    with: BTreeMap<String, String>,
    /// The `env:` of the workflow step, which its composite steps inherit.
    env: BTreeMap<String, String>,
    action_repository: String,
    action_ref: String,
    action_path: PathBuf,
    fake_bin: Option<PathBuf>,
}

impl Runner {
    fn new() -> Runner {
        let root = tempfile::tempdir().unwrap();
        for dir in ["workspace", "home", "temp", "tmp", "files"] {
            std::fs::create_dir(root.path().join(dir)).unwrap();
        }
        let env = [
            ("HUAWEICLOUD_SDK_AK", AK),
            ("HUAWEICLOUD_SDK_SK", SK),
            ("HUAWEICLOUD_SDK_PROJECT_ID", PROJECT),
        ];
        Runner {
            root,
            github: FakeGithub::start(),
            with: BTreeMap::new(),
            env: env
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            action_repository: REPO.into(),
            // A branch: no release to take unless `version` names one.
            action_ref: "main".into(),
            action_path: PathBuf::from(env!("CARGO_MANIFEST_DIR")),
            fake_bin: None,
        }
    }

    fn with(&mut self, input: &str, value: &str) -> &mut Self {
        self.with.insert(input.into(), value.into());
        self
    }

    /// Points jobgate at the simulator, as a workflow would with `env:`.
    fn simulator(&mut self, sim: &Sim) -> &mut Self {
        for key in ["JOBGATE_WORKSPACE_ENDPOINT", "JOBGATE_APPSTREAM_ENDPOINT"] {
            self.env.insert(key.into(), sim.url());
        }
        self
    }

    fn dir(&self, name: &str) -> PathBuf {
        self.root.path().join(name)
    }

    fn workspace(&self) -> PathBuf {
        self.dir("workspace")
    }

    fn write(&self, name: &str, text: &str) {
        std::fs::write(self.workspace().join(name), text).unwrap();
    }

    /// Puts the executable `script` first on PATH as `name`.
    fn fake_tool(&mut self, name: &str, script: &str) -> &mut Self {
        let bin = self.dir("fake-bin");
        std::fs::create_dir_all(&bin).unwrap();
        let tool = bin.join(name);
        std::fs::write(&tool, script).unwrap();
        make_executable(&tool);
        self.fake_bin = Some(bin);
        self
    }

    /// The lines a fake tool logged to `fake-bin/LOG`, one a call.
    fn logged_calls(&self, log: &str) -> Vec<String> {
        let log = self.dir("fake-bin").join(log);
        std::fs::read_to_string(log)
            .map(|t| t.lines().map(str::to_owned).collect())
            .unwrap_or_default()
    }

    /// A `cargo` first on PATH that records its arguments and "installs" a
    /// copy of the binary under test into `--root`/bin.
    fn fake_cargo(&mut self) -> &mut Self {
        let script = format!(
            r#"#!/usr/bin/env bash
set -euo pipefail
echo "$*" >> "$(dirname "$0")/cargo.log"
root=""
while [ $# -gt 0 ]; do
  if [ "$1" = --root ]; then root="$2"; fi
  shift
done
mkdir -p "$root/bin"
cp '{}' "$root/bin/jobgate"
"#,
            env!("CARGO_BIN_EXE_jobgate")
        );
        self.fake_tool("cargo", &script)
    }

    fn cargo_calls(&self) -> Vec<String> {
        self.logged_calls("cargo.log")
    }

    /// A binary left by an earlier build, as the cache would restore it.
    fn cached_build(&mut self) -> &mut Self {
        let bin = self.dir("home").join(".jobgate-build/bin");
        std::fs::create_dir_all(&bin).unwrap();
        std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_jobgate"), bin.join("jobgate")).unwrap();
        self
    }

    fn run(&self) -> ActionRun {
        let action = load_action();
        let mut inputs: BTreeMap<String, String> = action
            .inputs
            .iter()
            .map(|(k, i)| (k.clone(), i.default.clone().unwrap_or_default()))
            .collect();
        for (key, value) in &self.with {
            assert!(inputs.contains_key(key), "`{key}` is not an input");
            inputs.insert(key.clone(), value.clone());
        }
        let github: BTreeMap<&'static str, String> = [
            ("action_repository", self.action_repository.clone()),
            ("action_ref", self.action_ref.clone()),
            ("token", TOKEN.to_owned()),
        ]
        .into();
        let ids: BTreeSet<String> = action
            .runs
            .steps
            .iter()
            .filter_map(|s| s.id.clone())
            .collect();
        let (os, arch, _) = platform();
        let path = match &self.fake_bin {
            Some(bin) => format!("{}:{}", bin.display(), path_without_cargo()),
            None => path_without_cargo(),
        };

        let mut steps_outputs = BTreeMap::new();
        let mut file_env = BTreeMap::new();
        let mut summary = String::new();
        let mut failed = false;
        let mut runs = Vec::new();
        for (n, step) in action.runs.steps.iter().enumerate() {
            let cx = Context {
                inputs: &inputs,
                github: &github,
                steps: &steps_outputs,
                ids: &ids,
            };
            let mut record = StepRun {
                key: step.id.clone().unwrap_or_else(|| step.name.clone()),
                status: Status::Skipped,
                stdout: String::new(),
                stderr: String::new(),
                outputs: BTreeMap::new(),
                with: BTreeMap::new(),
            };
            // No step uses a status function, so the implicit `success()`
            // applies: after a failure, every later step is skipped.
            let wanted = step.condition.as_deref().is_none_or(|c| cx.condition(c));
            if failed || !wanted {
                runs.push(record);
                continue;
            }
            if let Some(uses) = &step.uses {
                // actions/cache needs the runner's cache service; here a
                // miss is simulated (nothing restored), and `cached_build`
                // stands for a hit. Its inputs are still evaluated.
                // Pinned by commit, as every third-party action.
                let pinned = uses.strip_prefix("actions/cache@").is_some_and(|sha| {
                    sha.len() == 40 && sha.bytes().all(|b| b.is_ascii_hexdigit())
                });
                assert!(
                    pinned,
                    "only actions/cache, pinned by commit, can be skipped: {uses}"
                );
                record.with = step
                    .with
                    .iter()
                    .map(|(k, v)| (k.clone(), cx.interpolate(v)))
                    .collect();
                record.status = Status::NotRunLocally;
                runs.push(record);
                continue;
            }
            assert_eq!(step.shell.as_deref(), Some("bash"), "step `{}`", step.name);
            let script = cx.interpolate(step.run.as_deref().expect("run or uses"));
            let env: BTreeMap<_, _> = step
                .env
                .iter()
                .map(|(k, v)| (k.clone(), cx.interpolate(v)))
                .collect();

            let files = self.dir("files");
            let [script_path, output, step_summary, env_file] =
                ["script.sh", "output", "summary", "env"].map(|f| files.join(format!("{n}-{f}")));
            std::fs::write(&script_path, script).unwrap();
            for f in [&output, &step_summary, &env_file] {
                std::fs::write(f, "").unwrap();
            }
            let out = Command::new("bash")
                .args(["--noprofile", "--norc", "-eo", "pipefail"])
                .arg(&script_path)
                .current_dir(self.workspace())
                .env_clear()
                .env("PATH", &path)
                .env("HOME", self.dir("home"))
                // Not set by the runner; here so `mktemp` leftovers show.
                .env("TMPDIR", self.dir("tmp"))
                .envs(&file_env)
                .envs(&self.env)
                .envs(&env)
                .env("CI", "true")
                .env("GITHUB_ACTIONS", "true")
                .env("GITHUB_WORKSPACE", self.workspace())
                .env("GITHUB_ACTION_PATH", &self.action_path)
                .env("GITHUB_API_URL", &self.github.url)
                .env("GITHUB_SERVER_URL", &self.github.url)
                .env("RUNNER_OS", os)
                .env("RUNNER_ARCH", arch)
                .env("RUNNER_TEMP", self.dir("temp"))
                .env("GITHUB_OUTPUT", &output)
                .env("GITHUB_STEP_SUMMARY", &step_summary)
                .env("GITHUB_ENV", &env_file)
                .output()
                .unwrap();
            record.stdout = String::from_utf8_lossy(&out.stdout).into_owned();
            record.stderr = String::from_utf8_lossy(&out.stderr).into_owned();
            record.status = match out.status.code() {
                Some(0) => Status::Passed,
                code => Status::Failed(code.unwrap_or(-1)),
            };
            failed = record.status != Status::Passed;
            let read = |p: &Path| parse_command_file(&std::fs::read_to_string(p).unwrap());
            // Later lines win, as on the runner.
            record.outputs = read(&output).into_iter().collect();
            file_env.extend(read(&env_file));
            summary.push_str(&std::fs::read_to_string(&step_summary).unwrap());
            if let Some(id) = &step.id {
                steps_outputs.insert(id.clone(), record.outputs.clone());
            }
            runs.push(record);
        }

        let cx = Context {
            inputs: &inputs,
            github: &github,
            steps: &steps_outputs,
            ids: &ids,
        };
        // Composite outputs are evaluated even when a step failed.
        let outputs = action
            .outputs
            .iter()
            .map(|(name, o)| (name.clone(), cx.interpolate(&o.value)))
            .collect();
        ActionRun {
            steps: runs,
            outputs,
            summary,
        }
    }
}

fn make_executable(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

#[test]
fn the_evaluator_refuses_what_it_does_not_know() {
    let inputs = BTreeMap::from([("fail-fast".to_owned(), "True".to_owned())]);
    let github = BTreeMap::from([("token", "t".to_owned())]);
    let steps = BTreeMap::from([(
        "release".to_owned(),
        BTreeMap::from([("found".to_owned(), "true".to_owned())]),
    )]);
    let ids = BTreeSet::from(["release".to_owned(), "build".to_owned()]);
    let cx = Context {
        inputs: &inputs,
        github: &github,
        steps: &steps,
        ids: &ids,
    };
    let ternary = "steps.release.outputs.found == 'true' && 'a' || 'b'";
    assert_eq!(cx.eval(ternary), Value::Str("a".into()));
    let ternary = "steps.build.outputs.found == 'true' && 'a' || 'b'";
    assert_eq!(cx.eval(ternary), Value::Str("b".into()));
    assert!(
        cx.condition("${{ inputs.fail-fast == 'true' }}"),
        "ignoring case"
    );
    assert!(
        cx.condition("steps.build.outputs.bin != 'true'"),
        "null is not 'true'"
    );
    assert_eq!(
        cx.interpolate("[${{ toJSON(steps.build.outputs) }}]"),
        "[{}]"
    );
    for expr in [
        "always()",
        "!inputs.fail-fast",
        "github.sha",
        "inputs.nope",
        "steps.nope.outputs.x",
        "fromJSON(inputs.fail-fast)",
        "inputs.fail-fast == 1",
        "(inputs.fail-fast)",
    ] {
        let refused = std::panic::catch_unwind(|| cx.eval(expr)).is_err();
        assert!(refused, "`{expr}` must be refused");
    }
}

// ---------------------------------------------------------------------------
// Scenarios.

/// The shared image jobs, and two more: one RUNNING for good, one that
/// succeeds after 600 ms.
fn scenario() -> String {
    format!(
        "{OK_AND_BAD_IMAGES}  - id: img-stuck
    kind: image_job
    timeline: [{{at: 0s, status: RUNNING}}]
  - id: img-slow
    kind: image_job
    timeline: [{{at: 0s, status: RUNNING}}, {{at: 600ms, status: SUCCESS}}]
"
    )
}

const BUILD: &str = "  build:
    image_job: ${GOOD_JOB}
    target: [SUCCESS]
    outputs:
      image_id: $.sub_jobs[0].job_resource_info.resource_id
";
const BROKEN: &str = "  broken:
    image_job: img-bad
    success: { all: [SUCCESS] }
    failure: { any: [FAILED] }
";

/// A spec; `top` adds top-level keys. `${GOOD_JOB}` defaults to img-ok.
fn spec(top: &str, waits: &str) -> String {
    format!(
        "version: 1\n{top}defaults:\n  project_id: ${{HUAWEICLOUD_SDK_PROJECT_ID}}\n  timeout: 20s\n  poll: {{ initial: 50ms, max: 200ms }}\nwaits:\n{waits}"
    )
}

/// A runner with the simulator and a spec waiting for `waits`.
fn gate(sim: &Sim, top: &str, waits: &str) -> Runner {
    let mut runner = Runner::new();
    runner.simulator(sim).with("spec", "gate.yaml");
    runner.with("vars", "GOOD_JOB=img-ok");
    runner.write("gate.yaml", &spec(top, waits));
    runner
}

fn download(tag: &str) -> Vec<String> {
    let asset = asset_name();
    [
        format!("/{REPO}/releases/download/{tag}/{asset}"),
        format!("/storage/{tag}/{asset}"),
        format!("/{REPO}/releases/download/{tag}/{asset}.sha256"),
        format!("/storage/{tag}/{asset}.sha256"),
    ]
    .into()
}

const MET: [(&str, Status); 4] = [
    ("release", Status::Passed),
    ("Restore the jobgate build cache", Status::Skipped),
    ("build", Status::Skipped),
    ("run", Status::Passed),
];

#[test]
fn release_asset_is_verified_and_runs_the_spec() {
    let sim = Sim::start(&scenario());
    let mut runner = gate(&sim, "", &format!("{BUILD}{BROKEN}"));
    runner.with("version", "v1.2.3").with("fail-fast", "false");
    runner.fake_cargo();
    let run = runner.run();
    let log = run.log();
    assert_eq!(
        run.statuses(),
        [
            ("release", Status::Passed),
            ("Restore the jobgate build cache", Status::Skipped),
            ("build", Status::Skipped),
            ("run", Status::Failed(1)),
        ],
        "{log}"
    );

    let target = platform().2;
    let bin = runner.dir("temp").join("jobgate-release/jobgate");
    assert_eq!(
        run.step("release").outputs,
        BTreeMap::from([
            ("found".to_owned(), "true".to_owned()),
            ("bin".to_owned(), bin.display().to_string()),
        ])
    );
    assert!(
        run.step("release").stdout.contains(&format!(
            "Using jobgate v1.2.3 ({target}) from the releases of {REPO}\n"
        )),
        "{log}"
    );
    // An exact tag needs no API call; the asset is the binary under test.
    assert_eq!(runner.github.paths(), download("v1.2.3"));
    assert_eq!(std::fs::metadata(&bin).unwrap().len(), asset().exe_len);
    assert_eq!(runner.cargo_calls(), Vec::<String>::new());

    assert_eq!(run.output("outcome"), "failed", "{log}");
    assert_eq!(run.output("exit-code"), "1");
    assert_eq!(run.output("report"), "jobgate-report.json");
    let outputs: serde_json::Value = serde_json::from_str(run.output("outputs")).unwrap();
    assert_eq!(
        outputs,
        json!({
            "outcome": "failed",
            "exit-code": "1",
            "report": "jobgate-report.json",
            "build-image_id": "image-42",
        })
    );
    let report = report(&runner.workspace().join("jobgate-report.json"));
    assert_eq!(report["outcome"], "failed");
    assert_eq!(report["waits"][1]["outcome"], "failed");

    assert!(
        run.summary
            .starts_with("## ❌ jobgate: failed (exit code 1)\n"),
        "{}",
        run.summary
    );
    for row in [
        "| build | `image_job` | ✅ met |",
        "| broken | `image_job` | ❌ failed |",
        "| bad-1 | CREATE_SERVER_IMAGE | FAILED | WKS.00129901: disk quota exceeded |",
        "| `build-image_id` | <code>image-42</code> |",
    ] {
        assert!(run.summary.contains(row), "{row} in\n{}", run.summary);
    }
    assert_eq!(
        run.errors(),
        [
            "::error file=gate.yaml,line=12,col=3,title=jobgate%3A wait broken failed::sub-job bad-1 (CREATE_SERVER_IMAGE) FAILED on bad-1 — WKS.00129901 disk quota exceeded%0Aended because: failure condition holds: any of the sub-jobs in [FAILED] (found 1 of 1 selected sub-jobs in [FAILED])%0A• bad-1 CREATE_SERVER_IMAGE FAILED WKS.00129901: disk quota exceeded (resource bad-1)"
        ],
        "{log}"
    );
}

#[test]
fn moving_tags_and_latest_take_the_newest_matching_release() {
    let sim = Sim::start(&scenario());
    let list = format!("/repos/{REPO}/releases?per_page=100");
    let latest = format!("/repos/{REPO}/releases/latest");
    for (version, api, tag) in [
        ("v1", &list, "v1.4.0"),
        ("v1.2", &list, "v1.2.3"),
        ("latest", &latest, "v10.0.0"),
    ] {
        let mut runner = gate(&sim, "", BUILD);
        runner.with("version", version);
        let run = runner.run();
        let log = run.log();
        assert_eq!(run.statuses(), MET, "{version}: {log}");
        assert!(
            run.step("release")
                .stdout
                .contains(&format!("Using jobgate {tag} (")),
            "{version}: {log}"
        );
        let requests = runner.github.requests.lock().unwrap().clone();
        assert_eq!(
            requests[0],
            Request {
                path: api.clone(),
                authorization: Some(format!("Bearer {TOKEN}")),
            },
            "{version}"
        );
        let rest: Vec<String> = requests[1..].iter().map(|r| r.path.clone()).collect();
        assert_eq!(rest, download(tag), "{version}");
        assert_eq!(run.output("outcome"), "met", "{version}: {log}");
        assert_eq!(run.output("exit-code"), "0");
        assert!(run.errors().is_empty(), "{log}");
    }
}

#[test]
fn repository_and_ref_come_from_the_action_path_when_left_empty() {
    let sim = Sim::start(&scenario());
    let mut runner = gate(&sim, "", BUILD);
    runner.action_repository = String::new();
    runner.action_ref = String::new();
    runner.action_path = runner.dir("runner/_work/_actions/acme/jobgate/v1.2.3");
    std::fs::create_dir_all(&runner.action_path).unwrap();
    let run = runner.run();
    assert_eq!(run.statuses(), MET, "{}", run.log());
    assert_eq!(runner.github.paths(), download("v1.2.3"));
    assert_eq!(run.output("outcome"), "met");
}

#[test]
fn checksum_mismatch_fails_without_falling_back() {
    let mut runner = Runner::new();
    runner.with("spec", "gate.yaml").with("version", TAMPERED);
    runner.fake_cargo();
    let run = runner.run();
    let log = run.log();
    assert_eq!(
        run.statuses(),
        [
            ("release", Status::Failed(1)),
            ("Restore the jobgate build cache", Status::Skipped),
            ("build", Status::Skipped),
            ("run", Status::Skipped),
        ],
        "{log}"
    );
    let url = format!(
        "{}/{REPO}/releases/download/{TAMPERED}/{}",
        runner.github.url,
        asset_name()
    );
    assert_eq!(
        run.errors(),
        [format!(
            "::error title=jobgate::checksum mismatch for {url} (expected {BAD_SUM}, got {})",
            asset().sha256
        )],
        "{log}"
    );
    assert_eq!(runner.cargo_calls(), Vec::<String>::new());
    assert!(!runner.dir("temp").join("jobgate-release/jobgate").exists());
    let left: Vec<_> = std::fs::read_dir(runner.dir("tmp")).unwrap().collect();
    assert!(left.is_empty(), "the download is removed: {left:?}");
    for name in ["outcome", "exit-code", "report"] {
        assert_eq!(run.output(name), "", "{name}");
    }
    assert_eq!(run.output("outputs"), "{}");
}

#[test]
fn without_a_release_cargo_builds_the_action_checkout() {
    let sim = Sim::start(&scenario());
    let key = regex::Regex::new(&format!(
        "^jobgate-{}-{}-[0-9a-f]{{16}}$",
        platform().0,
        platform().1
    ))
    .unwrap();
    for version in ["v9.9.9", "source"] {
        let mut runner = gate(&sim, "", BUILD);
        runner.with("version", version).fake_cargo();
        let run = runner.run();
        let log = run.log();
        assert_eq!(
            run.statuses(),
            [
                ("release", Status::Passed),
                ("Restore the jobgate build cache", Status::NotRunLocally),
                ("build", Status::Passed),
                ("run", Status::Passed),
            ],
            "{version}: {log}"
        );
        let release = &run.step("release").outputs;
        assert_eq!(release["found"], "false");
        assert!(key.is_match(&release["cache-key"]), "{release:?}");
        assert_eq!(
            run.step("Restore the jobgate build cache").with["key"],
            release["cache-key"]
        );
        if version == "source" {
            assert_eq!(runner.github.paths(), Vec::<String>::new());
        } else {
            assert_eq!(
                runner.github.paths(),
                [format!("/{REPO}/releases/download/v9.9.9/{}", asset_name())]
            );
            assert!(run.step("release").stdout.contains(&format!(
                "::notice title=jobgate::no release asset {} for v9.9.9; building from source\n",
                asset_name()
            )));
        }
        let root = runner.dir("home").join(".jobgate-build");
        assert_eq!(
            runner.cargo_calls(),
            [format!(
                "install --locked --path {} --root {}",
                env!("CARGO_MANIFEST_DIR"),
                root.display()
            )],
            "{version}"
        );
        assert_eq!(
            run.step("build").outputs["bin"],
            root.join("bin/jobgate").display().to_string()
        );
        assert_eq!(run.output("outcome"), "met", "{version}: {log}");
        assert!(run.errors().is_empty(), "{log}");
    }
}

#[test]
fn without_cargo_the_build_fails_with_the_documented_error() {
    let mut runner = Runner::new();
    runner.with("spec", "gate.yaml").with("version", "source");
    let run = runner.run();
    assert_eq!(
        run.statuses(),
        [
            ("release", Status::Passed),
            ("Restore the jobgate build cache", Status::NotRunLocally),
            ("build", Status::Failed(1)),
            ("run", Status::Skipped),
        ],
        "{}",
        run.log()
    );
    assert_eq!(
        run.errors(),
        [
            "::error title=jobgate::no release binary for this runner and no cargo to build one; add a Rust toolchain step (e.g. dtolnay/rust-toolchain@stable) before this action"
        ]
    );
}

#[test]
fn a_cached_build_skips_cargo() {
    let sim = Sim::start(&scenario());
    let mut runner = gate(&sim, "", BUILD);
    runner.fake_cargo().cached_build();
    let run = runner.run();
    let log = run.log();
    assert_eq!(run.step("build").status, Status::Passed, "{log}");
    assert!(
        run.step("build")
            .stdout
            .contains("Using the cached build of jobgate\n"),
        "{log}"
    );
    assert_eq!(runner.cargo_calls(), Vec::<String>::new());
    assert_eq!(run.output("outcome"), "met", "{log}");
}

/// A runner on the cached build, so only the Run step matters.
fn cached(sim: &Sim, top: &str, waits: &str) -> Runner {
    let mut runner = gate(sim, top, waits);
    runner.cached_build();
    runner
}

#[test]
fn history_file_input_keeps_the_durations_where_the_cache_step_saves_them() {
    let sim = Sim::start(&scenario());
    let slow = "  slow:\n    image_job: img-slow\n    target: [SUCCESS]\n";
    let mut runner = cached(&sim, "", slow);
    runner.with("history-file", ".jobgate/history.json");
    let run = runner.run();
    assert_eq!(run.output("outcome"), "met", "{}", run.log());
    // The job was seen running, then done: its duration is in the file the
    // input names, inside the workspace, where `actions/cache` can keep it.
    let path = runner.workspace().join(".jobgate/history.json");
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e}\n{}", path.display(), run.log()));
    let history: serde_json::Value = serde_json::from_str(&text).unwrap();
    let entries = history["entries"].as_array().expect("entries");
    assert_eq!(entries.len(), 1, "{text}");
    assert_eq!(
        entries[0]["secs"].as_array().map(Vec::len),
        Some(1),
        "{text}"
    );
    assert!(
        !text.contains("img-slow"),
        "no job ids in the history: {text}"
    );
}

#[test]
fn vars_skip_blank_and_comment_lines() {
    let sim = Sim::start(&scenario());
    let mut runner = cached(&sim, "", BUILD);
    // Passed on, the comment and the blank line would be invalid `--var`s,
    // and untrimmed, the name would not match `${GOOD_JOB}`.
    runner.with(
        "vars",
        "# the job to wait for\n\n   \n  GOOD_JOB=img-ok  \n",
    );
    let run = runner.run();
    assert_eq!(run.output("outcome"), "met", "{}", run.log());
    let outputs: serde_json::Value = serde_json::from_str(run.output("outputs")).unwrap();
    assert_eq!(outputs["build-image_id"], "image-42");
}

#[test]
fn fail_fast_input_overrides_the_spec() {
    let sim = Sim::start(&scenario());
    let stuck = "  stuck:\n    image_job: img-stuck\n    target: [SUCCESS]\n    timeout: 500ms\n";
    let waits = format!("{BROKEN}{stuck}");
    for (input, top, stuck_outcome) in [
        ("true", "fail_fast: false\n", "cancelled"),
        ("false", "fail_fast: true\n", "timed_out"),
        ("", "fail_fast: false\n", "timed_out"),
    ] {
        let mut runner = cached(&sim, top, &waits);
        runner.with("fail-fast", input);
        let run = runner.run();
        let log = run.log();
        assert_eq!(run.output("exit-code"), "1", "{input}: {log}");
        let report = report(&runner.workspace().join("jobgate-report.json"));
        assert_eq!(report["waits"][0]["outcome"], "failed", "{input}");
        assert_eq!(report["waits"][1]["outcome"], stuck_outcome, "{input}");
    }
}

#[test]
fn an_invalid_fail_fast_input_is_exit_code_two() {
    let sim = Sim::start(&scenario());
    let mut runner = cached(&sim, "", BUILD);
    runner.with("fail-fast", "maybe");
    let run = runner.run();
    assert_eq!(run.step("run").status, Status::Failed(2), "{}", run.log());
    assert_eq!(run.output("exit-code"), "2");
    assert_eq!(run.output("outcome"), "");
    assert_eq!(run.output("report"), "");
    assert_eq!(
        run.errors(),
        ["::error title=jobgate::input fail-fast must be true or false, not 'maybe'"]
    );
    assert_eq!(run.summary, "", "jobgate did not run");
    assert!(!runner.workspace().join("jobgate-report.json").exists());
}

#[test]
fn timeout_is_the_deadline() {
    let sim = Sim::start(&scenario());
    let stuck = "  stuck:\n    image_job: img-stuck\n    target: [SUCCESS]\n";
    let mut runner = cached(&sim, "", stuck);
    runner.with("timeout", "300ms");
    let run = runner.run();
    assert_eq!(run.output("outcome"), "timed_out", "{}", run.log());
    assert_eq!(run.output("exit-code"), "3");
    let report = report(&runner.workspace().join("jobgate-report.json"));
    assert_eq!(
        report["waits"][0]["reason"],
        "the global deadline ran out before the outcome was known (last seen: RUNNING)"
    );
}

#[test]
fn args_are_split_on_whitespace() {
    let sim = Sim::start(&scenario());
    let mut runner = cached(&sim, "", BUILD);
    runner
        .with("args", "--junit junit.xml\n  --max-rps   20")
        .with("report", "");
    let run = runner.run();
    assert_eq!(run.output("outcome"), "met", "{}", run.log());
    assert_eq!(run.output("report"), "");
    let junit = std::fs::read_to_string(runner.workspace().join("junit.xml")).unwrap();
    assert!(junit.contains(r#"<testcase name="build""#), "{junit}");

    // A usage error stops jobgate before it writes outputs: the action
    // still reports the exit code.
    let mut runner = cached(&sim, "", BUILD);
    runner.with("args", "--no-such-flag");
    let run = runner.run();
    assert_eq!(run.step("run").status, Status::Failed(2), "{}", run.log());
    assert_eq!(run.output("exit-code"), "2", "{}", run.log());
    assert_eq!(run.output("outcome"), "");
}

// ---------------------------------------------------------------------------
// `oidc: true`: the GitHub ID token, fetched from a fake token service.

const ID_TOKEN_REQUEST_TOKEN: &str = "ghs_idtokenrequest000000000000000001";
const IDP: &str = "github-actions";
const AUDIENCE: &str = "jobgate-ci";

/// GitHub's ID token service: `GET URL&audience=A` with the request token
/// as bearer answers `{"value": JWT}` for that audience. Returns the URL
/// (with its own `?api-version`, as the runner's has) and the request log.
fn fake_token_service() -> (String, Arc<Mutex<Vec<Request>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!(
        "http://{}/_apis/token?api-version=2.0",
        listener.local_addr().unwrap()
    );
    let requests = Arc::new(Mutex::new(Vec::new()));
    let log = Arc::clone(&requests);
    std::thread::spawn(move || {
        for mut stream in listener.incoming().flatten() {
            let request = read_request(&stream);
            let audience = request
                .path
                .split_once("&audience=")
                .map(|(_, a)| a.to_owned())
                .unwrap_or_default();
            let authorised = request.authorization.as_deref()
                == Some(&format!("bearer {ID_TOKEN_REQUEST_TOKEN}"));
            log.lock().unwrap().push(request);
            let exp = jiff::Timestamp::now().as_second() + 600;
            let (status, body) = if authorised {
                let jwt = jobgate::sim::iam::test_jwt(&audience, exp);
                ("200 OK", json!({ "count": 1, "value": jwt }).to_string())
            } else {
                ("401 Unauthorized", String::new())
            };
            let _ = write!(
                stream,
                "HTTP/1.1 {status}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    (url, requests)
}

const OIDC_SCENARIO: &str = r#"
project_id: 0123456789abcdef0123456789abcdef
iam: {idp_id: github-actions, audience: jobgate-ci, lifetime: 1h}
jobs:
  - id: img-ok
    kind: image_job
    timeline: [{at: 0s, status: RUNNING}, {at: 100ms, status: SUCCESS}]
"#;

/// A runner with no stored key at all: the gateway accepts only
/// credentials its IAM issued.
fn keyless(sim: &Sim) -> Runner {
    let mut runner = Runner::new();
    runner.env.remove("HUAWEICLOUD_SDK_AK");
    runner.env.remove("HUAWEICLOUD_SDK_SK");
    runner
        .env
        .insert("HUAWEICLOUD_SDK_IAM_ENDPOINT".into(), sim.url());
    runner.simulator(sim).with("spec", "gate.yaml");
    runner.write(
        "gate.yaml",
        &spec(
            "",
            "  build:\n    image_job: img-ok\n    target: [SUCCESS]\n",
        ),
    );
    runner.cached_build();
    runner
}

impl Runner {
    /// The job has `id-token: write`: the runner offers GitHub's token
    /// service at `url`, with the request token.
    fn offers_id_token(&mut self, url: &str) -> &mut Self {
        self.env
            .insert("ACTIONS_ID_TOKEN_REQUEST_URL".into(), url.to_owned());
        self.env.insert(
            "ACTIONS_ID_TOKEN_REQUEST_TOKEN".into(),
            ID_TOKEN_REQUEST_TOKEN.into(),
        );
        self
    }
}

#[test]
fn oidc_fetches_the_id_token_masks_it_and_gates_with_no_stored_secret() {
    let sim = Sim::start_with_auth(
        OIDC_SCENARIO,
        None,
        jobgate::sim::SimAuth::Token("no-stored-secret".into()),
    );
    let (url, requests) = fake_token_service();
    let mut runner = keyless(&sim);
    runner.offers_id_token(&url);
    runner
        .with("oidc", "true")
        .with("idp-id", IDP)
        .with("oidc-audience", AUDIENCE);
    let run = runner.run();
    let log = run.log();
    assert_eq!(run.output("outcome"), "met", "{log}");
    assert_eq!(run.output("exit-code"), "0", "{log}");
    let requests = requests.lock().unwrap().clone();
    assert_eq!(
        requests,
        [Request {
            path: format!("/_apis/token?api-version=2.0&audience={AUDIENCE}"),
            authorization: Some(format!("bearer {ID_TOKEN_REQUEST_TOKEN}")),
        }]
    );
    assert_eq!(sim.stats().iam.id_token_exchanges, 1);
    // The token is in $RUNNER_TEMP, and in the log only as the mask command.
    let token = std::fs::read_to_string(runner.dir("temp").join("jobgate-id-token")).unwrap();
    let token = token.trim();
    assert!(token.split('.').count() == 3, "{token}");
    // (The action masks it first; jobgate masks it again with its secrets.)
    let shown: Vec<&str> = log.lines().filter(|l| l.contains(token)).collect();
    assert!(!shown.is_empty(), "{log}");
    for line in shown {
        assert_eq!(line, format!("::add-mask::{token}"), "{log}");
    }
    assert!(!log.contains(ID_TOKEN_REQUEST_TOKEN), "{log}");
    assert!(!run.summary.contains(token));
}

#[test]
fn oidc_without_id_token_permission_is_exit_4_naming_it() {
    let sim = Sim::start_with_auth(
        OIDC_SCENARIO,
        None,
        jobgate::sim::SimAuth::Token("no-stored-secret".into()),
    );
    let mut runner = keyless(&sim);
    runner
        .with("oidc", "true")
        .with("idp-id", IDP)
        .with("oidc-audience", AUDIENCE);
    let run = runner.run();
    assert_eq!(run.step("run").status, Status::Failed(4), "{}", run.log());
    assert_eq!(run.output("exit-code"), "4");
    assert_eq!(
        run.errors(),
        [
            "::error title=jobgate::oidc: true, but the runner offers no ID token: give the job 'permissions: id-token: write'"
        ]
    );
    assert_eq!(sim.stats().iam.id_token_exchanges, 0);
}

#[test]
fn oidc_needs_the_identity_provider_and_the_audience() {
    let sim = Sim::start(OIDC_SCENARIO);
    let (url, requests) = fake_token_service();
    for (oidc, idp, audience, error) in [
        (
            "true",
            "",
            AUDIENCE,
            "oidc: true needs idp-id (the IAM identity provider) and oidc-audience (its client ID)",
        ),
        (
            "true",
            IDP,
            "",
            "oidc: true needs idp-id (the IAM identity provider) and oidc-audience (its client ID)",
        ),
        (
            "yes",
            IDP,
            AUDIENCE,
            "input oidc must be true or false, not 'yes'",
        ),
    ] {
        let mut runner = keyless(&sim);
        runner.offers_id_token(&url);
        runner
            .with("oidc", oidc)
            .with("idp-id", idp)
            .with("oidc-audience", audience);
        let run = runner.run();
        assert_eq!(run.step("run").status, Status::Failed(2), "{}", run.log());
        assert_eq!(run.errors(), [format!("::error title=jobgate::{error}")]);
    }
    assert!(requests.lock().unwrap().is_empty());
}

// ---------------------------------------------------------------------------
// Verification of a downloaded release: its attestation where `gh` can check
// it, else its checksum; neither is a failure, never a notice.

impl Runner {
    /// A `gh` first on PATH that records its arguments and answers
    /// `attestation verify` with success or failure.
    fn fake_gh(&mut self, verifies: bool) -> &mut Self {
        let answer = if verifies {
            "echo 'Verification succeeded!'; exit 0"
        } else {
            "echo 'Error: no attestations found' >&2; exit 1"
        };
        let script = format!(
            "#!/usr/bin/env bash\necho \"$* token=${{GH_TOKEN:-}}\" >> \"$(dirname \"$0\")/gh.log\"\n{answer}\n"
        );
        self.fake_tool("gh", &script)
    }

    fn gh_calls(&self) -> Vec<String> {
        self.logged_calls("gh.log")
    }
}

/// The release step failed and nothing after it ran.
const RELEASE_REFUSED: [(&str, Status); 4] = [
    ("release", Status::Failed(1)),
    ("Restore the jobgate build cache", Status::Skipped),
    ("build", Status::Skipped),
    ("run", Status::Skipped),
];

#[test]
fn the_attestation_is_verified_where_gh_can() {
    let sim = Sim::start(&scenario());
    let mut runner = gate(&sim, "", BUILD);
    runner.with("version", "v1.2.3");
    runner.fake_gh(true);
    let run = runner.run();
    let log = run.log();
    assert_eq!(run.statuses(), MET, "{log}");
    let calls = runner.gh_calls();
    assert_eq!(calls.len(), 1, "{calls:?}");
    let call = &calls[0];
    assert!(call.starts_with("attestation verify "), "{call}");
    assert!(call.contains(&format!("/{}", asset_name())), "{call}");
    assert!(call.contains(&format!("--repo {REPO}")), "{call}");
    assert!(
        call.contains(&format!(
            "--signer-workflow {REPO}/.github/workflows/release.yml"
        )),
        "{call}"
    );
    assert!(call.ends_with(&format!("token={TOKEN}")), "{call}");
    assert!(
        run.step("release")
            .stdout
            .contains("the build-provenance attestation and the published checksum"),
        "{log}"
    );
    assert_eq!(run.output("outcome"), "met", "{log}");
}

#[test]
fn an_attestation_that_does_not_verify_stops_before_running_anything() {
    let mut runner = Runner::new();
    runner.with("spec", "gate.yaml").with("version", "v1.2.3");
    runner.fake_gh(false).fake_cargo();
    let run = runner.run();
    let log = run.log();
    assert_eq!(run.statuses(), RELEASE_REFUSED, "{log}");
    let errors = run.errors();
    assert_eq!(errors.len(), 1, "{log}");
    assert!(
        errors[0].contains("attestation") && errors[0].contains("does not verify"),
        "{log}"
    );
    assert_eq!(runner.gh_calls().len(), 1);
    // Neither a fallback build nor the downloaded binary.
    assert_eq!(runner.cargo_calls(), Vec::<String>::new());
    assert!(!runner.dir("temp").join("jobgate-release/jobgate").exists());
}

#[test]
fn neither_attestation_nor_checksum_is_a_failure_not_a_notice() {
    let mut runner = Runner::new();
    runner.with("spec", "gate.yaml").with("version", UNSUMMED);
    runner.fake_cargo();
    let run = runner.run();
    let log = run.log();
    assert_eq!(run.statuses(), RELEASE_REFUSED, "{log}");
    let errors = run.errors();
    assert_eq!(errors.len(), 1, "{log}");
    assert!(errors[0].contains("could not be verified"), "{log}");
    assert!(!log.contains("not verified"), "{log}");
    assert_eq!(runner.cargo_calls(), Vec::<String>::new());
    assert!(!runner.dir("temp").join("jobgate-release/jobgate").exists());
}

#[test]
fn an_attestation_alone_verifies_a_release_without_a_checksum() {
    let sim = Sim::start(&scenario());
    let mut runner = gate(&sim, "", BUILD);
    runner.with("version", UNSUMMED);
    runner.fake_gh(true);
    let run = runner.run();
    let log = run.log();
    assert_eq!(run.statuses(), MET, "{log}");
    assert!(
        run.step("release").stdout.contains(&format!(
            "Verified {} {UNSUMMED}: the build-provenance attestation\n",
            asset_name()
        )),
        "{log}"
    );
}

#[test]
fn release_workflow_attests_pins_and_never_clobbers() {
    let text = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join(".github/workflows/release.yml"),
    )
    .unwrap();
    assert!(!text.contains("--clobber"));
    assert!(text.contains("actions/attest-build-provenance@"));
    assert!(text.contains("attestations: write") && text.contains("id-token: write"));
    for path in [
        ".github/workflows/release.yml",
        ".github/workflows/example.yml",
        "action.yml",
    ] {
        let text =
            std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(path)).unwrap();
        for line in text.lines() {
            let Some(uses) = line.trim().trim_start_matches("- ").strip_prefix("uses: ") else {
                continue;
            };
            if uses.starts_with("./") {
                continue;
            }
            let sha = uses
                .split_once('@')
                .map(|(_, r)| r.split(' ').next().unwrap());
            assert!(
                sha.is_some_and(|s| s.len() == 40 && s.bytes().all(|b| b.is_ascii_hexdigit())),
                "{path}: `{uses}` is not pinned by commit"
            );
        }
    }
}
