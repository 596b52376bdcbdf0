//! Readings drawn from the whole input space ingest can be sent: names in and out of their alphabet
//! (repeated, escaped, too long), timestamps from the acceptance window to the ends of i64 and RFC
//! 3339 with any offset, values from subnormal to ±1e308 and text JSON cannot hold, tags with any
//! Unicode, and the body as JSON, an array, NDJSON or gzip. Each item also keeps what the test needs
//! to predict the aggregates of the ones the server accepts.

use proptest::prelude::*;
use serde_json::Value;
use std::io::Write;

/// One generated reading: its JSON text and, for the model, what the server will have stored if it
/// accepts it.
#[derive(Debug, Clone)]
pub struct Item {
    pub text: String,
    pub device: String,
    /// The instant `ts` denotes, if it is one at all (RFC 3339 parsed, or integer milliseconds).
    pub ts: Option<i128>,
    /// (name, value) as the server will read them; names possibly repeated.
    pub metrics: Vec<(String, f64)>,
}

#[derive(Debug, Clone)]
pub struct Body {
    pub items: Vec<Item>,
    pub ndjson: bool,
    pub gzip: bool,
}

impl Body {
    /// This body for case `case`: [`CASE`] replaced in every device id.
    pub fn for_case(&self, case: u64) -> Self {
        let fill = |s: &str| s.replace(CASE, &case.to_string());
        let items = self
            .items
            .iter()
            .map(|i| Item {
                text: fill(&i.text),
                device: fill(&i.device),
                ..i.clone()
            })
            .collect();
        Self { items, ..*self }
    }

    pub fn content_type(&self) -> &'static str {
        if self.ndjson {
            "application/x-ndjson"
        } else {
            "application/json"
        }
    }

    pub fn bytes(&self) -> Vec<u8> {
        let texts: Vec<&str> = self.items.iter().map(|i| i.text.as_str()).collect();
        let plain = if self.ndjson {
            texts.join("\n")
        } else if texts.len() == 1 {
            texts[0].to_owned()
        } else {
            format!("[{}]", texts.join(","))
        };
        if !self.gzip {
            return plain.into_bytes();
        }
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        e.write_all(plain.as_bytes()).expect("in memory");
        e.finish().expect("in memory")
    }
}

fn name(max: usize) -> BoxedStrategy<String> {
    prop_oneof![
        40 => proptest::string::string_regex(&format!("[A-Za-z0-9_.-]{{1,{max}}}")).expect("regex"),
        1 => proptest::string::string_regex(&format!("[A-Za-z0-9_.-]{{{}}}", max + 1)).expect("regex"),
        1 => "[ :/é\u{0}😀]{1,3}",
        1 => Just(String::new()),
    ]
    .boxed()
}

/// A timestamp as JSON text and the instant it denotes.
fn ts(now: i64) -> impl Strategy<Value = (String, Option<i128>)> {
    const DAY: i64 = 86_400_000;
    let millis = prop_oneof![
        24 => now - 7 * DAY + 60_000..now + 240_000,
        1 => now - 8 * DAY..now + DAY,
        1 => prop::sample::select(vec![
            i64::MIN, i64::MIN + 1, i64::MAX, -62_167_219_200_001, -62_167_219_200_000,
            253_402_300_799_999, 253_402_300_800_000, -1, 0,
        ]),
        1 => any::<i64>(),
    ];
    let offset = (-1439i32..=1439).prop_map(|m| {
        let sign = if m < 0 { '-' } else { '+' };
        format!("{sign}{:02}:{:02}", m.abs() / 60, m.abs() % 60)
    });
    prop_oneof![
        8 => millis.clone().prop_map(|ms| (ms.to_string(), Some(i128::from(ms)))),
        8 => (millis, offset, 0u32..1000, prop::bool::ANY).prop_map(|(ms, off, frac, z)| {
            let Some(utc) = chrono::DateTime::from_timestamp_millis(ms) else {
                return (format!("\"{ms}\""), None);
            };
            let secs = if off == "+00:00" { 0 } else {
                let sign = if off.starts_with('-') { -1 } else { 1 };
                sign * (off[1..3].parse::<i64>().unwrap_or(0) * 3600 + off[4..].parse::<i64>().unwrap_or(0) * 60)
            };
            let Some(zone) = chrono::FixedOffset::east_opt(secs as i32) else {
                return (format!("\"{ms}\""), None);
            };
            let local = utc.with_timezone(&zone).format("%Y-%m-%dT%H:%M:%S").to_string();
            let tail = if z && secs == 0 { "Z".to_owned() } else { off };
            // Sub-millisecond digits are truncated by the server.
            let text = format!("\"{local}.{:03}{frac:03}{tail}\"", ms.rem_euclid(1000));
            // Years outside 0000-9999 have no RFC 3339 form: the text is not a timestamp.
            let year_ok = local.len() == 19 && !local.starts_with('-') && !local.starts_with('+');
            (text, year_ok.then_some(i128::from(ms)))
        }),
        1 => Just(("1.5".to_owned(), None)),
        1 => Just(("\"yesterday\"".to_owned(), None)),
    ]
}

/// A metric value as JSON text and the f64 the server reads from it (None: not a finite number).
fn value() -> impl Strategy<Value = (String, Option<f64>)> {
    let finite = prop_oneof![
        4 => -1e6f64..1e6,
        1 => prop::sample::select(vec![
            -0.0, 0.0, f64::MIN_POSITIVE, 5e-324, 1e150, -1e150, 1.0000000000000002e150,
            1e151, -1e308, f64::MAX, f64::MIN, 9_007_199_254_740_993.0,
        ]),
        1 => any::<f64>().prop_filter("finite", |v| v.is_finite()),
    ];
    prop_oneof![
        40 => finite.prop_map(|v| (serde_json::to_string(&v).expect("finite"), Some(v))),
        1 => Just(("1e400".to_owned(), None)),
        1 => Just(("18446744073709551615".to_owned(), Some(18_446_744_073_709_551_615.0))),
        1 => Just(("\"7\"".to_owned(), None)),
        1 => Just(("null".to_owned(), None)),
    ]
}

fn json_string(text: &str, escape_all: bool) -> String {
    if !escape_all {
        return Value::String(text.to_owned()).to_string();
    }
    // Every character as \uXXXX (surrogate pairs beyond the BMP): the same name, spelled differently.
    let mut out = String::from("\"");
    for unit in text.encode_utf16() {
        out.push_str(&format!("\\u{unit:04x}"));
    }
    out.push('"');
    out
}

/// Stands for the run's case number in device ids; replaced just before sending, so every case
/// (shrunk ones included) has devices of its own and identities never repeat across cases.
pub const CASE: &str = "@@";

/// One reading; `unique` makes its identity distinct from the others of its body.
pub fn item(now: i64, device: String, unique: u64) -> impl Strategy<Value = Item> {
    let metrics = prop::collection::vec((name(64), value(), prop::bool::weighted(0.1)), 0..4);
    let tags = prop_oneof![
        9 => prop::collection::vec((name(64), ".{0,260}"), 0..4),
        1 => prop::collection::vec((name(64), ".{0,260}"), 15..18),
    ];
    let identity = prop_oneof![
        Just(None),
        Just(Some(format!("\"seq\":{unique}"))),
        "[^\u{0}-\u{1f}]{0,10}".prop_map(move |id| Some(format!(
            "\"id\":{}",
            json_string(&format!("{id}/%?#\\{unique}"), false)
        ))),
    ];
    (ts(now), metrics, tags, identity, prop::bool::weighted(0.02)).prop_map(
        move |((ts_text, ts), metrics, tags, identity, repeat)| {
            let mut fields = vec![
                format!("\"deviceId\":{}", json_string(&device, false)),
                format!("\"ts\":{ts_text}"),
            ];
            fields.extend(identity);
            let mut entries: Vec<String> = metrics
                .iter()
                .map(|(n, (text, _), esc)| format!("{}:{text}", json_string(n, *esc)))
                .collect();
            // The hash identity covers the metrics: a unique value keeps it distinct.
            entries.push(format!("\"u\":{unique}"));
            if repeat {
                entries.push("\"u\":0".to_owned());
            }
            fields.push(format!("\"metrics\":{{{}}}", entries.join(",")));
            if !tags.is_empty() {
                let t: Vec<String> = tags
                    .iter()
                    .map(|(k, v)| format!("{}:{}", json_string(k, false), json_string(v, false)))
                    .collect();
                fields.push(format!("\"tags\":{{{}}}", t.join(",")));
            }
            let mut model: Vec<(String, f64)> = metrics
                .into_iter()
                .map(|(n, (_, v), _)| (n, v.unwrap_or(f64::NAN)))
                .collect();
            model.push(("u".to_owned(), unique as f64));
            Item {
                text: format!("{{{}}}", fields.join(",")),
                device: device.clone(),
                ts,
                metrics: model,
            }
        },
    )
}

/// A request body of 1–12 readings from 1–3 devices (names drawn as above, suffixed with [`CASE`]).
pub fn body(now: i64) -> impl Strategy<Value = Body> {
    let devices = prop::collection::vec(name(100), 1..4);
    (
        devices,
        1usize..13,
        prop::bool::ANY,
        prop::bool::weighted(0.3),
    )
        .prop_flat_map(move |(devices, n, ndjson, gzip)| {
            let devices: Vec<String> = devices
                .into_iter()
                .enumerate()
                .map(|(i, d)| format!("{d}-{CASE}{i}"))
                .collect();
            let items: Vec<_> = (0..n)
                .map(|i| item(now, devices[i % devices.len()].clone(), i as u64))
                .collect();
            (items, Just(ndjson), Just(gzip))
        })
        .prop_map(|(items, ndjson, gzip)| Body {
            items,
            ndjson,
            gzip,
        })
}
