//! The structured-field values (RFC 8941 §3): bare items, items with parameters, inner lists,
//! lists and dictionaries, owned ([`Bare`]) or borrowed ([`BareRef`]).

/// A bare item.
#[derive(Debug, Clone, PartialEq)]
pub enum Bare {
    Integer(i64),
    /// `mantissa * 10^-scale` (scale 0..=3), e.g. 1.25 = Decimal { mantissa: 125, scale: 2 }.
    Decimal {
        mantissa: i64,
        scale: u32,
    },
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

/// A bare item that borrows its data: what [`ser_bare_ref`] serialises without copying.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum BareRef<'a> {
    Integer(i64),
    Decimal { mantissa: i64, scale: u32 },
    String(&'a [u8]),
    Token(&'a str),
    ByteSeq(&'a [u8]),
    Boolean(bool),
    Date(i64),
    DisplayString(&'a str),
}

impl Bare {
    /// The same bare item, borrowed.
    pub fn borrowed(&self) -> BareRef<'_> {
        match self {
            Bare::Integer(v) => BareRef::Integer(*v),
            Bare::Decimal { mantissa, scale } => BareRef::Decimal {
                mantissa: *mantissa,
                scale: *scale,
            },
            Bare::String(s) => BareRef::String(s),
            Bare::Token(t) => BareRef::Token(t),
            Bare::ByteSeq(v) => BareRef::ByteSeq(v),
            Bare::Boolean(v) => BareRef::Boolean(*v),
            Bare::Date(v) => BareRef::Date(*v),
            Bare::DisplayString(s) => BareRef::DisplayString(s),
        }
    }
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
        Item {
            bare,
            params: Vec::new(),
        }
    }
}
