//! The pipeline: the ordered, table-driven list of phases. Adding a phase is one row here plus
//! its executor (see docs/ADDING_A_PHASE.md).

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PhaseName {
    Discovery,
    Validation,
}

impl PhaseName {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Discovery => "discovery",
            Self::Validation => "validation",
        }
    }

    /// Parses a phase from a path segment; `None` for an unknown phase (404).
    pub fn parse(s: &str) -> Option<Self> {
        PIPELINE.iter().map(|d| d.name).find(|n| n.as_str() == s)
    }
}

impl std::fmt::Display for PhaseName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One row of the pipeline.
#[derive(Debug)]
pub struct PhaseDef {
    pub name: PhaseName,
}

/// The phases in order. A phase starts only after every phase before it completed.
pub const PIPELINE: &[PhaseDef] = &[
    PhaseDef {
        name: PhaseName::Discovery,
    },
    PhaseDef {
        name: PhaseName::Validation,
    },
];

/// The phase after `name`, if any.
pub fn next_phase(name: PhaseName) -> Option<PhaseName> {
    let pos = PIPELINE.iter().position(|d| d.name == name)?;
    PIPELINE.get(pos + 1).map(|d| d.name)
}
