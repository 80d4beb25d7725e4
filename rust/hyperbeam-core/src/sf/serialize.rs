//! Serialisation (RFC 8941 §4.1, RFC 9651 §4.1.5 for decimals): items, lists, dictionaries,
//! parameters, one bare item at a time.

use super::chars::*;
use super::types::*;
use crate::error::{Error, Result};

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
