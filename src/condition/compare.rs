//! Numeric comparisons such as `== 0`, `< 3` or `>= 95%`.

use std::fmt;

/// A comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operator {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

/// The right-hand side: a number of items, or a share of them.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Threshold {
    /// An absolute count.
    Count(u64),
    /// A percentage (0 to 100) of the items the filter selects.
    Percent(f64),
}

/// A parsed comparison.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Comparison {
    pub op: Operator,
    pub threshold: Threshold,
}

impl Operator {
    fn symbol(self) -> &'static str {
        match self {
            Operator::Eq => "==",
            Operator::Ne => "!=",
            Operator::Lt => "<",
            Operator::Le => "<=",
            Operator::Gt => ">",
            Operator::Ge => ">=",
        }
    }

    fn apply(self, left: f64, right: f64) -> bool {
        match self {
            Operator::Eq => left == right,
            Operator::Ne => left != right,
            Operator::Lt => left < right,
            Operator::Le => left <= right,
            Operator::Gt => left > right,
            Operator::Ge => left >= right,
        }
    }
}

impl Comparison {
    /// Parses `OP NUMBER` or `OP NUMBER%`, e.g. `== 0`, `>=95%`.
    pub fn parse(text: &str) -> Result<Comparison, String> {
        let text = text.trim();
        let ops = [
            ("==", Operator::Eq),
            ("!=", Operator::Ne),
            ("<=", Operator::Le),
            (">=", Operator::Ge),
            ("<", Operator::Lt),
            (">", Operator::Gt),
        ];
        let Some((op, rest)) = ops
            .iter()
            .find_map(|(sym, op)| text.strip_prefix(sym).map(|rest| (*op, rest.trim())))
        else {
            return Err(format!(
                "`{text}` does not start with a comparison: write e.g. `== 0`, `< 3`, `>= 95%`"
            ));
        };
        let threshold = if let Some(pct) = rest.strip_suffix('%') {
            match pct.trim().parse::<f64>() {
                Ok(p) if (0.0..=100.0).contains(&p) => Threshold::Percent(p),
                _ => return Err(format!("`{rest}` is not a percentage between 0% and 100%")),
            }
        } else {
            match rest.parse::<u64>() {
                Ok(n) => Threshold::Count(n),
                Err(_) => {
                    return Err(format!(
                        "`{rest}` is not a whole number of items (or a percentage like `95%`)"
                    ));
                }
            }
        };
        Ok(Comparison { op, threshold })
    }

    /// Whether the threshold is a share of a total.
    pub(crate) fn is_share(&self) -> bool {
        matches!(self.threshold, Threshold::Percent(_))
    }

    /// Whether the comparison is `> N` or `>= N`: a count that can only
    /// grow as more items appear proves it on part of the set.
    pub(crate) fn is_lower_bound(&self) -> bool {
        matches!(self.threshold, Threshold::Count(_))
            && matches!(self.op, Operator::Gt | Operator::Ge)
    }

    /// Compares `matched` items out of `total`. A share of an empty set is
    /// undefined and never holds.
    pub(crate) fn holds(&self, matched: u64, total: u64) -> bool {
        match self.threshold {
            Threshold::Count(n) => self.op.apply(matched as f64, n as f64),
            Threshold::Percent(_) if total == 0 => false,
            Threshold::Percent(p) => self.op.apply(matched as f64 * 100.0 / total as f64, p),
        }
    }
}

impl fmt::Display for Comparison {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.threshold {
            Threshold::Count(n) => write!(f, "{} {n}", self.op.symbol()),
            Threshold::Percent(p) => write!(f, "{} {p}%", self.op.symbol()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_applies() {
        let c = Comparison::parse("== 0").unwrap();
        assert!(c.holds(0, 10) && !c.holds(1, 10));
        let c = Comparison::parse(">=95%").unwrap();
        assert!(c.holds(95, 100) && !c.holds(94, 100));
        assert!(!c.holds(0, 0), "a share of nothing never holds");
        assert!(Comparison::parse("< 3").unwrap().holds(2, 0));
        assert!(Comparison::parse("!= 1").unwrap().holds(2, 0));
        assert!(Comparison::parse("> 1").unwrap().holds(2, 0));
        assert!(Comparison::parse("<= 1").unwrap().holds(1, 0));
    }

    #[test]
    fn rejects_bad_forms() {
        assert!(Comparison::parse("0").unwrap_err().contains("comparison"));
        assert!(
            Comparison::parse("== x")
                .unwrap_err()
                .contains("whole number")
        );
        assert!(
            Comparison::parse(">= 150%")
                .unwrap_err()
                .contains("percentage")
        );
        assert!(Comparison::parse("== -1").is_err());
    }

    #[test]
    fn displays_as_written() {
        assert_eq!(Comparison::parse(">=95%").unwrap().to_string(), ">= 95%");
    }
}
