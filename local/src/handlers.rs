//! Which handler function each event-source mapping of the template invokes, by the function's
//! directory name (`functions/<dir>`): the very functions the Lambda binaries call.

use std::sync::Arc;

use campaign_shared::AppState;
use campaign_shared::realtime::Publisher;
use futures_util::FutureExt;
use lambda_runtime::{Context, LambdaEvent};

use crate::pollers::{SqsHandler, StreamHandler};

pub fn sqs_handler(dir: &str) -> Option<SqsHandler> {
    fn wrap<F, Fut>(f: F) -> SqsHandler
    where
        F: Fn(AppState, LambdaEvent<aws_lambda_events::sqs::SqsEvent>) -> Fut
            + Send
            + Sync
            + 'static,
        Fut: std::future::Future<
                Output = Result<aws_lambda_events::sqs::SqsBatchResponse, lambda_runtime::Error>,
            > + Send
            + 'static,
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
    Some(match dir {
        "autostart-worker" => wrap(|s, e| async move { autostart_worker::handler(&s, e).await }),
        "autostart-dlq" => wrap(|s, e| async move { autostart_dlq::handler(&s, e).await }),
        "phase-worker" => wrap(|s, e| async move { phase_worker::handler(&s, e).await }),
        "phase-dlq" => wrap(|s, e| async move { phase_dlq::handler(&s, e).await }),
        _ => return None,
    })
}

pub fn stream_handler(dir: &str, publisher: &Arc<Publisher>) -> Option<StreamHandler> {
    fn wrap<F, Fut>(f: F) -> StreamHandler
    where
        F: Fn(AppState, LambdaEvent<aws_lambda_events::dynamodb::Event>) -> Fut
            + Send
            + Sync
            + 'static,
        Fut: std::future::Future<
                Output = Result<
                    aws_lambda_events::streams::DynamoDbEventResponse,
                    lambda_runtime::Error,
                >,
            > + Send
            + 'static,
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
