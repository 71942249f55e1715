//! Opaque page cursors: a query's last evaluated key as base64url JSON of its attributes, checked
//! on the way back in so a client can only page through its own items.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue as Av;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use crate::error::AppError;

pub type Item = HashMap<String, Av>;

/// Encodes the string and number attributes of a key.
pub fn encode(key: &Item) -> String {
    let map: HashMap<&str, String> = key
        .iter()
        .filter_map(|(k, v)| match v {
            Av::S(s) => Some((k.as_str(), s.clone())),
            Av::N(n) => Some((k.as_str(), format!("#{n}"))),
            _ => None,
        })
        .collect();
    let json = serde_json::to_vec(&map).expect("a map of strings serializes");
    URL_SAFE_NO_PAD.encode(json)
}

/// Decodes a cursor and checks it names the caller's own keys (`owner_attr` = `owner`) and
/// exactly the attributes a key of this listing has.
pub fn decode(
    cursor: &str,
    owner_attr: &str,
    owner: &str,
    attrs: &[&str],
) -> Result<Item, AppError> {
    let bad = || AppError::bad_request("the cursor is not valid", Some("cursor".into()));
    let bytes = URL_SAFE_NO_PAD.decode(cursor).map_err(|_| bad())?;
    let map: HashMap<String, String> = serde_json::from_slice(&bytes).map_err(|_| bad())?;
    if map.get(owner_attr).map(String::as_str) != Some(owner)
        || map.len() != attrs.len()
        || !attrs.iter().all(|a| map.contains_key(*a))
    {
        return Err(bad());
    }
    Ok(map
        .into_iter()
        .map(|(k, v)| match v.strip_prefix('#') {
            Some(n) => (k, Av::N(n.to_string())),
            None => (k, Av::S(v)),
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_foreign_cursors_are_refused() {
        let key: Item = [
            ("ownerId".to_string(), Av::S("alice".into())),
            ("id".to_string(), Av::S("x".into())),
            ("n".to_string(), Av::N("7".into())),
        ]
        .into();
        let c = encode(&key);
        assert_eq!(
            decode(&c, "ownerId", "alice", &["ownerId", "id", "n"]).unwrap(),
            key
        );
        assert!(decode(&c, "ownerId", "mallory", &["ownerId", "id", "n"]).is_err());
        assert!(decode(&c, "ownerId", "alice", &["ownerId", "id"]).is_err());
        assert!(decode("not base64!", "ownerId", "alice", &["ownerId"]).is_err());
    }
}
