//! spin:postgres/postgres@4.0.0 with tokio-postgres, converting values and errors the way Spin 4.0.2 does.

use tokio_postgres::config::{Host, SslMode};
use tokio_postgres::NoTls;
use wasmtime::component::Resource;

use super::pg_types::{columns, convert_row, param_refs, to_sql_params};
use crate::bindings::spin::postgres::postgres::{
    self as pg, DbError, Error, ParameterValue, QueryError, RowSet,
};
use crate::runtime::HostState;

/// The `connection` resource. Spin 4 takes connections from a pool that
/// cleans session state on return, so a fresh connection per `open` behaves
/// the same for a guest.
pub struct PgConnection(tokio_postgres::Client);

type PgResult<T> = anyhow::Result<Result<T, Error>>;

impl pg::Host for HostState {}

impl pg::HostConnection for HostState {
    async fn open(&mut self, address: String) -> PgResult<Resource<PgConnection>> {
        let config = match address.parse::<tokio_postgres::Config>() {
            Ok(c) => c,
            Err(e) => return Ok(Err(Error::ConnectionFailed(e.to_string()))),
        };
        if let Err(message) = self.check_pg_hosts(&config) {
            return Ok(Err(Error::ConnectionFailed(message)));
        }
        // Real Spin connects with TLS (native-tls, certificate verified)
        // unless the URL says sslmode=disable, and so fails against a local
        // server's self-signed certificate. The test host has no TLS at all:
        // it refuses such URLs so that a missing sslmode=disable shows up here
        // rather than in production.
        if config.get_ssl_mode() != SslMode::Disable {
            return Ok(Err(Error::ConnectionFailed(
                "the test host only supports sslmode=disable: Spin would connect with TLS and \
                 verify the server certificate (add ?sslmode=disable for a local database)"
                    .to_string(),
            )));
        }
        match config.connect(NoTls).await {
            Ok((client, connection)) => {
                tokio::spawn(async move {
                    if let Err(e) = connection.await {
                        crate::log!("postgres connection error: {e}");
                    }
                });
                Ok(Ok(self.table.push(PgConnection(client))?))
            }
            Err(e) => Ok(Err(Error::ConnectionFailed(format!("{e:?}")))),
        }
    }

    async fn query(
        &mut self,
        c: Resource<PgConnection>,
        statement: String,
        params: Vec<ParameterValue>,
    ) -> PgResult<RowSet> {
        let params = match to_sql_params(&params) {
            Ok(p) => p,
            Err(e) => return Ok(Err(Error::BadParameter(debug_text(&e)))),
        };
        let client = &self.table.get(&c)?.0;
        let rows = match client.query(&statement, &param_refs(&params)).await {
            Ok(rows) => rows,
            // Spin 4.0.2's `query` hands a database error back as text: the Debug of the
            // structured error (its message and the row's values included).
            Err(e) => {
                let text = format!("{:?}", query_failed(e));
                return Ok(Err(Error::QueryFailed(QueryError::Text(text))));
            }
        };
        if rows.is_empty() {
            return Err(zero_rows_trap(&statement));
        }
        let columns = columns(&rows[0]);
        let converted = rows
            .iter()
            .map(convert_row)
            .collect::<anyhow::Result<Vec<_>>>();
        Ok(converted
            .map(|rows| RowSet { columns, rows })
            .map_err(|e| Error::QueryFailed(QueryError::Text(debug_text(&e)))))
    }

    async fn execute(
        &mut self,
        c: Resource<PgConnection>,
        statement: String,
        params: Vec<ParameterValue>,
    ) -> PgResult<u64> {
        // Spin reports conversion failures of `execute` as value-conversion-failed.
        let params = match to_sql_params(&params) {
            Ok(p) => p,
            Err(e) => return Ok(Err(Error::ValueConversionFailed(debug_text(&e)))),
        };
        let client = &self.table.get(&c)?.0;
        Ok(client
            .execute(&statement, &param_refs(&params))
            .await
            .map_err(query_failed))
    }

    async fn drop(&mut self, c: Resource<PgConnection>) -> anyhow::Result<()> {
        self.table.delete(c)?;
        Ok(())
    }
}

/// Spin 4.0.0–4.0.2 never return from a `query` whose result has zero rows: the
/// host waits for the column list that only the first row carries
/// (spinframework/spin#3671, fixed after 4.0.2). The call cannot be abandoned and
/// the Redis trigger handles one message at a time, so one such query ends all
/// work of a worker process. A silent hang here would only time tests out; a trap
/// naming the statement fails them at once.
fn zero_rows_trap(statement: &str) -> anyhow::Error {
    let shown: String = statement.chars().take(200).collect();
    let cut = if shown.len() < statement.len() {
        "…"
    } else {
        ""
    };
    anyhow::anyhow!(
        "spin:postgres query returned zero rows; Spin 4.0.0-4.0.2 would hang forever on it \
         (spinframework/spin#3671): make it return at least one row (an aggregate or a scalar \
         subquery), or use execute: {shown}{cut}"
    )
}

impl HostState {
    /// Spin checks every host of the connection string against
    /// `allowed_outbound_hosts` with scheme `postgres` (error: the
    /// connection-failed message).
    fn check_pg_hosts(&self, config: &tokio_postgres::Config) -> Result<(), String> {
        let ports = config.get_ports();
        for (i, host) in config.get_hosts().iter().enumerate() {
            let Host::Tcp(name) = host else {
                return Err("Unix sockets are not supported on WebAssembly".into());
            };
            let port = ports.get(i).or(if ports.len() == 1 {
                ports.first()
            } else {
                None
            });
            let url = match port {
                Some(p) => format!("{name}:{p}"),
                None => name.clone(),
            };
            if !self.env.allowed_hosts.check(&self.env.id, &url, "postgres") {
                return Err(format!("address postgres://{url} is not permitted"));
            }
        }
        Ok(())
    }
}

/// Spin's `format!("{e:?}")` of an anyhow error, minus the backtrace that
/// RUST_BACKTRACE would add, so that guests see the same text either way.
fn debug_text(e: &anyhow::Error) -> String {
    let mut text = e.to_string();
    let causes: Vec<String> = e.chain().skip(1).map(|c| c.to_string()).collect();
    if !causes.is_empty() {
        text.push_str("\n\nCaused by:");
        for (i, cause) in causes.iter().enumerate() {
            match causes.len() {
                1 => text.push_str(&format!("\n    {cause}")),
                _ => text.push_str(&format!("\n    {i}: {cause}")),
            }
        }
    }
    text
}

/// Spin's mapping of driver errors: structured when Postgres sent an error.
fn query_failed(e: tokio_postgres::Error) -> Error {
    let as_text = format!("{e:?}");
    Error::QueryFailed(match e.as_db_error() {
        None => QueryError::Text(as_text),
        Some(db) => {
            let mut extras = Vec::new();
            let mut extra = |name: &str, v: Option<String>| {
                if let Some(v) = v {
                    extras.push((name.to_string(), v));
                }
            };
            extra("column", db.column().map(str::to_string));
            extra("constraint", db.constraint().map(str::to_string));
            extra("routine", db.routine().map(str::to_string));
            extra("hint", db.hint().map(str::to_string));
            extra("table", db.table().map(str::to_string));
            extra("datatype", db.datatype().map(str::to_string));
            extra("schema", db.schema().map(str::to_string));
            extra("file", db.file().map(str::to_string));
            extra("line", db.line().map(|l| l.to_string()));
            extra("where_", db.where_().map(str::to_string));
            QueryError::DbError(DbError {
                as_text,
                severity: db.severity().to_string(),
                code: db.code().code().to_string(),
                message: db.message().to_string(),
                detail: db.detail().map(str::to_string),
                extras,
            })
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_zero_row_trap_names_the_statement_and_the_spin_bug() {
        let message = zero_rows_trap("SELECT 1 WHERE false").to_string();
        assert!(message.contains("SELECT 1 WHERE false"), "{message}");
        assert!(message.contains("spin#3671"), "{message}");
        assert!(message.contains("hang forever"), "{message}");
        let long = format!("SELECT {}", "x".repeat(500));
        let message = zero_rows_trap(&long).to_string();
        assert!(
            message.ends_with(&format!("{}…", &long[..200])),
            "{message}"
        );
    }
}
