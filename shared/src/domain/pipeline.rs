//! The pipeline: the ordered list of phase names. What each phase does lives in its own module
//! under `crate::phases` (the registry there lists the same names in the same order, checked by
//! a test). Adding a phase is one row here plus its module (docs/ADDING.md).

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A phase's name: one of [`PIPELINE`]. Serialized as its string; deserializing an unknown name is
/// an error (a stored item or a message naming a phase this build does not know is unreadable,
/// never silently something else).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PhaseName(&'static str);

impl PhaseName {
    pub const fn new(name: &'static str) -> Self {
        Self(name)
    }

    pub fn as_str(self) -> &'static str {
        self.0
    }

    /// The pipeline phase called `s`; `None` for an unknown phase (404 on a route).
    pub fn parse(s: &str) -> Option<Self> {
        PIPELINE.iter().copied().find(|n| n.0 == s)
    }

    /// Position in the pipeline (0 = first).
    pub fn index(self) -> usize {
        PIPELINE
            .iter()
            .position(|n| *n == self)
            .expect("every PhaseName is a pipeline phase")
    }

    /// The phase after this one, if any.
    pub fn next(self) -> Option<Self> {
        PIPELINE.get(self.index() + 1).copied()
    }

    /// The phases before this one, in order.
    pub fn earlier(self) -> &'static [PhaseName] {
        &PIPELINE[..self.index()]
    }
}

pub const DISCOVERY: PhaseName = PhaseName::new("discovery");
pub const VALIDATION: PhaseName = PhaseName::new("validation");
pub const KEYWORDS: PhaseName = PhaseName::new("keywords");

/// The phases in order. A phase starts only after every phase before it completed.
pub const PIPELINE: &[PhaseName] = &[DISCOVERY, VALIDATION, KEYWORDS];

impl std::fmt::Display for PhaseName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.0)
    }
}

impl std::fmt::Debug for PhaseName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.0)
    }
}

impl Serialize for PhaseName {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.0)
    }
}

impl<'de> Deserialize<'de> for PhaseName {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Self::parse(&s).ok_or_else(|| {
            let names: Vec<&str> = PIPELINE.iter().map(|n| n.0).collect();
            serde::de::Error::custom(format!("unknown phase {s:?}; expected one of {names:?}"))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_unknown_ones_are_errors() {
        for name in PIPELINE {
            let json = serde_json::to_string(name).unwrap();
            assert_eq!(serde_json::from_str::<PhaseName>(&json).unwrap(), *name);
        }
        assert!(serde_json::from_str::<PhaseName>("\"enrichment\"").is_err());
        assert_eq!(PhaseName::parse("validation"), Some(VALIDATION));
        assert_eq!(DISCOVERY.next(), Some(VALIDATION));
        assert_eq!(VALIDATION.earlier(), &[DISCOVERY]);
    }
}
