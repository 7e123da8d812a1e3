//! The per-account credit ledger behind the `x-five-min-limit-*` headers.

use std::time::{Duration, Instant};

use crate::types::CreditsConfig;

/// Credits are kept in thousandths so that `0.1` per result adds up exactly
/// (floating point would print `97.80000000000001`).
pub(crate) type Milli = i64;

pub(crate) fn to_milli(credits: f64) -> Milli {
    (credits * 1000.0).round() as Milli
}

/// Formats like the real headers: `97.8`, `1.2`, `100`.
pub(crate) fn format_credits(milli: Milli) -> String {
    let sign = if milli < 0 { "-" } else { "" };
    let abs = milli.unsigned_abs();
    let (whole, frac) = (abs / 1000, abs % 1000);
    if frac == 0 {
        return format!("{sign}{whole}");
    }
    let frac = format!("{frac:03}");
    format!("{sign}{whole}.{}", frac.trim_end_matches('0'))
}

#[derive(Debug)]
pub(crate) struct Ledger {
    cfg: CreditsConfig,
    spent: Milli,
    /// `None` until the first charge: the window is anchored to real use, so an idle
    /// mock always reports a full budget and a full window.
    window_start: Option<Instant>,
}

impl Ledger {
    pub(crate) fn new(cfg: CreditsConfig) -> Self {
        Ledger {
            cfg,
            spent: 0,
            window_start: None,
        }
    }

    pub(crate) fn config(&self) -> &CreditsConfig {
        &self.cfg
    }

    /// Replaces the configuration and starts a fresh window with the full budget.
    pub(crate) fn reconfigure(&mut self, cfg: CreditsConfig) {
        *self = Ledger::new(cfg);
    }

    fn roll(&mut self, now: Instant) {
        if let Some(start) = self.window_start {
            if now.duration_since(start) >= self.cfg.window {
                self.spent = 0;
                self.window_start = None;
            }
        }
    }

    /// Remaining credits, never below zero (the last request may overshoot).
    pub(crate) fn remaining(&mut self, now: Instant) -> Milli {
        self.roll(now);
        (to_milli(self.cfg.budget) - self.spent).max(0)
    }

    pub(crate) fn exhausted(&mut self, now: Instant) -> bool {
        self.remaining(now) <= 0
    }

    /// Whole seconds until the budget is refilled, rounded up.
    pub(crate) fn resets_in(&mut self, now: Instant) -> u64 {
        self.roll(now);
        let left = match self.window_start {
            Some(start) => self.cfg.window.saturating_sub(now.duration_since(start)),
            None => self.cfg.window,
        };
        ceil_secs(left)
    }

    /// Cost of a successful data request that returned `results` items.
    pub(crate) fn cost(&self, results: usize) -> Milli {
        to_milli(self.cfg.base_cost) + to_milli(self.cfg.per_result_cost) * results as Milli
    }

    pub(crate) fn charge(&mut self, now: Instant, cost: Milli) {
        if cost <= 0 {
            return;
        }
        self.roll(now);
        self.window_start.get_or_insert(now);
        self.spent += cost;
    }
}

fn ceil_secs(d: Duration) -> u64 {
    d.as_secs() + u64::from(d.subsec_nanos() > 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_like_the_real_headers() {
        assert_eq!(format_credits(97_800), "97.8");
        assert_eq!(format_credits(1_200), "1.2");
        assert_eq!(format_credits(100_000), "100");
        assert_eq!(format_credits(1_250), "1.25");
        assert_eq!(format_credits(0), "0");
    }

    #[test]
    fn window_refills_after_reset() {
        let mut l = Ledger::new(CreditsConfig {
            budget: 2.0,
            window: Duration::from_secs(10),
            base_cost: 1.0,
            per_result_cost: 0.1,
        });
        let t0 = Instant::now();
        assert_eq!(l.resets_in(t0), 10);
        l.charge(t0, l.cost(2));
        assert_eq!(l.remaining(t0), 800);
        l.charge(t0, l.cost(0));
        assert!(l.exhausted(t0));
        assert_eq!(l.remaining(t0 + Duration::from_secs(10)), 2000);
    }
}
