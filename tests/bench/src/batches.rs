//! The worker's `batch done` log lines: jobs per batch and where each batch's time went.

/// One worker `batch done` log line: jobs and where their time went (ms).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct BatchTimes {
    pub jobs: u64,
    /// Fetch time not hidden behind the previous batch's store.
    pub fetch_ms: f64,
    /// How long this batch's requests were in flight behind the previous store.
    pub overlap_ms: f64,
    pub store_ms: f64,
    pub settle_ms: f64,
}

impl BatchTimes {
    pub(crate) fn parse(line: &str) -> Option<BatchTimes> {
        let json = &line[line.find('{')?..];
        let value: serde_json::Value = serde_json::from_str(json).ok()?;
        if value["msg"] != "batch done" {
            return None;
        }
        Some(BatchTimes {
            jobs: value["jobs"].as_u64()?,
            fetch_ms: value["fetchMs"].as_f64()?,
            overlap_ms: value["overlapMs"].as_f64().unwrap_or(0.0),
            store_ms: value["storeMs"].as_f64()?,
            settle_ms: value["settleMs"].as_f64()?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_workers_batch_line() {
        let line = r#"[worker] {"fetchMs":12,"jobs":50,"level":"info","msg":"batch done","overlapMs":9,"settleMs":5,"storeMs":13,"synced":50,"timestamp":"2026-11-26T04:20:00.000Z"}"#;
        assert_eq!(
            BatchTimes::parse(line),
            Some(BatchTimes {
                jobs: 50,
                fetch_ms: 12.0,
                overlap_ms: 9.0,
                store_ms: 13.0,
                settle_ms: 5.0
            })
        );
        assert_eq!(
            BatchTimes::parse(r#"[worker] {"msg":"booking synced"}"#),
            None
        );
    }
}
