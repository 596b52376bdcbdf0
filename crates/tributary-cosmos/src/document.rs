//! The Cosmos DB document of a reading: the reading's own JSON (camelCase, `deviceId` is the partition
//! key), with its identity as the document `id`. Cosmos forbids `/`, `\`, `?` and `#` in ids, which a
//! device's own `id` may contain, so those (and `%`) are percent-encoded; every other id is stored as is.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use tributary_core::analyze::SET_ASIDE_SOURCE;
use tributary_core::domain::Tags;
use tributary_core::ports::SetAside;
use tributary_core::{DeviceId, MetricName, Reading, ReadingId, Timestamp};

/// The document id for a reading identity.
pub fn cosmos_id(id: &ReadingId) -> String {
    let raw = id.as_str();
    if !raw.contains(['%', '/', '\\', '?', '#']) {
        return raw.to_owned();
    }
    let mut out = String::with_capacity(raw.len() + 8);
    for c in raw.chars() {
        match c {
            '%' | '/' | '\\' | '?' | '#' => out.push_str(&format!("%{:02X}", c as u32)),
            c => out.push(c),
        }
    }
    out
}

/// The reading identity of a document id (the inverse of [`cosmos_id`]).
pub fn reading_id_from_cosmos(id: &str) -> Result<ReadingId, String> {
    if !id.contains('%') {
        return ReadingId::parse(id);
    }
    let mut out = String::with_capacity(id.len());
    let mut rest = id;
    while let Some(at) = rest.find('%') {
        out.push_str(&rest[..at]);
        let code = rest
            .get(at + 1..at + 3)
            .and_then(|h| u8::from_str_radix(h, 16).ok())
            .ok_or_else(|| format!("document id {id:?} has a bad escape"))?;
        out.push(char::from(code));
        rest = &rest[at + 3..];
    }
    out.push_str(rest);
    ReadingId::parse(&out)
}

/// The reading a readings-container document holds (as the Functions host's change-feed trigger
/// delivers it).
pub fn reading_from_document(document: serde_json::Value) -> Result<Reading, String> {
    serde_json::from_value::<ReadingDocument>(document)
        .map_err(|e| e.to_string())?
        .into_reading()
}

/// Decodes one change-feed document, noting its `_lsn`; a document that is not a reading this version
/// can read comes back as a record to set aside, with why.
pub(crate) fn reading_from_raw(raw: &str, last_lsn: &mut Option<u64>) -> Result<Reading, SetAside> {
    serde_json::from_str::<ReadingDocument>(raw)
        .map_err(|e| e.to_string())
        .and_then(|doc| {
            *last_lsn = doc.lsn.or(*last_lsn);
            doc.into_reading()
        })
        .map_err(|reason| unreadable_document(raw.to_owned(), &reason))
}

/// A readings-container document that is not a readable reading, as a record to set aside. Its key
/// is the document's partition key and id where it has them (so a redelivery keeps one copy).
pub fn unreadable_document(record: String, reason: &str) -> SetAside {
    let fields: serde_json::Value = serde_json::from_str(&record).unwrap_or_default();
    let field = |name: &str| match &fields[name] {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Null => "?".into(),
        other => other.to_string(),
    };
    let key = match (field("deviceId"), field("id")) {
        (device, id) if device != "?" || id != "?" => format!("{device}/{id}"),
        _ => format!("sha256:{}", hex_sha256(&record)),
    };
    SetAside {
        source: SET_ASIDE_SOURCE.into(),
        key,
        record,
        reason: format!("document is not a readable reading: {reason}"),
        set_aside_at: Timestamp::now(),
    }
}

fn hex_sha256(text: &str) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(text.as_bytes()))
}

/// A reading as stored in the readings container: `Reading`'s fields, but `id` a plain string, since
/// the encoded id may be longer than a `ReadingId` may be.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ReadingDocument {
    pub id: String,
    pub device_id: DeviceId,
    pub ts: Timestamp,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seq: Option<u64>,
    pub metrics: BTreeMap<MetricName, f64>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub tags: Tags,
    pub received_at: Timestamp,
    /// The change feed's log sequence number of this version (set by Cosmos DB; never written).
    #[serde(rename = "_lsn", default, skip_serializing)]
    pub lsn: Option<u64>,
}

impl ReadingDocument {
    pub fn of(reading: &Reading) -> Self {
        Self {
            id: cosmos_id(&reading.id),
            device_id: reading.device_id.clone(),
            ts: reading.ts,
            seq: reading.seq,
            metrics: reading.metrics.clone(),
            tags: reading.tags.clone(),
            received_at: reading.received_at,
            lsn: None,
        }
    }

    pub fn into_reading(self) -> Result<Reading, String> {
        Ok(Reading {
            id: reading_id_from_cosmos(&self.id)?,
            device_id: self.device_id,
            ts: self.ts,
            seq: self.seq,
            metrics: self.metrics,
            tags: self.tags,
            received_at: self.received_at,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_cosmos_forbids_are_escaped_and_come_back() {
        for raw in ["m-1", "seq:7", "h:00ff", "a/b", "50%", "x?y#z\\w", "%2F"] {
            let id = ReadingId::parse(raw).unwrap();
            let stored = cosmos_id(&id);
            assert!(!stored.contains(['/', '\\', '?', '#']), "{stored}");
            assert_eq!(reading_id_from_cosmos(&stored).unwrap(), id);
        }
        assert_eq!(cosmos_id(&ReadingId::parse("a/b").unwrap()), "a%2Fb");
        assert_eq!(cosmos_id(&ReadingId::parse("seq:7").unwrap()), "seq:7");
    }

    #[test]
    fn a_bad_escape_is_an_error() {
        assert!(reading_id_from_cosmos("a%zz").is_err());
        assert!(reading_id_from_cosmos("a%2").is_err());
    }
}
