//! Simulator scenarios several modules run against.

/// Two image jobs: `img-ok`, whose one sub-job built `image-42`, and
/// `img-bad`, whose one sub-job `bad-1` FAILED with `WKS.00129901`. The
/// job list is last, so a module can append jobs of its own.
pub const OK_AND_BAD_IMAGES: &str = r#"
project_id: 0123456789abcdef0123456789abcdef
jobs:
  - id: img-ok
    kind: image_job
    sub_jobs:
      - id: s1
        job_type: CREATE_SERVER_IMAGE
        resource: {id: image-42, name: golden}
        timeline: [{at: 0s, status: SUCCESS}]
  - id: img-bad
    kind: image_job
    sub_jobs:
      - id: bad-1
        job_type: CREATE_SERVER_IMAGE
        timeline: [{at: 0s, status: FAILED}]
        error: {code: WKS.00129901, message: "disk quota exceeded"}
"#;
