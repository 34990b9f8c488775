//! JSON as schakel reads it. `serde_json` keeps the last of two equal keys in an object,
//! so `{"tlp": "RED", "tlp": "CLEAR"}` would read as CLEAR and a second `"secrecy": null`
//! would silently remove a guarantee. Every JSON input — API bodies, registry files,
//! items, reports, decision requests, STIX and MISP documents — is read here instead: a
//! key that appears twice in one object is an error naming the object's path and the line.

use std::cell::RefCell;
use std::fmt;

use serde::de::{self, DeserializeSeed, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

/// Why a JSON text could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JsonError {
    /// The path of the object or value at fault (`item`, `objects[3]`; empty: the whole
    /// text).
    pub path: String,
    /// What is wrong, with the line and column.
    pub reason: String,
}

impl fmt::Display for JsonError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.path.is_empty() {
            f.write_str(&self.reason)
        } else {
            write!(f, "`{}`: {}", self.path, self.reason)
        }
    }
}

impl std::error::Error for JsonError {}

/// One step into a document.
#[derive(Debug, Clone)]
enum Step {
    Key(String),
    Index(usize),
}

/// Where the reader is in a document (`item.concerns[0]`), kept only to name it.
#[derive(Debug, Default)]
pub struct JsonPath {
    steps: RefCell<Vec<Step>>,
    /// The path of the first duplicate found.
    duplicate: RefCell<Option<String>>,
}

impl JsonPath {
    /// A path starting at `prefix` (such as `objects[7]` for an element read on its own).
    pub fn under(prefix: &str) -> Self {
        let path = Self::default();
        if !prefix.is_empty() {
            path.steps.borrow_mut().push(Step::Key(prefix.to_owned()));
        }
        path
    }

    fn push(&self, step: Step) {
        self.steps.borrow_mut().push(step);
    }

    fn pop(&self) {
        self.steps.borrow_mut().pop();
    }

    /// The path as text.
    fn render(&self) -> String {
        let mut text = String::new();
        for step in self.steps.borrow().iter() {
            match step {
                Step::Key(k) if text.is_empty() => text.push_str(k),
                Step::Key(k) => {
                    text.push('.');
                    text.push_str(k);
                }
                Step::Index(i) => text.push_str(&format!("[{i}]")),
            }
        }
        text
    }

    /// The error a reading failure becomes: a duplicate names its object's path.
    pub fn error(&self, e: &serde_json::Error) -> JsonError {
        JsonError {
            path: self.duplicate.borrow().clone().unwrap_or_default(),
            reason: e.to_string(),
        }
    }
}

/// Reads one JSON value, refusing a key twice in one object.
#[derive(Clone, Copy)]
pub struct StrictValue<'p>(pub &'p JsonPath);

impl<'de> DeserializeSeed<'de> for StrictValue<'_> {
    type Value = Value;

    fn deserialize<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for StrictValue<'_> {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Value, E> {
        serde_json::Number::from_f64(v)
            .map(Value::Number)
            .ok_or_else(|| E::custom("a number that is not finite"))
    }

    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }

    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_some<D: de::Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        self.deserialize(d)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut values = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(4096));
        loop {
            self.0.push(Step::Index(values.len()));
            let next = seq.next_element_seed(self)?;
            self.0.pop();
            match next {
                Some(v) => values.push(v),
                None => return Ok(Value::Array(values)),
            }
        }
    }

    fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<Value, A::Error> {
        let mut map = Map::new();
        while let Some(key) = access.next_key::<String>()? {
            if map.contains_key(&key) {
                let at = self.0.render();
                let reason = if at.is_empty() {
                    format!("the key `{key}` appears twice")
                } else {
                    format!("the key `{key}` appears twice in `{at}`")
                };
                *self.0.duplicate.borrow_mut() = Some(at);
                return Err(de::Error::custom(reason));
            }
            self.0.push(Step::Key(key.clone()));
            let value = access.next_value_seed(self)?;
            self.0.pop();
            map.insert(key, value);
        }
        Ok(Value::Object(map))
    }
}

/// Reads a whole JSON text (nothing but white space after the value).
pub fn from_slice(bytes: &[u8]) -> Result<Value, JsonError> {
    let path = JsonPath::default();
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let value = StrictValue(&path)
        .deserialize(&mut deserializer)
        .map_err(|e| path.error(&e))?;
    deserializer.end().map_err(|e| path.error(&e))?;
    Ok(value)
}

/// Reads a whole JSON text.
pub fn from_str(text: &str) -> Result<Value, JsonError> {
    from_slice(text.as_bytes())
}

/// Reads a JSON text that is one part of a larger document, at `prefix` there (such as
/// `objects[7]`), so that a key twice is named by its place in the whole.
pub fn from_str_at(text: &str, prefix: &str) -> Result<Value, JsonError> {
    let path = JsonPath::under(prefix);
    let mut deserializer = serde_json::Deserializer::from_str(text);
    let value = StrictValue(&path)
        .deserialize(&mut deserializer)
        .map_err(|e| path.error(&e))?;
    deserializer.end().map_err(|e| path.error(&e))?;
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_twice_is_refused_with_its_path_and_line() {
        let e = from_str("{\"tlp\": \"RED\",\n \"tlp\": \"CLEAR\"}").err();
        let e = e.map(|e| e.to_string()).unwrap_or_default();
        assert!(
            e.contains("the key `tlp` appears twice") && e.contains("line 2"),
            "{e}"
        );
        let e = from_str(r#"{"item": {"concerns": [{"a": 1, "a": 2}]}}"#).err();
        assert_eq!(
            e.as_ref().map(|e| e.path.as_str()),
            Some("item.concerns[0]")
        );
        let e = from_str(r#"[{"slug": "x"}, {"slug": "y", "secrecy": {}, "secrecy": null}]"#).err();
        assert_eq!(e.as_ref().map(|e| e.path.as_str()), Some("[1]"));
        // The same key in different objects is fine; order and numbers are kept.
        let v = from_str(r#"{"b": {"x": 1}, "a": {"x": -2.5, "y": [1, 18446744073709551615]}}"#);
        assert_eq!(
            v.map(|v| v.to_string()).ok().as_deref(),
            Some(r#"{"b":{"x":1},"a":{"x":-2.5,"y":[1,18446744073709551615]}}"#)
        );
        // Trailing text and bad syntax are errors too.
        assert!(from_str("{} {}").is_err());
        assert!(from_str("{\"a\": }").is_err());
        assert!(from_str(&"[".repeat(1000)).is_err());
    }
}
