//! The keywords phase's result for one domain: compact as stored beside a chunk (one-letter
//! field names), and its API view (`http` of a `?include=results` item, API.md).
//!
//! Statuses (BEHAVIOUR.md): `skipped` (the domain did not resolve), `matched` / `no_match` (every
//! configured path gave a complete 2xx page after at most `followRedirects` redirects; terms
//! found or not by `match`), `unreachable` (no connection, time-out, TLS failure, a proxy that
//! would not carry the request, a redirect host that did not resolve), `error` (a non-2xx answer
//! — `httpStatus` set, no `error` text —, or a reason in `error`: [`BLOCKED_ADDRESS`],
//! [`TOO_MANY_REDIRECTS`], [`BODY_TOO_LARGE`], [`DEADLINE`], [`BAD_REDIRECT`],
//! [`UNSUPPORTED_ENCODING`], [`BAD_RESPONSE`], [`BAD_URL`]). An unreachable domain's `error` says
//! why: [`TIMEOUT`] or `connect: …`, `tls: …`, `proxy: …`, `unresolved: …`.
//!
//! `hits` holds the terms found at least once with their counts, and is present (maybe `{}`)
//! whenever a page was scanned — also on an `error` after a page, e.g. a body cut at
//! `maxBodyBytes` is `error` ([`BODY_TOO_LARGE`]) with the hits and title of what was read.
use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

pub const BLOCKED_ADDRESS: &str = "blocked_address";
pub const TOO_MANY_REDIRECTS: &str = "too_many_redirects";
pub const BODY_TOO_LARGE: &str = "body_too_large";
pub const DEADLINE: &str = "deadline";
pub const BAD_REDIRECT: &str = "bad_redirect";
pub const UNSUPPORTED_ENCODING: &str = "unsupported_content_encoding";
pub const BAD_RESPONSE: &str = "bad_response";
pub const BAD_URL: &str = "bad_url";
pub const TIMEOUT: &str = "timeout";

/// A stored `finalUrl` is cut to this many characters (marked with a trailing `…`).
pub const MAX_URL_CHARS: usize = 512;
/// A stored error text is cut to this many characters.
pub const MAX_ERROR_CHARS: usize = 200;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HttpStatus {
    Matched,
    NoMatch,
    Unreachable,
    Error,
    Skipped,
}

impl HttpStatus {
    /// Every status, as the `?status=` filter values of the phase.
    pub const ALL: [&'static str; 5] = ["matched", "no_match", "unreachable", "error", "skipped"];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Matched => "matched",
            Self::NoMatch => "no_match",
            Self::Unreachable => "unreachable",
            Self::Error => "error",
            Self::Skipped => "skipped",
        }
    }
}

/// The result for one domain, as stored next to the chunk's domains.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HttpCheck {
    #[serde(rename = "s")]
    pub status: HttpStatus,
    #[serde(rename = "c", default, skip_serializing_if = "Option::is_none")]
    pub http_status: Option<u16>,
    #[serde(rename = "u", default, skip_serializing_if = "Option::is_none")]
    pub final_url: Option<String>,
    #[serde(rename = "t", default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    #[serde(rename = "h", default, skip_serializing_if = "Option::is_none")]
    pub hits: Option<BTreeMap<String, u32>>,
    #[serde(rename = "e", default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

pub(crate) fn cut(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_string()
    } else {
        let mut out: String = s.chars().take(max - 1).collect();
        out.push('…');
        out
    }
}

impl HttpCheck {
    fn bare(status: HttpStatus) -> Self {
        Self {
            status,
            http_status: None,
            final_url: None,
            title: None,
            hits: None,
            error: None,
        }
    }

    /// The domain did not resolve: nothing to fetch.
    pub fn skipped() -> Self {
        Self::bare(HttpStatus::Skipped)
    }

    /// `error` with a reason and nothing else (e.g. [`DEADLINE`]).
    pub fn error(reason: impl AsRef<str>) -> Self {
        Self::bare(HttpStatus::Error).with_error(reason)
    }

    pub(crate) fn with_error(mut self, reason: impl AsRef<str>) -> Self {
        self.error = Some(cut(reason.as_ref(), MAX_ERROR_CHARS));
        self
    }

    pub(crate) fn with_url(mut self, url: &str) -> Self {
        self.final_url = Some(cut(url, MAX_URL_CHARS));
        self
    }

    pub(crate) fn new(status: HttpStatus) -> Self {
        Self::bare(status)
    }

    /// The API view: `{status, httpStatus?, finalUrl?, title?, hits?, error?}`.
    pub fn to_api(&self) -> Value {
        let mut v = json!({"status": self.status.as_str()});
        if let Some(c) = self.http_status {
            v["httpStatus"] = json!(c);
        }
        if let Some(u) = &self.final_url {
            v["finalUrl"] = json!(u);
        }
        if let Some(t) = &self.title {
            v["title"] = json!(t);
        }
        if let Some(h) = &self.hits {
            v["hits"] = json!(h);
        }
        if let Some(e) = &self.error {
            v["error"] = json!(e);
        }
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_form_is_compact_and_api_form_is_the_contract() {
        let mut check = HttpCheck::new(HttpStatus::Matched).with_url("https://a.test/");
        check.http_status = Some(200);
        check.title = Some("A".into());
        check.hits = Some(BTreeMap::from([("sale".to_string(), 2)]));
        let stored = serde_json::to_string(&check).unwrap();
        assert_eq!(
            stored,
            r#"{"s":"matched","c":200,"u":"https://a.test/","t":"A","h":{"sale":2}}"#
        );
        assert_eq!(serde_json::from_str::<HttpCheck>(&stored).unwrap(), check);
        assert_eq!(
            check.to_api(),
            json!({"status": "matched", "httpStatus": 200, "finalUrl": "https://a.test/",
                   "title": "A", "hits": {"sale": 2}})
        );
        assert_eq!(
            serde_json::to_string(&HttpCheck::skipped()).unwrap(),
            r#"{"s":"skipped"}"#
        );
        assert_eq!(
            HttpCheck::error(DEADLINE).to_api(),
            json!({"status": "error", "error": "deadline"})
        );
        for s in [
            HttpStatus::Matched,
            HttpStatus::NoMatch,
            HttpStatus::Unreachable,
            HttpStatus::Error,
            HttpStatus::Skipped,
        ] {
            assert!(HttpStatus::ALL.contains(&s.as_str()));
            assert_eq!(serde_json::to_value(s).unwrap(), json!(s.as_str()));
        }
    }

    #[test]
    fn long_texts_are_cut() {
        let url = format!("https://a.test/{}", "x".repeat(1000));
        let c = HttpCheck::error("e".repeat(500)).with_url(&url);
        assert_eq!(c.final_url.unwrap().chars().count(), MAX_URL_CHARS);
        assert_eq!(c.error.unwrap().chars().count(), MAX_ERROR_CHARS);
    }
}
