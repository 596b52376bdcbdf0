//! Fuzzes what the Functions host POSTs to `/Analyze` and `/Process`: the invocation envelope and its
//! string-wrapped encodings (`functions::invocation::items`), then each item as the handlers decode
//! it — a readings-container document, or a Kafka event whose payload is a scored reading. Whatever
//! decodes must encode back to itself; nothing may panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tributary::functions::invocation::items;
use tributary::host::KafkaEvent;
use tributary_core::{Reading, ScoredReading};

fuzz_target!(|data: &[u8]| {
    if let Ok(documents) = items(data, "documents") {
        for document in documents {
            if let Ok(reading) = tributary_cosmos::reading_from_document(document) {
                let id = tributary_cosmos::cosmos_id(&reading.id);
                assert_eq!(
                    tributary_cosmos::reading_id_from_cosmos(&id).as_ref(),
                    Ok(&reading.id)
                );
                let json = serde_json::to_vec(&reading).expect("serialize");
                let back: Reading = serde_json::from_slice(&json).expect("reads back");
                assert_eq!(back, reading);
            }
        }
    }
    if let Ok(events) = items(data, "events") {
        for event in events {
            let Ok(event) = serde_json::from_value::<KafkaEvent>(event) else {
                continue;
            };
            let _ = event.key_bytes();
            if let Some(Ok(scored)) = event.payload().as_deref().map(tributary_kafka::decode) {
                let json = serde_json::to_vec(&scored).expect("serialize");
                let back: ScoredReading = serde_json::from_slice(&json).expect("reads back");
                assert_eq!(back, scored);
            }
        }
    }
});
