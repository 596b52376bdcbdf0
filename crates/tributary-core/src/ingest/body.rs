//! Splitting a decompressed request body into per-reading items, so one bad reading is reported by
//! index without failing the others. Only a body that is not JSON at all fails the whole request.

use super::{IngestLimits, WireReading};
use serde_json::value::RawValue;

/// How the body is framed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyFormat {
    /// One reading object, or an array of them.
    Json,
    /// One reading object per line.
    Ndjson,
}

/// A body that cannot be split into readings at all.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BodyError {
    #[error("malformed JSON at line {line}, column {column}: {message}")]
    Malformed {
        line: usize,
        column: usize,
        message: String,
    },
    #[error("the body holds no readings")]
    Empty,
    #[error("the body holds {count} readings; at most {max} are allowed per request")]
    TooManyReadings { count: usize, max: usize },
    #[error("the body is larger than {max} bytes after decompression")]
    TooLarge { max: usize },
    #[error("the body inflates more than {ratio}:1; refused as a possible decompression bomb")]
    TooCompressed { ratio: usize },
    #[error("the body is not valid gzip: {0}")]
    NotGzip(String),
}

impl BodyError {
    /// Whether the body was refused for its size (413) rather than its content (400).
    pub fn is_too_large(&self) -> bool {
        matches!(
            self,
            Self::TooManyReadings { .. } | Self::TooLarge { .. } | Self::TooCompressed { .. }
        )
    }
}

/// Splits `body` into items; each item is a parsed wire reading or the reason it is not one.
pub fn split_body(
    body: &[u8],
    format: BodyFormat,
    limits: &IngestLimits,
) -> Result<Vec<Result<WireReading, String>>, BodyError> {
    let items = match format {
        BodyFormat::Json => split_json(body)?,
        BodyFormat::Ndjson => split_ndjson(body),
    };
    if items.is_empty() {
        return Err(BodyError::Empty);
    }
    if items.len() > limits.max_readings {
        return Err(BodyError::TooManyReadings {
            count: items.len(),
            max: limits.max_readings,
        });
    }
    Ok(items)
}

fn split_json(body: &[u8]) -> Result<Vec<Result<WireReading, String>>, BodyError> {
    let first = body.iter().find(|b| !b.is_ascii_whitespace());
    match first {
        Some(b'[') => {
            let raws: Vec<&RawValue> = serde_json::from_slice(body).map_err(malformed)?;
            Ok(raws.into_iter().map(|raw| parse_item(raw.get())).collect())
        }
        Some(b'{') => {
            let raw: &RawValue = serde_json::from_slice(body).map_err(malformed)?;
            Ok(vec![parse_item(raw.get())])
        }
        None => Err(BodyError::Empty),
        Some(_) => {
            // Let serde say what it found, with the position.
            let err = serde_json::from_slice::<&RawValue>(body)
                .err()
                .map(malformed)
                .unwrap_or(BodyError::Malformed {
                    line: 1,
                    column: 1,
                    message: "expected a reading object or an array of readings".into(),
                });
            match err {
                BodyError::Malformed { line, column, .. } => Err(BodyError::Malformed {
                    line,
                    column,
                    message: "expected a reading object or an array of readings".into(),
                }),
                other => Err(other),
            }
        }
    }
}

fn split_ndjson(body: &[u8]) -> Vec<Result<WireReading, String>> {
    body.split(|b| *b == b'\n')
        .enumerate()
        .filter(|(_, line)| line.iter().any(|b| !b.is_ascii_whitespace()))
        .map(|(number, line)| match std::str::from_utf8(line) {
            Ok(text) => parse_item(text).map_err(|e| format!("line {}: {e}", number + 1)),
            Err(_) => Err(format!("line {}: not valid UTF-8", number + 1)),
        })
        .collect()
}

fn parse_item(text: &str) -> Result<WireReading, String> {
    serde_json::from_str::<WireReading>(text).map_err(|e| describe(&e))
}

fn malformed(e: serde_json::Error) -> BodyError {
    BodyError::Malformed {
        line: e.line(),
        column: e.column(),
        message: describe(&e),
    }
}

/// serde_json's message without its " at line L column C" suffix (positions are reported separately,
/// and inside one item of an array they would be misleading).
fn describe(e: &serde_json::Error) -> String {
    let text = e.to_string();
    match text.rfind(" at line ") {
        Some(cut) => text[..cut].to_owned(),
        None => text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ONE: &str = r#"{"deviceId":"d1","ts":1,"metrics":{"t":1}}"#;

    #[test]
    fn json_object_array_and_ndjson_all_split() {
        let limits = IngestLimits::default();
        assert_eq!(
            split_body(ONE.as_bytes(), BodyFormat::Json, &limits)
                .unwrap()
                .len(),
            1
        );
        let array = format!("[{ONE},{ONE}]");
        assert_eq!(
            split_body(array.as_bytes(), BodyFormat::Json, &limits)
                .unwrap()
                .len(),
            2
        );
        let nd = format!("{ONE}\n\n{ONE}\r\n");
        assert_eq!(
            split_body(nd.as_bytes(), BodyFormat::Ndjson, &limits)
                .unwrap()
                .len(),
            2
        );
    }

    #[test]
    fn malformed_json_says_where() {
        let err = split_body(
            b"[{\"deviceId\": }]",
            BodyFormat::Json,
            &IngestLimits::default(),
        )
        .unwrap_err();
        assert!(
            matches!(
                err,
                BodyError::Malformed {
                    line: 1,
                    column: 15,
                    ..
                }
            ),
            "{err:?}"
        );
    }

    #[test]
    fn a_bad_ndjson_line_is_rejected_alone_with_its_line_number() {
        let nd = format!("{ONE}\nnot json\n{ONE}");
        let items =
            split_body(nd.as_bytes(), BodyFormat::Ndjson, &IngestLimits::default()).unwrap();
        assert!(items[0].is_ok() && items[2].is_ok());
        assert!(items[1].as_ref().unwrap_err().starts_with("line 2: "));
    }

    #[test]
    fn too_many_readings_is_a_body_error() {
        let limits = IngestLimits {
            max_readings: 1,
            ..IngestLimits::default()
        };
        let array = format!("[{ONE},{ONE}]");
        assert_eq!(
            split_body(array.as_bytes(), BodyFormat::Json, &limits).unwrap_err(),
            BodyError::TooManyReadings { count: 2, max: 1 }
        );
    }

    #[test]
    fn a_scalar_body_is_malformed() {
        let err = split_body(b"42", BodyFormat::Json, &IngestLimits::default()).unwrap_err();
        assert!(
            err.to_string().contains("expected a reading object"),
            "{err}"
        );
    }
}
