//! Apply migrations when the database lacks them, asking the database itself, so no psql is needed.

pub use beds24_sync_core::db::ensure_schema as ensure;
