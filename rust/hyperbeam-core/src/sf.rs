//! Structured fields (RFC 8941/9651) as HyperBEAM's `hb_structured_fields` implements them
//! (spec core §1.6): parse and serialise items, lists, dictionaries, inner lists, parameters.

use crate::error::{Error, Result};

/// A bare item.
#[derive(Debug, Clone, PartialEq)]
pub enum Bare {
    Integer(i64),
    /// `mantissa * 10^-scale` (scale 0..=3), e.g. 1.25 = Decimal { mantissa: 125, scale: 2 }.
    Decimal { mantissa: i64, scale: u32 },
    /// A string's bytes (printable ASCII on parse; serialisation escapes `\` and `"` only).
    String(Vec<u8>),
    Token(String),
    ByteSeq(Vec<u8>),
    Boolean(bool),
    /// RFC 9651 date (`@123`).
    Date(i64),
    /// RFC 9651 display string (`%"..."`), UTF-8.
    DisplayString(String),
}

pub type Params = Vec<(String, Bare)>;

#[derive(Debug, Clone, PartialEq)]
pub struct Item {
    pub bare: Bare,
    pub params: Params,
}

#[derive(Debug, Clone, PartialEq)]
pub struct InnerList {
    pub items: Vec<Item>,
    pub params: Params,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Member {
    Item(Item),
    Inner(InnerList),
}

pub type List = Vec<Member>;
/// Dictionary in order of first appearance; a duplicate key replaces the earlier value in place.
pub type Dict = Vec<(String, Member)>;

impl Item {
    pub fn new(bare: Bare) -> Self {
        Item { bare, params: Vec::new() }
    }
}

// ---- to be implemented (helper): parse_item, parse_list, parse_dict, ser_item, ser_list,
// ---- ser_dict, ser_bare, ser_string (append an SF string with escapes to a Vec<u8>).
#[allow(dead_code)]
fn _unused(_: Error) {}
