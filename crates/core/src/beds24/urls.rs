//! URLs of the Beds24 calls we make, built with `url` (ids and filters repeat the key).

use url::Url;

use super::Endpoint;
use crate::BookingId;

/// Every booking status: `GET /bookings` hides `cancelled` unless asked for, and
/// array filters repeat the key (a comma list is a 400).
pub const ALL_STATUSES: [&str; 6] = [
    "confirmed",
    "request",
    "new",
    "cancelled",
    "black",
    "inquiry",
];

/// What every bookings query asks for besides its filter: all statuses (Beds24 hides
/// `cancelled` otherwise; array filters repeat the key), invoice and info items, the page.
fn every_status_with_items(
    q: &mut url::form_urlencoded::Serializer<'_, url::UrlQuery<'_>>,
    page: u32,
) {
    for status in ALL_STATUSES {
        q.append_pair("status", status);
    }
    q.append_pair("includeInvoiceItems", "true");
    q.append_pair("includeInfoItems", "true");
    if page > 1 {
        q.append_pair("page", &page.to_string());
    }
}

/// The filters of a bookings listing. Beds24 lists only current and upcoming stays
/// when no date filter is given, so a bulk run always sets one.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListQuery {
    /// Only bookings modified at or after this time.
    pub modified_from: Option<chrono::DateTime<chrono::Utc>>,
    /// Only bookings arriving on or after this date.
    pub arrival_from: Option<chrono::NaiveDate>,
    /// Only bookings arriving on or before this date.
    pub arrival_to: Option<chrono::NaiveDate>,
}

/// The configured API base is not an http(s) URL that can carry a path.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
#[error("beds24_api_url is not a valid http(s) URL: {0}")]
pub struct BadBaseUrl(String);

/// The configured API base, e.g. `https://api.beds24.com/v2`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiBase(Url);

impl ApiBase {
    /// Parse the configured base (surrounding blanks ignored; http or https only).
    pub fn parse(text: &str) -> Result<Self, BadBaseUrl> {
        let url = Url::parse(text.trim()).map_err(|e| BadBaseUrl(format!("{text:?}: {e}")))?;
        if !matches!(url.scheme(), "http" | "https") || url.cannot_be_a_base() {
            return Err(BadBaseUrl(text.to_owned()));
        }
        Ok(Self(url))
    }

    /// The URL of `endpoint` below the base, with no query.
    pub fn url(&self, endpoint: Endpoint) -> Url {
        let mut url = self.0.clone();
        let base = url.path().trim_end_matches('/').to_owned();
        url.set_path(&format!("{base}/{}", endpoint.path()));
        url.set_query(None);
        url.set_fragment(None);
        url
    }

    /// `GET /bookings?id=…&id=…&status=…×6&includeInvoiceItems=true&includeInfoItems=true[&page=n]`
    pub fn bookings(&self, ids: &[BookingId], page: u32) -> Url {
        let mut url = self.url(Endpoint::Bookings);
        {
            let mut q = url.query_pairs_mut();
            for id in ids {
                q.append_pair("id", id.as_str());
            }
            every_status_with_items(&mut q, page);
        }
        url
    }

    /// `GET /bookings` listing every status with invoice and info items, filtered by
    /// `query` (bulk runs: bookings modified since a time, or arriving in a range).
    pub fn booking_list(&self, query: &ListQuery, page: u32) -> Url {
        let mut url = self.url(Endpoint::Bookings);
        {
            let mut q = url.query_pairs_mut();
            if let Some(from) = query.modified_from {
                q.append_pair(
                    "modifiedFrom",
                    &from.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                );
            }
            if let Some(from) = query.arrival_from {
                q.append_pair("arrivalFrom", &from.to_string());
            }
            if let Some(to) = query.arrival_to {
                q.append_pair("arrivalTo", &to.to_string());
            }
            every_status_with_items(&mut q, page);
        }
        url
    }

    /// `GET /bookings/messages?bookingId=…&bookingId=…[&page=n]`
    pub fn messages(&self, ids: &[BookingId], page: u32) -> Url {
        let mut url = self.url(Endpoint::Messages);
        {
            let mut q = url.query_pairs_mut();
            for id in ids {
                q.append_pair("bookingId", id.as_str());
            }
            if page > 1 {
                q.append_pair("page", &page.to_string());
            }
        }
        url
    }

    /// `GET /bookings/messages[?page=n]`: every message of the account (a backfill lists
    /// them in pages of their own: far fewer calls than one per page of bookings).
    pub fn all_messages(&self, page: u32) -> Url {
        self.messages(&[], page)
    }

    /// `GET /properties[?page=n]`
    pub fn properties(&self, page: u32) -> Url {
        let mut url = self.url(Endpoint::Properties);
        if page > 1 {
            url.query_pairs_mut().append_pair("page", &page.to_string());
        }
        url
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(list: &[&str]) -> Vec<BookingId> {
        list.iter().map(|s| BookingId::parse(s).unwrap()).collect()
    }

    #[test]
    fn bookings_url_repeats_ids_and_lists_every_status() {
        let base = ApiBase::parse("https://api.beds24.com/v2").unwrap();
        let url = base.bookings(&ids(&["1", "22"]), 1);
        assert_eq!(
            url.as_str(),
            "https://api.beds24.com/v2/bookings?id=1&id=22&status=confirmed&status=request&status=new\
             &status=cancelled&status=black&status=inquiry&includeInvoiceItems=true&includeInfoItems=true"
        );
        assert!(base.bookings(&ids(&["1"]), 2).as_str().ends_with("&page=2"));
    }

    #[test]
    fn other_endpoints_keep_the_base_path() {
        let base = ApiBase::parse("http://127.0.0.1:9/v2/").unwrap();
        assert_eq!(
            base.messages(&ids(&["7", "8"]), 1).as_str(),
            "http://127.0.0.1:9/v2/bookings/messages?bookingId=7&bookingId=8"
        );
        assert_eq!(
            base.messages(&ids(&["7"]), 3).as_str(),
            "http://127.0.0.1:9/v2/bookings/messages?bookingId=7&page=3"
        );
        assert_eq!(
            base.properties(1).as_str(),
            "http://127.0.0.1:9/v2/properties"
        );
        assert_eq!(
            base.properties(2).as_str(),
            "http://127.0.0.1:9/v2/properties?page=2"
        );
        assert_eq!(
            base.url(Endpoint::Token).as_str(),
            "http://127.0.0.1:9/v2/authentication/token"
        );
    }

    #[test]
    fn every_endpoint_url_drops_the_base_query_and_fragment() {
        let base = ApiBase::parse(" https://h.example/v2?x=1#f ").unwrap();
        for endpoint in Endpoint::ALL {
            let url = base.url(endpoint);
            assert_eq!(url.path(), format!("/v2/{}", endpoint.path()));
            assert_eq!((url.query(), url.fragment()), (None, None));
        }
    }

    #[test]
    fn rejects_bad_bases() {
        assert!(ApiBase::parse("not a url").is_err());
        assert!(ApiBase::parse("ftp://x/v2").is_err());
        assert!(ApiBase::parse("mailto:a@b").is_err());
    }
}
