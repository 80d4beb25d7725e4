//! Structured fields (RFC 8941/9651) as HyperBEAM's `hb_structured_fields` implements them
//! (spec core §1.6): parse and serialise items, lists, dictionaries, inner lists, parameters.

use std::collections::HashMap;

use crate::error::{Error, Result};

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

// ---------------------------------------------------------------------------------------------
// Character classes
// ---------------------------------------------------------------------------------------------

#[inline]
fn is_tchar(c: u8) -> bool {
    c.is_ascii_alphanumeric()
        || matches!(
            c,
            b'!' | b'#'
                | b'$'
                | b'%'
                | b'&'
                | b'\''
                | b'*'
                | b'+'
                | b'-'
                | b'.'
                | b'^'
                | b'_'
                | b'`'
                | b'|'
                | b'~'
        )
}

#[inline]
fn is_token_start(c: u8) -> bool {
    c.is_ascii_alphabetic() || c == b'*'
}

#[inline]
fn is_token_char(c: u8) -> bool {
    is_tchar(c) || c == b':' || c == b'/'
}

/// RFC key start (parameter keys): `lcalpha / "*"`.
#[inline]
fn is_param_key_start(c: u8) -> bool {
    c.is_ascii_lowercase() || c == b'*'
}

/// RFC key continuation (parameter keys): `lcalpha / DIGIT / "_" / "-" / "." / "*"`.
#[inline]
fn is_param_key_char(c: u8) -> bool {
    c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, b'_' | b'-' | b'.' | b'*')
}

/// HyperBEAM dictionary key start: `A-Z a-z 0-9 * % _ -` (spec core §1.6).
#[inline]
fn is_dict_key_start(c: u8) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, b'*' | b'%' | b'_' | b'-')
}

/// HyperBEAM dictionary key continuation: `A-Z a-z 0-9 _ - . * %` (spec core §1.6).
#[inline]
fn is_dict_key_char(c: u8) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, b'_' | b'-' | b'.' | b'*' | b'%')
}

#[inline]
fn is_string_char(c: u8) -> bool {
    matches!(c, 0x20..=0x21 | 0x23..=0x5B | 0x5D..=0x7E)
}

/// Standard base64 alphabet, padding optional on decode, non-zero pad bits tolerated.
const B64: base64::engine::GeneralPurpose = base64::engine::GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    base64::engine::GeneralPurposeConfig::new()
        .with_encode_padding(true)
        .with_decode_padding_mode(base64::engine::DecodePaddingMode::Indifferent)
        .with_decode_allow_trailing_bits(true),
);

/// Largest magnitude an integer (or date) may have on parse: 15 digits.
const MAX_INT: i64 = 999_999_999_999_999;
/// Largest magnitude of a decimal's integer part: 12 digits.
const MAX_DEC_INT: i128 = 999_999_999_999;

// ---------------------------------------------------------------------------------------------
// Parsing
// ---------------------------------------------------------------------------------------------

fn describe(c: Option<u8>) -> String {
    match c {
        None => "end of input".to_string(),
        Some(b) if (0x21..0x7F).contains(&b) => format!("'{}'", b as char),
        Some(b) => format!("byte 0x{b:02x}"),
    }
}

/// A bare item as scanned: borrowed from the input where it can be (numbers, tokens, strings
/// without escapes), owned where it was decoded.
enum Scan<'a> {
    Int(i64),
    Dec(i64, u32),
    Str(std::borrow::Cow<'a, [u8]>),
    Token(&'a str),
    Bytes(Vec<u8>),
    Bool(bool),
    Date(i64),
    Display(String),
}

impl Scan<'_> {
    fn view(&self) -> BareRef<'_> {
        match self {
            Scan::Int(v) => BareRef::Integer(*v),
            Scan::Dec(mantissa, scale) => BareRef::Decimal {
                mantissa: *mantissa,
                scale: *scale,
            },
            Scan::Str(s) => BareRef::String(s),
            Scan::Token(t) => BareRef::Token(t),
            Scan::Bytes(v) => BareRef::ByteSeq(v),
            Scan::Bool(v) => BareRef::Boolean(*v),
            Scan::Date(v) => BareRef::Date(*v),
            Scan::Display(s) => BareRef::DisplayString(s),
        }
    }
}

/// Builds the values the parser finds (see [`parse_item_with`]): the owned [`Item`]/[`Member`]
/// types here, or another representation (e.g. Python objects) without building these first.
/// Keys are borrowed from the input; duplicates are resolved by the parser (a later key
/// replaces the earlier value in place).
pub trait Builder<'a> {
    type Bare;
    type Item;
    type Member;
    type Error: From<Error>;
    fn bare(&mut self, b: BareRef<'_>) -> std::result::Result<Self::Bare, Self::Error>;
    fn item(
        &mut self,
        bare: Self::Bare,
        params: Vec<(&'a str, Self::Bare)>,
    ) -> std::result::Result<Self::Item, Self::Error>;
    fn item_member(&mut self, item: Self::Item) -> std::result::Result<Self::Member, Self::Error>;
    fn inner_list(
        &mut self,
        items: Vec<Self::Item>,
        params: Vec<(&'a str, Self::Bare)>,
    ) -> std::result::Result<Self::Member, Self::Error>;
}

/// The builder of the owned types.
struct Owned;

impl<'a> Builder<'a> for Owned {
    type Bare = Bare;
    type Item = Item;
    type Member = Member;
    type Error = Error;
    fn bare(&mut self, b: BareRef<'_>) -> Result<Bare> {
        Ok(match b {
            BareRef::Integer(v) => Bare::Integer(v),
            BareRef::Decimal { mantissa, scale } => Bare::Decimal { mantissa, scale },
            BareRef::String(s) => Bare::String(s.to_vec()),
            BareRef::Token(t) => Bare::Token(t.to_owned()),
            BareRef::ByteSeq(v) => Bare::ByteSeq(v.to_vec()),
            BareRef::Boolean(v) => Bare::Boolean(v),
            BareRef::Date(v) => Bare::Date(v),
            BareRef::DisplayString(s) => Bare::DisplayString(s.to_owned()),
        })
    }
    fn item(&mut self, bare: Bare, params: Vec<(&'a str, Bare)>) -> Result<Item> {
        Ok(Item {
            bare,
            params: owned_params(params),
        })
    }
    fn item_member(&mut self, item: Item) -> Result<Member> {
        Ok(Member::Item(item))
    }
    fn inner_list(&mut self, items: Vec<Item>, params: Vec<(&str, Bare)>) -> Result<Member> {
        Ok(Member::Inner(InnerList {
            items,
            params: owned_params(params),
        }))
    }
}

fn owned_params(params: Vec<(&str, Bare)>) -> Params {
    params.into_iter().map(|(k, v)| (k.to_owned(), v)).collect()
}

type BResult<'a, T, B> = std::result::Result<T, <B as Builder<'a>>::Error>;

struct Parser<'a> {
    input: &'a [u8],
    pos: usize,
}

impl<'a> Parser<'a> {
    /// Trims leading and trailing SP (RFC 9651 §4.2 step 2) and starts at the first byte.
    fn new(input: &'a [u8]) -> Self {
        let start = input.iter().position(|&c| c != b' ').unwrap_or(input.len());
        let end = input
            .iter()
            .rposition(|&c| c != b' ')
            .map_or(start, |p| p + 1);
        Parser {
            input: input.get(start..end).unwrap_or(&[]),
            pos: 0,
        }
    }

    #[inline]
    fn peek(&self) -> Option<u8> {
        self.input.get(self.pos).copied()
    }

    #[inline]
    fn at_end(&self) -> bool {
        self.pos >= self.input.len()
    }

    #[cold]
    fn err<T>(&self, what: &str) -> Result<T> {
        Err(Error::StructuredField(format!(
            "{what} at offset {} (found {})",
            self.pos,
            describe(self.peek())
        )))
    }

    #[inline]
    fn skip_sp(&mut self) {
        while self.peek() == Some(b' ') {
            self.pos += 1;
        }
    }

    #[inline]
    fn skip_ows(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t')) {
            self.pos += 1;
        }
    }

    fn slice_str(&self, start: usize) -> &'a str {
        // Only ever called on ASCII runs the parser has validated, so always UTF-8.
        std::str::from_utf8(self.input.get(start..self.pos).unwrap_or(&[])).unwrap_or("")
    }

    fn parse_list<B: Builder<'a>>(&mut self, b: &mut B) -> BResult<'a, Vec<B::Member>, B> {
        let mut out = Vec::new();
        if self.at_end() {
            return Ok(out);
        }
        loop {
            out.push(self.parse_member(b)?);
            self.skip_ows();
            match self.peek() {
                None => return Ok(out),
                Some(b',') => {
                    self.pos += 1;
                    self.skip_ows();
                    if self.at_end() {
                        return Ok(self.err("trailing comma in list")?);
                    }
                }
                Some(_) => return Ok(self.err("expected ',' or end of list after member")?),
            }
        }
    }

    fn parse_member<B: Builder<'a>>(&mut self, b: &mut B) -> BResult<'a, B::Member, B> {
        if self.peek() == Some(b'(') {
            self.parse_inner_list(b)
        } else {
            let item = self.parse_item(b)?;
            b.item_member(item)
        }
    }

    #[allow(clippy::type_complexity)]
    fn parse_dict<B: Builder<'a>>(
        &mut self,
        b: &mut B,
    ) -> BResult<'a, Vec<(&'a str, B::Member)>, B> {
        let mut out: Vec<(&'a str, B::Member)> = Vec::new();
        let mut index = KeyIndex::default();
        if self.at_end() {
            return Ok(out);
        }
        loop {
            let key = self.parse_dict_key()?;
            let member = if self.peek() == Some(b'=') {
                self.pos += 1;
                self.parse_member(b)?
            } else {
                let params = self.parse_params(b)?;
                let bare = b.bare(BareRef::Boolean(true))?;
                let item = b.item(bare, params)?;
                b.item_member(item)?
            };
            index.upsert(&mut out, key, member);
            self.skip_ows();
            match self.peek() {
                None => return Ok(out),
                Some(b',') => {
                    self.pos += 1;
                    self.skip_ows();
                    if self.at_end() {
                        return Ok(self.err("trailing comma in dictionary")?);
                    }
                }
                Some(_) => return Ok(self.err("expected ',' or end of dictionary after member")?),
            }
        }
    }

    fn parse_dict_key(&mut self) -> Result<&'a str> {
        let start = self.pos;
        match self.peek() {
            Some(c) if is_dict_key_start(c) => self.pos += 1,
            _ => return self.err("invalid dictionary key start"),
        }
        while matches!(self.peek(), Some(c) if is_dict_key_char(c)) {
            self.pos += 1;
        }
        Ok(self.slice_str(start))
    }

    fn parse_param_key(&mut self) -> Result<&'a str> {
        let start = self.pos;
        match self.peek() {
            Some(c) if is_param_key_start(c) => self.pos += 1,
            _ => return self.err("invalid parameter key start"),
        }
        while matches!(self.peek(), Some(c) if is_param_key_char(c)) {
            self.pos += 1;
        }
        Ok(self.slice_str(start))
    }

    fn parse_inner_list<B: Builder<'a>>(&mut self, b: &mut B) -> BResult<'a, B::Member, B> {
        // Caller saw '('.
        self.pos += 1;
        let mut items = Vec::new();
        loop {
            self.skip_sp();
            match self.peek() {
                Some(b')') => {
                    self.pos += 1;
                    let params = self.parse_params(b)?;
                    return b.inner_list(items, params);
                }
                None => return Ok(self.err("unterminated inner list")?),
                Some(_) => {
                    items.push(self.parse_item(b)?);
                    match self.peek() {
                        Some(b' ' | b')') => {}
                        _ => return Ok(self.err("expected SP or ')' after inner-list item")?),
                    }
                }
            }
        }
    }

    fn parse_item<B: Builder<'a>>(&mut self, b: &mut B) -> BResult<'a, B::Item, B> {
        let scan = self.parse_bare()?;
        let bare = b.bare(scan.view())?;
        let params = self.parse_params(b)?;
        b.item(bare, params)
    }

    #[allow(clippy::type_complexity)]
    fn parse_params<B: Builder<'a>>(
        &mut self,
        b: &mut B,
    ) -> BResult<'a, Vec<(&'a str, B::Bare)>, B> {
        let mut params: Vec<(&'a str, B::Bare)> = Vec::new();
        let mut index = KeyIndex::default();
        while self.peek() == Some(b';') {
            self.pos += 1;
            self.skip_sp();
            let key = self.parse_param_key()?;
            let value = if self.peek() == Some(b'=') {
                self.pos += 1;
                let scan = self.parse_bare()?;
                b.bare(scan.view())?
            } else {
                b.bare(BareRef::Boolean(true))?
            };
            index.upsert(&mut params, key, value);
        }
        Ok(params)
    }

    fn parse_bare(&mut self) -> Result<Scan<'a>> {
        match self.peek() {
            Some(b'-' | b'0'..=b'9') => self.parse_number(),
            Some(b'"') => self.parse_string(),
            Some(c) if is_token_start(c) => self.parse_token(),
            Some(b':') => self.parse_byteseq(),
            Some(b'?') => self.parse_boolean(),
            Some(b'@') => self.parse_date(),
            Some(b'%') => self.parse_display_string(),
            _ => self.err("expected a bare item"),
        }
    }

    fn parse_number(&mut self) -> Result<Scan<'a>> {
        let neg = self.peek() == Some(b'-');
        if neg {
            self.pos += 1;
        }
        if !matches!(self.peek(), Some(b'0'..=b'9')) {
            return self.err("expected a digit in number");
        }
        let mut int: i128 = 0;
        let mut int_digits = 0usize;
        while let Some(c @ b'0'..=b'9') = self.peek() {
            int_digits += 1;
            if int_digits > 15 {
                return self.err("integer has more than 15 digits");
            }
            int = int * 10 + i128::from(c - b'0');
            self.pos += 1;
        }
        if self.peek() != Some(b'.') {
            let v = i64::try_from(if neg { -int } else { int }).unwrap_or(0);
            return Ok(Scan::Int(v));
        }
        if int_digits > 12 {
            return self.err("decimal has more than 12 integer digits");
        }
        self.pos += 1;
        let mut frac: i128 = 0;
        let mut frac_digits = 0u32;
        while let Some(c @ b'0'..=b'9') = self.peek() {
            frac_digits += 1;
            if frac_digits > 3 {
                return self.err("decimal has more than 3 fraction digits");
            }
            frac = frac * 10 + i128::from(c - b'0');
            self.pos += 1;
        }
        if frac_digits == 0 {
            return self.err("decimal has no fraction digits");
        }
        // Trim trailing fraction zeros (HyperBEAM gives `{Mantissa, -FracDigits}` trimmed).
        let mut scale = frac_digits;
        while scale > 0 && frac % 10 == 0 {
            frac /= 10;
            scale -= 1;
        }
        let mut mantissa = int * 10i128.pow(scale) + frac;
        if neg {
            mantissa = -mantissa;
        }
        let mantissa = i64::try_from(mantissa).unwrap_or(0);
        Ok(Scan::Dec(mantissa, scale))
    }

    fn parse_string(&mut self) -> Result<Scan<'a>> {
        self.pos += 1;
        // Borrowed from the input until the first escape.
        let mut out: Option<Vec<u8>> = None;
        loop {
            // Take the run of plain characters in one go.
            let start = self.pos;
            while matches!(self.peek(), Some(c) if is_string_char(c)) {
                self.pos += 1;
            }
            let run = self.input.get(start..self.pos).unwrap_or(&[]);
            match self.peek() {
                Some(b'"') => {
                    self.pos += 1;
                    return Ok(Scan::Str(match out {
                        None => std::borrow::Cow::Borrowed(run),
                        Some(mut v) => {
                            v.extend_from_slice(run);
                            std::borrow::Cow::Owned(v)
                        }
                    }));
                }
                Some(b'\\') => {
                    let v = out.get_or_insert_with(Vec::new);
                    v.extend_from_slice(run);
                    self.pos += 1;
                    match self.peek() {
                        Some(c @ (b'"' | b'\\')) => {
                            v.push(c);
                            self.pos += 1;
                        }
                        _ => return self.err("invalid escape in string"),
                    }
                }
                None => return self.err("unterminated string"),
                Some(_) => return self.err("invalid character in string"),
            }
        }
    }

    fn parse_token(&mut self) -> Result<Scan<'a>> {
        let start = self.pos;
        self.pos += 1;
        while matches!(self.peek(), Some(c) if is_token_char(c)) {
            self.pos += 1;
        }
        Ok(Scan::Token(self.slice_str(start)))
    }

    fn parse_byteseq(&mut self) -> Result<Scan<'a>> {
        self.pos += 1;
        let start = self.pos;
        while matches!(self.peek(), Some(c) if c.is_ascii_alphanumeric() || matches!(c, b'+' | b'/' | b'='))
        {
            self.pos += 1;
        }
        let body = self.input.get(start..self.pos).unwrap_or(&[]);
        if self.peek() != Some(b':') {
            return self.err("invalid character or missing ':' in byte sequence");
        }
        use base64::Engine as _;
        match B64.decode(body) {
            Ok(v) => {
                self.pos += 1;
                Ok(Scan::Bytes(v))
            }
            Err(e) => {
                let at = self.pos;
                self.pos = start;
                Err(Error::StructuredField(format!(
                    "invalid base64 in byte sequence at offset {start}..{at}: {e}"
                )))
            }
        }
    }

    fn parse_boolean(&mut self) -> Result<Scan<'a>> {
        self.pos += 1;
        let v = match self.peek() {
            Some(b'1') => true,
            Some(b'0') => false,
            _ => return self.err("expected '0' or '1' after '?'"),
        };
        self.pos += 1;
        Ok(Scan::Bool(v))
    }

    fn parse_date(&mut self) -> Result<Scan<'a>> {
        self.pos += 1;
        match self.parse_number()? {
            Scan::Int(v) => Ok(Scan::Date(v)),
            _ => self.err("date must be an integer"),
        }
    }

    fn parse_display_string(&mut self) -> Result<Scan<'a>> {
        self.pos += 1;
        if self.peek() != Some(b'"') {
            return self.err("expected '\"' after '%' in display string");
        }
        self.pos += 1;
        let mut bytes = Vec::new();
        loop {
            match self.peek() {
                None => return self.err("unterminated display string"),
                Some(b'"') => {
                    self.pos += 1;
                    return match String::from_utf8(bytes) {
                        Ok(s) => Ok(Scan::Display(s)),
                        Err(_) => self.err("display string is not valid UTF-8"),
                    };
                }
                Some(b'%') => {
                    self.pos += 1;
                    let hi = self.peek().and_then(lower_hex);
                    let lo = self.input.get(self.pos + 1).copied().and_then(lower_hex);
                    match (hi, lo) {
                        (Some(h), Some(l)) => {
                            bytes.push(h << 4 | l);
                            self.pos += 2;
                        }
                        _ => return self.err("invalid percent-escape in display string"),
                    }
                }
                Some(c) if (0x20..=0x7E).contains(&c) => {
                    bytes.push(c);
                    self.pos += 1;
                }
                Some(_) => return self.err("invalid character in display string"),
            }
        }
    }
}

#[inline]
fn lower_hex(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        _ => None,
    }
}

fn finish<T, E: From<Error>>(p: &Parser<'_>, v: T, what: &str) -> std::result::Result<T, E> {
    if p.at_end() {
        Ok(v)
    } else {
        Ok(p.err(&format!("unexpected trailing data after {what}"))?)
    }
}

/// Parses an item (bare item plus parameters).
pub fn parse_item(input: &[u8]) -> Result<Item> {
    parse_item_with(input, &mut Owned)
}

/// Parses a list (an empty input is the empty list).
pub fn parse_list(input: &[u8]) -> Result<List> {
    parse_list_with(input, &mut Owned)
}

/// Parses a dictionary with HyperBEAM's lenient keys (an empty input is the empty dictionary).
pub fn parse_dict(input: &[u8]) -> Result<Dict> {
    let v = parse_dict_with(input, &mut Owned)?;
    Ok(v.into_iter().map(|(k, m)| (k.to_owned(), m)).collect())
}

/// [`parse_item`] with the values built by `b`.
pub fn parse_item_with<'a, B: Builder<'a>>(input: &'a [u8], b: &mut B) -> BResult<'a, B::Item, B> {
    let mut p = Parser::new(input);
    let v = p.parse_item(b)?;
    finish(&p, v, "item")
}

/// [`parse_list`] with the members built by `b`.
pub fn parse_list_with<'a, B: Builder<'a>>(
    input: &'a [u8],
    b: &mut B,
) -> BResult<'a, Vec<B::Member>, B> {
    let mut p = Parser::new(input);
    let v = p.parse_list(b)?;
    finish(&p, v, "list")
}

/// [`parse_dict`] with the members built by `b`; keys borrowed from `input`, in order of first
/// appearance.
#[allow(clippy::type_complexity)]
pub fn parse_dict_with<'a, B: Builder<'a>>(
    input: &'a [u8],
    b: &mut B,
) -> BResult<'a, Vec<(&'a str, B::Member)>, B> {
    let mut p = Parser::new(input);
    let v = p.parse_dict(b)?;
    finish(&p, v, "dictionary")
}

// ---------------------------------------------------------------------------------------------
// Serialisation
// ---------------------------------------------------------------------------------------------

#[cold]
fn ser_err<T>(msg: String) -> Result<T> {
    Err(Error::StructuredField(msg))
}

#[inline]
fn push_int(out: &mut Vec<u8>, v: i128) {
    if v < 0 {
        out.push(b'-');
    }
    let mut n = v.unsigned_abs();
    let mut buf = [0u8; 40];
    let mut i = buf.len();
    loop {
        i -= 1;
        if let Some(slot) = buf.get_mut(i) {
            *slot = b'0' + (n % 10) as u8;
        }
        n /= 10;
        if n == 0 || i == 0 {
            break;
        }
    }
    out.extend_from_slice(buf.get(i..).unwrap_or(&[]));
}

/// Appends an SF string: `"` + `s` with `\` and `"` escaped + `"`. No validation (HyperBEAM).
pub fn ser_string(out: &mut Vec<u8>, s: &[u8]) {
    out.reserve(s.len() + 2);
    out.push(b'"');
    // Most strings need no escape: checked without an early exit (the check vectorises).
    if !s.iter().fold(false, |a, &c| a | (c == b'"') | (c == b'\\')) {
        out.extend_from_slice(s);
        out.push(b'"');
        return;
    }
    let mut start = 0;
    for (i, &c) in s.iter().enumerate() {
        if c == b'"' || c == b'\\' {
            out.extend_from_slice(s.get(start..i).unwrap_or(&[]));
            out.push(b'\\');
            out.push(c);
            start = i + 1;
        }
    }
    out.extend_from_slice(s.get(start..).unwrap_or(&[]));
    out.push(b'"');
}

/// Rounds `mantissa * 10^-scale` to at most 3 fraction digits (round half to even) and returns
/// `(mantissa, scale)` with `scale <= 3`.
fn round_decimal(mantissa: i64, scale: u32) -> (i128, u32) {
    let m = i128::from(mantissa);
    if scale <= 3 {
        return (m, scale);
    }
    let drop = scale - 3;
    if drop > 30 {
        // |m| < 10^19, far below half of 10^drop.
        return (0, 3);
    }
    let d = 10i128.pow(drop);
    let (mut q, r) = (m / d, m % d);
    let twice = r.abs() * 2;
    if twice > d || (twice == d && q % 2 != 0) {
        q += if m < 0 { -1 } else { 1 };
    }
    (q, 3)
}

fn ser_decimal(out: &mut Vec<u8>, mantissa: i64, scale: u32) -> Result<()> {
    let (m, scale) = round_decimal(mantissa, scale);
    let div = 10i128.pow(scale);
    let int = m.abs() / div;
    let mut frac = m.abs() % div;
    if int > MAX_DEC_INT {
        return ser_err(format!(
            "decimal {mantissa}e-{scale} has more than 12 integer digits and cannot be serialised"
        ));
    }
    if m < 0 {
        out.push(b'-');
    }
    push_int(out, int);
    out.push(b'.');
    let mut digits = scale;
    while digits > 1 && frac % 10 == 0 {
        frac /= 10;
        digits -= 1;
    }
    if digits == 0 {
        out.push(b'0');
    } else {
        let mut buf = [b'0'; 3];
        let mut f = frac;
        for i in (0..digits as usize).rev() {
            if let Some(slot) = buf.get_mut(i) {
                *slot = b'0' + (f % 10) as u8;
            }
            f /= 10;
        }
        out.extend_from_slice(buf.get(..digits as usize).unwrap_or(&[]));
    }
    Ok(())
}

/// Appends a bare item.
pub fn ser_bare(out: &mut Vec<u8>, b: &Bare) -> Result<()> {
    ser_bare_ref(out, b.borrowed())
}

/// Appends a borrowed bare item (as [`ser_bare`]).
pub fn ser_bare_ref(out: &mut Vec<u8>, b: BareRef<'_>) -> Result<()> {
    match b {
        // HyperBEAM never range-checks integers on serialisation (spec core §1.6).
        BareRef::Integer(v) => push_int(out, i128::from(v)),
        BareRef::Decimal { mantissa, scale } => ser_decimal(out, mantissa, scale)?,
        BareRef::String(s) => ser_string(out, s),
        BareRef::Token(t) => {
            let bytes = t.as_bytes();
            let ok = matches!(bytes.first(), Some(&c) if is_token_start(c))
                && bytes.iter().all(|&c| is_token_char(c));
            if !ok {
                return ser_err(format!("invalid token {t:?} cannot be serialised"));
            }
            out.extend_from_slice(bytes);
        }
        BareRef::ByteSeq(v) => {
            use base64::Engine as _;
            out.push(b':');
            let start = out.len();
            let need = v.len().div_ceil(3) * 4;
            out.resize(start + need, 0);
            let written = match out.get_mut(start..) {
                Some(tail) => B64.encode_slice(v, tail).unwrap_or(0),
                None => 0,
            };
            out.truncate(start + written);
            out.push(b':');
        }
        BareRef::Boolean(v) => out.extend_from_slice(if v { b"?1" } else { b"?0" }),
        BareRef::Date(v) => {
            if v.unsigned_abs() > MAX_INT as u64 {
                return ser_err(format!("date {v} is out of range and cannot be serialised"));
            }
            out.push(b'@');
            push_int(out, i128::from(v));
        }
        BareRef::DisplayString(s) => {
            const HEX: &[u8; 16] = b"0123456789abcdef";
            out.extend_from_slice(b"%\"");
            for &c in s.as_bytes() {
                if c == b'%' || c == b'"' || !(0x20..=0x7E).contains(&c) {
                    out.push(b'%');
                    out.push(HEX[(c >> 4) as usize]);
                    out.push(HEX[(c & 0xF) as usize]);
                } else {
                    out.push(c);
                }
            }
            out.push(b'"');
        }
    }
    Ok(())
}

fn check_key(key: &str, dict: bool) -> Result<()> {
    let b = key.as_bytes();
    let ok = if dict {
        matches!(b.first(), Some(&c) if is_dict_key_start(c))
            && b.iter().skip(1).all(|&c| is_dict_key_char(c))
    } else {
        matches!(b.first(), Some(&c) if is_param_key_start(c))
            && b.iter().skip(1).all(|&c| is_param_key_char(c))
    };
    if ok {
        Ok(())
    } else {
        let kind = if dict { "dictionary" } else { "parameter" };
        ser_err(format!("invalid {kind} key {key:?} cannot be serialised"))
    }
}

/// Appends one parameter: `;key`, then `=value` unless the value is `true`.
pub fn ser_param(out: &mut Vec<u8>, key: &str, v: BareRef<'_>) -> Result<()> {
    check_key(key, false)?;
    out.push(b';');
    out.extend_from_slice(key.as_bytes());
    if !matches!(v, BareRef::Boolean(true)) {
        out.push(b'=');
        ser_bare_ref(out, v)?;
    }
    Ok(())
}

/// Appends a dictionary key after checking it (HyperBEAM's lenient keys, spec core §1.6).
pub fn ser_dict_key(out: &mut Vec<u8>, key: &str) -> Result<()> {
    check_key(key, true)?;
    out.extend_from_slice(key.as_bytes());
    Ok(())
}

fn ser_params(out: &mut Vec<u8>, params: &Params) -> Result<()> {
    for (k, v) in params {
        ser_param(out, k, v.borrowed())?;
    }
    Ok(())
}

fn ser_item_into(out: &mut Vec<u8>, item: &Item) -> Result<()> {
    ser_bare(out, &item.bare)?;
    ser_params(out, &item.params)
}

fn ser_inner_into(out: &mut Vec<u8>, inner: &InnerList) -> Result<()> {
    out.push(b'(');
    for (i, item) in inner.items.iter().enumerate() {
        if i > 0 {
            out.push(b' ');
        }
        ser_item_into(out, item)?;
    }
    out.push(b')');
    ser_params(out, &inner.params)
}

fn ser_member_into(out: &mut Vec<u8>, m: &Member) -> Result<()> {
    match m {
        Member::Item(i) => ser_item_into(out, i),
        Member::Inner(l) => ser_inner_into(out, l),
    }
}

/// Serialises an item.
pub fn ser_item(item: &Item) -> Result<Vec<u8>> {
    let mut out = Vec::with_capacity(32);
    ser_item_into(&mut out, item)?;
    Ok(out)
}

/// Serialises a list: members joined with `", "`.
pub fn ser_list(list: &List) -> Result<Vec<u8>> {
    let mut out = Vec::with_capacity(16 * list.len());
    for (i, m) in list.iter().enumerate() {
        if i > 0 {
            out.extend_from_slice(b", ");
        }
        ser_member_into(&mut out, m)?;
    }
    Ok(out)
}

/// Serialises a dictionary: `key=value` joined with `", "`; a `true` item is the key alone
/// (followed by its parameters).
pub fn ser_dict(dict: &Dict) -> Result<Vec<u8>> {
    let mut out = Vec::with_capacity(24 * dict.len());
    for (i, (k, m)) in dict.iter().enumerate() {
        if i > 0 {
            out.extend_from_slice(b", ");
        }
        ser_dict_key(&mut out, k)?;
        match m {
            Member::Item(Item {
                bare: Bare::Boolean(true),
                params,
            }) => ser_params(&mut out, params)?,
            _ => {
                out.push(b'=');
                ser_member_into(&mut out, m)?;
            }
        }
    }
    Ok(out)
}

/// Converts a float into a decimal bare item as RFC 9651 §4.1.5 serialises it: rounded to three
/// fraction digits (round half to even, applied to the float's shortest decimal form), at most 12
/// integer digits.
pub fn decimal_from_f64(f: f64) -> Result<Bare> {
    if !f.is_finite() {
        return ser_err(format!(
            "decimal {f} is not finite and cannot be serialised"
        ));
    }
    let text = format!("{}", f.abs());
    let (int_s, frac_s) = match text.split_once('.') {
        Some((a, b)) => (a, b),
        None => (text.as_str(), ""),
    };
    let int_s = int_s.trim_start_matches('0');
    if int_s.len() > 13 {
        return ser_err(format!(
            "decimal {f} has more than 12 integer digits and cannot be serialised"
        ));
    }
    let mut m: i128 = 0;
    for c in int_s.bytes() {
        m = m * 10 + i128::from(c.wrapping_sub(b'0'));
    }
    let fb = frac_s.as_bytes();
    for i in 0..3 {
        m = m * 10 + i128::from(fb.get(i).map_or(0, |c| c.wrapping_sub(b'0')));
    }
    // Round half to even on the remaining digits.
    let rest = fb.get(3..).unwrap_or(&[]);
    if let Some((&first, tail)) = rest.split_first() {
        let above_half = first > b'5' || (first == b'5' && tail.iter().any(|&c| c != b'0'));
        let half = first == b'5' && tail.iter().all(|&c| c == b'0');
        if above_half || (half && m % 2 != 0) {
            m += 1;
        }
    }
    if m / 1000 > MAX_DEC_INT {
        return ser_err(format!(
            "decimal {f} has more than 12 integer digits and cannot be serialised"
        ));
    }
    let mut scale = 3;
    while scale > 0 && m % 10 == 0 {
        m /= 10;
        scale -= 1;
    }
    if f.is_sign_negative() {
        m = -m;
    }
    Ok(Bare::Decimal {
        mantissa: i64::try_from(m).unwrap_or(0),
        scale,
    })
}

/// Where each key of a dictionary or parameter list sits. RFC 8941 §4.2.2/§4.2.3.2: a repeated
/// key overwrites the earlier value in place. Short lists are searched; longer ones get a hash
/// index, so parsing stays linear in the number of members (issue 11: a 1.4 MB `ao-types`).
#[derive(Default)]
struct KeyIndex<'a> {
    map: Option<HashMap<&'a str, usize>>,
}

impl<'a> KeyIndex<'a> {
    /// Lists up to this long are searched linearly (no allocation for ordinary headers).
    const LINEAR_MAX: usize = 16;

    fn upsert<V>(&mut self, list: &mut Vec<(&'a str, V)>, key: &'a str, value: V) {
        if self.map.is_none() && list.len() >= Self::LINEAR_MAX {
            self.map = Some(list.iter().enumerate().map(|(i, (k, _))| (*k, i)).collect());
        }
        let found = match &self.map {
            Some(map) => map.get(key).copied(),
            None => list.iter().position(|(k, _)| *k == key),
        };
        match found {
            Some(i) => list[i].1 = value,
            None => {
                if let Some(map) = &mut self.map {
                    map.insert(key, list.len());
                }
                list.push((key, value));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tok(s: &str) -> Bare {
        Bare::Token(s.to_string())
    }
    fn item(b: Bare) -> Item {
        Item::new(b)
    }

    #[test]
    fn sf_many_members_last_duplicate_wins_in_place() {
        // past KeyIndex::LINEAR_MAX the hash index must keep RFC 8941 §4.2.2 semantics
        let n = 5000;
        let mut text: Vec<String> = (0..n).map(|i| format!("k{i}={i}")).collect();
        text.push("k3=-1".into());
        text.push("k4999;p=1;q;p=2".into());
        let d = parse_dict(text.join(", ").as_bytes()).unwrap();
        assert_eq!(d.len(), n);
        assert_eq!(d[3], ("k3".into(), Member::Item(item(Bare::Integer(-1)))));
        assert_eq!(d[0], ("k0".into(), Member::Item(item(Bare::Integer(0)))));
        let params: Vec<String> = (0..40).map(|i| format!(";p{i}={i}")).collect();
        let it = parse_item(format!("x{};p7=?0", params.concat()).as_bytes()).unwrap();
        assert_eq!(it.params.len(), 40);
        assert_eq!(it.params[7], ("p7".into(), Bare::Boolean(false)));
        match &d[n - 1].1 {
            Member::Item(i) => {
                assert_eq!(i.bare, Bare::Boolean(true));
                assert_eq!(
                    i.params,
                    vec![
                        ("p".into(), Bare::Integer(2)),
                        ("q".into(), Bare::Boolean(true))
                    ]
                );
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn sf_items() {
        assert_eq!(parse_item(b"42").unwrap(), item(Bare::Integer(42)));
        assert_eq!(parse_item(b"  -7  ").unwrap(), item(Bare::Integer(-7)));
        assert_eq!(
            parse_item(b"1.20").unwrap(),
            item(Bare::Decimal {
                mantissa: 12,
                scale: 1
            })
        );
        assert_eq!(
            parse_item(b"1.0").unwrap(),
            item(Bare::Decimal {
                mantissa: 1,
                scale: 0
            })
        );
        assert_eq!(
            parse_item(b"-1.123").unwrap(),
            item(Bare::Decimal {
                mantissa: -1123,
                scale: 3
            })
        );
        assert_eq!(
            parse_item(b"-0.5").unwrap(),
            item(Bare::Decimal {
                mantissa: -5,
                scale: 1
            })
        );
        assert_eq!(
            parse_item(br#""a\"b\\c""#).unwrap(),
            item(Bare::String(br#"a"b\c"#.to_vec()))
        );
        assert_eq!(parse_item(b"foo/bar:1").unwrap(), item(tok("foo/bar:1")));
        assert_eq!(
            parse_item(b":aGVsbG8=:").unwrap(),
            item(Bare::ByteSeq(b"hello".to_vec()))
        );
        assert_eq!(
            parse_item(b":aGVsbG8:").unwrap(),
            item(Bare::ByteSeq(b"hello".to_vec()))
        );
        assert_eq!(parse_item(b"?0").unwrap(), item(Bare::Boolean(false)));
        assert_eq!(parse_item(b"@-0").unwrap(), item(Bare::Date(0)));
        assert_eq!(
            parse_item(br#"%"f%c3%bc""#).unwrap(),
            item(Bare::DisplayString("fü".to_string()))
        );
        let it = parse_item(b"1; a; b=?0").unwrap();
        assert_eq!(
            it.params,
            vec![
                ("a".into(), Bare::Boolean(true)),
                ("b".into(), Bare::Boolean(false))
            ]
        );
        assert_eq!(ser_item(&it).unwrap(), b"1;a;b=?0");
    }

    #[test]
    fn sf_limits() {
        assert_eq!(
            parse_item(b"999999999999999").unwrap(),
            item(Bare::Integer(MAX_INT))
        );
        assert_eq!(
            parse_item(b"-999999999999999").unwrap(),
            item(Bare::Integer(-MAX_INT))
        );
        assert!(parse_item(b"1000000000000000").is_err());
        assert!(parse_item(b"-1000000000000000").is_err());
        assert!(parse_item(b"123456789012.123").is_ok());
        assert!(parse_item(b"1234567890123.1").is_err());
        assert!(parse_item(b"1.1234").is_err());
        assert!(parse_item(b"1.").is_err());
        assert!(parse_item(b"-").is_err());
        // Serialisation never range-checks integers (HyperBEAM).
        assert_eq!(
            ser_item(&item(Bare::Integer(i64::MIN))).unwrap(),
            b"-9223372036854775808"
        );
    }

    #[test]
    fn sf_errors_are_descriptive() {
        match parse_item(b"\"abc") {
            Err(Error::StructuredField(m)) => assert!(m.contains("unterminated string"), "{m}"),
            other => panic!("{other:?}"),
        }
        match parse_dict(b"a=1, b c") {
            Err(Error::StructuredField(m)) => assert!(m.contains("offset"), "{m}"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn sf_dict_keys() {
        let d = parse_dict(b"1=\"list\", Ao-Ids=2, %x_y=3, -a, _b, a=4, 1=5").unwrap();
        let keys: Vec<&str> = d.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(keys, ["1", "Ao-Ids", "%x_y", "-a", "_b", "a"]);
        assert_eq!(d[0].1, Member::Item(item(Bare::Integer(5))));
        for bad in [
            &b"a/b=1"[..],
            b"a?=1",
            b"a&b=1",
            b"a+b=1",
            b"a:b=1",
            b".a=1",
            b"a=1,",
            b"a =1",
        ] {
            assert!(
                parse_dict(bad).is_err(),
                "{:?}",
                String::from_utf8_lossy(bad)
            );
        }
        // Parameter keys follow the RFC.
        assert!(parse_dict(b"a=1;B=2").is_err());
        assert!(parse_list(b"a;1=2").is_err());
        assert_eq!(ser_dict(&d).unwrap(), b"1=5, Ao-Ids=2, %x_y=3, -a, _b, a=4");
    }

    #[test]
    fn sf_containers_roundtrip() {
        let cases: &[(&[u8], &[u8])] = &[
            (b"a=1,b=2", b"a=1, b=2"),
            (
                b"a=(1 2);q=1.0, b, c;foo=bar",
                b"a=(1 2);q=1.0, b, c;foo=bar",
            ),
            (b"a=?1;x", b"a;x"),
            (b"a=:AQID:, s=\"x y\"", b"a=:AQID:, s=\"x y\""),
        ];
        for (raw, canon) in cases {
            let d = parse_dict(raw).unwrap();
            let s = ser_dict(&d).unwrap();
            assert_eq!(&s[..], *canon, "{}", String::from_utf8_lossy(&s));
            assert_eq!(parse_dict(&s).unwrap(), d);
        }
        let lists: &[(&[u8], &[u8])] = &[
            (b"(  1  42  )", b"(1 42)"),
            (
                b"(\"foo\"; a=1;b=2);lvl=5, (\"bar\" \"baz\");lvl=1",
                b"(\"foo\";a=1;b=2);lvl=5, (\"bar\" \"baz\");lvl=1",
            ),
            (b"(1),(),(42)", b"(1), (), (42)"),
            (b"", b""),
        ];
        for (raw, canon) in lists {
            let l = parse_list(raw).unwrap();
            let s = ser_list(&l).unwrap();
            assert_eq!(&s[..], *canon, "{}", String::from_utf8_lossy(&s));
            assert_eq!(parse_list(&s).unwrap(), l);
        }
        assert!(parse_list(b"(1\t 42)").is_err());
        assert!(parse_list(b"((1))").is_err());
        assert!(parse_list(b"1, 42,").is_err());
    }

    #[test]
    fn sf_serialise_bare() {
        let s = |b: Bare| String::from_utf8(ser_item(&item(b)).unwrap()).unwrap();
        assert_eq!(
            s(Bare::Decimal {
                mantissa: 1,
                scale: 0
            }),
            "1.0"
        );
        assert_eq!(
            s(Bare::Decimal {
                mantissa: 120,
                scale: 2
            }),
            "1.2"
        );
        assert_eq!(
            s(Bare::Decimal {
                mantissa: -5,
                scale: 1
            }),
            "-0.5"
        );
        assert_eq!(
            s(Bare::Decimal {
                mantissa: 15,
                scale: 4
            }),
            "0.002"
        );
        assert_eq!(
            s(Bare::Decimal {
                mantissa: 25,
                scale: 4
            }),
            "0.002"
        );
        assert_eq!(
            s(Bare::Decimal {
                mantissa: 99995,
                scale: 4
            }),
            "10.0"
        );
        assert_eq!(
            s(Bare::Decimal {
                mantissa: 7,
                scale: 0
            }),
            "7.0"
        );
        assert!(ser_item(&item(Bare::Decimal {
            mantissa: 1_000_000_000_000,
            scale: 0
        }))
        .is_err());
        assert_eq!(
            ser_item(&item(Bare::String(b"a\"\\\t\xff".to_vec()))).unwrap(),
            b"\"a\\\"\\\\\t\xff\"".to_vec()
        );
        assert!(ser_item(&item(tok("1abc"))).is_err());
        assert!(ser_item(&item(tok(""))).is_err());
        assert_eq!(s(Bare::ByteSeq(b"hello".to_vec())), ":aGVsbG8=:");
        assert_eq!(s(Bare::ByteSeq(Vec::new())), "::");
        assert_eq!(
            s(Bare::DisplayString("f\u{fc}%\"".into())),
            "%\"f%c3%bc%25%22\""
        );
        assert_eq!(s(Bare::Date(-62135596800)), "@-62135596800");
        assert_eq!(s(Bare::Integer(0)), "0");
        let bad_key = vec![("A".to_string(), Bare::Integer(1))];
        assert!(ser_item(&Item {
            bare: Bare::Integer(1),
            params: bad_key
        })
        .is_err());
        assert!(ser_dict(&vec![("a b".into(), Member::Item(item(Bare::Integer(1))))]).is_err());
    }

    #[test]
    fn sf_decimal_from_f64() {
        let d = |f: f64| decimal_from_f64(f).unwrap();
        assert_eq!(
            d(0.0015),
            Bare::Decimal {
                mantissa: 2,
                scale: 3
            }
        );
        assert_eq!(
            d(0.0025),
            Bare::Decimal {
                mantissa: 2,
                scale: 3
            }
        );
        assert_eq!(
            d(-0.0015),
            Bare::Decimal {
                mantissa: -2,
                scale: 3
            }
        );
        assert_eq!(
            d(9.9995),
            Bare::Decimal {
                mantissa: 10,
                scale: 0
            }
        );
        assert_eq!(
            d(123456789012.123),
            Bare::Decimal {
                mantissa: 123456789012123,
                scale: 3
            }
        );
        assert_eq!(
            d(1.0),
            Bare::Decimal {
                mantissa: 1,
                scale: 0
            }
        );
        assert!(decimal_from_f64(1000000000000.1).is_err());
        assert!(decimal_from_f64(f64::NAN).is_err());
        assert!(decimal_from_f64(1e300).is_err());
        assert_eq!(
            d(1e-300),
            Bare::Decimal {
                mantissa: 0,
                scale: 0
            }
        );
    }

    #[test]
    fn sf_garbage_never_panics() {
        // Deterministic xorshift over an alphabet rich in SF syntax, plus raw bytes.
        let alphabet = b" \t,;=()\"\\:?@%-.0123456789aAzZ*/_+!#~\x00\x7f\xff";
        let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
        let mut next = || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        for _ in 0..20_000 {
            let len = (next() % 24) as usize;
            let raw = next() % 4 == 0;
            let input: Vec<u8> = (0..len)
                .map(|_| {
                    let r = next();
                    if raw {
                        r as u8
                    } else {
                        alphabet[(r % alphabet.len() as u64) as usize]
                    }
                })
                .collect();
            if let Ok(v) = parse_item(&input) {
                let s = ser_item(&v).unwrap();
                assert_eq!(parse_item(&s).unwrap(), v);
            }
            if let Ok(v) = parse_list(&input) {
                let s = ser_list(&v).unwrap();
                assert_eq!(parse_list(&s).unwrap(), v);
            }
            if let Ok(v) = parse_dict(&input) {
                let s = ser_dict(&v).unwrap();
                assert_eq!(parse_dict(&s).unwrap(), v);
            }
        }
    }
}
