//! Which handler function each event-source mapping of the template invokes, by the function's
//! directory name (`functions/<dir>`): the very functions the Lambda binaries call.

use std::sync::Arc;

use campaign_shared::AppState;
use campaign_shared::realtime::Publisher;
use futures_util::FutureExt;
use lambda_runtime::{Context, LambdaEvent};

use crate::pollers::{Handler, SqsHandler, StreamHandler};

/// A handler function as an event-source mapping calls it: the event in a `LambdaEvent` with a
/// default context, its error as text.
fn wrap<E, R, F, Fut>(f: F) -> Handler<E, R>
where
    E: Send + 'static,
    F: Fn(AppState, LambdaEvent<E>) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = Result<R, lambda_runtime::Error>> + Send + 'static,
{
    let f = Arc::new(f);
    Arc::new(move |state, event| {
        let f = f.clone();
        async move {
            f(state, LambdaEvent::new(event, Context::default()))
                .await
                .map_err(|e| e.to_string())
        }
        .boxed()
    })
}

pub fn sqs_handler(dir: &str) -> Option<SqsHandler> {
    Some(match dir {
        "autostart-worker" => wrap(|s, e| async move { autostart_worker::handler(&s, e).await }),
        "autostart-dlq" => wrap(|s, e| async move { autostart_dlq::handler(&s, e).await }),
        "phase-worker" => wrap(|s, e| async move { phase_worker::handler(&s, e).await }),
        "phase-dlq" => wrap(|s, e| async move { phase_dlq::handler(&s, e).await }),
        _ => return None,
    })
}

pub fn stream_handler(dir: &str, publisher: &Arc<Publisher>) -> Option<StreamHandler> {
    Some(match dir {
        "phase-dispatcher" => wrap(|s, e| async move { phase_dispatcher::handler(&s, e).await }),
        "stream-publisher" => {
            let publisher = publisher.clone();
            wrap(move |s, e| {
                let publisher = publisher.clone();
                async move { stream_publisher::handler(&s, &publisher, e).await }
            })
        }
        _ => return None,
    })
}
