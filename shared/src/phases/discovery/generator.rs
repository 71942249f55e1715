//! The deterministic domain generator.
//!
//! A DNS label may not start or end with `-`, so a variable position that lands on the first or
//! last character of the label uses the character set without `-`. Every variable position is
//! therefore a digit of a mixed-radix number; domain number `i` is `(i / tlds)` in that radix,
//! with TLD `i % tlds`. The order is deterministic and every index maps to a distinct domain.

use super::config::{DiscoveryConfig, PatternType, distinct_chars};

/// the label it fills.
struct Layout {
    /// Characters before the constant (prefix/both) or empty.
    head: Vec<Vec<char>>,
    /// Characters after the constant (suffix/both) or empty.
    tail: Vec<Vec<char>>,
}

impl DiscoveryConfig {
    fn layout(&self) -> Layout {
        let all = distinct_chars(&self.character_set);
        let no_dash: Vec<char> = all.iter().copied().filter(|&c| c != '-').collect();
        let n = self.variable_length as usize;
        let constant_empty = self.constant_string.is_empty();
        let make = |first_is_edge: bool, last_is_edge: bool| -> Vec<Vec<char>> {
            (0..n)
                .map(|i| {
                    if (i == 0 && first_is_edge) || (i == n - 1 && last_is_edge) {
                        no_dash.clone()
                    } else {
                        all.clone()
                    }
                })
                .collect()
        };
        match self.pattern_type {
            PatternType::Prefix => Layout {
                head: make(true, constant_empty),
                tail: Vec::new(),
            },
            PatternType::Suffix => Layout {
                head: Vec::new(),
                tail: make(constant_empty, true),
            },
            PatternType::Both => Layout {
                head: make(true, false),
                tail: make(false, true),
            },
        }
    }

    /// How many distinct domains the pattern can produce (saturating at `u128::MAX`).
    pub fn space_size(&self) -> u128 {
        let layout = self.layout();
        layout
            .head
            .iter()
            .chain(layout.tail.iter())
            .fold(self.tlds.len() as u128, |acc, alphabet| {
                acc.saturating_mul(alphabet.len() as u128)
            })
    }

    /// A generator for the domains of this config, in their fixed order.
    pub fn generator(&self) -> DomainGenerator {
        let layout = self.layout();
        let head_len = layout.head.len();
        DomainGenerator {
            alphabets: layout.head.into_iter().chain(layout.tail).collect(),
            head_len,
            constant: self.constant_string.clone(),
            tlds: self.tlds.clone(),
        }
    }
}

/// Maps a domain index to its domain. Pure and deterministic: the same config and index give the
/// same domain on every machine, which is what makes chunk retries idempotent.
pub struct DomainGenerator {
    /// The alphabet of every variable position in label order; the first `head_len` come before
    /// the constant.
    alphabets: Vec<Vec<char>>,
    head_len: usize,
    constant: String,
    tlds: Vec<String>,
}

impl DomainGenerator {
    /// The domain number `index` (`0 ≤ index < space_size`).
    pub fn domain(&self, index: u64) -> String {
        let tld_count = self.tlds.len() as u64;
        let tld = &self.tlds[(index % tld_count) as usize];
        let mut rest = u128::from(index / tld_count);
        // The last variable position is the least significant digit.
        let positions = self.alphabets.len();
        let mut digits = vec![' '; positions];
        for (slot, alphabet) in self.alphabets.iter().enumerate().rev() {
            let radix = alphabet.len() as u128;
            digits[slot] = alphabet[(rest % radix) as usize];
            rest /= radix;
        }
        let mut out = String::with_capacity(positions + self.constant.len() + tld.len());
        out.extend(&digits[..self.head_len]);
        out.push_str(&self.constant);
        out.extend(&digits[self.head_len..]);
        out.push_str(tld);
        out
    }

    /// Domains `start..end` in order.
    pub fn range(&self, start: u64, end: u64) -> Vec<String> {
        (start..end).map(|i| self.domain(i)).collect()
    }
}
