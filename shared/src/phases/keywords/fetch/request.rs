//! One HTTP/1.1 exchange on an open connection (hyper's connection-level client: no pool, no
//! resolver, no proxy logic of its own — the fetcher decides every address), and reading a body
//! up to a byte limit.
use http::header::{CONNECTION, CONTENT_ENCODING, CONTENT_TYPE, LOCATION};
use http::{Request, Version};
use http_body_util::{BodyExt, Empty};
use hyper::body::{Bytes, Incoming};
use hyper::client::conn::http1::{self, SendRequest};
use hyper_util::rt::TokioIo;

use super::conn::{Failure, Opened};
use super::result::BAD_RESPONSE;
use crate::phases::keywords::persona::Scheme;

/// Which requests may share a connection: same scheme, host and port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ConnKey {
    pub scheme: Scheme,
    pub host: String,
    pub port: u16,
}

/// An open HTTP/1.1 connection.
pub(crate) struct Conn {
    pub key: ConnKey,
    pub absolute_form: bool,
    send: SendRequest<Empty<Bytes>>,
}

/// What came back: the head, and the body of a 2xx answer (cut at the limit: `truncated`).
#[derive(Debug)]
pub(crate) struct Answer {
    pub status: u16,
    pub location: Option<String>,
    pub content_type: Option<String>,
    pub content_encoding: Option<String>,
    pub body: Vec<u8>,
    pub truncated: bool,
}

/// Starts HTTP/1.1 on an opened connection; the connection's task ends when `Conn` is dropped.
pub(crate) async fn handshake(opened: Opened, key: ConnKey) -> Result<Conn, Failure> {
    let (send, connection) = http1::Builder::new()
        .handshake::<_, Empty<Bytes>>(TokioIo::new(opened.io))
        .await
        .map_err(|e| Failure::unreachable(format!("connect: {e}")))?;
    tokio::spawn(async move {
        let _ = connection.await;
    });
    Ok(Conn {
        key,
        absolute_form: opened.absolute_form,
        send,
    })
}

fn header(res: &http::response::Parts, name: http::HeaderName) -> Option<String> {
    res.headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
}

impl Conn {
    /// Sends `req` and reads the answer; a 2xx body is read up to `max` bytes. `Ok((answer,
    /// reusable))`: whether the connection may carry another request.
    pub async fn exchange(
        &mut self,
        req: Request<Empty<Bytes>>,
        max: usize,
    ) -> Result<(Answer, bool), Failure> {
        self.send
            .ready()
            .await
            .map_err(|e| Failure::unreachable(format!("connect: {e}")))?;
        let res = self.send.send_request(req).await.map_err(|e| {
            if e.is_parse() || e.is_parse_status() {
                Failure::error(format!("{BAD_RESPONSE}: {e}"))
            } else {
                Failure::unreachable(format!("connect: {e}"))
            }
        })?;
        let (head, body) = res.into_parts();
        let mut answer = Answer {
            status: head.status.as_u16(),
            location: header(&head, LOCATION),
            content_type: header(&head, CONTENT_TYPE),
            content_encoding: header(&head, CONTENT_ENCODING),
            body: Vec::new(),
            truncated: false,
        };
        if !head.status.is_success() {
            // The body is not read, so the connection cannot carry another request.
            return Ok((answer, false));
        }
        let (body, truncated) = read_limited(body, max).await?;
        answer.body = body;
        answer.truncated = truncated;
        let close = head
            .headers
            .get(CONNECTION)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.eq_ignore_ascii_case("close"));
        let reusable = !truncated && !close && head.version == Version::HTTP_11;
        Ok((answer, reusable))
    }
}

/// Reads at most `max` bytes of a body; `true` if there was more (the rest is not read).
async fn read_limited(mut body: Incoming, max: usize) -> Result<(Vec<u8>, bool), Failure> {
    let mut out = Vec::new();
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|e| Failure::unreachable(format!("connect: body: {e}")))?;
        if let Ok(data) = frame.into_data() {
            let room = max - out.len();
            if data.len() > room {
                out.extend_from_slice(&data[..room]);
                return Ok((out, true));
            }
            out.extend_from_slice(&data);
        }
    }
    Ok((out, false))
}
