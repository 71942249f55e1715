//! The `keywords` phase's building blocks (the phase itself is wired by the lead): its
//! configuration section, its `http` persona, the fetcher and the page scan.

pub mod config;
pub mod fetch;
pub mod persona;
pub mod scan;
