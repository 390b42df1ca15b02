//! Where GitHub Actions wants results (read from the environment), and
//! appending to the files it names.

use std::fs::OpenOptions;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use super::outputs::{format_outputs, outputs};
use super::summary::step_summary;
use crate::report::model::RunReport;

/// Where GitHub Actions wants results, read from the environment.
///
/// Both files are shared by every command of the step, so they are
/// appended to, never replaced; files that are not configured are skipped.
/// Publishing writes them only when `actions` is set (`GITHUB_ACTIONS=true`,
/// which act and Gitea set too), so a variable left over in a shell is not
/// written to. An error names the variable and the file.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct GithubEnv {
    /// `GITHUB_ACTIONS=true`: workflow commands (annotations, groups, masks)
    /// are understood on stdout.
    pub actions: bool,
    /// `GITHUB_OUTPUT`: the file step outputs are appended to.
    pub output: Option<PathBuf>,
    /// `GITHUB_STEP_SUMMARY`: the file the Markdown summary is appended to.
    pub step_summary: Option<PathBuf>,
}

impl GithubEnv {
    /// Reads the process environment.
    pub(crate) fn from_env() -> Self {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads the variables through `lookup`, so tests need not touch the
    /// process environment. Empty paths count as unset.
    pub(crate) fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Self {
        let path = |name| lookup(name).filter(|p| !p.is_empty()).map(PathBuf::from);
        GithubEnv {
            actions: lookup("GITHUB_ACTIONS").as_deref() == Some("true"),
            output: path("GITHUB_OUTPUT"),
            step_summary: path("GITHUB_STEP_SUMMARY"),
        }
    }

    /// Appends the step outputs to `$GITHUB_OUTPUT`, if set.
    pub(crate) fn publish_outputs(
        &self,
        report: &RunReport,
        report_path: Option<&str>,
    ) -> io::Result<()> {
        match &self.output {
            Some(path) => append(
                "GITHUB_OUTPUT",
                path,
                format_outputs(&outputs(report, report_path)).as_bytes(),
            ),
            None => Ok(()),
        }
    }

    /// Appends `exit-code` once more, after outputs already appended with
    /// another code: the runner keeps the last value of a name.
    pub(crate) fn correct_exit_code(&self, code: u8) -> io::Result<()> {
        match &self.output {
            Some(path) => append(
                "GITHUB_OUTPUT",
                path,
                format_outputs(&[("exit-code".to_owned(), code.to_string())]).as_bytes(),
            ),
            None => Ok(()),
        }
    }

    /// Appends the Markdown summary to `$GITHUB_STEP_SUMMARY`, if set.
    pub(crate) fn publish_summary(&self, report: &RunReport) -> io::Result<()> {
        match &self.step_summary {
            Some(path) => append("GITHUB_STEP_SUMMARY", path, step_summary(report).as_bytes()),
            None => Ok(()),
        }
    }

    /// Appends `note` (Markdown) after a summary already appended.
    pub(crate) fn append_summary_note(&self, note: &str) -> io::Result<()> {
        match &self.step_summary {
            Some(path) => append("GITHUB_STEP_SUMMARY", path, note.as_bytes()),
            None => Ok(()),
        }
    }
}

fn append(variable: &str, path: &Path, bytes: &[u8]) -> io::Result<()> {
    let write = || {
        let mut file = OpenOptions::new().create(true).append(true).open(path)?;
        file.write_all(bytes)?;
        file.flush()
    };
    write().map_err(|e| io::Error::new(e.kind(), format!("{variable}={}: {e}", path.display())))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::github::outputs::parse_output_file;
    use crate::report::json::samples;

    #[test]
    fn a_file_that_cannot_be_written_is_named_with_its_variable() {
        let dir = tempfile::tempdir().unwrap();
        let env = GithubEnv {
            // A directory cannot be appended to.
            output: Some(dir.path().to_owned()),
            ..GithubEnv::default()
        };
        let error = env
            .publish_outputs(&samples::met(), None)
            .unwrap_err()
            .to_string();
        let expected = format!("GITHUB_OUTPUT={}: ", dir.path().display());
        assert!(error.starts_with(&expected), "{error}");
    }

    #[test]
    fn env_is_read_through_the_lookup() {
        let env = GithubEnv::from_lookup(|n| match n {
            "GITHUB_ACTIONS" => Some("true".into()),
            "GITHUB_OUTPUT" => Some("/tmp/out".into()),
            "GITHUB_STEP_SUMMARY" => Some(String::new()),
            _ => None,
        });
        assert!(env.actions);
        assert_eq!(env.output, Some(PathBuf::from("/tmp/out")));
        assert_eq!(env.step_summary, None);
        assert_eq!(GithubEnv::from_lookup(|_| None), GithubEnv::default());
    }

    #[test]
    fn publish_appends_to_both_files() {
        let dir = tempfile::tempdir().unwrap();
        let output = dir.path().join("output");
        let summary = dir.path().join("summary.md");
        std::fs::write(&output, "earlier=1\n").unwrap();
        std::fs::write(&summary, "# Earlier step\n").unwrap();
        let env = GithubEnv {
            actions: true,
            output: Some(output.clone()),
            step_summary: Some(summary.clone()),
        };
        env.publish_outputs(&samples::mixed(), Some("report.json"))
            .unwrap();
        env.publish_summary(&samples::mixed()).unwrap();
        let parsed = parse_output_file(&std::fs::read_to_string(&output).unwrap());
        assert_eq!(parsed[0], ("earlier".into(), "1".into()));
        assert_eq!(parsed[1], ("outcome".into(), "failed".into()));
        assert!(parsed.contains(&(
            "golden-image-note".into(),
            "line one\nline two | with <html> & 100%".into()
        )));
        let md = std::fs::read_to_string(&summary).unwrap();
        assert!(
            md.starts_with("# Earlier step\n## ❌ jobgate: failed"),
            "{md}"
        );
    }
}
