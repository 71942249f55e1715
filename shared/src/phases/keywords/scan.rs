//! The page scan of the keywords phase: the `<title>` and the visible text of a fetched page,
//! and whole-word, case-insensitive hit counts per term.
//!
//! Extraction runs the WHATWG HTML tokenizer (`html5ever`, no tree builder: entities decoded,
//! comments and attributes dropped), switching it into the raw-text states a browser uses, so
//! `if (a<b)` in a script is never read as a tag. Not visible, hence not scanned: `script`,
//! `style`, `noscript` (a browser with scripting shows none of it), `template`, `xmp`,
//! `iframe`, `noembed`, `noframes` content, and every `<title>` (the first one is the page
//! title, scanned on its own). Tags other than inline (phrasing) ones separate words, so
//! `<p>run</p><p>shoes</p>` is "run shoes" while `<b>sa</b>le` is "sale". A body with a
//! `text/plain` content type is all visible text. Bodies are read as UTF-8 (invalid bytes become
//! U+FFFD), so a non-UTF-8 page only matches its ASCII terms.
//!
//! Matching (both sides through [`normalize`]: Unicode lowercase, every whitespace run one
//! space): a hit is an occurrence of the term whose edges are word edges, a word being a run of
//! alphanumeric characters — "sale" is found in "Sale!" and "on sale." but not in "wholesale" or
//! "sales"; "running shoes" is found in "Running\n   Shoes" but not in "running-shoes" (only
//! whitespace stands for the space of a term). Hits are counted left to right without overlap.
//! Title and text are counted separately (a hit never spans them) and added up.
//! Lowercasing is not full case folding: "STRASSE" does not find "straße".
use std::cell::RefCell;

use html5ever::tendril::StrTendril;
use html5ever::tokenizer::states::RawKind;
use html5ever::tokenizer::{
    BufferQueue, TagKind, Token, TokenSink, TokenSinkResult, Tokenizer, TokenizerOpts,
};

/// The title is cut to this many characters.
pub const MAX_TITLE_CHARS: usize = 200;

/// What a page shows: its title and its visible text (not yet normalized).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Page {
    pub title: Option<String>,
    pub text: String,
}

/// The title and visible text of a response body, by its `Content-Type` (`text/plain`: all
/// text; anything else, or none, is read as HTML).
pub fn extract(body: &[u8], content_type: Option<&str>) -> Page {
    let text = String::from_utf8_lossy(body);
    let plain = content_type
        .and_then(|ct| ct.split(';').next())
        .is_some_and(|mime| mime.trim().eq_ignore_ascii_case("text/plain"));
    if plain {
        Page {
            title: None,
            text: text.into_owned(),
        }
    } else {
        extract_html(&text)
    }
}

/// The title and visible text of an HTML document.
pub fn extract_html(html: &str) -> Page {
    let tokenizer = Tokenizer::new(Sink::default(), TokenizerOpts::default());
    let input = BufferQueue::default();
    input.push_back(StrTendril::from_slice(html));
    // Only a sink asking for a script to run would stop the tokenizer early; this one never does.
    let _ = tokenizer.feed(&input);
    tokenizer.end();
    let state = tokenizer.sink.state.into_inner();
    let title = state
        .title
        .map(|t| {
            let collapsed = collapse_whitespace(&t);
            collapsed.chars().take(MAX_TITLE_CHARS).collect::<String>()
        })
        .filter(|t| !t.is_empty());
    Page {
        title,
        text: state.text,
    }
}

/// Phrasing elements that do not separate words.
fn is_inline(name: &str) -> bool {
    matches!(
        name,
        "a" | "abbr"
            | "b"
            | "bdi"
            | "bdo"
            | "cite"
            | "code"
            | "data"
            | "del"
            | "dfn"
            | "em"
            | "font"
            | "i"
            | "ins"
            | "kbd"
            | "mark"
            | "q"
            | "s"
            | "samp"
            | "small"
            | "span"
            | "strong"
            | "sub"
            | "sup"
            | "time"
            | "u"
            | "var"
            | "wbr"
    )
}

/// Elements whose content is raw text that a page does not show.
fn hidden_raw(name: &str) -> Option<RawKind> {
    match name {
        "script" => Some(RawKind::ScriptData),
        "style" | "noscript" | "xmp" | "iframe" | "noembed" | "noframes" => Some(RawKind::Rawtext),
        _ => None,
    }
}

/// The longest title text kept before collapsing and cutting (a bound on memory).
const TITLE_BUFFER_BYTES: usize = 4 * MAX_TITLE_CHARS * 4;

#[derive(Default)]
struct State {
    text: String,
    title: Option<String>,
    in_title: bool,
    title_done: bool,
    in_hidden_raw: bool,
    template_depth: u32,
}

impl State {
    fn separate(&mut self) {
        if !self.text.is_empty() && !self.text.ends_with(' ') {
            self.text.push(' ');
        }
    }
}

#[derive(Default)]
struct Sink {
    state: RefCell<State>,
}

impl TokenSink for Sink {
    type Handle = ();

    fn process_token(&self, token: Token, _line: u64) -> TokenSinkResult<()> {
        let mut s = self.state.borrow_mut();
        match token {
            // Raw text of a hidden element, and of every title after the first, is dropped.
            Token::CharacterTokens(_) if s.in_hidden_raw || (s.in_title && s.title_done) => {}
            Token::CharacterTokens(chars) if s.in_title => {
                let title = s.title.get_or_insert_with(String::new);
                if title.len() < TITLE_BUFFER_BYTES {
                    title.push_str(&chars);
                }
            }
            Token::CharacterTokens(chars) if s.template_depth == 0 => s.text.push_str(&chars),
            Token::TagToken(tag) => {
                let name: &str = &tag.name;
                match tag.kind {
                    TagKind::StartTag => {
                        if let Some(kind) = hidden_raw(name) {
                            s.in_hidden_raw = true;
                            return TokenSinkResult::RawData(kind);
                        }
                        match name {
                            "title" => {
                                s.in_title = true;
                                return TokenSinkResult::RawData(RawKind::Rcdata);
                            }
                            "textarea" => {
                                s.separate();
                                return TokenSinkResult::RawData(RawKind::Rcdata);
                            }
                            "plaintext" => {
                                s.separate();
                                return TokenSinkResult::Plaintext;
                            }
                            "template" => s.template_depth += 1,
                            _ if is_inline(name) => {}
                            _ => s.separate(),
                        }
                    }
                    TagKind::EndTag => {
                        if hidden_raw(name).is_some() {
                            s.in_hidden_raw = false;
                        } else if name == "title" {
                            s.in_title = false;
                            s.title_done = s.title.is_some();
                        } else if name == "template" {
                            s.template_depth = s.template_depth.saturating_sub(1);
                        } else if !is_inline(name) {
                            s.separate();
                        }
                    }
                }
            }
            _ => {}
        }
        TokenSinkResult::Continue
    }
}

/// Every whitespace run as one space, without leading or trailing whitespace.
fn collapse_whitespace(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for word in s.split_whitespace() {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(word);
    }
    out
}

/// The form terms and text are compared in: Unicode lowercase, every whitespace run one space,
/// trimmed.
pub fn normalize(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut space = false;
    for c in s.chars() {
        if c.is_whitespace() {
            space = !out.is_empty();
            continue;
        }
        if space {
            out.push(' ');
            space = false;
        }
        if c.is_ascii() {
            out.push(c.to_ascii_lowercase());
        } else {
            out.extend(c.to_lowercase());
        }
    }
    out
}

/// Hits of `needle` in `haystack`, both already [`normalize`]d: occurrences whose alphanumeric
/// edges are word edges, counted left to right without overlap.
pub fn count_normalized(haystack: &str, needle: &str) -> u32 {
    let (Some(first), Some(last)) = (needle.chars().next(), needle.chars().next_back()) else {
        return 0;
    };
    let check_before = first.is_alphanumeric();
    let check_after = last.is_alphanumeric();
    let mut count = 0;
    let mut from = 0;
    while let Some(i) = haystack[from..].find(needle) {
        let start = from + i;
        let end = start + needle.len();
        let before_ok = !check_before
            || !haystack[..start]
                .chars()
                .next_back()
                .is_some_and(char::is_alphanumeric);
        let after_ok = !check_after
            || !haystack[end..]
                .chars()
                .next()
                .is_some_and(char::is_alphanumeric);
        if before_ok && after_ok {
            count += 1;
            from = end;
        } else {
            from = start + first.len_utf8();
        }
    }
    count
}

/// The terms of a campaign, ready to count in pages.
#[derive(Debug, Clone)]
pub struct Matcher {
    needles: Vec<String>,
}

impl Matcher {
    pub fn new(terms: &[String]) -> Self {
        Self {
            needles: terms.iter().map(|t| normalize(t)).collect(),
        }
    }

    pub fn len(&self) -> usize {
        self.needles.len()
    }

    pub fn is_empty(&self) -> bool {
        self.needles.is_empty()
    }

    /// Hits per term (in the order of the terms) in a text that is not normalized yet.
    pub fn count(&self, text: &str) -> Vec<u32> {
        let hay = normalize(text);
        self.needles
            .iter()
            .map(|n| count_normalized(&hay, n))
            .collect()
    }

    /// Hits per term in a page's title and visible text.
    pub fn count_page(&self, page: &Page) -> Vec<u32> {
        let mut hits = self.count(&page.text);
        if let Some(title) = &page.title {
            for (total, n) in hits.iter_mut().zip(self.count(title)) {
                *total += n;
            }
        }
        hits
    }
}

#[cfg(test)]
#[path = "scan_tests.rs"]
mod tests;
