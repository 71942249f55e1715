//! Tests of the page scan: extraction cases and property tests of the word matcher against a
//! plain reference implementation.
use proptest::prelude::*;

use super::*;

fn hits(terms: &[&str], text: &str) -> Vec<u32> {
    let terms: Vec<String> = terms.iter().map(|t| t.to_string()).collect();
    Matcher::new(&terms).count(text)
}

#[test]
fn whole_words_case_insensitive() {
    assert_eq!(
        hits(
            &["sale"],
            "SALE! Sale, on sale. wholesale sales resale sale_x x-sale"
        ),
        [5],
        "SALE, Sale, sale., sale_x (_ is not alphanumeric), x-sale"
    );
    assert_eq!(
        hits(
            &["running shoes"],
            "Running\n\t  SHOES; running-shoes runningshoes running  shoes"
        ),
        [2]
    );
    assert_eq!(hits(&["e-commerce"], "E-Commerce and e commerce"), [1]);
    assert_eq!(hits(&["café"], "CAFÉ Café cafés"), [2]);
    assert_eq!(hits(&["ΣΟΦΙΑ"], "σοφια"), [1], "Unicode lowercase");
    assert_eq!(hits(&["42"], "42 420 4242 x42 42x 42."), [2]);
    assert_eq!(
        hits(&["c++"], "c++ c++x xc++"),
        [2],
        "edge '+' is no word edge"
    );
    assert_eq!(
        hits(&["a a"], "ba a a"),
        [1],
        "a rejected candidate does not hide the next"
    );
    assert_eq!(hits(&["aa"], "aaa aa aa"), [2]);
    assert_eq!(hits(&["x", "y"], ""), [0, 0]);
}

#[test]
fn title_and_visible_text() {
    let html = r#"<!doctype html><html><head>
        <meta charset="utf-8"><title>  Best   Running &amp; Shoes
        </title>
        <style>.sale { color: red } /* sale */</style>
        <script>var s = "<p>sale</p>"; if (a<b && c>d) { sale(); }</script>
        </head><body><!-- sale in a comment -->
        <p>Big <b>sa</b>le</p><p>today</p><div>running</div><div>shoes</div>
        <noscript>sale noscript</noscript><template><p>sale template</p></template>
        <img alt="sale alt"><textarea>typed sale</textarea>
        <iframe>sale iframe</iframe><svg><title>sale svg title</title></svg>
        <p>caf&eacute; &nbsp;x</p></body></html>"#;
    let page = extract_html(html);
    assert_eq!(page.title.as_deref(), Some("Best Running & Shoes"));
    let text = collapse_whitespace(&page.text);
    assert_eq!(
        text, "Big sale today running shoes typed sale caf\u{e9} x",
        "entities decoded; &nbsp; is whitespace"
    );
    let m = Matcher::new(&["sale".into(), "running shoes".into(), "best".into()]);
    assert_eq!(m.count_page(&page), [2, 1, 1]);
}

#[test]
fn titles_are_trimmed_and_cut() {
    let long = "word ".repeat(100);
    let page = extract_html(&format!("<title>\n {long} </title><title>second</title>"));
    let title = page.title.unwrap();
    assert_eq!(title.chars().count(), MAX_TITLE_CHARS);
    assert!(title.starts_with("word word"));
    assert_eq!(extract_html("<title> </title><p>x").title, None);
    assert_eq!(extract_html("<p>no title").title, None);
    let unclosed = extract_html("<title>open <p>still title");
    assert_eq!(unclosed.title.as_deref(), Some("open <p>still title"));
}

#[test]
fn plain_text_and_bad_bytes() {
    let page = extract(b"<b>sale</b>", Some("text/plain; charset=utf-8"));
    assert_eq!(page.text, "<b>sale</b>");
    let page = extract(b"<p>sale \xff\xfe</p>", Some("text/html"));
    assert_eq!(page.text.trim(), "sale \u{fffd}\u{fffd}");
    let page = extract(b"<p>sale</p>", None);
    assert_eq!(page.text.trim(), "sale");
}

/// The reference: every char position, greedy, without overlap, on normalized text.
fn reference(hay: &str, needle: &str) -> u32 {
    let hay: Vec<char> = normalize(hay).chars().collect();
    let needle: Vec<char> = normalize(needle).chars().collect();
    if needle.is_empty() {
        return 0;
    }
    let word = |c: Option<&char>| c.is_some_and(|c| c.is_alphanumeric());
    let (mut i, mut n) = (0, 0);
    while i + needle.len() <= hay.len() {
        let edge_before = !needle[0].is_alphanumeric() || i == 0 || !word(hay.get(i - 1));
        let edge_after =
            !needle[needle.len() - 1].is_alphanumeric() || !word(hay.get(i + needle.len()));
        if hay[i..i + needle.len()] == needle[..] && edge_before && edge_after {
            n += 1;
            i += needle.len();
        } else {
            i += 1;
        }
    }
    n
}

fn word() -> impl Strategy<Value = String> {
    prop::sample::select(vec![
        "sale", "Sale", "SALE", "shoes", "running", "a", "aa", "x1", "é", "É", "ß", "İ", "日本",
        "e-mail", "c++", "42",
    ])
    .prop_map(str::to_string)
}

fn separator() -> impl Strategy<Value = String> {
    prop::sample::select(vec![
        " ", "  ", "\n\t", ".", ",", "-", "", "\u{a0}", "_", "!",
    ])
    .prop_map(str::to_string)
}

fn text() -> impl Strategy<Value = String> {
    prop::collection::vec((word(), separator()), 0..30)
        .prop_map(|parts| parts.into_iter().map(|(w, s)| w + &s).collect())
}

fn term() -> impl Strategy<Value = String> {
    prop::collection::vec(word(), 1..3).prop_map(|w| w.join(" "))
}

proptest! {
    #[test]
    fn counts_agree_with_the_reference(hay in text(), needle in term()) {
        let got = count_normalized(&normalize(&hay), &normalize(&needle));
        prop_assert_eq!(got, reference(&hay, &needle));
    }

    #[test]
    fn case_and_whitespace_do_not_change_counts(hay in text(), needle in term()) {
        let m = Matcher::new(std::slice::from_ref(&needle));
        let base = m.count(&hay);
        prop_assert_eq!(&m.count(&hay.to_ascii_uppercase()), &base);
        prop_assert_eq!(&m.count(&hay.replace(' ', " \n\t ")), &base);
        let upper = Matcher::new(&[needle.to_ascii_uppercase()]);
        prop_assert_eq!(&upper.count(&hay), &base);
    }

    #[test]
    fn a_term_set_apart_by_spaces_is_found(hay in text(), needle in term(), tail in text()) {
        let m = Matcher::new(std::slice::from_ref(&needle));
        let joined = format!("{hay} {needle} {tail}");
        let alone = format!("\n{}.", needle.to_ascii_uppercase());
        prop_assert!(m.count(&joined)[0] >= 1);
        prop_assert_eq!(m.count(&alone)[0], 1);
    }

    #[test]
    fn a_term_glued_to_letters_is_not_found(needle in term()) {
        let m = Matcher::new(std::slice::from_ref(&needle));
        // Alphanumeric on both sides: never a whole word, whatever the term.
        let glued = format!("q{needle}q");
        let inner = count_normalized(&normalize(&glued), &normalize(&needle));
        prop_assert_eq!(inner, reference(&glued, &needle));
        prop_assert_eq!(m.count(&glued)[0], reference(&glued, &needle));
    }

    #[test]
    fn visible_text_survives_markup(words in prop::collection::vec(word(), 1..12)) {
        let html = format!(
            "<html><head><title>t</title><script>{}</script></head><body><p>{}</p></body></html>",
            words.join(" "),
            words.iter().map(|w| format!("<span>{}</span>", html_escape(w))).collect::<Vec<_>>().join(" "),
        );
        let page = extract_html(&html);
        prop_assert_eq!(collapse_whitespace(&page.text), words.join(" "));
    }
}

fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;")
}
