//! The service test bodies of `campaign_shared::testkit` (run in memory by `cargo test -p
//! campaign-shared`), here on the local stack: moto's conditional writes, transactions, stream
//! and queues, and the gateway's pollers in place of the in-memory stand-ins.

use std::sync::Arc;

use campaign_shared::testkit::{Backend, run_all};
use integration_tests::backend::LocalStack;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_body_on_the_local_stack() {
    let stack: Arc<dyn Backend> = Arc::new(LocalStack::new().await);
    run_all(|| stack.clone()).await;
}
