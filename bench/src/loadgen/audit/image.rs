//! What the audit reads of one campaign item (a stream image): the version, the write's time,
//! the sweep index clock, and per phase its status, trigger, run, progress, auto-start request,
//! re-drives and error. Decoded from the item's stored JSON form (`Campaign` in shared/), every
//! field the audit relies on required: an image without them is reported undecodable, never
//! read as a default.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::Value;

/// One phase in an image.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PhaseImage {
    pub status: String,
    /// `auto`, `manual`, or empty before the first start.
    pub trigger: String,
    pub run: u64,
    pub done: u64,
    /// When it last moved (epoch ms): the sweeper's staleness clock of a running phase.
    pub progress_at: Option<i64>,
    pub auto_start: String,
    pub requested_at: Option<i64>,
    pub auto_start_error: Option<String>,
    pub error: Option<String>,
    /// The sweeper's re-drives since the phase last moved: `(count, reason, at)`.
    pub recovery: Option<(u64, String, i64)>,
}

impl PhaseImage {
    /// When a queued auto-start's staleness clock started (the sweeper's rule).
    pub fn queued_since(&self) -> Option<i64> {
        self.recovery.as_ref().map(|r| r.2).or(self.requested_at)
    }
}

/// What the audit needs of one image.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Image {
    pub version: u64,
    /// The write's time (`updatedAt`, epoch ms).
    pub updated_at: i64,
    /// The sparse sweep index's clock (`sweepAt`): present while a phase runs or an auto-start
    /// is queued.
    pub sweep_at: Option<i64>,
    pub phases: BTreeMap<String, PhaseImage>,
}

fn millis(v: &Value) -> Result<Option<i64>, String> {
    match v {
        Value::Null => Ok(None),
        Value::String(s) => chrono::DateTime::parse_from_rfc3339(s)
            .map(|t| Some(t.timestamp_millis()))
            .map_err(|e| format!("time {s:?}: {e}")),
        Value::Number(n) => n
            .as_i64()
            .map(Some)
            .ok_or_else(|| format!("time {n} is not an integer")),
        other => Err(format!("time {other} is neither a string nor a number")),
    }
}

fn text(v: &Value, what: &str) -> Result<String, String> {
    v.as_str()
        .map(str::to_string)
        .ok_or_else(|| format!("{what} missing or not a string"))
}

fn phase_image(p: &Value) -> Result<(String, PhaseImage), String> {
    let name = text(&p["phase"], "phases[].phase")?;
    let auto = &p["autoStart"];
    let recovery = match &p["recovery"] {
        Value::Null => None,
        r => Some((
            r["redrives"].as_u64().ok_or("recovery.redrives")?,
            text(&r["reason"], "recovery.reason")?,
            millis(&r["at"])?.ok_or("recovery.at")?,
        )),
    };
    Ok((
        name.clone(),
        PhaseImage {
            status: text(&p["status"], &format!("{name}.status"))?,
            trigger: p["trigger"].as_str().unwrap_or_default().to_string(),
            run: p["run"].as_u64().unwrap_or(0),
            done: p["progress"]["done"]
                .as_u64()
                .ok_or_else(|| format!("{name}.progress.done"))?,
            progress_at: millis(&p["progressAt"])?,
            auto_start: text(&auto["status"], &format!("{name}.autoStart.status"))?,
            requested_at: millis(&auto["requestedAt"])?,
            auto_start_error: auto["error"]["code"].as_str().map(str::to_string),
            error: p["error"]["code"].as_str().map(str::to_string),
            recovery,
        },
    ))
}

impl Image {
    pub fn from_value(v: &Value) -> Result<Self, String> {
        Ok(Self {
            version: v["version"].as_u64().ok_or("version")?,
            updated_at: millis(&v["updatedAt"])?.ok_or("updatedAt")?,
            sweep_at: millis(&v["sweepAt"])?,
            phases: v["phases"]
                .as_array()
                .ok_or("phases")?
                .iter()
                .map(phase_image)
                .collect::<Result<_, _>>()?,
        })
    }

    /// A phase's status (`absent` when the item predates the phase).
    pub fn phase(&self, name: &str) -> &str {
        self.phases
            .get(name)
            .map_or("absent", |p| p.status.as_str())
    }

    /// A phase's auto-start status (`absent` when the item predates the phase).
    pub fn auto_start(&self, name: &str) -> &str {
        self.phases
            .get(name)
            .map_or("absent", |p| p.auto_start.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn reads_the_stored_item() {
        let item = json!({
            "id": "c", "version": 4, "updatedAt": "2026-11-25T10:00:01.500Z", "sweepAt": 1795687201000i64,
            "phases": [
                {"phase": "discovery", "status": "running", "trigger": "auto", "run": 1,
                 "progress": {"done": 1000, "total": 5000}, "progressAt": "2026-11-25T10:00:01.000Z",
                 "autoStart": {"status": "started", "attempts": 1, "requestedAt": "2026-11-25T10:00:00.000Z"},
                 "recovery": {"redrives": 1, "reason": "stalled_phase", "at": "2026-11-25T10:00:01.000Z"},
                 "error": null},
                {"phase": "validation", "status": "not_started", "trigger": null,
                 "progress": {"done": 0, "total": 0}, "autoStart": {"status": "not_requested"}}
            ]
        });
        let ms = |t: &str| {
            chrono::DateTime::parse_from_rfc3339(t)
                .unwrap()
                .timestamp_millis()
        };
        let i = Image::from_value(&item).unwrap();
        assert_eq!(
            (i.version, i.updated_at, i.sweep_at),
            (4, ms("2026-11-25T10:00:01.500Z"), Some(1_795_687_201_000))
        );
        let d = &i.phases["discovery"];
        assert_eq!((d.done, d.run, d.trigger.as_str()), (1000, 1, "auto"));
        assert_eq!(d.recovery.as_ref().map(|r| r.0), Some(1));
        assert_eq!(d.queued_since(), Some(ms("2026-11-25T10:00:01.000Z")));
        assert_eq!(d.requested_at, Some(ms("2026-11-25T10:00:00.000Z")));
        assert_eq!(i.phase("validation"), "not_started");
        assert_eq!(i.phase("keywords"), "absent");
        assert_eq!(i.auto_start("validation"), "not_requested");
        let mut broken = item.clone();
        broken["phases"][0]["autoStart"] = json!({});
        assert!(Image::from_value(&broken).is_err());
        broken = item;
        broken["updatedAt"] = json!("yesterday");
        assert!(Image::from_value(&broken).is_err());
    }
}
