//! `$connect` at the owner's limit (decision 49): the owner's connections that closed without a
//! `$disconnect` are found through the Management API and forgotten, so their slots come back;
//! live ones, ones whose state cannot be told, ones still in their handshake, and other owners'
//! are kept.

use std::sync::Mutex;

use chrono::{Duration, Utc};
use futures_util::future::BoxFuture;

use super::push::Liveness;
use super::routes::{CONNECT_SETTLE_SECONDS, connect};
use crate::error::AppError;
use crate::net::AddressPolicy;
use crate::settings::Settings;
use crate::state::AppState;

/// Answers `gone` for the listed ids, an error for `unknown`, live for the rest; records what
/// it was asked.
struct Answers {
    gone: Vec<&'static str>,
    unknown: &'static str,
    asked: Mutex<Vec<String>>,
}

impl Answers {
    fn new(gone: Vec<&'static str>, unknown: &'static str) -> Self {
        Self {
            gone,
            unknown,
            asked: Mutex::default(),
        }
    }
}

impl Liveness for Answers {
    fn is_gone<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Result<bool, AppError>> {
        self.asked.lock().expect("asked").push(id.to_string());
        let answer = if id == self.unknown {
            Err(AppError::Unavailable("no answer (test)".into()))
        } else {
            Ok(self.gone.contains(&id))
        };
        Box::pin(async move { answer })
    }
}

fn refused(r: Result<(), AppError>) -> bool {
    matches!(
        r,
        Err(AppError::QuotaExceeded {
            quota: "wsConnections",
            ..
        })
    )
}

#[tokio::test]
async fn at_the_limit_the_owners_gone_connections_give_their_slots_back() {
    let (state, _memory) = AppState::in_memory(Settings::for_tests(), AddressPolicy::default());
    let limit = state.settings.quotas.ws_connections;
    let now = Utc::now();
    let earlier = now - Duration::seconds(CONNECT_SETTLE_SECONDS + 1);
    for i in 0..limit {
        connect(&state, None, &format!("c{i}"), "u", earlier)
            .await
            .expect("under the limit");
    }
    connect(&state, None, "other", "v", now)
        .await
        .expect("another owner's own limit");
    // Full, and nothing is gone (c1 cannot be told): refused, nothing forgotten.
    assert!(refused(connect(&state, None, "new", "u", now).await));
    let nothing = Answers::new(vec![], "c1");
    assert!(refused(
        connect(&state, Some(&nothing), "new", "u", now).await
    ));
    assert_eq!(nothing.asked.lock().unwrap().len() as u64, limit);
    // c3 closed without a `$disconnect`: forgotten, and the new connection takes its slot.
    let c3_gone = Answers::new(vec!["c3"], "c1");
    connect(&state, Some(&c3_gone), "new", "u", now)
        .await
        .expect("a gone connection's slot is given back");
    let stored = |id: &'static str| {
        let state = state.clone();
        async move { state.ws.get_connection(id).await.unwrap().is_some() }
    };
    assert!(!stored("c3").await, "the gone one is forgotten");
    assert!(stored("c1").await && stored("c2").await && stored("new").await);
    assert!(stored("other").await);
    let asked = c3_gone.asked.lock().unwrap().clone();
    assert!(
        !asked.iter().any(|id| id == "other" || id == "new"),
        "{asked:?}"
    );
    // Full again, with every slot live; and a connection still in its handshake ("new", just
    // connected) is not asked about, although the Management API would call it gone.
    assert!(refused(
        connect(&state, Some(&nothing), "newer", "u", now).await
    ));
    let new_gone = Answers::new(vec!["new"], "c1");
    assert!(refused(
        connect(&state, Some(&new_gone), "newer", "u", now).await
    ));
    assert!(!new_gone.asked.lock().unwrap().iter().any(|id| id == "new"));
    assert!(stored("new").await);
}
