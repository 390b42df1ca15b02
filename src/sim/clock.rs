//! The simulator's clock: offsets from its start (which drive timelines) and
//! the wall-clock time stamps responses show, in each service's format.

use std::time::{Duration, Instant};

use jiff::Timestamp;

/// When the simulator started, on the monotonic and the wall clock.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Clock {
    started: Instant,
    wall_start: Timestamp,
}

impl Clock {
    /// A clock starting now.
    pub(crate) fn start() -> Self {
        Self {
            started: Instant::now(),
            wall_start: Timestamp::now(),
        }
    }

    /// A clock whose offset 0 is shown as `wall_start` (for tests).
    #[cfg(test)]
    pub(crate) fn starting_at(wall_start: Timestamp) -> Self {
        Self {
            started: Instant::now(),
            wall_start,
        }
    }

    /// The start on the wall clock, in microseconds since the Unix epoch:
    /// lets a benchmark convert offsets (ground truth) into wall-clock
    /// times without guessing when the process started.
    pub(crate) fn started_unix_us(&self) -> i64 {
        self.wall_start.as_microsecond()
    }

    /// Time elapsed since the start: the offset timelines are evaluated at.
    pub(crate) fn offset(&self) -> Duration {
        self.started.elapsed()
    }

    /// The wall-clock time of `offset`, or `None` if it is beyond the
    /// representable range (absurd offsets in a scenario).
    fn wall(&self, offset: Duration) -> Option<Timestamp> {
        self.wall_start.checked_add(offset).ok()
    }

    /// The wall-clock time `ago` before the start (past jobs).
    fn wall_before(&self, ago: Duration) -> Option<Timestamp> {
        self.wall_start.checked_sub(ago).ok()
    }

    /// [`Clock::appstream_time`] of a moment `ago` before the start.
    pub(crate) fn appstream_time_before(&self, ago: Duration) -> Option<String> {
        Some(appstream_format(self.wall_before(ago)?))
    }

    /// Application Streaming's format, e.g. `2024-05-20T10:39:49.61Z`:
    /// milliseconds without trailing zeros, UTC.
    pub(crate) fn appstream_time(&self, offset: Duration) -> Option<String> {
        Some(appstream_format(self.wall(offset)?))
    }

    /// Workspace's format, e.g. `2020-04-10 06:45:14` (UTC).
    pub(crate) fn workspace_time(&self, offset: Duration) -> Option<String> {
        let wall = self.wall(offset)?;
        Some(wall.strftime("%Y-%m-%d %H:%M:%S").to_string())
    }
}

fn appstream_format(wall: Timestamp) -> String {
    let mut text = wall.strftime("%Y-%m-%dT%H:%M:%S").to_string();
    let millis = wall.subsec_millisecond();
    if millis > 0 {
        let fraction = format!("{millis:03}");
        text.push('.');
        text.push_str(fraction.trim_end_matches('0'));
    }
    text.push('Z');
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_match_the_api_pages() {
        let start: Timestamp = "2024-05-20T10:39:49.61Z".parse().unwrap();
        let clock = Clock::starting_at(start);
        assert_eq!(
            clock.appstream_time(Duration::ZERO).unwrap(),
            "2024-05-20T10:39:49.61Z"
        );
        assert_eq!(
            clock.appstream_time(Duration::from_millis(390)).unwrap(),
            "2024-05-20T10:39:50Z"
        );
        assert_eq!(
            clock.appstream_time(Duration::from_millis(1596)).unwrap(),
            "2024-05-20T10:39:51.206Z"
        );
        assert_eq!(
            clock.workspace_time(Duration::from_secs(60)).unwrap(),
            "2024-05-20 10:40:49"
        );
        assert_eq!(
            clock
                .appstream_time_before(Duration::from_secs(49))
                .unwrap(),
            "2024-05-20T10:39:00.61Z"
        );
        assert!(clock.appstream_time(Duration::MAX).is_none());
        assert_eq!(clock.started_unix_us(), start.as_microsecond());
        assert_eq!(clock.started_unix_us() % 1_000_000, 610_000);
    }
}
