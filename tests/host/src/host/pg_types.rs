//! Value conversions for spin:postgres/postgres@4.0.0, mirroring Spin 4.0.2's (same Rust types, same quirks).

use anyhow::{anyhow, Context as _};
use chrono::{Datelike, NaiveDate, NaiveDateTime, NaiveTime, Timelike};
use rust_decimal::Decimal;
use tokio_postgres::types::{to_sql_checked, FromSql, IsNull, ToSql, Type};
use tokio_postgres::Row;

use crate::bindings::spin::postgres::postgres::{Column, DbDataType, DbValue, ParameterValue};

// ---------------------------------------------------------------- parameters

pub type SqlParam = Box<dyn ToSql + Sync + Send>;

pub fn param_refs(params: &[SqlParam]) -> Vec<&(dyn ToSql + Sync)> {
    params
        .iter()
        .map(|p| p.as_ref() as &(dyn ToSql + Sync))
        .collect()
}

pub fn to_sql_params(params: &[ParameterValue]) -> anyhow::Result<Vec<SqlParam>> {
    params.iter().map(to_sql).collect()
}

/// Same Rust types as Spin binds, so Postgres accepts and rejects the same
/// parameters (e.g. `datetime` is a TIMESTAMP, `timestamp` a TIMESTAMPTZ).
fn to_sql(value: &ParameterValue) -> anyhow::Result<SqlParam> {
    use ParameterValue as P;
    Ok(match value {
        P::Boolean(v) => Box::new(*v),
        P::Int8(v) => Box::new(*v),
        P::Int16(v) => Box::new(*v),
        P::Int32(v) => Box::new(*v),
        P::Int64(v) => Box::new(*v),
        P::Floating32(v) => Box::new(*v),
        P::Floating64(v) => Box::new(*v),
        P::Str(v) => Box::new(v.clone()),
        P::Binary(v) => Box::new(v.clone()),
        P::Date((y, m, d)) => Box::new(date(*y, *m, *d)?),
        P::Time((h, mi, s, ns)) => Box::new(time(*h, *mi, *s, *ns)?),
        P::Datetime((y, m, d, h, mi, s, ns)) => Box::new(NaiveDateTime::new(
            date(*y, *m, *d)?,
            time(*h, *mi, *s, *ns)?,
        )),
        P::Timestamp(secs) => Box::new(
            chrono::DateTime::<chrono::Utc>::from_timestamp(*secs, 0)
                .ok_or_else(|| anyhow!("invalid epoch timestamp {secs}"))?,
        ),
        P::Uuid(v) => {
            Box::new(uuid::Uuid::parse_str(v).with_context(|| format!("invalid UUID {v}"))?)
        }
        P::Jsonb(v) => Box::new(
            serde_json::from_slice::<serde_json::Value>(v)
                .with_context(|| format!("invalid JSON {}", String::from_utf8_lossy(v)))?,
        ),
        P::Decimal(v) => Box::new(decimal(v)?),
        P::ArrayInt32(v) => Box::new(v.clone()),
        P::ArrayInt64(v) => Box::new(v.clone()),
        P::ArrayStr(v) => Box::new(v.clone()),
        P::ArrayDecimal(v) => Box::new(
            v.iter()
                .map(|d| d.as_deref().map(decimal).transpose())
                .collect::<anyhow::Result<Vec<_>>>()?,
        ),
        P::DbNull => Box::new(PgNull),
        P::RangeInt32(_) | P::RangeInt64(_) | P::RangeDecimal(_) | P::Interval(_) => {
            anyhow::bail!("range and interval parameters are unsupported by the test host")
        }
    })
}

fn date(y: i32, m: u8, d: u8) -> anyhow::Result<NaiveDate> {
    NaiveDate::from_ymd_opt(y, m.into(), d.into())
        .ok_or_else(|| anyhow!("invalid date y={y}, m={m}, d={d}"))
}

fn time(h: u8, mi: u8, s: u8, ns: u32) -> anyhow::Result<NaiveTime> {
    NaiveTime::from_hms_nano_opt(h.into(), mi.into(), s.into(), ns)
        .ok_or_else(|| anyhow!("invalid time {h}:{mi}:{s}:{ns}"))
}

fn decimal(v: &str) -> anyhow::Result<Decimal> {
    Decimal::from_str_exact(v).with_context(|| format!("invalid decimal {v}"))
}

/// NULL of any type (an `Option::None` would be typed), as in Spin.
#[derive(Debug)]
struct PgNull;

impl ToSql for PgNull {
    fn to_sql(
        &self,
        _: &Type,
        _: &mut tokio_postgres::types::private::BytesMut,
    ) -> Result<IsNull, Box<dyn std::error::Error + Sync + Send>> {
        Ok(IsNull::Yes)
    }
    fn accepts(_: &Type) -> bool {
        true
    }
    to_sql_checked!();
}

// ---------------------------------------------------------------- results

pub fn columns(row: &Row) -> Vec<Column> {
    row.columns()
        .iter()
        .map(|c| Column {
            name: c.name().to_string(),
            data_type: data_type(c.type_()),
        })
        .collect()
}

fn data_type(t: &Type) -> DbDataType {
    use DbDataType as D;
    match *t {
        Type::BOOL => D::Boolean,
        Type::BYTEA => D::Binary,
        Type::FLOAT4 => D::Floating32,
        Type::FLOAT8 => D::Floating64,
        Type::INT2 => D::Int16,
        Type::INT4 => D::Int32,
        Type::INT8 => D::Int64,
        Type::TEXT | Type::VARCHAR | Type::BPCHAR => D::Str,
        Type::TIMESTAMP | Type::TIMESTAMPTZ => D::Datetime,
        Type::DATE => D::Date,
        Type::TIME => D::Time,
        Type::UUID => D::Uuid,
        Type::JSONB => D::Jsonb,
        Type::NUMERIC => D::Decimal,
        Type::INT4_RANGE => D::RangeInt32,
        Type::INT8_RANGE => D::RangeInt64,
        Type::NUM_RANGE => D::RangeDecimal,
        Type::INT4_ARRAY => D::ArrayInt32,
        Type::INT8_ARRAY => D::ArrayInt64,
        Type::NUMERIC_ARRAY => D::ArrayDecimal,
        Type::TEXT_ARRAY | Type::VARCHAR_ARRAY | Type::BPCHAR_ARRAY => D::ArrayStr,
        Type::INTERVAL => D::Interval,
        _ => D::Other(t.name().to_string()),
    }
}

pub fn convert_row(row: &Row) -> anyhow::Result<Vec<DbValue>> {
    (0..row.len()).map(|i| convert_value(row, i)).collect()
}

/// Reads column `i` as Spin does. Note Spin reads TIMESTAMPTZ as a chrono
/// `NaiveDateTime`, which tokio-postgres refuses, so selecting a TIMESTAMPTZ
/// column fails the query in Spin 4.0.2; this host fails the same way.
fn convert_value(row: &Row, i: usize) -> anyhow::Result<DbValue> {
    fn get<'a, T: FromSql<'a>>(
        row: &'a Row,
        i: usize,
        f: impl FnOnce(T) -> anyhow::Result<DbValue>,
    ) -> anyhow::Result<DbValue> {
        match row.try_get::<_, Option<T>>(i)? {
            Some(v) => f(v),
            None => Ok(DbValue::DbNull),
        }
    }
    use DbValue as V;
    let t = row.columns()[i].type_().clone();
    match t {
        Type::BOOL => get(row, i, |v| Ok(V::Boolean(v))),
        Type::BYTEA => get(row, i, |v| Ok(V::Binary(v))),
        Type::FLOAT4 => get(row, i, |v| Ok(V::Floating32(v))),
        Type::FLOAT8 => get(row, i, |v| Ok(V::Floating64(v))),
        Type::INT2 => get(row, i, |v| Ok(V::Int16(v))),
        Type::INT4 => get(row, i, |v| Ok(V::Int32(v))),
        Type::INT8 => get(row, i, |v| Ok(V::Int64(v))),
        Type::TEXT | Type::VARCHAR | Type::BPCHAR => get(row, i, |v| Ok(V::Str(v))),
        Type::TIMESTAMP | Type::TIMESTAMPTZ => get(row, i, |v: NaiveDateTime| {
            Ok(V::Datetime((
                v.year(),
                v.month().try_into()?,
                v.day().try_into()?,
                v.hour().try_into()?,
                v.minute().try_into()?,
                v.second().try_into()?,
                v.nanosecond(),
            )))
        }),
        Type::DATE => get(row, i, |v: NaiveDate| {
            Ok(V::Date((
                v.year(),
                v.month().try_into()?,
                v.day().try_into()?,
            )))
        }),
        Type::TIME => get(row, i, |v: NaiveTime| {
            Ok(V::Time((
                v.hour().try_into()?,
                v.minute().try_into()?,
                v.second().try_into()?,
                v.nanosecond(),
            )))
        }),
        Type::UUID => get(row, i, |v: uuid::Uuid| Ok(V::Uuid(v.to_string()))),
        Type::JSONB => get(row, i, |v: serde_json::Value| {
            Ok(V::Jsonb(
                serde_json::to_vec(&v).context("invalid JSON from database")?,
            ))
        }),
        Type::NUMERIC => get(row, i, |v: Decimal| Ok(V::Decimal(v.to_string()))),
        Type::INT4_ARRAY => get(row, i, |v| Ok(V::ArrayInt32(v))),
        Type::INT8_ARRAY => get(row, i, |v| Ok(V::ArrayInt64(v))),
        Type::TEXT_ARRAY | Type::VARCHAR_ARRAY | Type::BPCHAR_ARRAY => {
            get(row, i, |v| Ok(V::ArrayStr(v)))
        }
        Type::NUMERIC_ARRAY => get(row, i, |v: Vec<Option<Decimal>>| {
            Ok(V::ArrayDecimal(
                v.iter().map(|d| d.map(|d| d.to_string())).collect(),
            ))
        }),
        Type::INT4_RANGE | Type::INT8_RANGE | Type::NUM_RANGE | Type::INTERVAL => {
            anyhow::bail!("column type {} is not supported by the test host", t.name())
        }
        // Anything else comes back as raw bytes, as Spin's `Other` does.
        _ => get(row, i, |v: RawBytes| Ok(V::Unsupported(v.0))),
    }
}

/// Accepts any type and keeps the wire bytes.
struct RawBytes(Vec<u8>);

impl<'a> FromSql<'a> for RawBytes {
    fn from_sql(_: &Type, raw: &'a [u8]) -> Result<Self, Box<dyn std::error::Error + Sync + Send>> {
        Ok(Self(raw.to_vec()))
    }
    fn accepts(_: &Type) -> bool {
        true
    }
}
