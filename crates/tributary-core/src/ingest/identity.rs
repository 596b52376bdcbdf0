//! A reading's identity: `id` if the device gave one, else `seq:<seq>`, else a content hash.

use crate::{DeviceId, MetricName, ReadingId, Timestamp};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;

/// The identity that makes a resent reading a duplicate. The hash covers device, time and metrics
/// (names sorted, values bit-exact), so the same measurement resent is the same reading.
pub fn identity_of(
    device: &DeviceId,
    id: Option<ReadingId>,
    seq: Option<u64>,
    ts: Timestamp,
    metrics: &BTreeMap<MetricName, f64>,
) -> ReadingId {
    if let Some(id) = id {
        return id;
    }
    if let Some(seq) = seq {
        return ReadingId::from_seq(seq);
    }
    let mut hash = Sha256::new();
    hash.update(device.as_str().as_bytes());
    hash.update([0]);
    hash.update(ts.millis().to_be_bytes());
    for (name, value) in metrics {
        hash.update(name.as_str().as_bytes());
        hash.update([0]);
        hash.update(value.to_bits().to_be_bytes());
    }
    let digest = hash.finalize();
    ReadingId::from_hash(&hex::encode(&digest[..16]))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn metrics(v: f64) -> BTreeMap<MetricName, f64> {
        BTreeMap::from([(MetricName::parse("t").unwrap(), v)])
    }

    #[test]
    fn explicit_id_wins_then_seq_then_hash() {
        let d = DeviceId::parse("d").unwrap();
        let ts = Timestamp::from_millis(5);
        let id = ReadingId::parse("m-1").unwrap();
        assert_eq!(
            identity_of(&d, Some(id.clone()), Some(3), ts, &metrics(1.0)),
            id
        );
        assert_eq!(
            identity_of(&d, None, Some(3), ts, &metrics(1.0)).as_str(),
            "seq:3"
        );
        let h = identity_of(&d, None, None, ts, &metrics(1.0));
        assert!(h.as_str().starts_with("h:") && h.as_str().len() == 34);
    }

    #[test]
    fn hash_depends_on_every_part() {
        let d = DeviceId::parse("d").unwrap();
        let ts = Timestamp::from_millis(5);
        let base = identity_of(&d, None, None, ts, &metrics(1.0));
        assert_eq!(base, identity_of(&d, None, None, ts, &metrics(1.0)));
        assert_ne!(base, identity_of(&d, None, None, ts, &metrics(1.5)));
        assert_ne!(
            base,
            identity_of(&d, None, None, Timestamp::from_millis(6), &metrics(1.0))
        );
        let other = DeviceId::parse("e").unwrap();
        assert_ne!(base, identity_of(&other, None, None, ts, &metrics(1.0)));
    }
}
