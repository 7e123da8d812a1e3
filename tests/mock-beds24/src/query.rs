//! Query-string access that keeps repeated keys (`?id=1&id=2`), as Beds24 array filters need.

use url::form_urlencoded;

use crate::key::BookingKey;

#[derive(Debug, Default, Clone)]
pub(crate) struct Params {
    pairs: Vec<(String, String)>,
}

impl Params {
    pub(crate) fn parse(raw: Option<&str>) -> Self {
        let pairs = form_urlencoded::parse(raw.unwrap_or("").as_bytes())
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        Params { pairs }
    }

    /// Every value of `key`, in order.
    pub(crate) fn all(&self, key: &str) -> Vec<String> {
        self.pairs
            .iter()
            .filter(|(k, _)| k == key)
            .map(|(_, v)| v.clone())
            .collect()
    }

    pub(crate) fn first(&self, key: &str) -> Option<&str> {
        self.pairs
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// Boolean flags are only on when literally `true` (as the API documents them).
    pub(crate) fn flag(&self, key: &str) -> bool {
        self.first(key)
            .is_some_and(|v| v.eq_ignore_ascii_case("true"))
    }

    /// Re-encodes the query with `page` replaced, for `pages.nextPageLink`.
    pub(crate) fn with_page(&self, page: usize) -> String {
        let mut s = form_urlencoded::Serializer::new(String::new());
        for (k, v) in self.pairs.iter().filter(|(k, _)| k != "page") {
            s.append_pair(k, v);
        }
        s.append_pair("page", &page.to_string());
        s.finish()
    }

    /// Values of a repeatable array filter; a comma list in one value is a 400 in
    /// the real API, which wants the key repeated instead.
    pub(crate) fn array(&self, key: &str) -> Result<Vec<String>, String> {
        let vals = self.all(key);
        if let Some(bad) = vals.iter().find(|v| v.contains(',')) {
            return Err(format!(
                "{key}: invalid value '{bad}': comma separated lists are not accepted, repeat the parameter ({key}=a&{key}=b)"
            ));
        }
        Ok(vals)
    }

    /// Like `array`, parsed as integer ids.
    pub(crate) fn ids(&self, key: &str) -> Result<Vec<u64>, String> {
        self.array(key)?
            .iter()
            .map(|v| {
                v.trim()
                    .parse::<u64>()
                    .map_err(|_| format!("{key}: '{v}' is not an integer"))
            })
            .collect()
    }

    /// Like `array`, as booking ids in text form (`82279106`, `TEST123`); only an
    /// empty value is refused.
    pub(crate) fn keys(&self, key: &str) -> Result<Vec<BookingKey>, String> {
        self.array(key)?
            .iter()
            .map(|v| BookingKey::parse(v).ok_or_else(|| format!("{key}: empty value")))
            .collect()
    }

    /// 1-based page number; absent means 1.
    pub(crate) fn page(&self) -> Result<usize, String> {
        match self.first("page") {
            None => Ok(1),
            Some(v) => match v.parse::<usize>() {
                Ok(n) if n >= 1 => Ok(n),
                _ => Err(format!("page: '{v}' is not a positive integer")),
            },
        }
    }
}
