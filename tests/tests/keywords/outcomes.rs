//! Full Auto running the keywords phase after validation: every page kind's outcome exact, the
//! requests direct (never through an idle proxy) with the persona's headers, and with a proxy
//! configured every fetch going through it.

use super::*;

#[tokio::test]
async fn full_auto_runs_keywords_after_validation_with_every_outcome_exact() {
    let n = 60usize;
    let site = Site::new(n);
    let dns = TestDns::start(site.zone(), Mode::Answer).await;
    let pages = site.pages().await;
    // A proxy that exists but is not configured: it must carry nothing.
    let idle_proxy = Proxy::http(proxy_hosts(&site, &pages)).await;
    let c = Client::new_user().await;
    let personas = [dns_persona(&c, &dns).await, http_persona(&c, &pages).await];
    let mut body = campaign_body("full_sequence", n as u64);
    body["config"]["personaIds"] = json!(personas);
    body["config"]["keywords"] = keywords();
    let created = c.create_campaign(&body).await;
    let id = created["id"].as_str().unwrap();
    assert_eq!(created["config"]["keywords"], keywords());
    let s = c
        .wait_status(id, WAIT, |s| status_of(s, "keywords") == "completed")
        .await;
    let k = phase(&s, "keywords");
    assert_eq!(k["trigger"], "auto", "Full Auto advanced to keywords");
    assert_eq!(k["autoStart"]["status"], "started");
    assert_eq!(k["progress"], json!({"done": n, "total": n}));
    let (matched, no_match) = (
        site.with(Kind::Match).len() + site.with(Kind::RedirectToMatch).len(),
        site.with(Kind::NoMatch).len(),
    );
    let errors = site.with(Kind::ServerError).len() + site.with(Kind::Big).len() + 1;
    let unreachable = site.with(Kind::Slow).len();
    let skipped = n - site.kinds.len() - 1;
    assert_eq!(
        k["summary"],
        json!({"matched": matched, "no_match": no_match, "error": errors, "unreachable": unreachable, "skipped": skipped})
    );

    // Each status lists exactly its domains, each with what the contract promises.
    let want_matched: HashSet<String> = site
        .with(Kind::Match)
        .union(&site.with(Kind::RedirectToMatch))
        .cloned()
        .collect();
    assert_eq!(names(&c, id, "matched").await, want_matched);
    assert_eq!(names(&c, id, "no_match").await, site.with(Kind::NoMatch));
    assert_eq!(names(&c, id, "unreachable").await, site.with(Kind::Slow));
    let mut want_errors: HashSet<String> = site
        .with(Kind::ServerError)
        .union(&site.with(Kind::Big))
        .cloned()
        .collect();
    want_errors.insert(site.blocked.clone());
    assert_eq!(names(&c, id, "error").await, want_errors);
    assert_eq!(listed(&c, id, "skipped").await.len(), skipped);

    for d in listed(&c, id, "matched").await {
        let (domain, http) = (d["domain"].as_str().unwrap(), &d["http"]);
        assert_eq!(http["httpStatus"], 200, "{d}");
        assert_eq!(http["hits"], json!({"running shoes": 2, "sale": 1}), "{d}");
        assert_eq!(http["title"], "Shoes & more", "{d}");
        assert_eq!(d["dns"]["status"], "resolved", "{d}");
        let landing = format!("http://{LANDING}:{}/", pages.addr.port());
        if site.kinds[domain] == Kind::RedirectToMatch {
            assert_eq!(http["finalUrl"], landing, "{d}");
        } else {
            assert_ne!(http["finalUrl"], landing, "{d}");
        }
    }
    for d in listed(&c, id, "error").await {
        let (domain, http) = (d["domain"].as_str().unwrap(), &d["http"]);
        if domain == site.blocked {
            assert_eq!(http["error"], "blocked_address", "{d}");
        } else if site.kinds[domain] == Kind::Big {
            assert_eq!(http["error"], "body_too_large", "{d}");
            assert_eq!(
                http["hits"],
                json!({"sale": 1}),
                "the cut body is still scanned: {d}"
            );
        } else {
            assert_eq!(http["httpStatus"], 500, "{d}");
        }
    }
    for d in listed(&c, id, "unreachable").await {
        assert_eq!(d["http"]["error"], "timeout", "{d}");
    }
    for d in listed(&c, id, "skipped").await {
        assert_eq!(d["http"], json!({"status": "skipped"}), "{d}");
    }

    // The requests: direct (never through the idle proxy), with the persona's headers, only to
    // resolved, allowed domains.
    let seen = pages.seen();
    assert_eq!(idle_proxy.carried(), 0);
    assert!(seen.iter().all(|r| r.peer == IpAddr::V4(LOCALHOST)));
    assert!(seen.iter().all(|r| {
        r.headers["user-agent"] == USER_AGENT && r.headers["x-campaign-test"] == "yes"
    }));
    let hosts: HashSet<String> = seen.iter().map(|r| r.host.clone()).collect();
    let mut want_hosts: HashSet<String> = site.kinds.keys().cloned().collect();
    want_hosts.insert(LANDING.into());
    assert_eq!(
        hosts, want_hosts,
        "every resolved domain and the redirect target, nothing else"
    );
}

#[tokio::test]
async fn with_a_proxy_every_fetch_goes_through_it() {
    let n = 30usize;
    let site = Site::new(n);
    let dns = TestDns::start(site.zone(), Mode::Answer).await;
    let pages = site.pages().await;
    let proxy = Proxy::http(proxy_hosts(&site, &pages)).await;
    let c = Client::new_user().await;
    let personas = [dns_persona(&c, &dns).await, http_persona(&c, &pages).await];
    let proxy_id = create_id(
        &c,
        "/proxies",
        json!({"address": format!("http://{}", proxy.addr), "enabled": true}),
    )
    .await;
    let mut body = campaign_body("full_sequence", n as u64);
    body["config"]["personaIds"] = json!(personas);
    body["config"]["proxyIds"] = json!([proxy_id]);
    body["config"]["keywords"] = keywords();
    let id = c.create_campaign(&body).await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let s = c
        .wait_status(&id, WAIT, |s| status_of(s, "keywords") == "completed")
        .await;
    assert_eq!(phase(&s, "keywords")["progress"]["done"], n);
    let seen = pages.seen();
    assert!(!seen.is_empty());
    assert!(
        seen.iter().all(|r| r.peer.to_string() == "127.0.0.2"),
        "every request came from the proxy's onward address"
    );
    assert_eq!(proxy.carried(), seen.len(), "{:?}", proxy.log());
    assert_eq!(
        names(&c, &id, "matched").await.len(),
        site.with(Kind::Match).len() + site.with(Kind::RedirectToMatch).len()
    );
}
