//! The AWS SDK clients, built lazily: a function constructs only the clients it uses, on first
//! use (a stream consumer never builds an SQS client it does not need). Clients given explicitly
//! (the local gateway's fault and chaos proxies) are used as they are.

use std::sync::{Arc, OnceLock};

/// The SDK configuration and the clients built from it so far.
#[derive(Debug)]
pub struct Aws {
    sdk: aws_config::SdkConfig,
    ddb: OnceLock<aws_sdk_dynamodb::Client>,
    sqs: OnceLock<aws_sdk_sqs::Client>,
    streams: OnceLock<aws_sdk_dynamodbstreams::Client>,
}

impl Aws {
    pub fn new(sdk: aws_config::SdkConfig) -> Arc<Self> {
        Arc::new(Self {
            sdk,
            ddb: OnceLock::new(),
            sqs: OnceLock::new(),
            streams: OnceLock::new(),
        })
    }

    /// With prebuilt clients (each `None` is built lazily from `sdk` as usual).
    pub fn with_clients(
        sdk: aws_config::SdkConfig,
        ddb: Option<aws_sdk_dynamodb::Client>,
        sqs: Option<aws_sdk_sqs::Client>,
    ) -> Arc<Self> {
        let aws = Self {
            sdk,
            ddb: OnceLock::new(),
            sqs: OnceLock::new(),
            streams: OnceLock::new(),
        };
        if let Some(c) = ddb {
            let _ = aws.ddb.set(c);
        }
        if let Some(c) = sqs {
            let _ = aws.sqs.set(c);
        }
        Arc::new(aws)
    }

    pub fn sdk(&self) -> &aws_config::SdkConfig {
        &self.sdk
    }

    pub fn ddb(&self) -> &aws_sdk_dynamodb::Client {
        self.ddb
            .get_or_init(|| aws_sdk_dynamodb::Client::new(&self.sdk))
    }

    pub fn sqs(&self) -> &aws_sdk_sqs::Client {
        self.sqs.get_or_init(|| aws_sdk_sqs::Client::new(&self.sdk))
    }

    pub fn streams(&self) -> &aws_sdk_dynamodbstreams::Client {
        self.streams
            .get_or_init(|| aws_sdk_dynamodbstreams::Client::new(&self.sdk))
    }
}
