//! The environment variables credentials are read from: the official SDKs'
//! names first, then other tools', and the warning when two disagree.

use super::trimmed;
use crate::api::federation::{ENV_ID_TOKEN_FILE, ENV_IDP_ID};

/// Access key ID (AK), as read by the official SDKs.
pub(crate) const ENV_AK: &str = "HUAWEICLOUD_SDK_AK";
/// Secret access key (SK), as read by the official SDKs.
pub(crate) const ENV_SK: &str = "HUAWEICLOUD_SDK_SK";
/// Security token of temporary AK/SK credentials, as read by the official SDKs.
pub(crate) const ENV_SECURITY_TOKEN: &str = "HUAWEICLOUD_SDK_SECURITY_TOKEN";
/// An IAM token, used when no AK/SK pair is configured.
pub(crate) const ENV_AUTH_TOKEN: &str = "JOBGATE_AUTH_TOKEN";

/// One tool's names for an AK/SK pair (and its security token). Read in
/// this order; the first family with either half set is the one used, as a
/// whole, so a pair is never half from one tool and half from another.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Family {
    pub(crate) ak: &'static str,
    pub(crate) sk: &'static str,
    pub(crate) security_token: Option<&'static str>,
}

/// The official SDKs' names, then `huaweicloud/auth-action`'s, then the
/// Terraform provider's.
pub(crate) const FAMILIES: [Family; 3] = [
    Family {
        ak: ENV_AK,
        sk: ENV_SK,
        security_token: Some(ENV_SECURITY_TOKEN),
    },
    Family {
        ak: "HUAWEI_CLOUD_ACCESS_KEY_ID",
        sk: "HUAWEI_CLOUD_SECRET_ACCESS_KEY",
        security_token: None,
    },
    Family {
        ak: "HW_ACCESS_KEY",
        sk: "HW_SECRET_KEY",
        security_token: Some("HW_SECURITY_TOKEN"),
    },
];

/// Project id variables, highest precedence first (the same three tools).
pub(crate) const PROJECT_ID_VARS: [&str; 3] = [
    "HUAWEICLOUD_SDK_PROJECT_ID",
    "HUAWEI_CLOUD_PROJECT_ID",
    "HW_PROJECT_ID",
];

/// Region variables of the same tools (the spec may reference any of them).
pub(crate) const REGION_VARS: [&str; 3] = [
    "HUAWEICLOUD_SDK_REGION",
    "HUAWEI_CLOUD_REGION",
    "HW_REGION_NAME",
];

/// Warnings for sources that disagree: the same setting given twice, under
/// different names, with different values (never shown), and which one
/// wins. Empty when every duplicate agrees.
pub(crate) fn disagreements(lookup: impl Fn(&str) -> Option<String>) -> Vec<String> {
    let read = |name: &str| trimmed(lookup(name));
    let mut warnings = Vec::new();
    let mut compare = |names: &[&'static str], what: &str| {
        let set: Vec<(&str, String)> = names
            .iter()
            .filter_map(|n| read(n).map(|v| (*n, v)))
            .collect();
        if let Some((first, value)) = set.first()
            && let Some((other, _)) = set.iter().find(|(_, v)| v != value)
        {
            warnings.push(format!(
                "warning: {first} and {other} are both set, to different {what}s; using {first} \
                 (precedence: {}); unset the one you do not mean",
                names.join(", then ")
            ));
        }
    };
    compare(&FAMILIES.map(|f| f.ak), "access key");
    compare(&FAMILIES.map(|f| f.sk), "secret key");
    compare(&PROJECT_ID_VARS, "project id");
    compare(&REGION_VARS, "region");
    if read(ENV_IDP_ID).is_some()
        && read(ENV_ID_TOKEN_FILE).is_some()
        && let Some(family) = FAMILIES.iter().find(|f| read(f.ak).is_some())
    {
        warnings.push(format!(
            "warning: both {ENV_IDP_ID}/{ENV_ID_TOKEN_FILE} and {} are set; using the identity \
             provider, as the official SDKs do; unset the one you do not mean",
            family.ak
        ));
    }
    warnings
}
