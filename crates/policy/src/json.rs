//! A strict reader over JSON objects that keeps the path of every field it reads, so each
//! error can say exactly which field is wrong and what it may hold.
//!
//! serde's derived deserializers cannot check one field against another (a `none` record mode
//! is valid for one project kind and not the other) and name fields without their path; this
//! reader does both, and the typed settings and events are built from what it returns.

use serde_json::{Map, Value};

use crate::error::InputError;
use crate::names::{Named, list};

/// At most this many characters of an offending value are quoted back in a message.
const QUOTE_MAX: usize = 60;

/// Quotes a JSON value for an error message, shortened when long.
pub(crate) fn quote(v: &Value) -> String {
    let s = v.to_string();
    if s.chars().count() <= QUOTE_MAX {
        s
    } else {
        let cut: String = s.chars().take(QUOTE_MAX).collect();
        format!("{cut}…")
    }
}

/// A value as an error message shows it: its kind, and the value itself where that adds to it.
fn describe(v: &Value) -> String {
    match v {
        Value::Null => "null".to_owned(),
        other => format!("{} ({})", kind_of(other), quote(other)),
    }
}

/// What a JSON value is, in words, for "expected X, got Y" messages.
fn kind_of(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(n) if n.is_u64() || n.is_i64() => "an integer",
        Value::Number(_) => "a non-integer number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// A JSON object being read, with the path that leads to it.
pub(crate) struct Object<'a> {
    prefix: String,
    map: &'a Map<String, Value>,
}

impl<'a> Object<'a> {
    /// Reads `value` as an object; `path` names it in errors (empty for the document itself).
    pub(crate) fn new(value: &'a Value, path: &str) -> Result<Self, InputError> {
        match value {
            Value::Object(map) => Ok(Self {
                prefix: path.to_owned(),
                map,
            }),
            other => Err(InputError::field(
                if path.is_empty() { "(top level)" } else { path },
                format!("expected a JSON object, got {}", kind_of(other)),
            )),
        }
    }

    /// The full dotted path of `key` inside this object.
    pub(crate) fn path(&self, key: &str) -> String {
        if self.prefix.is_empty() {
            key.to_owned()
        } else {
            format!("{}.{key}", self.prefix)
        }
    }

    /// Fails on the first field (in document order) whose name is not in `allowed`.
    pub(crate) fn deny_unknown(&self, allowed: &[&str], what: &str) -> Result<(), InputError> {
        match self.map.keys().find(|k| !allowed.contains(&k.as_str())) {
            None => Ok(()),
            Some(k) => Err(InputError::field(
                self.path(k),
                format!(
                    "unknown field for {what}; valid fields: {}",
                    allowed.join(", ")
                ),
            )),
        }
    }

    /// Whether the field is present (even as `null`).
    pub(crate) fn has(&self, key: &str) -> bool {
        self.map.contains_key(key)
    }

    /// The field's value, if present.
    pub(crate) fn get(&self, key: &str) -> Option<&'a Value> {
        self.map.get(key)
    }

    /// A nested object, if present.
    pub(crate) fn object(&self, key: &str) -> Result<Option<Object<'a>>, InputError> {
        self.get(key)
            .map(|v| Object::new(v, &self.path(key)))
            .transpose()
    }

    /// An error about `key`.
    pub(crate) fn error(&self, key: &str, problem: impl Into<String>) -> InputError {
        InputError::field(self.path(key), problem)
    }

    /// A required field that is absent.
    pub(crate) fn missing(&self, key: &str, hint: &str) -> InputError {
        self.error(key, format!("missing; {hint}"))
    }

    /// A name from `allowed` (a subset of `T::ALL`), if present.
    pub(crate) fn name<T: Named>(&self, key: &str, allowed: &[T]) -> Result<Option<T>, InputError> {
        let Some(v) = self.get(key) else {
            return Ok(None);
        };
        let found = v
            .as_str()
            .and_then(T::from_name)
            .filter(|t| allowed.contains(t));
        match found {
            Some(t) => Ok(Some(t)),
            None => {
                let got = match v {
                    Value::String(_) => format!("unknown value {}", quote(v)),
                    other => format!("expected a string, got {}", kind_of(other)),
                };
                Err(self.error(key, format!("{got}; valid values: {}", list(allowed))))
            }
        }
    }

    /// A boolean, if present. `null` is not a boolean.
    pub(crate) fn bool(&self, key: &str) -> Result<Option<bool>, InputError> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(other) => Err(self.error(
                key,
                format!("expected true or false, got {}", describe(other)),
            )),
        }
    }

    /// A non-empty string, if present.
    pub(crate) fn nonempty_str(&self, key: &str) -> Result<Option<&'a str>, InputError> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::String(s)) if !s.is_empty() => Ok(Some(s)),
            Some(Value::String(_)) => {
                Err(self.error(key, "must not be empty; expected a non-empty string"))
            }
            Some(other) => Err(self.error(
                key,
                format!("expected a non-empty string, got {}", describe(other)),
            )),
        }
    }

    /// An integer in `range`, if present (`3.0` is not an integer). `what` describes the
    /// allowed values for the message.
    pub(crate) fn integer(
        &self,
        key: &str,
        range: std::ops::RangeInclusive<u64>,
        what: &str,
    ) -> Result<Option<u64>, InputError> {
        let Some(v) = self.get(key) else {
            return Ok(None);
        };
        match v.as_u64() {
            Some(n) if range.contains(&n) => Ok(Some(n)),
            _ => {
                let got = match v {
                    Value::Number(n) if n.is_u64() || n.is_i64() => n.to_string(),
                    other => describe(other),
                };
                Err(self.error(key, format!("expected {what}, got {got}")))
            }
        }
    }
}
