//! One wizard's WebSocket: a reader task that files every event into the wizard's per-campaign
//! log (the socket carries the events of all the wizard's campaigns) and hands the answers to
//! client messages back to the wizard.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::Utc;
use futures_util::stream::SplitSink;
use futures_util::{SinkExt, StreamExt};
use integration_tests::{WS_ANSWERS, WsStream, ws_url_with_token};
use serde_json::Value;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::Message;

/// One thing the wizard learned about a campaign, in arrival order.
#[derive(Debug, Clone)]
pub enum Entry {
    /// An event pushed on a socket; `latency_ms` = receipt − the event's `at`.
    Event {
        event: Value,
        latency_ms: Option<f64>,
        received: Instant,
        connection: u32,
    },
    /// The status a `subscribe` answer carried (a resync after a reconnect).
    Snapshot {
        version: u64,
        status: Value,
        received: Instant,
    },
}

/// Every event and snapshot a wizard received, by campaign.
pub struct EventLog {
    entries: Mutex<HashMap<String, Vec<Entry>>>,
    tick: watch::Sender<u64>,
    pub unparsable: AtomicU64,
}

impl EventLog {
    pub fn new() -> Arc<Self> {
        Arc::new(Self {
            entries: Mutex::new(HashMap::new()),
            tick: watch::channel(0).0,
            unparsable: AtomicU64::new(0),
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Vec<Entry>>> {
        self.entries.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn push(&self, campaign: &str, entry: Entry) {
        self.lock()
            .entry(campaign.to_string())
            .or_default()
            .push(entry);
        self.bump();
    }

    /// Wakes whoever waits on [`EventLog::watch`].
    pub fn bump(&self) {
        self.tick.send_modify(|v| *v = v.wrapping_add(1));
    }

    /// Changes whenever something was filed (or a socket closed).
    pub fn watch(&self) -> watch::Receiver<u64> {
        self.tick.subscribe()
    }

    /// The entries of `campaign` from position `from` on.
    pub fn since(&self, campaign: &str, from: usize) -> Vec<Entry> {
        self.lock()
            .get(campaign)
            .map(|v| v.get(from..).unwrap_or_default().to_vec())
            .unwrap_or_default()
    }

    /// How many entries `campaign` has.
    pub fn count(&self, campaign: &str) -> usize {
        self.lock().get(campaign).map_or(0, Vec::len)
    }

    /// Everything filed so far.
    pub fn snapshot(&self) -> HashMap<String, Vec<Entry>> {
        self.lock().clone()
    }
}

/// An open WebSocket with its reader task.
pub struct Conn {
    sink: SplitSink<WsStream, Message>,
    answers: mpsc::UnboundedReceiver<Value>,
    reader: JoinHandle<()>,
    closed: Arc<AtomicBool>,
    pub number: u32,
}

impl Conn {
    /// Connects with `?token=` (10 s timeout) and starts the reader.
    pub async fn open(token: &str, log: Arc<EventLog>, number: u32) -> Result<Self, String> {
        let url = ws_url_with_token(token);
        let (ws, _) = tokio::time::timeout(
            Duration::from_secs(10),
            tokio_tungstenite::connect_async(url.as_str()),
        )
        .await
        .map_err(|_| "WebSocket connect timed out".to_string())?
        .map_err(|e| match e {
            tokio_tungstenite::tungstenite::Error::Http(r) => {
                format!("WebSocket handshake refused: HTTP {}", r.status())
            }
            e => format!("WebSocket connect: {e}"),
        })?;
        let (sink, mut stream) = ws.split();
        let (tx, answers) = mpsc::unbounded_channel();
        let closed = Arc::new(AtomicBool::new(false));
        let flag = closed.clone();
        let reader = tokio::spawn(async move {
            while let Some(message) = stream.next().await {
                let text = match message {
                    Ok(Message::Text(t)) => t.as_str().to_string(),
                    Ok(Message::Binary(b)) => String::from_utf8_lossy(&b).into_owned(),
                    Ok(Message::Close(_)) | Err(_) => break,
                    Ok(_) => continue,
                };
                let (received, now) = (Instant::now(), Utc::now());
                let Ok(value) = serde_json::from_str::<Value>(&text) else {
                    log.unparsable.fetch_add(1, Ordering::Relaxed);
                    continue;
                };
                if WS_ANSWERS.contains(&value["type"].as_str().unwrap_or_default()) {
                    let _ = tx.send(value);
                    continue;
                }
                let campaign = value["campaignId"].as_str().unwrap_or_default().to_string();
                let latency_ms = crate::event_latency_ms(&value, now);
                log.push(
                    &campaign,
                    Entry::Event {
                        event: value,
                        latency_ms,
                        received,
                        connection: number,
                    },
                );
            }
            flag.store(true, Ordering::SeqCst);
            log.bump();
        });
        Ok(Self {
            sink,
            answers,
            reader,
            closed,
            number,
        })
    }

    /// Whether the server side ended the connection (or it broke).
    pub fn is_closed(&self) -> bool {
        self.closed.load(Ordering::SeqCst) || self.reader.is_finished()
    }

    /// Sends a client message and returns its answer (5 s to send, 10 s for the answer).
    pub async fn request(&mut self, message: &Value) -> Result<Value, String> {
        while self.answers.try_recv().is_ok() {}
        tokio::time::timeout(
            Duration::from_secs(5),
            self.sink.send(Message::Text(message.to_string().into())),
        )
        .await
        .map_err(|_| "WebSocket send timed out".to_string())?
        .map_err(|e| format!("WebSocket send: {e}"))?;
        match tokio::time::timeout(Duration::from_secs(10), self.answers.recv()).await {
            Ok(Some(answer)) => Ok(answer),
            Ok(None) => Err("the socket closed before the answer".into()),
            Err(_) => Err(format!("no answer to {message} within 10 s")),
        }
    }

    /// Drops the connection without a close frame (a browser tab killed, a network drop).
    pub fn drop_abruptly(self) {
        self.reader.abort();
        drop(self.sink);
    }

    /// A clean close (close frame); waits up to 1 s for the reader to see the end.
    pub async fn close(mut self) {
        let _ = tokio::time::timeout(Duration::from_secs(2), self.sink.close()).await;
        let reader = self.reader;
        let abort = reader.abort_handle();
        if tokio::time::timeout(Duration::from_secs(1), reader)
            .await
            .is_err()
        {
            abort.abort();
        }
    }
}
