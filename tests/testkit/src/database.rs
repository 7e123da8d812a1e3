//! A fresh database in the shared Postgres server, dropped afterwards.

use anyhow::Context;

pub struct Database {
    pub name: String,
    admin_url: String,
}

impl Database {
    /// `TEST_DATABASE_ADMIN_URL` (default postgres://postgres:postgres@127.0.0.1:5432/postgres)
    /// names the server; `tag` and the process id make the name unique.
    pub fn create(tag: &str) -> Self {
        Self::try_create(tag)
            .expect("Postgres must be running on 127.0.0.1:5432 (scripts/services starts it)")
    }

    pub fn try_create(tag: &str) -> anyhow::Result<Self> {
        let admin_url = std::env::var("TEST_DATABASE_ADMIN_URL")
            .unwrap_or_else(|_| "postgres://postgres:postgres@127.0.0.1:5432/postgres".into());
        let name = format!("b24_{tag}_{}", std::process::id());
        let mut admin = postgres::Client::connect(&admin_url, postgres::NoTls)
            .context("connecting to Postgres")?;
        // Two statements: CREATE/DROP DATABASE cannot share a transaction.
        admin.batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))?;
        admin.batch_execute(&format!("CREATE DATABASE {name}"))?;
        Ok(Database { name, admin_url })
    }

    pub fn url(&self) -> String {
        format!(
            "{}/{}",
            self.admin_url.rsplit_once('/').map_or("", |p| p.0),
            self.name
        )
    }

    /// The URL with the port replaced (to go through a proxy).
    pub fn url_via(&self, port: Option<u16>) -> String {
        match port {
            Some(port) => self
                .url()
                .replace("127.0.0.1:5432", &format!("127.0.0.1:{port}")),
            None => self.url(),
        }
    }

    pub fn client(&self) -> postgres::Client {
        postgres::Client::connect(&self.url(), postgres::NoTls)
            .expect("connect to the test database")
    }
}

impl Drop for Database {
    fn drop(&mut self) {
        if let Ok(mut admin) = postgres::Client::connect(&self.admin_url, postgres::NoTls) {
            let _ = admin.batch_execute(&format!(
                "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                self.name
            ));
        }
    }
}
