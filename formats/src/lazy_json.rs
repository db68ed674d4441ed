//! [`LazyJson`]: a JSON value of the metadata that loading checks but does not build.
//!
//! The compressor records its training settings in `provenance.training` (about forty keys for the default
//! command). Nobody reads them when a model is loaded, yet building them as a `serde_json::Value` was most of
//! the metadata's parse: some fifty allocations for the keys, strings and map nodes, about half of the
//! metadata's 4-5 us and a sixth of a whole load (docs/BENCHMARKS.md, "Load time (session 4)"). The reader now
//! checks the value exactly as it checked it before (`json.rs`' `checked_value_text`: same documents refused,
//! same errors), keeps its text in one allocation, and builds the value only when asked
//! ([`LazyJson::to_value`]).

use core::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;

use crate::json::Reader;

/// A JSON value held as checked text (when read from a file) or as a value (when built by a program), compared,
/// printed and written as the value it stands for.
///
/// Equality, `Debug` and serialisation all go through [`LazyJson::to_value`], so a value read from a file and
/// the same value built in memory are equal, print alike and write the same JSON.
#[derive(Clone)]
pub struct LazyJson(Repr);

#[derive(Clone)]
enum Repr {
    /// Text that `Reader::checked_value_text` accepted: `Reader::value` reads it without error.
    Text(Box<str>),
    /// A value built in memory (or by serde).
    Value(Value),
}

impl LazyJson {
    /// Wraps text that [`Reader::checked_value_text`] returned (checked: UTF-8 and a value `Reader::value`
    /// reads).
    pub(crate) fn from_checked(text: &[u8]) -> Result<LazyJson, core::str::Utf8Error> {
        // Every string inside was checked for UTF-8 and JSON's own syntax is ASCII, so this cannot fail on checked
        // text; the pass (fast on ASCII) keeps the `str` invariant without `unsafe`.
        Ok(LazyJson(Repr::Text(core::str::from_utf8(text)?.into())))
    }

    /// The value, parsed from its text if it was read from a file.
    pub fn to_value(&self) -> Value {
        match &self.0 {
            Repr::Value(v) => v.clone(),
            Repr::Text(t) => {
                let mut r = Reader::new(t.as_bytes());
                // Checked at load with at least the nesting room this reader has, so this parse succeeds.
                match r.value().and_then(|v| r.end().map(|()| v)) {
                    Ok(v) => v,
                    Err(e) => unreachable!("checked JSON text no longer parses: {e}"),
                }
            }
        }
    }

    /// The JSON text as read from the file (`None` for a value built in memory).
    pub fn text(&self) -> Option<&str> {
        match &self.0 {
            Repr::Text(t) => Some(t),
            Repr::Value(_) => None,
        }
    }

    /// Whether the value is `null` (the default: nothing recorded).
    pub fn is_null(&self) -> bool {
        match &self.0 {
            Repr::Value(v) => v.is_null(),
            Repr::Text(t) => &**t == "null",
        }
    }
}

impl Default for LazyJson {
    fn default() -> Self {
        LazyJson(Repr::Value(Value::Null))
    }
}

impl From<Value> for LazyJson {
    fn from(v: Value) -> Self {
        LazyJson(Repr::Value(v))
    }
}

impl PartialEq for LazyJson {
    fn eq(&self, other: &Self) -> bool {
        match (&self.0, &other.0) {
            (Repr::Value(a), Repr::Value(b)) => a == b,
            _ => self.to_value() == other.to_value(),
        }
    }
}

impl fmt::Debug for LazyJson {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            Repr::Value(v) => v.fmt(f),
            Repr::Text(_) => self.to_value().fmt(f),
        }
    }
}

impl Serialize for LazyJson {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match &self.0 {
            Repr::Value(v) => v.serialize(s),
            Repr::Text(_) => self.to_value().serialize(s),
        }
    }
}

impl<'de> Deserialize<'de> for LazyJson {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Value::deserialize(d).map(LazyJson::from)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(text: &str) -> LazyJson {
        let mut r = Reader::new(text.as_bytes());
        let checked = r.checked_value_text().unwrap();
        LazyJson::from_checked(checked).unwrap()
    }

    #[test]
    fn read_text_equals_the_built_value() {
        let text = r#" {"b": [1, -2, 2.5e-3, "\u00e9\ud83d\ude00"], "a": {"x": null, "y": true}, "a": 7} "#;
        let lazy = read(text);
        assert_eq!(lazy.text(), Some(text.trim()));
        let value: Value = serde_json::from_str(text).unwrap();
        assert_eq!(lazy.to_value(), value);
        assert_eq!(lazy, LazyJson::from(value.clone()));
        assert_eq!(format!("{lazy:?}"), format!("{value:?}"));
        assert_eq!(
            serde_json::to_string(&lazy).unwrap(),
            serde_json::to_string(&value).unwrap()
        );
        assert_ne!(lazy, LazyJson::from(Value::Null));
        assert!(!lazy.is_null());
        assert!(read("null").is_null() && LazyJson::default().is_null());
        assert_eq!(LazyJson::default().text(), None);
    }

    #[test]
    fn non_utf8_text_is_refused() {
        assert!(LazyJson::from_checked(b"\"\xff\"").is_err());
    }
}
