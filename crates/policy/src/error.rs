//! Input errors: what was wrong, where, and what is allowed.

/// Settings or an event that cannot be read. The message names the field and, where the
/// field takes one of a list of values, lists them.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InputError {
    /// The text is not JSON (or not one JSON value).
    #[error("not valid JSON: {0}")]
    Json(String),
    /// A field is missing, unknown, of the wrong type, or has a value that is not allowed.
    #[error("field `{field}`: {problem}")]
    Field {
        /// Dotted path of the field, e.g. `project.record_mode`; `(top level)` for the
        /// document itself.
        field: String,
        /// What is wrong and what is allowed.
        problem: String,
    },
}

impl InputError {
    pub(crate) fn field(field: impl Into<String>, problem: impl Into<String>) -> Self {
        Self::Field {
            field: field.into(),
            problem: problem.into(),
        }
    }

    /// The dotted path of the field at fault, if the error is about one field.
    pub fn field_path(&self) -> Option<&str> {
        match self {
            Self::Json(_) => None,
            Self::Field { field, .. } => Some(field),
        }
    }
}

impl From<serde_json::Error> for InputError {
    fn from(e: serde_json::Error) -> Self {
        Self::Json(e.to_string())
    }
}
