//! One poll: the requests of a wait's plan, read into one observation that
//! is a consistent snapshot, or into no observation at all.
//!
//! A poll made of several requests (pages of a list, one count per status)
//! reads a state that may change between them. What was read counts only
//! when it could all have been true at one instant; otherwise the poll is
//! malformed (retried within the error budget, like a 5xx), never judged:
//!
//! - **Pages** are read until a short or empty page. Every page must carry
//!   the same whole-number total, no page may only repeat items already
//!   read, and at the end the distinct items read must be exactly the total.
//!   An id seen twice with different statuses is inconsistent.
//! - **Counts** that would decide the wait (its verdict is anything but
//!   pending) are read a second time, every request but the last, in the
//!   same order: if each count is unchanged, each held from its first read
//!   to its second, so all of them held at the instant of the last request
//!   (a double collect). Any change means the state moved while it was
//!   read, and the poll does not count.
//! - **A job** answer must be about the job asked for (its `id`).

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use tokio::time::Instant;

use crate::api::Status;
use crate::api::client::{ApiError, Body, ErrorKind};
use crate::api::model::{self, Item, Malformed, Observation, Page, Source};
use crate::api::request::ApiRequest;
use crate::condition::{Verdict, judge};
use crate::engine::fetch::{self, Plan};
use crate::engine::gate::Gate;
use crate::spec::Wait;

/// A hard cap on the pages of one poll, far above any real list (10,000
/// desktop sub-jobs are 10 pages): reaching it is a server that never ends.
pub const MAX_PAGES: u32 = 10_000;

/// Counts requests as they go out, so that a poll cut short (a signal, the
/// deadline) still reports every request it sent.
pub type Tally<'a> = &'a (dyn Fn(i64) + Sync);

/// Makes the requests of one poll of `wait`. Returns the observation (or
/// the first error; `None` if the gate could not send a request before
/// `deadline`) and how many requests this wait sent. `tally` hears of each
/// request before it may go out (+1) and of each that did not (-1), so a
/// poll dropped while a request is in flight has already counted it.
pub async fn poll(
    plan: &Plan,
    wait: &Wait,
    gate: &Gate,
    deadline: Instant,
    tally: Tally<'_>,
) -> (Option<Result<Observation, ApiError>>, u64) {
    let mut sender = Sender {
        gate,
        project_id: &wait.project_id,
        deadline,
        tally,
        sent: 0,
        first: true,
    };
    let result = match plan {
        Plan::Single {
            request,
            json,
            job_id,
        } => single(&mut sender, request, *json, job_id.as_deref()).await,
        Plan::Paged { request, page } => paged(&mut sender, request, *page).await,
        Plan::Counts { request, counts } => counted(&mut sender, wait, request, counts).await,
    };
    (result.transpose(), sender.sent)
}

struct Sender<'a> {
    gate: &'a Gate,
    project_id: &'a str,
    deadline: Instant,
    tally: Tally<'a>,
    sent: u64,
    /// Whether no request of this poll was asked for yet.
    first: bool,
}

impl Sender<'_> {
    /// One request, bounded by the wait's deadline and a per-request timeout
    /// taken afresh (a long poll's later pages get what time is left).
    ///
    /// The shared limits let a request that can go at once go even at the
    /// deadline, so that the last poll, fitted to it, is made; but a poll's
    /// later requests (its next page, its next count) never start once the
    /// deadline has passed: a slow server cannot keep a wait paging.
    async fn get(&mut self, request: &ApiRequest) -> Option<Result<Body, ApiError>> {
        if !std::mem::replace(&mut self.first, false) && Instant::now() >= self.deadline {
            return None;
        }
        let timeout = request_timeout(self.deadline);
        (self.tally)(1);
        let answer = self
            .gate
            .get(request, self.project_id, timeout, self.deadline)
            .await;
        match &answer {
            Some(a) if a.sent => self.sent += 1,
            _ => (self.tally)(-1),
        }
        answer.map(|a| a.result)
    }
}

/// How long one request may take: a request never outlives the deadline by
/// more than a moment, so a server that accepts and never answers cannot
/// hold the gate open.
pub fn request_timeout(deadline: Instant) -> Duration {
    deadline
        .saturating_duration_since(Instant::now())
        .clamp(Duration::from_secs(1), Duration::from_secs(30))
}

type Polled = Result<Option<Observation>, ApiError>;

async fn single(
    sender: &mut Sender<'_>,
    request: &ApiRequest,
    json: bool,
    job_id: Option<&str>,
) -> Polled {
    let Some(answer) = sender.get(request).await else {
        return Ok(None);
    };
    let body = answer?;
    if json {
        return Ok(Some(Observation {
            source: Source::Json(body.json()?),
            ..Default::default()
        }));
    }
    let obs = model::parse_job(body.bytes.clone()).map_err(|m| body.malformed(shape(m)))?;
    if let Some(asked) = job_id {
        model::check_job_id(&obs, asked).map_err(|m| body.malformed(shape(m)))?;
    }
    Ok(Some(obs))
}

async fn paged(sender: &mut Sender<'_>, request: &ApiRequest, page: u32) -> Polled {
    let job_id = request
        .query
        .iter()
        .find(|(k, _)| k == "job_id")
        .map(|(_, v)| v.clone());
    let mut paging = Paging::new(page, job_id);
    let mut offset = 0;
    loop {
        let r = request
            .clone()
            .with("limit", page.to_string())
            .with("offset", offset.to_string());
        let Some(answer) = sender.get(&r).await else {
            return Ok(None);
        };
        let body = answer?;
        let parsed = model::parse_page(&body.bytes).map_err(|m| body.malformed(shape(m)))?;
        match paging
            .add(parsed)
            .map_err(|m| body.malformed(inconsistent(m)))?
        {
            Some(next) => offset = next,
            None => break,
        }
    }
    paging
        .finish()
        .map(Some)
        .map_err(|m| unanswerable(inconsistent(m)))
}

async fn counted(
    sender: &mut Sender<'_>,
    wait: &Wait,
    request: &ApiRequest,
    counts: &[fetch::Count],
) -> Polled {
    let requests: Vec<(usize, ApiRequest)> = counts
        .iter()
        .enumerate()
        .flat_map(|(i, c)| c.requests(request).into_iter().map(move |r| (i, r)))
        .collect();
    let mut first = Vec::with_capacity(requests.len());
    for (_, r) in &requests {
        let Some(n) = count(sender, r).await? else {
            return Ok(None);
        };
        first.push(n);
    }
    counts_add_up(counts, &first).map_err(|m| unanswerable(inconsistent(m)))?;
    let mut answers: BTreeMap<Option<String>, u64> =
        counts.iter().map(|c| (c.key.clone(), 0)).collect();
    for ((i, _), n) in requests.iter().zip(&first) {
        *answers.entry(counts[*i].key.clone()).or_default() += n;
    }
    let obs = fetch::counts_observation(answers);
    // A count read that only keeps the wait polling needs no proof; one
    // that would end it must be a snapshot.
    if matches!(
        judge(&wait.rules, &obs),
        Verdict::Pending { .. } | Verdict::Empty
    ) {
        return Ok(Some(obs));
    }
    let mut again = Vec::with_capacity(requests.len());
    for (_, r) in requests.iter().take(requests.len().saturating_sub(1)) {
        let Some(n) = count(sender, r).await? else {
            return Ok(None);
        };
        again.push(n);
    }
    let described: Vec<String> = requests.iter().map(|(_, r)| r.to_string()).collect();
    counts_agree(&described, &first, &again).map_err(|m| unanswerable(inconsistent(m)))?;
    Ok(Some(obs))
}

/// One count request's number; `None` when it could not be sent in time.
async fn count(sender: &mut Sender<'_>, request: &ApiRequest) -> Result<Option<u64>, ApiError> {
    let Some(answer) = sender.get(request).await else {
        return Ok(None);
    };
    let body = answer?;
    model::parse_count(&body.json()?)
        .map(Some)
        .map_err(|m| body.malformed(shape(m)))
}

/// Whether the counts of one read fit together: for each set of job types,
/// the statuses counted (each once, however many checks name it) add up
/// to no more than the total of those types. Statuses are an open set, so
/// less is fine; more means some sub-job was counted twice, in two statuses
/// read at different moments, or the server miscounts. `values` holds the
/// answer of each request of `counts`, in order.
pub fn counts_add_up(counts: &[fetch::Count], values: &[u64]) -> Result<(), Malformed> {
    type Types = Option<Vec<String>>;
    let mut by_status: BTreeMap<&Types, BTreeMap<&Status, u64>> = BTreeMap::new();
    let mut totals: BTreeMap<&Types, u64> = BTreeMap::new();
    let mut values = values.iter();
    for count in counts {
        if matches!(&count.job_types, Some(t) if t.is_empty()) {
            continue; // Zero without a request.
        }
        match &count.statuses {
            None => {
                let Some(n) = values.next() else { break };
                totals.insert(&count.job_types, *n);
            }
            Some(set) => {
                for status in set {
                    let Some(n) = values.next() else { break };
                    by_status
                        .entry(&count.job_types)
                        .or_default()
                        .insert(status, *n);
                }
            }
        }
    }
    for (types, statuses) in by_status {
        let Some(total) = totals.get(types) else {
            continue;
        };
        let sum: u64 = statuses.values().sum();
        if sum > *total {
            let parts: Vec<String> = statuses.iter().map(|(s, n)| format!("{n} {s}")).collect();
            let of = types
                .as_ref()
                .map(|t| format!(" of type {}", t.join(", ")))
                .unwrap_or_default();
            return Err(Malformed(format!(
                "the counts of sub-jobs{of} by status ({}) add up to {sum}, more than their total of {total}",
                parts.join(", ")
            )));
        }
    }
    Ok(())
}

/// Whether a second read of the counts (every request but the last, in the
/// same order) found each unchanged: then all of them held at the instant
/// of the last request of the first read.
pub fn counts_agree(requests: &[String], first: &[u64], again: &[u64]) -> Result<(), Malformed> {
    let expected = first.len().saturating_sub(1);
    if again.len() != expected {
        return Err(Malformed(format!(
            "{} of {expected} counts were read again",
            again.len()
        )));
    }
    for ((request, a), b) in requests.iter().zip(first).zip(again) {
        if a != b {
            return Err(Malformed(format!(
                "the counts changed while they were read ({request} answered {a}, then {b}), so they are not one state of the job"
            )));
        }
    }
    Ok(())
}

/// The pages of one list read so far, and whether they fit together.
#[derive(Debug)]
pub struct Paging {
    page: u64,
    /// The `job_id` the list was filtered by: items of another job are not
    /// evidence about this one.
    job_id: Option<String>,
    total: Option<u64>,
    pages: u32,
    offset: u64,
    /// Each id read, with its status.
    ids: HashMap<String, Status>,
    items: Vec<Item>,
}

impl Paging {
    pub fn new(page: u32, job_id: Option<String>) -> Paging {
        Paging {
            page: u64::from(page.max(1)),
            job_id,
            total: None,
            pages: 0,
            offset: 0,
            ids: HashMap::new(),
            items: Vec::new(),
        }
    }

    /// Adds the next page: `Some(offset)` of the page to read next, `None`
    /// after a short or empty page (the only ends of a list), or why the
    /// pages do not fit together.
    pub fn add(&mut self, page: Page) -> Result<Option<u64>, Malformed> {
        self.pages += 1;
        let at = self.offset;
        match self.total {
            Some(total) if total != page.total => {
                return Err(Malformed(format!(
                    "the list's total changed from {total} to {} between pages (at offset {at})",
                    page.total
                )));
            }
            _ => self.total = Some(page.total),
        }
        if let Some(asked) = &self.job_id
            && let Some((item, other)) = page
                .items
                .iter()
                .zip(&page.job_ids)
                .find_map(|(i, j)| j.as_ref().filter(|j| *j != asked).map(|j| (i, j)))
        {
            return Err(Malformed(format!(
                "the list of job {asked}'s sub-jobs holds sub-job {} of job {other}",
                item.id
            )));
        }
        let got = page.items.len() as u64;
        let mut new = 0u64;
        for item in page.items {
            match self.ids.get(&item.id) {
                Some(status) if *status != item.status => {
                    return Err(Malformed(format!(
                        "sub-job {} is listed twice with different statuses ({status} and {}), so its state is unknown",
                        item.id, item.status
                    )));
                }
                Some(_) => {}
                None => {
                    self.ids.insert(item.id.clone(), item.status.clone());
                    new += 1;
                }
            }
            self.items.push(item);
        }
        if got > 0 && new == 0 {
            return Err(Malformed(format!(
                "the page at offset {at} only repeats items already read"
            )));
        }
        let distinct = self.ids.len() as u64;
        if distinct > page.total {
            return Err(Malformed(format!(
                "{distinct} different items were listed, more than the list's total of {}",
                page.total
            )));
        }
        self.offset += got;
        if got < self.page {
            return Ok(None);
        }
        if self.pages >= MAX_PAGES {
            return Err(Malformed(format!(
                "the list did not end after {MAX_PAGES} full pages"
            )));
        }
        Ok(Some(self.offset))
    }

    /// The list read, if it is the whole list: as many different items as
    /// the total says, and no item seen with two statuses.
    pub fn finish(self) -> Result<Observation, Malformed> {
        let distinct = self.ids.len() as u64;
        // Every page read carries a total (a page without one is malformed
        // when it is read); a list with pages but no total is no evidence.
        let total = match (self.pages, self.total) {
            (0, _) => distinct,
            (_, Some(total)) => total,
            (_, None) => {
                return Err(Malformed(
                    "the list's pages gave no total, so whether the list is whole is unknown"
                        .into(),
                ));
            }
        };
        if distinct != total {
            return Err(Malformed(format!(
                "{distinct} different item(s) were read but the list's total is {total}, so part of the list is missing (or it changed while it was read)"
            )));
        }
        model::list_observation(self.items)
    }
}

fn shape(m: Malformed) -> String {
    format!("the response does not have the documented shape: {m}")
}

fn inconsistent(m: Malformed) -> String {
    format!("the answers are not one consistent state: {m}; the poll does not count")
}

/// The error of a poll whose answers each were fine but do not fit together.
fn unanswerable(message: String) -> ApiError {
    ApiError::new(ErrorKind::Transient, message)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::model::parse_page;

    fn page(total: &str, ids: &[(&str, &str)]) -> Page {
        let items: Vec<String> = ids
            .iter()
            .map(|(id, status)| format!(r#"{{"id":"{id}","status":"{status}"}}"#))
            .collect();
        parse_page(format!(r#"{{"count":{total},"items":[{}]}}"#, items.join(",")).as_bytes())
            .unwrap()
    }

    fn read(size: u32, pages: Vec<Page>) -> Result<Observation, Malformed> {
        let mut paging = Paging::new(size, None);
        for (i, p) in pages.into_iter().enumerate() {
            let next = paging.add(p)?;
            assert!(next.is_some(), "page {i} ended the list early");
        }
        Err(Malformed("the list did not end".into()))
    }

    #[test]
    fn a_whole_list_reads_until_a_short_page() {
        let mut paging = Paging::new(2, None);
        let next = paging.add(page("3", &[("a", "SUCCESS"), ("b", "SUCCESS")]));
        assert_eq!(next, Ok(Some(2)));
        assert_eq!(paging.add(page("3", &[("c", "SUCCESS")])), Ok(None));
        assert_eq!(paging.finish().unwrap().items.len(), 3);

        // A full last page is followed by an empty one.
        let mut paging = Paging::new(2, None);
        assert_eq!(
            paging.add(page("2", &[("a", "X"), ("b", "X")])),
            Ok(Some(2))
        );
        assert_eq!(paging.add(page("2", &[])), Ok(None));
        assert!(paging.finish().is_ok());

        let mut empty = Paging::new(2, None);
        assert_eq!(empty.add(page("0", &[])), Ok(None));
        assert!(empty.finish().unwrap().items.is_empty());
    }

    #[test]
    fn a_total_that_is_not_a_whole_number_is_malformed() {
        for bad in ["1.5", "-1", "\"2\"", "null", "1e2"] {
            let body = format!(r#"{{"count":{bad},"items":[]}}"#);
            assert!(parse_page(body.as_bytes()).is_err(), "{bad}");
        }
        assert!(parse_page(br#"{"items":[]}"#).is_err(), "no total");
        assert!(parse_page(br#"{"total_count":0,"jobs":[]}"#).is_ok());
    }

    #[test]
    fn a_total_below_what_is_listed_or_above_what_was_read_is_inconsistent() {
        // The total says 2 but a full page of 2 is followed by more.
        let mut paging = Paging::new(2, None);
        paging.add(page("2", &[("a", "S"), ("b", "S")])).unwrap();
        assert!(paging.add(page("2", &[("c", "F")])).is_err());
        // The total says 3 but the list ended after 2.
        let mut paging = Paging::new(2, None);
        paging.add(page("3", &[("a", "S"), ("b", "S")])).unwrap();
        assert_eq!(paging.add(page("3", &[])), Ok(None));
        assert!(paging.finish().is_err());
        // The total changed between pages.
        let mut paging = Paging::new(2, None);
        paging.add(page("3", &[("a", "S"), ("b", "S")])).unwrap();
        assert!(paging.add(page("4", &[("c", "S")])).is_err());
    }

    #[test]
    fn a_repeated_page_is_inconsistent_and_never_ends_a_read() {
        let same = || page("1000", &[("a", "S"), ("b", "S")]);
        assert!(read(2, vec![same(), same()]).is_err());
        let mut paging = Paging::new(2, None);
        paging.add(same()).unwrap();
        assert!(paging.add(same()).unwrap_err().0.contains("repeats"));
    }

    #[test]
    fn conflicting_sightings_are_inconsistent() {
        let mut paging = Paging::new(2, None);
        paging
            .add(page("3", &[("a", "RUNNING"), ("b", "S")]))
            .unwrap();
        let err = paging.add(page("3", &[("c", "S"), ("a", "FAILED")]));
        assert!(err.unwrap_err().0.contains("different statuses"));
        // The same sighting twice is one item.
        let mut paging = Paging::new(3, None);
        paging
            .add(page("2", &[("a", "S"), ("b", "S"), ("a", "S")]))
            .unwrap();
        assert_eq!(paging.finish().unwrap().items.len(), 2);
    }

    #[test]
    fn numeric_and_textual_ids_are_one_key() {
        let body =
            br#"{"count":1,"items":[{"id":1,"status":"RUNNING"},{"id":"1","status":"FAILED"}]}"#;
        let mut paging = Paging::new(100, None);
        let err = paging.add(parse_page(body).unwrap()).unwrap_err();
        assert!(err.0.contains("sub-job 1 is listed twice"), "{err}");
    }

    #[test]
    fn items_of_another_job_are_inconsistent() {
        let body = br#"{"count":1,"items":[{"id":"s","status":"SUCCESS","job_id":"other"}]}"#;
        let mut paging = Paging::new(100, Some("mine".into()));
        assert!(paging.add(parse_page(body).unwrap()).is_err());
        let mut paging = Paging::new(100, Some("other".into()));
        assert_eq!(paging.add(parse_page(body).unwrap()), Ok(None));
    }

    #[test]
    fn counts_by_status_add_up_to_no_more_than_their_total() {
        use crate::condition::StatusSet;
        let set = |names: &[&str]| -> Option<StatusSet> {
            Some(names.iter().map(|n| Status::parse(n)).collect())
        };
        let count = |statuses: Option<StatusSet>, types: Option<Vec<String>>| fetch::Count {
            statuses,
            job_types: types,
            key: None,
        };
        let plan = [
            count(set(&["FAILED", "ABNORMAL"]), None),
            count(None, None),
            count(set(&["WAITING", "RUNNING"]), None),
            count(set(&["FAILED"]), None),
        ];
        // FAILED, ABNORMAL, total, WAITING, RUNNING, FAILED.
        assert!(counts_add_up(&plan, &[1, 0, 3, 0, 2, 1]).is_ok());
        assert!(counts_add_up(&plan, &[0, 0, 3, 0, 1, 0]).is_ok(), "others");
        // A sub-job counted RUNNING and then, read later, FAILED too.
        let twice = counts_add_up(&plan, &[1, 0, 3, 0, 3, 1]).unwrap_err();
        assert!(
            twice.0.contains("add up to 4, more than their total of 3"),
            "{twice}"
        );
        // Each set of types has its own total.
        let typed = Some(vec!["A".to_owned()]);
        let plan = [
            count(set(&["SUCCESS"]), typed.clone()),
            count(None, typed),
            count(None, None),
            count(set(&["SUCCESS"]), Some(Vec::new())),
        ];
        assert!(counts_add_up(&plan, &[2, 2, 5]).is_ok());
        assert!(counts_add_up(&plan, &[3, 2, 5]).is_err());
    }

    #[test]
    fn counts_agree_only_when_every_recount_is_unchanged() {
        let r: Vec<String> = ["FAILED", "ABNORMAL", "*", "RUNNING"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        assert!(counts_agree(&r, &[0, 0, 3, 0], &[0, 0, 3]).is_ok());
        // The last RUNNING sub-job failed after FAILED was read.
        let torn = counts_agree(&r, &[0, 0, 3, 0], &[1, 0, 3]).unwrap_err();
        assert!(torn.0.contains("FAILED answered 0, then 1"), "{torn}");
        assert!(counts_agree(&r, &[0, 0, 3, 0], &[0, 0]).is_err());
        assert!(
            counts_agree(&r[..1], &[5], &[]).is_ok(),
            "one read is one instant"
        );
    }
}
