//! Query parameters: decoding, the documented filters, and paging with the
//! documented limits. Every rule violation becomes the API's 400 body.

use super::error::ApiError;
use crate::api::operation::PageLimits;

/// Decoded query parameters, in order, repeats kept.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Query {
    pairs: Vec<(String, String)>,
}

impl Query {
    /// Decodes a raw query string (`a=1&b=x%20y`); never fails, as servers
    /// are lenient about odd encodings.
    pub fn parse(raw: Option<&str>) -> Self {
        let pairs = raw
            .unwrap_or_default()
            .split('&')
            .filter(|pair| !pair.is_empty())
            .map(|pair| {
                let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
                (decode(name), decode(value))
            })
            .collect();
        Self { pairs }
    }

    /// Every value given for `name`.
    pub fn all(&self, name: &str) -> Vec<&str> {
        self.pairs
            .iter()
            .filter(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
            .collect()
    }

    /// The single value of `name`; an empty value counts as absent, and a
    /// repeated parameter is refused because the API takes one value.
    pub fn single(&self, name: &str) -> Result<Option<&str>, ApiError> {
        Ok(self.single_raw(name)?.filter(|value| !value.is_empty()))
    }

    /// Like [`Query::single`], but an empty value is returned as such.
    fn single_raw(&self, name: &str) -> Result<Option<&str>, ApiError> {
        match self.all(name).as_slice() {
            [] => Ok(None),
            [value] => Ok(Some(*value)),
            _ => Err(ApiError::bad_request(format!(
                "The parameter {name} must be given at most once."
            ))),
        }
    }

    /// An integer parameter within `min..=max`, or `default` when absent.
    pub fn integer(&self, name: &str, default: u64, min: u64, max: u64) -> Result<u64, ApiError> {
        // An empty number (`limit=`) is malformed, not absent.
        let Some(raw) = self.single_raw(name)? else {
            return Ok(default);
        };
        raw.parse::<u64>()
            .ok()
            .filter(|value| (min..=max).contains(value))
            .ok_or_else(|| {
                let bound = if max == u64::MAX {
                    format!("at least {min}")
                } else {
                    format!("from {min} to {max}")
                };
                ApiError::bad_request(format!(
                    "The parameter {name} is invalid: `{raw}`; it must be an integer {bound}."
                ))
            })
    }

    /// `offset` and `limit` within an operation's documented limits.
    pub fn page(&self, limits: PageLimits) -> Result<Page, ApiError> {
        // Offsets beyond any realistic list are refused rather than overflowing.
        let offset = self.integer("offset", 0, 0, i32::MAX as u64)?;
        let limit = self.integer(
            "limit",
            limits.default.into(),
            limits.min.into(),
            limits.max.into(),
        )?;
        Ok(Page {
            offset: usize::try_from(offset).unwrap_or(usize::MAX),
            limit: usize::try_from(limit).unwrap_or(usize::MAX),
        })
    }
}

fn decode(text: &str) -> String {
    let spaced = text.replace('+', " ");
    percent_encoding::percent_decode_str(&spaced)
        .decode_utf8_lossy()
        .into_owned()
}

/// One page of a list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Page {
    pub offset: usize,
    pub limit: usize,
}

impl Page {
    /// The items of this page.
    pub fn slice<T>(self, items: &[T]) -> &[T] {
        let start = self.offset.min(items.len());
        let end = start.saturating_add(self.limit).min(items.len());
        &items[start..end]
    }
}

/// The image sub-job types counted when `job_type` is not given.
pub const DEFAULT_IMAGE_COUNT_TYPES: [&str; 3] =
    ["CREATE_SERVER", "CREATE_SERVER_IMAGE", "DELETE_SERVER"];

/// A `job_type` filter: one value for lists, a comma-separated list for
/// counts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TypeFilter {
    Any,
    OneOf(Vec<String>),
}

impl TypeFilter {
    /// Parses a comma-separated list (blank entries ignored).
    pub fn list(raw: Option<&str>) -> Self {
        match raw {
            None => Self::Any,
            Some(raw) => Self::OneOf(
                raw.split(',')
                    .map(str::trim)
                    .filter(|value| !value.is_empty())
                    .map(str::to_owned)
                    .collect(),
            ),
        }
    }

    /// A single value, matched exactly.
    pub fn single(raw: Option<&str>) -> Self {
        raw.map_or(Self::Any, |value| Self::OneOf(vec![value.to_owned()]))
    }

    /// Whether `job_type` passes.
    pub fn admits(&self, job_type: &str) -> bool {
        match self {
            Self::Any => true,
            Self::OneOf(types) => types.iter().any(|wanted| wanted == job_type),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::Operation;

    #[test]
    fn decodes_and_keeps_repeats() {
        let query = Query::parse(Some("status=A&status=B&job_type=x%2Cy&name=a+b&flag"));
        assert_eq!(query.all("status"), vec!["A", "B"]);
        assert_eq!(query.single("job_type").unwrap(), Some("x,y"));
        assert_eq!(query.single("name").unwrap(), Some("a b"));
        assert_eq!(query.single("flag").unwrap(), None);
        assert!(query.single("status").is_err());
        assert_eq!(Query::parse(None), Query::default());
    }

    #[test]
    fn limits_are_enforced() {
        let limits = |op: Operation| op.page().unwrap();
        let page = |raw: &str| Query::parse(Some(raw)).page(limits(Operation::ListSubJobs));
        assert_eq!(
            page("").unwrap(),
            Page {
                offset: 0,
                limit: 10
            }
        );
        assert_eq!(
            page("offset=20&limit=100").unwrap(),
            Page {
                offset: 20,
                limit: 100
            }
        );
        for bad in [
            "limit=0",
            "limit=101",
            "limit=-1",
            "limit=ten",
            "offset=-3",
            "limit=",
            "offset=99999999999999999999999",
        ] {
            let error = page(bad).unwrap_err();
            assert_eq!(error.status, 400, "{bad}");
        }
        let page = |raw: &str| Query::parse(Some(raw)).page(limits(Operation::ListItaSubJobs));
        assert_eq!(page("").unwrap().limit, 1000);
        assert_eq!(page("limit=0").unwrap().limit, 0);
        assert!(page("limit=1001").is_err());
    }

    #[test]
    fn paging_slices_safely() {
        let items: Vec<u32> = (0..250).collect();
        let page = |offset, limit| Page { offset, limit }.slice(&items).to_vec();
        assert_eq!(page(0, 100).len(), 100);
        assert_eq!(page(200, 100), (200..250).collect::<Vec<_>>());
        assert!(page(300, 100).is_empty());
        assert!(page(usize::MAX, usize::MAX).is_empty());
        assert!(page(5, 0).is_empty());
    }

    #[test]
    fn type_filters() {
        let list = TypeFilter::list(Some("CREATE_SERVER, DELETE_SERVER,"));
        assert!(list.admits("CREATE_SERVER"));
        assert!(list.admits("DELETE_SERVER"));
        assert!(!list.admits("BUILD_IMAGE"));
        assert!(TypeFilter::list(None).admits("anything"));
        assert!(!TypeFilter::single(Some("A,B")).admits("A"));
    }
}
