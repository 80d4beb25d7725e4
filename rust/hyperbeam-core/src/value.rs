//! The AO-Core message model (spec core §2.1): a message is a map from binary keys to values.
//! Maps are `BTreeMap`s, so iteration is ascending byte order, which is Erlang's order for
//! maps of up to 32 keys (spec core §1.4); the codecs that write larger maps reorder them with
//! `map_order`. `ValueRef`/`Entry` are the borrowed view that the
//! fast ID path (`id_fast`) and `structured` encode without building owned maps.

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

/// A borrowed view of a rich value (spec core §2.1).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum ValueRef<'a> {
    Bin(&'a [u8]),
    Int(i64),
    /// An integer outside i64, as its decimal text.
    BigInt(&'a str),
    Float(f64),
    /// Any atom; `true`, `false` and `null` included.
    Atom(&'a str),
    List(&'a [Value]),
    Map(&'a Msg),
    /// A nested map as borrowed entries, which must be sorted by key with no key twice
    /// (otherwise the fast path leaves the message to the general path).
    Entries(&'a [Entry<'a>]),
}

impl ValueRef<'_> {
    /// The owned value.
    pub fn to_value(&self) -> Value {
        match *self {
            ValueRef::Bin(b) => Value::Bin(b.to_vec()),
            ValueRef::Int(i) => Value::Int(i),
            ValueRef::BigInt(s) => Value::BigInt(s.to_owned()),
            ValueRef::Float(f) => Value::Float(f),
            ValueRef::Atom(a) => Value::Atom(a.to_owned()),
            ValueRef::List(l) => Value::List(l.to_vec()),
            ValueRef::Map(m) => Value::Map(m.clone()),
            ValueRef::Entries(e) => Value::Map(entries_to_msg(e)),
        }
    }
}

/// The owned map of `entries`.
pub fn entries_to_msg(entries: &[Entry<'_>]) -> Msg {
    entries
        .iter()
        .map(|(k, v)| (k.to_vec(), v.to_value()))
        .collect()
}

impl<'a> From<&'a Value> for ValueRef<'a> {
    fn from(v: &'a Value) -> Self {
        match v {
            Value::Bin(b) => ValueRef::Bin(b),
            Value::Int(i) => ValueRef::Int(*i),
            Value::BigInt(s) => ValueRef::BigInt(s),
            Value::Float(f) => ValueRef::Float(*f),
            Value::Atom(a) => ValueRef::Atom(a),
            Value::List(l) => ValueRef::List(l),
            Value::Map(m) => ValueRef::Map(m),
        }
    }
}

/// One key of a message and its value, borrowed.
pub type Entry<'a> = (&'a [u8], ValueRef<'a>);
