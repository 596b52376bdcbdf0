//! Decompressing a gzip request body in memory with two guards: the decompressed size limit and the
//! compression ratio, both enforced while inflating, so a small bomb is refused before it grows.

use super::{BodyError, IngestLimits};
use std::io::Read;

/// Inflates `compressed` (one or more gzip members) or says why not.
pub fn inflate(compressed: &[u8], limits: &IngestLimits) -> Result<Vec<u8>, BodyError> {
    inflate_within(compressed, limits, |_| true).map(|out| out.unwrap_or_default())
}

/// Inflates as `inflate` does, asking `afford(len)` before the output may grow to `len` bytes (in
/// 64 KiB steps), so a caller can hold a memory budget; `Ok(None)` when `afford` refuses.
pub fn inflate_within(
    compressed: &[u8],
    limits: &IngestLimits,
    mut afford: impl FnMut(usize) -> bool,
) -> Result<Option<Vec<u8>>, BodyError> {
    const STEP: usize = 64 * 1024;
    let by_ratio = compressed
        .len()
        .saturating_mul(limits.max_compression_ratio);
    let cap = limits.max_body_bytes.min(by_ratio);
    let mut out = Vec::new();
    let mut decoder =
        flate2::read::MultiGzDecoder::new(compressed).take((cap as u64).saturating_add(1));
    loop {
        let len = out.len();
        if !afford(len + STEP) {
            return Ok(None);
        }
        out.resize(len + STEP, 0);
        let n = decoder
            .read(&mut out[len..])
            .map_err(|e| BodyError::NotGzip(e.to_string()))?;
        out.truncate(len + n);
        if n == 0 {
            break;
        }
    }
    if out.len() > cap {
        return Err(if cap == limits.max_body_bytes {
            BodyError::TooLarge {
                max: limits.max_body_bytes,
            }
        } else {
            BodyError::TooCompressed {
                ratio: limits.max_compression_ratio,
            }
        });
    }
    Ok(Some(out))
}

#[cfg(test)]
mod tests {
    use super::*;
    use flate2::write::GzEncoder;
    use std::io::Write;

    fn gzip(bytes: &[u8]) -> Vec<u8> {
        let mut e = GzEncoder::new(Vec::new(), flate2::Compression::default());
        e.write_all(bytes).unwrap();
        e.finish().unwrap()
    }

    #[test]
    fn inflates_concatenated_members() {
        let mut two = gzip(b"ab");
        two.extend(gzip(b"cd"));
        assert_eq!(inflate(&two, &IngestLimits::default()).unwrap(), b"abcd");
    }

    #[test]
    fn size_ratio_and_garbage_are_each_named() {
        let limits = IngestLimits {
            max_body_bytes: 1000,
            ..IngestLimits::default()
        };
        let big = gzip(&[b'x'; 1001]);
        assert_eq!(
            inflate(&big, &limits),
            Err(BodyError::TooLarge { max: 1000 })
        );
        let bomb = gzip(&[b' '; 900_000]);
        assert_eq!(
            inflate(&bomb, &IngestLimits::default()),
            Err(BodyError::TooCompressed { ratio: 200 })
        );
        assert!(matches!(
            inflate(b"plain", &limits),
            Err(BodyError::NotGzip(_))
        ));
    }

    #[test]
    fn stops_when_the_budget_refuses_and_asks_before_each_step() {
        // Text that compresses about 3:1, well under the ratio guard.
        let text: Vec<u8> = (0..200_000u32)
            .map(|i| b"0123456789abcdef"[(i.wrapping_mul(2_654_435_761) >> 28) as usize])
            .collect();
        let body = gzip(&text);
        let mut asked = Vec::new();
        let refused = inflate_within(&body, &IngestLimits::default(), |len| {
            asked.push(len);
            len <= 128 * 1024
        });
        assert_eq!(refused, Ok(None));
        assert_eq!(
            asked.first(),
            Some(&(64 * 1024)),
            "asks before the first byte"
        );
        assert!(asked
            .windows(2)
            .all(|w| w[0] < w[1] && w[1] - w[0] <= 64 * 1024));
        assert!(
            *asked.last().unwrap() > 128 * 1024,
            "refused past the budget"
        );
        let whole = inflate_within(&body, &IngestLimits::default(), |_| true).unwrap();
        assert_eq!(whole, Some(text));
    }
}
