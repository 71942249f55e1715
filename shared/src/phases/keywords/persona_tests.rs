//! The HTTP persona's config: parsing, defaults and every rejected field.
use super::*;
use serde_json::json;

fn map(v: Value) -> Map<String, Value> {
    v.as_object().cloned().unwrap()
}

fn parse(v: Value) -> Result<HttpPersonaConfig, Vec<FieldProblem>> {
    HttpPersonaConfig::parse(&map(v), "config", &AddressPolicy::default())
}

fn fields(v: Value) -> Vec<String> {
    parse(v).unwrap_err().into_iter().map(|p| p.field).collect()
}

#[test]
fn defaults_follow_the_scheme() {
    let c = parse(json!({"userAgent": "DomainFlow/1.0 (+https://example.com)"})).unwrap();
    assert_eq!(c.scheme, Scheme::Https);
    assert_eq!(
        (
            c.port,
            c.timeout_ms,
            c.concurrency,
            c.rate_limit_per_second,
            c.max_body_bytes,
            c.follow_redirects
        ),
        (443, 5000, 16, 50, 262_144, 3)
    );
    assert!(c.headers.is_empty());
    let http = parse(json!({"userAgent": "x", "scheme": "http"})).unwrap();
    assert_eq!((http.scheme, http.port), (Scheme::Http, 80));
    let custom = parse(json!({"userAgent": "x", "scheme": "http", "port": 8080,
        "timeoutMs": 100, "concurrency": 128, "rateLimitPerSecond": 1000,
        "maxBodyBytes": 1024, "followRedirects": 0,
        "headers": {"Accept-Language": "de-DE,de;q=0.9", "X-Trace": "a\tb"}}))
    .unwrap();
    assert_eq!(
        (
            custom.port,
            custom.timeout_ms,
            custom.concurrency,
            custom.rate_limit_per_second,
            custom.max_body_bytes,
            custom.follow_redirects
        ),
        (8080, 100, 128, 1000, 1024, 0)
    );
    assert_eq!(custom.headers[0].0, "Accept-Language");
    assert_eq!(custom.timeout(), Duration::from_millis(100));
}

#[test]
fn every_range_is_checked() {
    assert_eq!(
        fields(
            json!({"userAgent": "x", "scheme": "ftp", "port": 0, "timeoutMs": 99,
            "concurrency": 129, "rateLimitPerSecond": 0, "maxBodyBytes": 1023,
            "followRedirects": 6})
        ),
        [
            "config.scheme",
            "config.port",
            "config.timeoutMs",
            "config.concurrency",
            "config.rateLimitPerSecond",
            "config.maxBodyBytes",
            "config.followRedirects"
        ]
    );
    assert_eq!(
        fields(json!({"userAgent": "x", "port": 65536, "timeoutMs": 30001,
            "rateLimitPerSecond": 1001, "maxBodyBytes": 1048577, "concurrency": "16"})),
        [
            "config.port",
            "config.timeoutMs",
            "config.concurrency",
            "config.rateLimitPerSecond",
            "config.maxBodyBytes"
        ]
    );
    assert!(parse(json!({"userAgent": "x", "maxBodyBytes": 1048576, "timeoutMs": 30000})).is_ok());
}

#[test]
fn user_agent_and_unknown_fields() {
    assert_eq!(fields(json!({})), ["config.userAgent"]);
    for bad in [
        json!(""),
        json!("x".repeat(257)),
        json!("bad\nagent"),
        json!(" padded"),
        json!(7),
    ] {
        assert_eq!(fields(json!({ "userAgent": bad })), ["config.userAgent"]);
    }
    assert!(parse(json!({"userAgent": "x".repeat(256)})).is_ok());
    assert_eq!(
        fields(json!({"userAgent": "x", "timeoutMS": 100})),
        ["config.timeoutMS"]
    );
}

#[test]
fn headers_are_checked_one_by_one() {
    assert_eq!(
        fields(json!({"userAgent": "x", "headers": {
            "Host": "evil", "content-length": "5", "Transfer-Encoding": "chunked",
            "bad name": "v", "X-Ok": "fine", "x-ok": "again", "X-Newline": "a\r\nb",
            "X-Number": 5}})),
        [
            "config.headers.Host",
            "config.headers.Transfer-Encoding",
            "config.headers.X-Newline",
            "config.headers.X-Number",
            "config.headers.bad name",
            "config.headers.content-length",
            "config.headers.x-ok",
        ]
    );
    let many: Map<String, Value> = (0..21).map(|i| (format!("X-{i}"), json!("v"))).collect();
    assert_eq!(
        fields(json!({"userAgent": "x", "headers": many})),
        ["config.headers"]
    );
    let twenty: Map<String, Value> = (0..20).map(|i| (format!("X-{i}"), json!("v"))).collect();
    assert_eq!(
        parse(json!({"userAgent": "x", "headers": twenty}))
            .unwrap()
            .headers
            .len(),
        20
    );
    assert_eq!(
        fields(json!({"userAgent": "x", "headers": ["X-A: b"]})),
        ["config.headers"]
    );
}
