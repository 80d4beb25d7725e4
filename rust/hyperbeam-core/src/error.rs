//! One error type for the core crate; the binding maps each variant to a Python exception.

use thiserror::Error;

#[derive(Debug, Error, Clone, PartialEq)]
pub enum Error {
    /// Malformed structured-field text (spec core §1.6).
    #[error("structured field: {0}")]
    StructuredField(String),
    /// A value or wire form that a codec cannot handle (spec core §3, §6, §9).
    #[error("{0}")]
    Codec(String),
    /// A bad ID, hashpath or hashpath algorithm (spec core §1.2, §5).
    #[error("{0}")]
    HashPath(String),
    /// A key that cannot be used, or a commitment that cannot be checked (spec core §7, §11).
    #[error("{0}")]
    Signature(String),
}

pub type Result<T> = std::result::Result<T, Error>;

pub(crate) fn codec<T>(msg: impl Into<String>) -> Result<T> {
    Err(Error::Codec(msg.into()))
}

/// Bytes (a key, a value) as text for an error message.
pub(crate) fn lossy(k: &[u8]) -> String {
    String::from_utf8_lossy(k).into_owned()
}
