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
//!   An id seen twice with different statuses is inconsistent. When a full
//!   page brings the items read to the total, the list is judged without
//!   the (empty) page after it only if it leaves the wait pending, as with
//!   counts: a read that would end the wait reads that page too, so a total
//!   below the true list's length never opens the gate.
//! - **Counts** that would decide the wait (its verdict is anything but
//!   pending) are read a second time, every request but the last, in the
//!   same order: if each count is unchanged, each held from its first read
//!   to its second, so all of them held at the instant of the last request
//!   (a double collect). Any change means the state moved while it was
//!   read, and the poll does not count.
//! - **A job** answer must be about the job asked for (its `id`).

use std::collections::BTreeMap;
use std::time::Duration;

use tokio::time::Instant;

use crate::api::Status;
use crate::api::client::{ApiError, Body, ErrorKind};
use crate::api::model::{self, Malformed, Observation, Source};
use crate::api::request::ApiRequest;
use crate::condition::{Verdict, judge};
use crate::engine::fetch::{self, Plan};
use crate::engine::gate::Gate;
use crate::spec::Wait;

mod paging;

pub(crate) use paging::Paging;

/// Counts requests as they go out, so that a poll cut short (a signal, the
/// deadline) still reports every request it sent.
pub(crate) type Tally<'a> = &'a (dyn Fn(i64) + Sync);

/// Makes the requests of one poll of `wait`. Returns the observation (or
/// the first error; `None` if the gate could not send a request before
/// `deadline`) and how many requests this wait sent. `tally` hears of each
/// request before it may go out (+1) and of each that did not (-1), so a
/// poll dropped while a request is in flight has already counted it.
pub(crate) async fn poll(
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
        Plan::Paged { request, page } => paged(&mut sender, wait, request, *page).await,
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
pub(crate) fn request_timeout(deadline: Instant) -> Duration {
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

async fn paged(sender: &mut Sender<'_>, wait: &Wait, request: &ApiRequest, page: u32) -> Polled {
    let job_id = request
        .query
        .iter()
        .find(|(k, _)| k == "job_id")
        .map(|(_, v)| v.clone());
    let mut paging = Paging::new(page, job_id);
    let mut offset = 0;
    // Once the items read reach the total: the list as read, judged.
    let mut whole: Option<Observation> = None;
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
        let next = paging
            .add(parsed)
            .map_err(|m| body.malformed(inconsistent(m)))?;
        if let Some(obs) = whole.take() {
            // The page after the total: `add` refuses any item on it (new
            // ones pass the total, old ones only repeat), so it ended the list.
            return match next {
                None => Ok(Some(obs)),
                Some(_) => Err(unanswerable(inconsistent(Malformed(format!(
                    "the list went on after its total of {} items",
                    paging.distinct()
                ))))),
            };
        }
        match next {
            Some(next) if paging.reached_total() => {
                let obs = paging.finish().map_err(|m| unanswerable(inconsistent(m)))?;
                // Only a verdict needs the proof that the list ends here.
                if matches!(judge(&wait.rules, &obs), Verdict::Pending { .. }) {
                    return Ok(Some(obs));
                }
                whole = Some(obs);
                offset = next;
            }
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
pub(crate) fn counts_add_up(counts: &[fetch::Count], values: &[u64]) -> Result<(), Malformed> {
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
pub(crate) fn counts_agree(
    requests: &[String],
    first: &[u64],
    again: &[u64],
) -> Result<(), Malformed> {
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
