//! The pricing's unit tests: what is charged to the campaigns, what is set apart, and the
//! error for a function without a configuration.

use super::super::usage::{Invocations, Row};
use super::*;

fn cfg() -> BTreeMap<String, FunctionConfig> {
    ["api", "sweeper"]
        .iter()
        .map(|n| {
            (
                n.to_string(),
                FunctionConfig {
                    memory_mb: 128.0,
                    architecture: "arm64".into(),
                },
            )
        })
        .collect()
}

fn row(caller: &str, service: &str, op: &str) -> Row {
    Row {
        caller: caller.into(),
        service: service.into(),
        op: op.into(),
        table: "t".into(),
        requests: 1.0,
        ..Row::default()
    }
}

#[test]
fn charges_the_campaigns_work_and_sets_the_rest_apart() {
    let mut u = Usage::default();
    u.functions.insert(
        "api".into(),
        Invocations {
            invocations: 1000.0,
            billed_ms: 8000.0,
            ..Invocations::default()
        },
    );
    u.functions.insert(
        "sweeper".into(),
        Invocations {
            invocations: 10.0,
            billed_ms: 50.0,
            ..Invocations::default()
        },
    );
    u.rows.push(Row {
        wru: 10.0,
        index_wru: 4.0,
        rru: 2.5,
        ..row("fn:api", "dynamodb", "PutItem")
    });
    u.rows.push(Row {
        rru: 100.0,
        ..row("fn:sweeper", "dynamodb", "Query")
    });
    u.rows.push(Row {
        billed: 20.0,
        empty_receives: 15.0,
        ..row("esm:api", "sqs", "ReceiveMessage")
    });
    u.rows.push(Row {
        requests: 50.0,
        ..row("esm:api", "streams", "GetRecords")
    });
    u.rows.push(Row {
        rru: 1e6,
        ..row("other", "dynamodb", "Query")
    });
    u.storage_bytes.insert("t".into(), 2e9);
    let p = price(&u, &cfg(), &BTreeSet::from(["t".to_string()])).unwrap();
    let get = |item: &str| p.lines.iter().find(|l| l.item == item).unwrap().clone();
    assert_eq!(get("requests").quantity, 1000.0);
    assert!((get("requests").usd - 0.0002).abs() < 1e-12);
    // 8 s at 0.125 GB = 1 GB-s.
    assert_eq!(get("duration (arm64)").quantity, 1.0);
    assert_eq!(get("writes, tables").quantity, 10.0);
    assert_eq!(get("writes, global secondary indexes").quantity, 4.0);
    assert_eq!(
        get("reads").quantity,
        2.5,
        "the sweeper's and the load generator's reads are not the campaigns'"
    );
    assert_eq!(get("requests").service, "Lambda");
    let sqs = p.lines.iter().find(|l| l.service == "SQS").unwrap();
    assert_eq!(sqs.quantity, 5.0, "empty receives are idle polling");
    assert_eq!(
        get("reads by functions").quantity,
        0.0,
        "a trigger's stream reads are free"
    );
    assert_eq!(p.sweeper_runs, 10.0);
    assert_eq!(p.unpriced_requests, 1.0);
    assert_eq!(p.storage.len(), 2, "storage and PITR");
    assert!((Priced::total(&p.storage) - 0.9).abs() < 1e-9);
}

#[test]
fn a_function_without_configuration_is_an_error() {
    let mut u = Usage::default();
    u.functions.insert(
        "nope".into(),
        Invocations {
            invocations: 1.0,
            ..Invocations::default()
        },
    );
    assert!(price(&u, &cfg(), &BTreeSet::new()).is_err());
}
