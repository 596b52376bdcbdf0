//! A JSON object read into a map that refuses a repeated name instead of keeping the last value, so a
//! reading with `"metrics": {"t": 1, "t": 2}` is rejected with the name rather than half-stored.

use serde::de::{Deserializer, Error as _, MapAccess, Visitor};
use serde_json::Value;
use std::collections::BTreeMap;
use std::fmt;

/// Deserializes an object whose names must be distinct (after JSON unescaping: `"t"` and `"\u0074"`
/// are the same name).
pub fn unique_map<'de, D: Deserializer<'de>>(d: D) -> Result<BTreeMap<String, Value>, D::Error> {
    d.deserialize_map(UniqueMap)
}

struct UniqueMap;

impl<'de> Visitor<'de> for UniqueMap {
    type Value = BTreeMap<String, Value>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a map")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut out = BTreeMap::new();
        while let Some((name, value)) = map.next_entry::<String, Value>()? {
            if out.contains_key(&name) {
                return Err(A::Error::custom(format!(
                    "{name:?} appears more than once; each name may appear once"
                )));
            }
            out.insert(name, value);
        }
        Ok(out)
    }
}
