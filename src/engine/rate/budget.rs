//! The retries a run may still spend, shared by every wait.

/// Retries shared by every wait of a run, like the AWS SDKs' standard
/// mode: a retry costs tokens, a success refunds one, and an empty bucket
/// means no more retries, so a failing API is not hammered by every wait
/// spending its own error budget. A retry costs two successes (AWS: five),
/// so the budget lasts while at least two answers in three succeed: an API
/// that is merely flaky (a quarter of its answers failing) keeps being
/// retried, one that mostly fails is not.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct RetryBudget {
    tokens: u32,
}

impl RetryBudget {
    pub(crate) const CAPACITY: u32 = 500;
    /// What a retry after an error or a throttle costs.
    pub(crate) const COST: u32 = 2;
    /// What a successful answer refunds.
    pub(crate) const REFUND: u32 = 1;

    pub(crate) fn new() -> Self {
        RetryBudget {
            tokens: Self::CAPACITY,
        }
    }

    /// Takes the cost of one retry; `false` (and nothing taken) when the
    /// budget cannot pay it.
    pub(crate) fn spend(&mut self) -> bool {
        match self.tokens.checked_sub(Self::COST) {
            Some(left) => {
                self.tokens = left;
                true
            }
            None => false,
        }
    }

    pub(crate) fn refund(&mut self) {
        self.tokens = (self.tokens + Self::REFUND).min(Self::CAPACITY);
    }
}

impl Default for RetryBudget {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_retry_budget_runs_dry_and_successes_refill_it() {
        let mut b = RetryBudget::new();
        let mut retries = 0;
        while b.spend() {
            retries += 1;
        }
        assert_eq!(retries, RetryBudget::CAPACITY / RetryBudget::COST);
        b.refund();
        assert!(!b.spend(), "one success does not pay a retry");
        b.refund();
        assert!(b.spend(), "two do");
        for _ in 0..10_000 {
            b.refund();
        }
        assert_eq!(b, RetryBudget::new(), "never above its capacity");
    }
}
