//! What the document says about each pipeline phase beyond its name: its configuration section
//! (as stored and returned, and as a request body gives it), its per-domain result in the
//! domain listing, and the `config` of the persona kind it uses.
//!
//! Adding a phase is one row in [`doc`]. The rows are checked against the phase modules
//! (`has_section`, `result_key`, `persona_kind`): a phase with a section, a result or a persona
//! kind that its row does not describe (or the other way round), or a phase without a row, makes
//! the generation panic with what is missing, so the committed-document test fails and says so.

use serde_json::{Value, json};
use utoipa::ToSchema;
use utoipa::openapi::RefOr;
use utoipa::openapi::schema::Schema;

use crate::domain::PhaseName;
use crate::phases::discovery::{DiscoveryConfig, DiscoveryInput};
use crate::phases::keywords::{HttpPersonaConfig, KeywordsConfig, KeywordsInput};
use crate::phases::validation::DnsPersonaConfig;
use crate::phases::{self, Phase};

/// Named schemas collected for `components.schemas`, as utoipa's `ToSchema::schemas` gives them.
pub type Collected = Vec<(String, RefOr<Schema>)>;

/// Adds `T` and every schema it references to `out`; returns its name.
pub fn collect<T: ToSchema>(out: &mut Collected) -> String {
    out.push((T::name().into_owned(), T::schema()));
    T::schemas(out);
    T::name().into_owned()
}

/// A named schema: adds itself (and what it references) and returns its name.
pub type Named = fn(&mut Collected) -> String;

/// The document's description of one phase.
pub struct PhaseDoc {
    /// `config.<phase>`: the stored (and returned) section and the request's input.
    pub section: Option<Section>,
    /// Its per-domain result (under `Phase::result_key`), given the statuses it answers.
    pub result: Option<fn(&[&str]) -> Value>,
    /// The `config` a persona of its kind (`Phase::persona_kind`) must have.
    pub persona: Option<Named>,
}

pub struct Section {
    pub config: Named,
    pub input: Named,
    /// A valid section, for the request examples.
    pub example: fn() -> Value,
}

/// The row of every phase. A new phase: one arm here.
fn row(name: &str) -> Option<PhaseDoc> {
    Some(match name {
        "discovery" => PhaseDoc {
            section: Some(Section {
                config: collect::<DiscoveryConfig>,
                input: collect::<DiscoveryInput>,
                example: || {
                    json!({
                        "patternType": "prefix",
                        "constantString": "shop",
                        "variableLength": 3,
                        "characterSet": "abcdefghijklmnopqrstuvwxyz0123456789",
                        "tlds": [".com", ".net"],
                        "numDomains": 1000
                    })
                },
            }),
            result: None,
            persona: None,
        },
        "validation" => PhaseDoc {
            section: None,
            result: Some(dns_result),
            persona: Some(collect::<DnsPersonaConfig>),
        },
        "keywords" => PhaseDoc {
            section: Some(Section {
                config: collect::<KeywordsConfig>,
                input: collect::<KeywordsInput>,
                example: || json!({"terms": ["running shoes", "sale"], "paths": ["/"], "match": "any"}),
            }),
            result: Some(http_result),
            persona: Some(collect::<HttpPersonaConfig>),
        },
        _ => return None,
    })
}

/// Keywords' `http` result of one domain (`Keywords::results`, `HttpCheck::to_api`).
fn http_result(statuses: &[&str]) -> Value {
    json!({
        "type": "object",
        "description": "the HTTP fetch and page scan of the domain (keywords phase): `skipped` did not resolve; `matched`/`no_match` every path gave a complete 2xx page; `unreachable` no connection, time-out or TLS failure; `error` a non-2xx answer (`httpStatus`) or a reason in `error` (`blocked_address`, `too_many_redirects`, `body_too_large`, `deadline`, …)",
        "required": ["status"],
        "properties": {
            "status": {"type": "string", "enum": statuses},
            "httpStatus": {"type": "integer", "description": "the final answer's status code"},
            "finalUrl": {"type": "string", "description": "the URL after redirects"},
            "title": {"type": "string", "description": "the page's `<title>`"},
            "hits": {
                "type": "object",
                "description": "each term found with its count, over every path (present whenever a page was scanned)",
                "additionalProperties": {"type": "integer", "minimum": 1}
            },
            "error": {"type": "string", "description": "why the domain is `error` or `unreachable`"}
        }
    })
}

/// Validation's `dns` result of one domain (`Validation::results`).
fn dns_result(statuses: &[&str]) -> Value {
    json!({
        "type": "object",
        "description": "the DNS lookup of the domain through the campaign's dns persona",
        "required": ["status"],
        "properties": {
            "status": {"type": "string", "enum": statuses},
            "addresses": {
                "type": "array",
                "description": "the A and AAAA answers (status `resolved`)",
                "items": {"type": "string"}
            },
            "error": {"type": "string", "description": "why the lookup gave no answer (status `error`)"}
        }
    })
}

/// The row of `name`, checked against its phase module.
pub fn doc(name: PhaseName) -> PhaseDoc {
    let here = "shared/src/api/openapi/phases.rs";
    let Some(doc) = row(name.as_str()) else {
        panic!(
            "phase {name} has no row in {here}: describe its config section, result and persona there"
        );
    };
    let phase: &dyn Phase = phases::phase(name);
    let checks = [
        (
            "a config section",
            phase.has_section(),
            doc.section.is_some(),
        ),
        (
            "a per-domain result",
            phase.result_key().is_some(),
            doc.result.is_some(),
        ),
        (
            "a persona kind",
            phase.persona_kind().is_some(),
            doc.persona.is_some(),
        ),
    ];
    for (what, module, documented) in checks {
        assert!(
            module == documented,
            "phase {name}: its module {} {what} but its row in {here} {}",
            if module { "has" } else { "has no" },
            if documented {
                "describes one"
            } else {
                "does not"
            },
        );
    }
    doc
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::PIPELINE;

    #[test]
    fn every_pipeline_phase_has_a_row_that_matches_its_module() {
        for name in PIPELINE {
            doc(*name);
        }
    }
}
