//! Everything GitHub Actions reads: the step summary (Markdown), step outputs
//! (`$GITHUB_OUTPUT`), annotations and the other workflow commands.
//!
//! Output names are `outcome`, `exit-code`, `report`, and one
//! `<wait>-<key>` per value captured by a wait's `outputs:` (wait names
//! cannot contain `.`, and GitHub's own actions use `-` in output names, so
//! `golden-image` capturing `image_id` gives `golden-image-image_id`). Output
//! keys cannot contain `-`, so the name is unambiguous. A captured output
//! whose name would be one of the three fixed names is left out of the step
//! outputs (it is still in the JSON report).
//!
//! Escaping follows the workflow-commands rules of `@actions/core`: message
//! data escapes `%`, `\r` and `\n`; property values also escape `:` and `,`.

mod annotations;
mod commands;
mod env;
mod outputs;
mod summary;

pub(crate) use annotations::{annotations, spec_annotations};
pub(crate) use commands::{mask, wait_log_groups};
pub(crate) use env::GithubEnv;
// Read by the redactor's tests, which check that no secret reaches it.
#[cfg(test)]
pub(crate) use summary::step_summary;
