//! The log-normal distribution: the usual model of task durations (a
//! product of many independent slow-downs), cheap to fit from a handful of
//! samples, and defined by a median and a spread that read naturally.

use std::f64::consts::{PI, SQRT_2};

/// A log-normal distribution of durations in seconds: `ln T ~ N(mu, sigma²)`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct LogNormal {
    pub(crate) mu: f64,
    pub(crate) sigma: f64,
}

/// The narrowest spread a model may claim: time stamps in whole seconds and
/// clock skew make a tighter one a false promise.
pub(crate) const MIN_SIGMA: f64 = 0.05;

impl LogNormal {
    /// The distribution with this median (seconds) and spread (the standard
    /// deviation of `ln T`); `None` for a median that is not a positive
    /// finite number.
    pub(crate) fn new(median_secs: f64, sigma: f64) -> Option<LogNormal> {
        (median_secs.is_finite() && median_secs > 0.0 && sigma.is_finite()).then(|| LogNormal {
            mu: median_secs.ln(),
            sigma: sigma.max(MIN_SIGMA),
        })
    }

    /// Fits the samples (seconds) by the moments of their logarithms, the
    /// spread shrunk toward `sigma0` as if it were `weight` more samples, so
    /// three identical samples do not claim certainty. `None` without a
    /// usable sample.
    pub(crate) fn fit(samples: &[f64], sigma0: f64, weight: f64) -> Option<LogNormal> {
        let logs: Vec<f64> = samples
            .iter()
            .filter(|s| s.is_finite() && **s > 0.0)
            .map(|s| s.ln())
            .collect();
        if logs.is_empty() {
            return None;
        }
        let n = logs.len() as f64;
        let mean = logs.iter().sum::<f64>() / n;
        let var = logs.iter().map(|l| (l - mean).powi(2)).sum::<f64>() / n;
        // The spread is shrunk; the centre is the samples' own.
        let sigma2 = (n * var + weight * sigma0.powi(2)) / (n + weight);
        Some(LogNormal {
            mu: mean,
            sigma: sigma2.sqrt().max(MIN_SIGMA),
        })
    }

    /// The median in seconds.
    #[cfg(test)]
    pub(crate) fn median(&self) -> f64 {
        self.mu.exp()
    }

    fn z(&self, t: f64) -> f64 {
        (t.ln() - self.mu) / self.sigma
    }

    /// The density at `t` seconds.
    pub(crate) fn pdf(&self, t: f64) -> f64 {
        if t <= 0.0 {
            return 0.0;
        }
        let z = self.z(t);
        (-0.5 * z * z).exp() / (t * self.sigma * (2.0 * PI).sqrt())
    }

    /// The probability of lasting longer than `t` seconds.
    pub(crate) fn sf(&self, t: f64) -> f64 {
        if t <= 0.0 {
            return 1.0;
        }
        0.5 * erfc(self.z(t) / SQRT_2)
    }
}

/// The complementary error function, with a fractional error below 1.2e-7
/// everywhere (Numerical Recipes, 2nd ed., §6.2, `erfcc`): accurate in the
/// far tail, where the hazard of a job that outlived its model is read.
pub(crate) fn erfc(x: f64) -> f64 {
    let z = x.abs();
    let t = 1.0 / (1.0 + 0.5 * z);
    let poly = -z * z - 1.265_512_23
        + t * (1.000_023_68
            + t * (0.374_091_96
                + t * (0.096_784_18
                    + t * (-0.186_288_06
                        + t * (0.278_868_07
                            + t * (-1.135_203_98
                                + t * (1.488_515_87 + t * (-0.822_152_23 + t * 0.170_872_77))))))));
    let r = t * poly.exp();
    if x >= 0.0 { r } else { 2.0 - r }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn erfc_matches_known_values() {
        for (x, want) in [
            (0.0, 1.0),
            (0.5, 0.479_500_122),
            (1.0, 0.157_299_207),
            (2.0, 0.004_677_735),
            (-1.0, 1.842_700_793),
            (5.0, 1.537_459_8e-12),
        ] {
            let got = erfc(x);
            assert!(
                (got - want).abs() <= 2e-7 * want.max(1e-300),
                "{x}: {got} vs {want}"
            );
        }
    }

    #[test]
    fn median_splits_the_mass() {
        let d = LogNormal::new(600.0, 0.5).unwrap();
        assert!((d.sf(600.0) - 0.5).abs() < 1e-6);
        assert!(d.sf(60.0) > 0.99 && d.sf(6000.0) < 0.01);
        assert!((d.median() - 600.0).abs() < 1e-6);
    }

    #[test]
    fn fit_centres_on_the_samples_and_keeps_some_doubt() {
        let fit = LogNormal::fit(&[100.0, 100.0, 100.0], 0.25, 1.0).unwrap();
        assert!((fit.median() - 100.0).abs() < 1e-6);
        assert!(fit.sigma > 0.1, "{fit:?}");
        assert_eq!(LogNormal::fit(&[f64::NAN, -1.0], 0.25, 1.0), None);
        assert_eq!(LogNormal::new(0.0, 1.0), None);
    }
}
