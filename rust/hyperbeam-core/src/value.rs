//! The AO-Core message model (spec core §2.1): a message is a map from binary keys to values.
//! Maps are `BTreeMap`s, so iteration is ascending byte order, which is Erlang's order for
//! maps of up to 32 keys (spec core §1.4).

use std::collections::BTreeMap;

/// Deepest nesting any codec builds or walks; deeper input is a codec error, never a stack
/// overflow.
pub const MAX_DEPTH: usize = 256;

/// A message: binary keys to values. A TABM is the same type with binary (or map) leaves.
pub type Msg = BTreeMap<Vec<u8>, Value>;

#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Bin(Vec<u8>),
    Int(i64),
    /// An integer outside i64, kept as its decimal text (Erlang integers are unbounded).
    BigInt(String),
    Float(f64),
    /// Any atom; `true`, `false` and `null` included.
    Atom(String),
    List(Vec<Value>),
    Map(Msg),
}

impl Value {
    pub fn as_bin(&self) -> Option<&[u8]> {
        match self {
            Value::Bin(b) => Some(b),
            _ => None,
        }
    }

    pub fn as_map(&self) -> Option<&Msg> {
        match self {
            Value::Map(m) => Some(m),
            _ => None,
        }
    }

    /// A short name of the value's kind, for error messages.
    pub fn kind(&self) -> &'static str {
        match self {
            Value::Bin(_) => "binary",
            Value::Int(_) | Value::BigInt(_) => "integer",
            Value::Float(_) => "float",
            Value::Atom(_) => "atom",
            Value::List(_) => "list",
            Value::Map(_) => "map",
        }
    }
}

/// A byte key from text.
pub fn key(s: &str) -> Vec<u8> {
    s.as_bytes().to_vec()
}
