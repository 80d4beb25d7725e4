//! Parsing (RFC 8941 §4.2): items, lists, dictionaries, built into the owned types or through a
//! [`Builder`].

use super::chars::*;
use super::key_index::KeyIndex;
use super::types::*;
use crate::error::{Error, Result};

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
