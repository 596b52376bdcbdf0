//! The Azure Functions custom-handler protocol: the invocation the host POSTs to `/<Function>` and
//! the response it expects. Trigger data arrives in several encodings depending on host and extension
//! version (reference: shared/reference/azure-functions-custom-handlers.md §1.2, §2.2, §2.4):
//! a JSON array, a string holding one, or a string holding a string holding one; each item an object
//! or a string holding one. `items` accepts all of them. Pure: no I/O.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// What the host POSTs for a non-HTTP trigger.
#[derive(Debug, Deserialize)]
pub struct Invocation {
    #[serde(rename = "Data", default)]
    pub data: Map<String, Value>,
    #[serde(rename = "Metadata", default)]
    pub metadata: Value,
}

/// What the handler answers; a non-2xx status instead fails the invocation so the host retries.
#[derive(Debug, Serialize)]
pub struct InvocationResult {
    #[serde(rename = "Outputs")]
    pub outputs: Map<String, Value>,
    #[serde(rename = "Logs")]
    pub logs: Vec<String>,
    #[serde(rename = "ReturnValue")]
    pub return_value: Value,
}

impl InvocationResult {
    pub fn new(logs: Vec<String>, return_value: Value) -> Self {
        Self {
            outputs: Map::new(),
            logs,
            return_value,
        }
    }
}

/// Most string layers unwrapped before giving up (real captures show two).
const MAX_ENCODING_DEPTH: usize = 4;

impl Invocation {
    /// The items of trigger binding `name` (or of the only binding, if the name differs).
    pub fn items(&self, name: &str) -> Result<Vec<Value>, String> {
        let value = match self.data.get(name) {
            Some(v) => v,
            None if self.data.len() == 1 => self.data.values().next().unwrap_or(&Value::Null),
            None => return Err(format!("the invocation has no {name:?} binding in Data")),
        };
        let array = unwrap_strings(value.clone())?;
        let Value::Array(items) = array else {
            return Err(format!("binding {name:?} is not a list: {}", kind(&array)));
        };
        items.into_iter().map(unwrap_strings).collect()
    }
}

/// Decodes JSON held in strings until a non-string appears.
fn unwrap_strings(mut value: Value) -> Result<Value, String> {
    for _ in 0..MAX_ENCODING_DEPTH {
        match value {
            Value::String(text) => {
                value = serde_json::from_str(&text)
                    .map_err(|e| format!("not JSON inside a string: {e}"))?;
            }
            other => return Ok(other),
        }
    }
    Err("JSON nested in strings too deeply".into())
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// One event of a `kafkaTrigger` with `cardinality: many` (the extension's `KafkaEventData`).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct KafkaEvent {
    pub offset: i64,
    pub partition: i32,
    pub topic: String,
    #[serde(default)]
    pub key: Option<Value>,
    /// The message as text (`dataType: string`); a JSON value if a host hands it over parsed.
    #[serde(default)]
    pub value: Option<Value>,
}

impl KafkaEvent {
    pub fn key_bytes(&self) -> Option<Vec<u8>> {
        self.key.as_ref().map(text_or_json)
    }

    pub fn payload(&self) -> Option<Vec<u8>> {
        self.value.as_ref().map(text_or_json)
    }
}

fn text_or_json(v: &Value) -> Vec<u8> {
    match v {
        Value::String(s) => s.clone().into_bytes(),
        other => other.to_string().into_bytes(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn invocation(data: Value) -> Invocation {
        serde_json::from_value(
            json!({"Data": data, "Metadata": {"sys": {"MethodName": "Analyze"}}}),
        )
        .unwrap()
    }

    #[test]
    fn documents_are_read_in_every_documented_encoding() {
        let docs = json!([{"id": "a"}, {"id": "b"}]);
        let once = Value::String(docs.to_string());
        let twice = Value::String(once.to_string());
        for data in [docs.clone(), once, twice] {
            let items = invocation(json!({ "documents": data }))
                .items("documents")
                .unwrap();
            assert_eq!(items, vec![json!({"id": "a"}), json!({"id": "b"})]);
        }
    }

    #[test]
    fn kafka_events_may_be_objects_or_strings_holding_objects() {
        let event =
            json!({"Offset": 3, "Partition": 1, "Topic": "t", "Key": "d1", "Value": "{\"x\":1}"});
        let as_strings = Value::String(json!([event.to_string()]).to_string());
        for data in [
            json!([event.clone()]),
            json!([event.to_string()]),
            as_strings,
        ] {
            let items = invocation(json!({ "events": data }))
                .items("events")
                .unwrap();
            let parsed: KafkaEvent = serde_json::from_value(items[0].clone()).unwrap();
            assert_eq!(
                (parsed.offset, parsed.partition, parsed.topic.as_str()),
                (3, 1, "t")
            );
            assert_eq!(parsed.payload().unwrap(), b"{\"x\":1}");
            assert_eq!(parsed.key_bytes().unwrap(), b"d1");
        }
    }

    #[test]
    fn a_binding_that_is_not_a_list_is_refused_with_a_reason() {
        let err = invocation(json!({"documents": {"id": "a"}}))
            .items("documents")
            .unwrap_err();
        assert_eq!(err, "binding \"documents\" is not a list: an object");
        let err = invocation(json!({"documents": "not json"}))
            .items("documents")
            .unwrap_err();
        assert!(err.starts_with("not JSON inside a string"), "{err}");
    }
}
