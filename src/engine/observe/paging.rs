//! The pages of one list, read into one observation only when they fit
//! together (see the parent module for the rules).

use std::collections::HashMap;

use crate::api::Status;
use crate::api::model::{Item, Malformed, Observation, Page, Source};

/// A hard cap on the pages of one poll, far above any real list (10,000
/// desktop sub-jobs are 10 pages): reaching it is a server that never ends.
pub(crate) const MAX_PAGES: u32 = 10_000;

/// The most items room is made for up front, from the list's total (server
/// text): five times the largest real list (10,000 desktop sub-jobs); a
/// longer list grows as it is read.
const RESERVE_AT_MOST: u64 = 50_000;

/// The pages of one list read so far, and whether they fit together.
#[derive(Debug)]
pub(crate) struct Paging {
    page: u64,
    /// The `job_id` the list was filtered by: items of another job are not
    /// evidence about this one.
    job_id: Option<String>,
    total: Option<u64>,
    pages: u32,
    offset: u64,
    /// Each id read, with its status.
    ids: HashMap<String, Status>,
    /// The first sighting of each id, in the order read.
    items: Vec<Item>,
}

impl Paging {
    pub(crate) fn new(page: u32, job_id: Option<String>) -> Paging {
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
    pub(crate) fn add(&mut self, page: Page) -> Result<Option<u64>, Malformed> {
        self.pages += 1;
        let at = self.offset;
        match self.total {
            Some(total) if total != page.total => {
                return Err(Malformed(format!(
                    "the list's total changed from {total} to {} between pages (at offset {at})",
                    page.total
                )));
            }
            Some(_) => {}
            None => {
                self.total = Some(page.total);
                let room = page.total.min(RESERVE_AT_MOST) as usize;
                self.items.reserve(room);
                self.ids.reserve(room);
            }
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
                    self.items.push(item);
                    new += 1;
                }
            }
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

    /// Whether the different items read are as many as the list's total:
    /// the page after a full one would only show the list's end. Only
    /// ever true once a page was read (every page carries a total).
    pub(crate) fn reached_total(&self) -> bool {
        self.total == Some(self.distinct())
    }

    /// How many different items were read.
    pub(crate) fn distinct(&self) -> u64 {
        self.ids.len() as u64
    }

    /// The list read, if it is the whole list: as many different items as
    /// the total says, and no item seen with two statuses. The items move
    /// into the observation; what was read of them stays, so a page added
    /// later is still checked against it (see [`Paging::reached_total`]).
    pub(crate) fn finish(&mut self) -> Result<Observation, Malformed> {
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
        // The items are the first sighting of each id, and no id was seen
        // with two statuses: already what `model::list_observation` makes of
        // a list, without hashing every id a second time.
        Ok(Observation {
            items: std::mem::take(&mut self.items),
            source: Source::List,
            ..Observation::default()
        })
    }
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

    /// A full page that brings the list to its total can be judged at
    /// once; the page after it, when read, must still only end the list.
    #[test]
    fn a_list_at_its_total_is_whole_and_the_page_after_is_still_checked() {
        let at_total = || {
            let mut paging = Paging::new(2, None);
            assert_eq!(
                paging.add(page("4", &[("a", "S"), ("b", "S")])),
                Ok(Some(2))
            );
            assert!(!paging.reached_total());
            assert_eq!(
                paging.add(page("4", &[("c", "S"), ("d", "S")])),
                Ok(Some(4))
            );
            assert!(paging.reached_total());
            assert_eq!(paging.finish().unwrap().items.len(), 4);
            paging
        };
        assert_eq!(at_total().add(page("4", &[])), Ok(None));
        let more = at_total().add(page("4", &[("e", "F")])).unwrap_err();
        assert!(more.0.contains("more than the list's total of 4"), "{more}");
        let again = at_total().add(page("4", &[("a", "S")])).unwrap_err();
        assert!(again.0.contains("only repeats"), "{again}");
        let other = at_total().add(page("4", &[("a", "F")])).unwrap_err();
        assert!(other.0.contains("different statuses"), "{other}");
        let moved = at_total().add(page("5", &[])).unwrap_err();
        assert!(moved.0.contains("changed from 4 to 5"), "{moved}");
        // A short page at the total is the end anyway; before it, never.
        let mut paging = Paging::new(2, None);
        assert_eq!(
            paging.add(page("3", &[("a", "S"), ("b", "S")])),
            Ok(Some(2))
        );
        assert!(!paging.reached_total());
        assert!(!Paging::new(2, None).reached_total(), "no page, no total");
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
            .add(page("2", &[("b", "S"), ("a", "S"), ("b", "S")]))
            .unwrap();
        let obs = paging.finish().unwrap();
        let ids: Vec<&str> = obs.items.iter().map(|i| i.id.as_str()).collect();
        assert_eq!(ids, ["b", "a"], "each id once, first sighting first");
        assert!(obs.is_list());
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
}
