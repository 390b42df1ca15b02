//! The local history: durations jobgate itself saw jobs take, kept across
//! runs in a small JSON file, so a pipeline learns from its earlier runs
//! even where the API lists no past jobs.
//!
//! What it holds is bounded and harmless: per key (the project id hashed,
//! the wait kind, a job type that passed validation), the last
//! [`MAX_SAMPLES`] durations in seconds and when the key was last updated.
//! No id, name, URL, message or credential from a server or the
//! environment is ever written.
//!
//! It never decides a verdict, only when to poll, so every problem with it
//! is a warning (printed once per run) and the run goes on without it: a
//! file that cannot be read, is too large, or is not what jobgate writes is
//! ignored and rewritten on the next record. Concurrent runs read, merge and
//! write through a temporary file renamed over the old one: an update may be
//! lost, the file is never torn.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::PathBuf;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// Durations kept per key: the most recent ones.
pub(crate) const MAX_SAMPLES: usize = 50;

/// Keys kept: the least recently updated go first.
pub(crate) const MAX_KEYS: usize = 200;

/// The largest file read: far above what [`MAX_KEYS`] × [`MAX_SAMPLES`]
/// needs; anything larger is not ours.
pub(crate) const MAX_FILE_BYTES: u64 = 1 << 20;

/// The longest duration kept (the longest timeout a spec may set).
const LONGEST_SECS: f64 = 7.0 * 24.0 * 3600.0;

/// The file's format version.
const VERSION: u32 = 1;

/// How every file jobgate writes begins (serde writes the fields in order).
const SIGNATURE: &[u8] = br#"{"jobgate_history":"#;

/// Whether `text` is a jobgate history file, if perhaps a damaged one: it
/// begins as jobgate writes it, or is a JSON object with the format key. Any
/// other file is someone else's and is never replaced.
fn is_ours(text: &[u8]) -> bool {
    text.trim_ascii_start().starts_with(SIGNATURE)
        || serde_json::from_slice::<serde_json::Value>(text)
            .is_ok_and(|v| v.get("jobgate_history").is_some())
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    jobgate_history: u32,
    entries: Vec<Entry>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
struct Entry {
    /// The first 16 hex digits of the project id's SHA-256.
    project: String,
    kind: String,
    job_type: String,
    /// Unix seconds of the last update.
    updated: u64,
    secs: Vec<f64>,
}

/// The key of one kind of job.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Key {
    project: String,
    kind: String,
    job_type: String,
}

impl Key {
    /// The key for `job_type` jobs of wait kind `kind` in `project_id`;
    /// `None` when the job type (a server's string) or the kind is not one
    /// jobgate would store.
    pub(crate) fn new(project_id: &str, kind: &str, job_type: &str) -> Option<Key> {
        (crate::spec::Target::KINDS.contains(&kind) && valid_job_type(job_type)).then(|| Key {
            project: project_hash(project_id),
            kind: kind.to_owned(),
            job_type: job_type.to_owned(),
        })
    }
}

/// A job type as the API documents them: upper-case words joined by `_`.
fn valid_job_type(t: &str) -> bool {
    (1..=64).contains(&t.len())
        && t.starts_with(|c: char| c.is_ascii_uppercase())
        && t.chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
}

fn project_hash(project_id: &str) -> String {
    let digest = Sha256::digest(project_id.as_bytes());
    hex::encode(&digest[..8])
}

fn valid_secs(s: f64) -> bool {
    s.is_finite() && s > 0.0 && s <= LONGEST_SECS
}

fn valid_entry(e: &Entry) -> bool {
    e.project.len() == 16
        && e.project.chars().all(|c| c.is_ascii_hexdigit())
        && crate::spec::Target::KINDS.contains(&e.kind.as_str())
        && valid_job_type(&e.job_type)
        && e.secs.len() <= MAX_SAMPLES
        && e.secs.iter().all(|s| valid_secs(*s))
}

/// The file's default place: `$XDG_CACHE_HOME/jobgate/history.json`, or
/// `~/.cache/jobgate/history.json` (`%LOCALAPPDATA%\jobgate\history.json`
/// on Windows); `None` when neither is known.
pub(crate) fn default_path(env: &dyn Fn(&str) -> Option<String>) -> Option<PathBuf> {
    let set = |name: &str| {
        env(name)
            .filter(|v| !v.trim().is_empty())
            .map(PathBuf::from)
    };
    let base = set("XDG_CACHE_HOME")
        .filter(|p| p.is_absolute())
        .or_else(|| set("HOME").map(|h| h.join(".cache")))
        .or_else(|| set("LOCALAPPDATA"))?;
    Some(base.join("jobgate").join("history.json"))
}

/// The local history of one run.
pub(crate) struct Store {
    path: PathBuf,
    /// What the file held when first read (`None`: not read yet).
    loaded: Mutex<Option<Vec<Entry>>>,
    /// Serialises this run's own writes.
    writing: Mutex<()>,
    warned: AtomicBool,
    /// The file exists and is not jobgate's.
    foreign: AtomicBool,
    warn: Box<dyn Fn(&str) + Send + Sync>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

impl Store {
    /// The history in `path`, read on first use; `warn` prints a warning.
    pub(crate) fn new(path: PathBuf, warn: Box<dyn Fn(&str) + Send + Sync>) -> Store {
        Store {
            path,
            loaded: Mutex::new(None),
            writing: Mutex::new(()),
            warned: AtomicBool::new(false),
            foreign: AtomicBool::new(false),
            warn,
        }
    }

    /// The file.
    #[cfg(test)]
    pub(crate) fn path(&self) -> &std::path::Path {
        &self.path
    }

    fn warn_once(&self, what: String) {
        if !self.warned.swap(true, Ordering::SeqCst) {
            (self.warn)(&format!(
                "local history {}: {what}; polling goes on without it ({}; --no-history turns it off)",
                self.path.display(),
                if self.foreign.load(Ordering::SeqCst) {
                    "nothing is recorded in it"
                } else {
                    "it is rewritten on the next record"
                }
            ));
        }
    }

    /// The durations recorded for `key`, oldest first.
    pub(crate) fn samples(&self, key: &Key) -> Vec<f64> {
        let mut loaded = self.loaded.lock().unwrap_or_else(|e| e.into_inner());
        let entries = loaded.get_or_insert_with(|| self.read().unwrap_or_default());
        entries
            .iter()
            .find(|e| e.project == key.project && e.kind == key.kind && e.job_type == key.job_type)
            .map(|e| e.secs.clone())
            .unwrap_or_default()
    }

    /// Adds one observed duration under `key`: reads the file again, merges,
    /// and replaces it whole. A duration that is not a positive number of
    /// seconds up to 7 days is not recorded.
    pub(crate) fn record(&self, key: &Key, secs: f64, now_unix: u64) {
        if !valid_secs(secs) {
            return;
        }
        let _writing = self.writing.lock().unwrap_or_else(|e| e.into_inner());
        // A file that is not jobgate's is never replaced; nor is one that
        // could not be read, which would lose what other runs recorded.
        let Some(mut entries) = self.read() else {
            return;
        };
        match entries
            .iter_mut()
            .find(|e| e.project == key.project && e.kind == key.kind && e.job_type == key.job_type)
        {
            Some(e) => {
                e.secs.push(secs);
                let extra = e.secs.len().saturating_sub(MAX_SAMPLES);
                e.secs.drain(..extra);
                e.updated = now_unix;
            }
            None => entries.push(Entry {
                project: key.project.clone(),
                kind: key.kind.clone(),
                job_type: key.job_type.clone(),
                updated: now_unix,
                secs: vec![secs],
            }),
        }
        if entries.len() > MAX_KEYS {
            entries.sort_by_key(|e| std::cmp::Reverse(e.updated));
            entries.truncate(MAX_KEYS);
        }
        entries.sort_by(|a, b| {
            (&a.project, &a.kind, &a.job_type).cmp(&(&b.project, &b.kind, &b.job_type))
        });
        if let Err(e) = self.write(&entries) {
            self.warn_once(format!("could not be written ({e})"));
        }
    }

    /// The file's valid entries, nothing (and a warning) for a file that is
    /// unreadable, too large or damaged; `None` for a file that exists but
    /// is not jobgate's, which must never be replaced (a `--history-file`
    /// that names a spec or a report by mistake).
    fn read(&self) -> Option<Vec<Entry>> {
        let file = match std::fs::File::open(&self.path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Some(Vec::new()),
            Err(e) => {
                self.warn_once(format!("could not be read ({e})"));
                return None;
            }
        };
        let mut text = Vec::new();
        if let Err(e) = file.take(MAX_FILE_BYTES + 1).read_to_end(&mut text) {
            self.warn_once(format!("could not be read ({e})"));
            return None;
        }
        if text.len() as u64 > MAX_FILE_BYTES && is_ours(&text) {
            self.warn_once(format!("is larger than {MAX_FILE_BYTES} bytes"));
            return Some(Vec::new());
        }
        let parsed: File = match serde_json::from_slice(&text) {
            Ok(f) => f,
            Err(_) if text.trim_ascii().is_empty() => return Some(Vec::new()),
            Err(e) if is_ours(&text) => {
                self.warn_once(format!("is a damaged jobgate history file ({e})"));
                return Some(Vec::new());
            }
            Err(_) => {
                self.foreign.store(true, Ordering::SeqCst);
                self.warn_once(
                    "is not a jobgate history file, so it is left as it is: move it away or name another file"
                        .to_owned(),
                );
                return None;
            }
        };
        if parsed.jobgate_history != VERSION {
            self.warn_once(format!(
                "has format version {}, not {VERSION}",
                parsed.jobgate_history
            ));
            return Some(Vec::new());
        }
        let total = parsed.entries.len();
        let mut seen = BTreeMap::new();
        let entries: Vec<Entry> = parsed
            .entries
            .into_iter()
            .filter(valid_entry)
            .filter(|e| {
                seen.insert((e.project.clone(), e.kind.clone(), e.job_type.clone()), ())
                    .is_none()
            })
            .take(MAX_KEYS)
            .collect();
        if entries.len() != total {
            self.warn_once(format!(
                "has {} invalid or duplicate entries, ignored",
                total - entries.len()
            ));
        }
        Some(entries)
    }

    fn write(&self, entries: &[Entry]) -> std::io::Result<()> {
        let dir = match self.path.parent() {
            Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
            _ => PathBuf::from("."),
        };
        std::fs::create_dir_all(&dir)?;
        let name = self
            .path
            .file_name()
            .map_or("history.json".into(), |n| n.to_string_lossy().into_owned());
        let temp = dir.join(format!(
            ".{name}.{}.{:016x}.tmp",
            std::process::id(),
            fastrand::u64(..)
        ));
        let file = File {
            jobgate_history: VERSION,
            entries: entries.to_vec(),
        };
        let text = serde_json::to_vec(&file).map_err(std::io::Error::other)?;
        let result = std::fs::write(&temp, text).and_then(|()| std::fs::rename(&temp, &self.path));
        if result.is_err() {
            let _ = std::fs::remove_file(&temp);
        }
        result
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;
    use std::sync::Arc;

    fn store(dir: &Path) -> (Store, Arc<Mutex<Vec<String>>>) {
        let warnings = Arc::new(Mutex::new(Vec::new()));
        let w = warnings.clone();
        let s = Store::new(
            dir.join("sub").join("history.json"),
            Box::new(move |m| w.lock().unwrap().push(m.to_owned())),
        );
        (s, warnings)
    }

    fn key() -> Key {
        Key::new(
            "0123456789abcdef0123456789abcdef",
            "image_job",
            "CREATE_SERVER_IMAGE",
        )
        .unwrap()
    }

    #[test]
    fn records_and_reads_back_bounded() {
        let dir = tempfile::tempdir().unwrap();
        let (s, warnings) = store(dir.path());
        assert!(s.samples(&key()).is_empty());
        for i in 0..60 {
            s.record(&key(), 100.0 + f64::from(i), 1);
        }
        let (again, _) = store(dir.path());
        let got = again.samples(&key());
        assert_eq!(got.len(), MAX_SAMPLES);
        assert_eq!(got.last(), Some(&159.0));
        assert!(warnings.lock().unwrap().is_empty());
        // Not recorded: junk durations.
        for bad in [0.0, -1.0, f64::NAN, f64::INFINITY, 1e9] {
            s.record(&key(), bad, 1);
        }
        let (again, _) = store(dir.path());
        assert_eq!(again.samples(&key()).len(), MAX_SAMPLES);
    }

    #[test]
    fn the_file_holds_no_project_id_nor_anything_unvalidated() {
        let dir = tempfile::tempdir().unwrap();
        let (s, _) = store(dir.path());
        s.record(&key(), 12.5, 1);
        let text = std::fs::read_to_string(s.path()).unwrap();
        assert!(!text.contains("0123456789abcdef0123456789abcdef"), "{text}");
        assert!(Key::new("p", "image_job", "create; rm -rf /").is_none());
        assert!(Key::new("p", "image_job", "").is_none());
        assert!(Key::new("p", "no_such_kind", "CREATE").is_none());
        assert!(Key::new("p", "image_job", &"A".repeat(65)).is_none());
    }

    #[test]
    fn a_damaged_file_warns_once_and_is_rewritten() {
        let dir = tempfile::tempdir().unwrap();
        let (s, warnings) = store(dir.path());
        std::fs::create_dir_all(s.path().parent().unwrap()).unwrap();
        std::fs::write(s.path(), br#"{"jobgate_history":1,"entries":[{"proj"#).unwrap();
        assert!(s.samples(&key()).is_empty());
        s.record(&key(), 30.0, 1);
        assert_eq!(warnings.lock().unwrap().len(), 1, "{warnings:?}");
        assert!(warnings.lock().unwrap()[0].contains("damaged jobgate history file"));
        let (again, w2) = store(dir.path());
        assert_eq!(again.samples(&key()), vec![30.0]);
        assert!(w2.lock().unwrap().is_empty());
    }

    #[test]
    fn a_file_that_is_not_jobgate_s_is_never_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let (s, warnings) = store(dir.path());
        std::fs::create_dir_all(s.path().parent().unwrap()).unwrap();
        let spec = b"version: 1\nwaits: {}\n";
        std::fs::write(s.path(), spec).unwrap();
        assert!(s.samples(&key()).is_empty());
        s.record(&key(), 30.0, 1);
        s.record(&key(), 31.0, 2);
        assert_eq!(std::fs::read(s.path()).unwrap(), spec);
        let warned = warnings.lock().unwrap();
        assert_eq!(warned.len(), 1, "{warned:?}");
        assert!(warned[0].contains("left as it is"), "{warned:?}");
        assert!(warned[0].contains("nothing is recorded"), "{warned:?}");
        // Not even a JSON document of someone else's.
        let (other, _) = store(dir.path());
        std::fs::write(other.path(), b"{\"waits\": []}").unwrap();
        other.record(&key(), 30.0, 1);
        assert_eq!(std::fs::read(other.path()).unwrap(), b"{\"waits\": []}");
    }

    #[test]
    fn invalid_entries_and_oversized_files_are_ignored() {
        let dir = tempfile::tempdir().unwrap();
        let (s, warnings) = store(dir.path());
        std::fs::create_dir_all(s.path().parent().unwrap()).unwrap();
        let good = serde_json::json!({"project": project_hash("0123456789abcdef0123456789abcdef"), "kind": "image_job", "job_type": "CREATE_SERVER_IMAGE", "updated": 1, "secs": [5.0]});
        let bad = serde_json::json!({"project": "zz", "kind": "image_job", "job_type": "X", "updated": 1, "secs": [5.0]});
        let text = serde_json::json!({"jobgate_history": 1, "entries": [good, bad]});
        std::fs::write(s.path(), text.to_string()).unwrap();
        assert_eq!(s.samples(&key()), vec![5.0]);
        assert_eq!(warnings.lock().unwrap().len(), 1);

        let (big, w) = store(dir.path());
        let mut huge = SIGNATURE.to_vec();
        huge.resize(MAX_FILE_BYTES as usize + 1, b' ');
        std::fs::write(big.path(), huge).unwrap();
        assert!(big.samples(&key()).is_empty());
        assert!(w.lock().unwrap()[0].contains("larger than"));
    }

    #[test]
    fn concurrent_writers_never_tear_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("h.json");
        let threads: Vec<_> = (0..8)
            .map(|t| {
                let path = path.clone();
                std::thread::spawn(move || {
                    let s = Store::new(path, Box::new(|m| panic!("warned: {m}")));
                    let k = Key::new("p", "image_job", &format!("TYPE_{t}")).unwrap();
                    for i in 0..20 {
                        s.record(&k, 1.0 + f64::from(i), 1);
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        // Every write replaced the file whole: it parses, whatever was lost.
        let text = std::fs::read(&path).unwrap();
        let file: File = serde_json::from_slice(&text).unwrap();
        assert!(!file.entries.is_empty());
        let leftovers = std::fs::read_dir(dir.path()).unwrap().count();
        assert_eq!(leftovers, 1, "temporary files left behind");
    }

    #[test]
    fn default_path_follows_xdg_then_home() {
        let env = |xdg: Option<&'static str>, home: Option<&'static str>| {
            move |n: &str| match n {
                "XDG_CACHE_HOME" => xdg.map(String::from),
                "HOME" => home.map(String::from),
                _ => None,
            }
        };
        assert_eq!(
            default_path(&env(Some("/c"), Some("/h"))),
            Some(PathBuf::from("/c/jobgate/history.json"))
        );
        assert_eq!(
            default_path(&env(Some("relative"), Some("/h"))),
            Some(PathBuf::from("/h/.cache/jobgate/history.json"))
        );
        assert_eq!(default_path(&env(None, None)), None);
    }
}
