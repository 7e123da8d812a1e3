//! The account's API credit budget (100 per 5 minutes by default), read from response headers.

/// What one response said about credits. Absent headers are unknown, not zero.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Credits {
    /// Credits left in the current five-minute window (`x-five-min-limit-remaining`).
    pub remaining: Option<f64>,
    /// Seconds until the window resets (`x-five-min-limit-resets-in`).
    pub resets_in_s: Option<f64>,
    /// What this request cost (`x-request-cost`).
    pub cost: Option<f64>,
}

impl Credits {
    /// Read the headers Beds24 really sends, falling back to the spec's names.
    pub fn from_headers<'a>(headers: impl IntoIterator<Item = (&'a str, &'a str)>) -> Self {
        let mut credits = Credits::default();
        for (name, value) in headers {
            let number = value.trim().parse::<f64>().ok().filter(|n| n.is_finite());
            match name.to_ascii_lowercase().as_str() {
                "x-five-min-limit-remaining" => credits.remaining = number.or(credits.remaining),
                "x-fivemincreditlimit-remaining" => {
                    credits.remaining = credits.remaining.or(number)
                }
                "x-five-min-limit-resets-in" => {
                    credits.resets_in_s = number.or(credits.resets_in_s)
                }
                "x-fivemincreditlimit-resetsin" => {
                    credits.resets_in_s = credits.resets_in_s.or(number)
                }
                "x-request-cost" => credits.cost = number.or(credits.cost),
                "x-requestcost" => credits.cost = credits.cost.or(number),
                _ => {}
            }
        }
        credits
    }

    /// Whole seconds until the window resets, rounded up.
    pub fn resets_in_whole_s(&self) -> Option<u64> {
        self.resets_in_s.map(|s| s.max(0.0).ceil() as u64)
    }
}

/// The shared budget as last seen by any worker (stored in Redis).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CreditsBudget {
    /// Credits left when last seen.
    pub remaining: f64,
    /// When the window resets (epoch ms).
    pub resets_at_ms: i64,
}

impl CreditsBudget {
    /// When work must wait for the window to reset, the time to wait until: only when
    /// `remaining` is at or below `reserve` and the reset is still ahead of `now_ms`.
    pub fn wait_until(&self, reserve: f64, now_ms: i64) -> Option<i64> {
        (self.remaining <= reserve && self.resets_at_ms > now_ms).then_some(self.resets_at_ms)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_fractional_headers_case_insensitively() {
        let c = Credits::from_headers([
            ("X-Five-Min-Limit-Remaining", "97.8"),
            ("x-five-min-limit-resets-in", "41.2"),
            ("x-request-cost", "1.2"),
            ("content-type", "application/json"),
        ]);
        assert_eq!(
            c,
            Credits {
                remaining: Some(97.8),
                resets_in_s: Some(41.2),
                cost: Some(1.2)
            }
        );
        assert_eq!(c.resets_in_whole_s(), Some(42));
    }

    #[test]
    fn spec_names_are_a_fallback_and_absent_is_unknown() {
        let c = Credits::from_headers([("X-FiveMinCreditLimit-Remaining", "5")]);
        assert_eq!(c.remaining, Some(5.0));
        assert_eq!(Credits::from_headers([]), Credits::default());
    }

    #[test]
    fn waits_only_below_the_reserve_before_the_reset() {
        let b = CreditsBudget {
            remaining: 3.0,
            resets_at_ms: 10_000,
        };
        assert_eq!(b.wait_until(5.0, 1_000), Some(10_000));
        assert_eq!(b.wait_until(2.0, 1_000), None);
        assert_eq!(b.wait_until(5.0, 20_000), None);
    }
}
