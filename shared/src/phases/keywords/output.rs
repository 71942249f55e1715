//! The keywords phase's stored chunk output: its results as JSON, made to fit one DynamoDB item.
//!
//! A result can hold a 200-character title, a 512-character final URL, an error text and up to
//! 50 terms' hits, so 1,000 of them may exceed the 400 KB an item holds. Decision (DECISIONS.md
//! #34): when a chunk's JSON is over [`MAX_OUTPUT_BYTES`] it is compacted in stages, each applied
//! to every result of the chunk until the whole fits — (1) titles cut to 80 characters, final
//! URLs to 160, errors to 80; (2) no title or final URL, hits of the 10 most frequent terms;
//! (3) status, HTTP status and an error of at most 40 characters. Statuses and counts are never
//! changed, so the phase summary and `?status=` filters stay exact; a compacted chunk is logged.
//! Compaction is deterministic: a redone chunk with the same pages stores the same output.

use super::fetch::HttpCheck;
use super::fetch::result::cut;
use crate::error::AppError;
use crate::store::ChunkOutput;

/// The most a chunk's output may take (the item's other attributes are well under 1 KB).
pub const MAX_OUTPUT_BYTES: usize = 350_000;

/// The most hits kept per result from stage 2 on.
const KEPT_HITS: usize = 10;

/// The chunk's results as stored: as they are when they fit, else compacted.
pub fn store(checks: Vec<HttpCheck>) -> Result<String, AppError> {
    store_within(checks, MAX_OUTPUT_BYTES)
}

fn store_within(mut checks: Vec<HttpCheck>, limit: usize) -> Result<String, AppError> {
    let json = |c: &[HttpCheck]| serde_json::to_string(c).map_err(AppError::internal);
    let mut data = json(&checks)?;
    for stage in 1..=3 {
        if data.len() <= limit {
            return Ok(data);
        }
        for c in &mut checks {
            compact(c, stage);
        }
        data = json(&checks)?;
        tracing::warn!(
            stage,
            bytes = data.len(),
            results = checks.len(),
            "keywords chunk output compacted to fit one item"
        );
    }
    if data.len() <= limit {
        Ok(data)
    } else {
        Err(AppError::internal(format!(
            "keywords output of {} results is {} bytes after compaction (limit {limit})",
            checks.len(),
            data.len()
        )))
    }
}

fn compact(c: &mut HttpCheck, stage: u8) {
    match stage {
        1 => {
            c.title = c.title.as_deref().map(|t| cut(t, 80));
            c.final_url = c.final_url.as_deref().map(|u| cut(u, 160));
            c.error = c.error.as_deref().map(|e| cut(e, 80));
        }
        2 => {
            c.title = None;
            c.final_url = None;
            if let Some(hits) = &mut c.hits
                && hits.len() > KEPT_HITS
            {
                let mut by_count: Vec<(String, u32)> = std::mem::take(hits).into_iter().collect();
                by_count.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
                *hits = by_count.into_iter().take(KEPT_HITS).collect();
            }
        }
        _ => {
            c.hits = None;
            c.error = c.error.as_deref().map(|e| cut(e, 40));
        }
    }
}

/// Reads a stored keywords output (one result per domain of the chunk).
pub fn read(output: &ChunkOutput) -> Result<Vec<HttpCheck>, AppError> {
    serde_json::from_str(&output.data).map_err(|e| {
        AppError::internal(format!(
            "unreadable keywords output of chunk {}: {e}",
            output.chunk
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::phases::keywords::HttpStatus;

    fn big(i: usize) -> HttpCheck {
        let mut c = HttpCheck::error("x".repeat(200));
        c.status = if i.is_multiple_of(2) {
            HttpStatus::Matched
        } else {
            HttpStatus::Error
        };
        c.http_status = Some(200);
        c.title = Some("é".repeat(200));
        c.final_url = Some(format!("https://d{i}.example/{}", "p".repeat(490)));
        c.hits = Some(
            (0..50)
                .map(|t| (format!("term-{t:02}-{}", "w".repeat(50)), t as u32 + 1))
                .collect(),
        );
        c
    }

    #[test]
    fn small_outputs_are_stored_as_they_are() {
        let checks = vec![big(0), HttpCheck::skipped()];
        let data = store(checks.clone()).unwrap();
        let back: Vec<HttpCheck> = serde_json::from_str(&data).unwrap();
        assert_eq!(back, checks);
    }

    #[test]
    fn the_largest_possible_chunk_fits_and_keeps_every_status() {
        let checks: Vec<HttpCheck> = (0..1000).map(big).collect();
        assert!(serde_json::to_string(&checks).unwrap().len() > MAX_OUTPUT_BYTES);
        let data = store(checks.clone()).unwrap();
        assert!(data.len() <= MAX_OUTPUT_BYTES, "{}", data.len());
        let back: Vec<HttpCheck> = serde_json::from_str(&data).unwrap();
        assert_eq!(back.len(), checks.len());
        for (a, b) in back.iter().zip(&checks) {
            assert_eq!((a.status, a.http_status), (b.status, b.http_status));
        }
    }

    #[test]
    fn compaction_stops_at_the_first_stage_that_fits() {
        let checks: Vec<HttpCheck> = (0..40).map(big).collect();
        let full = serde_json::to_string(&checks).unwrap().len();
        // Just under the full size: stage 1 (cut texts) is enough, hits stay whole.
        let data = store_within(checks, full - 1).unwrap();
        let back: Vec<HttpCheck> = serde_json::from_str(&data).unwrap();
        assert_eq!(back[0].title.as_ref().unwrap().chars().count(), 80);
        assert_eq!(back[0].hits.as_ref().unwrap().len(), 50);
        // Stage 2 keeps the most frequent terms.
        let data = store_within((0..40).map(big).collect(), 60_000).unwrap();
        let back: Vec<HttpCheck> = serde_json::from_str(&data).unwrap();
        let hits = back[0].hits.as_ref().unwrap();
        assert_eq!(hits.len(), 10);
        assert!(hits.values().all(|n| *n > 40));
        assert!(back[0].title.is_none());
    }

    #[test]
    fn an_output_that_cannot_fit_is_an_error() {
        assert!(store_within((0..1000).map(big).collect(), 1000).is_err());
    }
}
