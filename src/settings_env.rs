//! A guard for the environment half of the settings: figment 0.10.19 unescapes a quoted value by
//! slicing at a character index as if it were a byte index, so `TRIBUTARY_X="é\n"` panics at start-up
//! (found by the `settings` fuzz target) or silently drops text. Such values are refused by name
//! before figment reads them.

use crate::settings::ENV_PREFIX;

/// Refuses every `TRIBUTARY_*` value that holds a quote, a backslash, and a non-ASCII character
/// before that backslash: the values figment would misread.
pub fn refuse_misread_escapes<'a>(
    vars: impl IntoIterator<Item = (&'a str, &'a str)>,
) -> Result<(), Box<figment::Error>> {
    for (name, value) in vars {
        if !name.starts_with(ENV_PREFIX) || !value.contains('"') {
            continue;
        }
        let Some(backslash) = value.find('\\') else {
            continue;
        };
        if !value[..backslash].is_ascii() {
            return Err(Box::new(figment::Error::from(format!(
                "environment variable {name}: a quoted value with non-ASCII text before a backslash \
                 escape cannot be read reliably; write the text unquoted, or escape those characters \
                 as \\uXXXX too"
            ))));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_quoted_values_with_non_ascii_before_a_backslash_are_refused() {
        let refused = refuse_misread_escapes([("TRIBUTARY_KAFKA__BROKERS", "\"é\\n\"")]);
        let err = refused.expect_err("refused").to_string();
        assert!(err.contains("TRIBUTARY_KAFKA__BROKERS"), "{err}");
        for fine in [
            ("TRIBUTARY_KAFKA__BROKERS", "é\\n"),
            ("TRIBUTARY_KAFKA__BROKERS", "\"a\\n é\""),
            ("TRIBUTARY_KAFKA__BROKERS", "\"\\u00e9\""),
            ("OTHER", "\"é\\n\""),
        ] {
            assert!(refuse_misread_escapes([fine]).is_ok(), "{fine:?}");
        }
    }
}
