//! Resource counters read around a measurement: Redis connections and commands by name, Postgres sessions.

use std::collections::BTreeMap;

use anyhow::{Context, Result};

/// `INFO stats` connections and `INFO commandstats` calls of one Redis server.
#[derive(Clone, Debug, Default)]
pub struct RedisCounters {
    pub connections: u64,
    pub commands: BTreeMap<String, u64>,
}

impl RedisCounters {
    pub fn read(conn: &mut redis::Connection) -> Result<Self> {
        let stats: String = redis::cmd("INFO").arg("stats").query(conn)?;
        let connections = info_field(&stats, "total_connections_received").unwrap_or(0);
        let commandstats: String = redis::cmd("INFO").arg("commandstats").query(conn)?;
        // cmdstat_eval:calls=123,usec=…
        let commands = commandstats
            .lines()
            .filter_map(|l| {
                let (name, rest) = l.strip_prefix("cmdstat_")?.split_once(':')?;
                let calls = rest
                    .strip_prefix("calls=")?
                    .split(',')
                    .next()?
                    .parse()
                    .ok()?;
                Some((name.to_owned(), calls))
            })
            .collect();
        Ok(RedisCounters {
            connections,
            commands,
        })
    }

    /// What happened between `before` and `self` (the two INFO calls themselves excluded).
    pub fn since(&self, before: &RedisCounters) -> RedisCounters {
        let mut commands: BTreeMap<String, u64> = self
            .commands
            .iter()
            .map(|(k, v)| (k.clone(), v - before.commands.get(k).copied().unwrap_or(0)))
            .filter(|(_, v)| *v > 0)
            .collect();
        if let Some(info) = commands.get_mut("info") {
            *info = info.saturating_sub(2);
        }
        commands.retain(|_, v| *v > 0);
        RedisCounters {
            connections: self.connections - before.connections,
            commands,
        }
    }

    /// Commands in all, those the scripts ran included.
    pub fn total(&self) -> u64 {
        self.commands.values().sum()
    }

    /// "per webhook: 2.00 Redis connections, 2.00 script calls (EVAL), 16.00 commands in all …".
    pub fn per(&self, n: u64, unit: &str) -> String {
        let n = n.max(1) as f64;
        let total = self.total();
        let mut by_count: Vec<(&String, &u64)> = self.commands.iter().collect();
        by_count.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
        let parts: Vec<String> = by_count
            .iter()
            .take(8)
            .map(|(name, calls)| format!("{name} {:.2}", **calls as f64 / n))
            .collect();
        let scripts = ["eval", "evalsha"]
            .iter()
            .filter_map(|name| self.commands.get(*name))
            .sum::<u64>();
        format!(
            "per {unit}: {:.2} Redis connections, {:.2} script calls (EVAL/EVALSHA), {:.2} commands \
             in all counting those the scripts run (most frequent: {})",
            self.connections as f64 / n,
            scripts as f64 / n,
            total as f64 / n,
            parts.join(", ")
        )
    }
}

/// One `name:value` field of an `INFO` reply, parsed.
pub fn info_field<T: std::str::FromStr>(info: &str, name: &str) -> Result<T> {
    info.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(':'))
        .and_then(|v| v.trim().parse().ok())
        .with_context(|| format!("INFO has no numeric {name}"))
}

/// Sessions ever opened on database `name` (`pg_stat_database.sessions`, counted at disconnect).
pub fn pg_sessions(client: &mut postgres::Client, name: &str) -> Result<i64> {
    let row = client.query_one(
        "SELECT sessions FROM pg_stat_database WHERE datname = $1",
        &[&name],
    )?;
    Ok(row.get(0))
}
