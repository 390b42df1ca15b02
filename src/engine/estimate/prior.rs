//! The default prior per job kind: what jobgate assumes about a job's
//! duration when nothing else is known.
//!
//! The medians and spreads are conservative guesses, not measurements: the
//! API reference documents no durations. They are deliberately wide (a
//! spread of 0.6–0.7 puts nine in ten jobs within a factor of about 2.5 of
//! the median), and a few past durations of the job type outweigh them.
//! Jobs much shorter than the prior are still seen soon: the model always
//! keeps a vague part that covers seconds, and the schedule polls young jobs
//! at the floor.

use super::lognormal::LogNormal;
use crate::spec::Target;

/// One kind's prior, in real-time seconds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Prior {
    pub(crate) median_secs: f64,
    pub(crate) sigma: f64,
    /// Whether the prior is of one member (a server, a desktop) of a job
    /// that ends with its slowest member.
    pub(crate) per_member: bool,
}

/// Image builds (`image_job`, image sub-jobs): creating a server, installing,
/// and capturing an image, guessed at 20 minutes.
pub(crate) const IMAGE: Prior = Prior {
    median_secs: 20.0 * 60.0,
    sigma: 0.7,
    per_member: false,
};

/// One app server of an app-server job, guessed at 8 minutes.
pub(crate) const APP_SERVER: Prior = Prior {
    median_secs: 8.0 * 60.0,
    sigma: 0.6,
    per_member: true,
};

/// One desktop of a desktop job, guessed at 6 minutes.
pub(crate) const DESKTOP: Prior = Prior {
    median_secs: 6.0 * 60.0,
    sigma: 0.6,
    per_member: true,
};

/// The prior for a wait's target; `None` for `get`, whose answer may be
/// anything.
pub(crate) fn for_target(target: &Target) -> Option<Prior> {
    match target {
        Target::ImageJob { .. } | Target::ImageSubJobs(_) | Target::ImageSubJobCount(_) => {
            Some(IMAGE)
        }
        Target::AppServerJob { .. }
        | Target::AppServerSubJobs(_)
        | Target::AppServerSubJobCount(_) => Some(APP_SERVER),
        Target::DesktopJob { .. } | Target::DesktopSubJobs(_) => Some(DESKTOP),
        Target::Get { .. } => None,
    }
}

impl Prior {
    /// The distribution, its median divided by the time scale.
    pub(crate) fn scaled(&self, scale: f64) -> LogNormal {
        LogNormal::new(self.median_secs / scale, self.sigma).expect("positive constant medians")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scaling_divides_the_median_only() {
        let d = IMAGE.scaled(60.0);
        assert!((d.median() - 20.0).abs() < 1e-9);
        assert_eq!(d.sigma, IMAGE.sigma);
    }
}
