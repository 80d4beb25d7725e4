//! `structured@1.0`: rich message <-> TABM with `ao-types` (spec core §3).

use crate::error::{codec, lossy, Error, Result};
use crate::keys::{
    escape_into, is_normalized, is_private, list_to_numbered, normalize_key, normalize_keys,
    unescape,
};
use crate::sf::{self, Bare, Member};
use crate::value::{Msg, Value, ValueRef};

/// Keys that `from` drops at every level (`?REGEN_KEYS`, spec core §2.4).
pub(crate) fn is_regen_key(k: &[u8]) -> bool {
    k == b"unsigned_id" || k == b"content-digest"
}

/// An empty map, or one whose only key is `priv` (spec core §3.1).
pub(crate) fn is_empty_message(m: &Msg) -> bool {
    m.is_empty() || (m.len() == 1 && m.contains_key(b"priv".as_slice()))
}

/// Rich message -> TABM (`dev_codec_structured:from`, spec core §3.1).
pub fn from_msg(msg: &Msg) -> Result<Msg> {
    let norm;
    let m = if msg.keys().all(|k| is_normalized(k)) {
        msg
    } else {
        norm = normalize_keys(msg);
        &norm
    };
    let mut out = Msg::new();
    let mut types: Vec<(&[u8], &str)> = Vec::new();
    for (k, v) in m {
        if is_regen_key(k) || is_private(k) {
            continue;
        }
        match v {
            Value::Bin(b) if b.is_empty() => types.push((k, "empty-binary")),
            Value::List(l) if l.is_empty() => types.push((k, "empty-list")),
            Value::Map(inner) if is_empty_message(inner) => types.push((k, "empty-message")),
            Value::Bin(b) => {
                out.insert(k.clone(), Value::Bin(b.clone()));
            }
            Value::Map(inner) => {
                out.insert(k.clone(), Value::Map(from_msg(inner)?));
            }
            Value::List(l) if matches!(l[0], Value::Map(_) | Value::List(_)) => {
                types.push((k, "list"));
                out.insert(k.clone(), Value::Map(from_msg(&list_to_numbered(l))?));
            }
            other => {
                let mut enc = Vec::new();
                let t = encode_value(other, &mut enc)
                    .map_err(|e| Error::Codec(format!("key {:?}: {e}", lossy(k))))?;
                types.push((k, t));
                out.insert(k.clone(), Value::Bin(enc));
            }
        }
    }
    if !types.is_empty() {
        let mut ao = Vec::with_capacity(types.len() * 20);
        for (i, (k, t)) in types.iter().enumerate() {
            if i > 0 {
                ao.extend_from_slice(b", ");
            }
            escape_into(k, &mut ao);
            ao.push(b'=');
            sf::ser_string(&mut ao, t.as_bytes());
        }
        out.insert(b"ao-types".to_vec(), Value::Bin(ao));
    }
    Ok(out)
}

/// Erlang's `float_to_binary(F)` = `%.20e` with an exponent of at least two digits.
pub fn format_float(f: f64, out: &mut Vec<u8>) -> Result<()> {
    if !f.is_finite() {
        return codec(format!(
            "float {f} cannot be encoded (HyperBEAM floats are finite)"
        ));
    }
    if f.is_sign_negative() {
        out.push(b'-');
    }
    let (digits, exp) = match exact_digits(f.abs()) {
        Some(d) => d,
        None => {
            // Rare (very large or very small magnitudes): the formatter's exact mode.
            let s = format!("{:.20e}", f.abs());
            let (mant, e) = s.split_once('e').unwrap_or((&s, "0"));
            let mut d = [b'0'; 21];
            for (slot, c) in d.iter_mut().zip(mant.bytes().filter(u8::is_ascii_digit)) {
                *slot = c;
            }
            (d, e.parse().unwrap_or(0))
        }
    };
    out.push(digits[0]);
    out.push(b'.');
    out.extend_from_slice(&digits[1..]);
    out.push(b'e');
    out.push(if exp < 0 { b'-' } else { b'+' });
    let a = exp.unsigned_abs();
    if a < 10 {
        out.push(b'0');
    }
    push_u64(out, u64::from(a));
    Ok(())
}

/// The 21 significant digits of `%.20e` for a finite, non-negative `f` whose exact decimal value
/// fits in u128 arithmetic (most floats met in messages), rounded half-to-even on the exact
/// expansion as C's printf does; `None` for the others.
fn exact_digits(f: f64) -> Option<([u8; 21], i32)> {
    let mut d = [b'0'; 21];
    if f == 0.0 {
        return Some((d, 0));
    }
    let bits = f.to_bits();
    let raw_exp = ((bits >> 52) & 0x7ff) as i32;
    let frac = bits & ((1u64 << 52) - 1);
    let (m, e) = if raw_exp == 0 {
        (frac, -1074)
    } else {
        (frac | (1u64 << 52), raw_exp - 1075)
    };
    // Drop trailing zero bits of the mantissa first: most fractions met in messages (1.5, 0.25)
    // then need only a few powers of five.
    let (m, e) = if e < 0 {
        let tz = m.trailing_zeros().min(e.unsigned_abs());
        (m >> tz, e + tz as i32)
    } else {
        (m, e)
    };
    // f = m * 2^e exactly = n * 10^-k with n an integer.
    let (n, k): (u128, i32) = if e >= 0 {
        if e > 74 {
            return None;
        }
        (u128::from(m) << e, 0)
    } else {
        let k = -e;
        let n = 5u128
            .checked_pow(k.unsigned_abs())
            .and_then(|p| p.checked_mul(u128::from(m)))?;
        (n, k)
    };
    // The decimal digits of n, without allocating (u64 arithmetic where it fits).
    let mut buf = [0u8; 40];
    let all = decimal(n, &mut buf);
    let mut exp = all.len() as i32 - 1 - k;
    let keep = all.len().min(21);
    d[..keep].copy_from_slice(&all[..keep]);
    if let Some(rest) = all.get(21..).filter(|r| !r.is_empty()) {
        let first = rest[0];
        let tail_nonzero = rest[1..].iter().any(|&c| c != b'0');
        let round_up = first > b'5' || (first == b'5' && (tail_nonzero || (d[20] - b'0') % 2 == 1));
        if round_up {
            let mut i = 20;
            loop {
                if d[i] == b'9' {
                    d[i] = b'0';
                    if i == 0 {
                        // All nines: 10...0, one more in the exponent.
                        d[0] = b'1';
                        exp += 1;
                        break;
                    }
                    i -= 1;
                } else {
                    d[i] += 1;
                    break;
                }
            }
        }
    }
    Some((d, exp))
}

/// The decimal digits of `n`, written at the end of `buf` (u64 arithmetic where it fits).
pub(crate) fn decimal(n: u128, buf: &mut [u8; 40]) -> &[u8] {
    let mut i = buf.len();
    if let Ok(mut v) = u64::try_from(n) {
        loop {
            i -= 1;
            buf[i] = b'0' + (v % 10) as u8;
            v /= 10;
            if v == 0 {
                break;
            }
        }
    } else {
        let mut v = n;
        loop {
            i -= 1;
            buf[i] = b'0' + (v % 10) as u8;
            v /= 10;
            if v == 0 {
                break;
            }
        }
    }
    &buf[i..]
}

/// Decimal text of `n`, appended without an intermediate allocation.
fn push_u64(out: &mut Vec<u8>, n: u64) {
    out.extend_from_slice(decimal(u128::from(n), &mut [0u8; 40]));
}

/// Decimal text of an integer (Erlang `integer_to_binary`).
pub(crate) fn push_i64(out: &mut Vec<u8>, i: i64) {
    if i < 0 {
        out.push(b'-');
    }
    push_u64(out, i.unsigned_abs());
}

/// `encode_value` (spec core §3.2): appends the encoding and returns the type name.
pub fn encode_value(v: &Value, out: &mut Vec<u8>) -> Result<&'static str> {
    encode_value_ref(ValueRef::from(v), out)
}

/// `encode_value` on a borrowed value (the one implementation of it).
pub fn encode_value_ref(v: ValueRef<'_>, out: &mut Vec<u8>) -> Result<&'static str> {
    match v {
        ValueRef::Int(i) => {
            push_i64(out, i);
            Ok("integer")
        }
        ValueRef::BigInt(s) => {
            out.extend_from_slice(s.as_bytes());
            Ok("integer")
        }
        ValueRef::Float(f) => {
            format_float(f, out)?;
            Ok("float")
        }
        ValueRef::Atom(a) => {
            sf::ser_string(out, a.as_bytes());
            Ok("atom")
        }
        ValueRef::Bin(b) => {
            out.extend_from_slice(b);
            Ok("binary")
        }
        ValueRef::List(items) => {
            encode_list(items, out)?;
            Ok("list")
        }
        ValueRef::Map(_) | ValueRef::Entries(_) => {
            codec("a map cannot be encoded as a scalar value")
        }
    }
}

/// A list as an SF list: binaries as strings, other elements as `"(ao-type-T) encoding"`.
fn encode_list(items: &[Value], out: &mut Vec<u8>) -> Result<()> {
    let mut elem = Vec::with_capacity(if items.iter().all(|x| matches!(x, Value::Bin(_))) {
        0
    } else {
        64
    });
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            out.extend_from_slice(b", ");
        }
        match item {
            Value::Bin(b) => sf::ser_string(out, b),
            Value::Map(_) => {
                return codec(
                    "a list holds a map after a non-map first element \
                     (HyperBEAM cannot encode this)",
                )
            }
            other => {
                elem.clear();
                elem.extend_from_slice(b"(ao-type-");
                let at = elem.len();
                let t = encode_value(other, &mut elem)?;
                elem.splice(at..at, t.bytes().chain(*b") "));
                sf::ser_string(out, &elem);
            }
        }
    }
    Ok(())
}

/// The value of an `ao-types` entry: an SF string or token.
fn type_text(m: &Member) -> Result<Vec<u8>> {
    match m {
        Member::Item(it) => match &it.bare {
            Bare::String(s) => Ok(s.to_ascii_lowercase()),
            Bare::Token(t) => Ok(t.to_ascii_lowercase().into_bytes()),
            _ => codec("ao-types entry is not a string"),
        },
        Member::Inner(_) => codec("ao-types entry is an inner list"),
    }
}

/// TABM -> rich message (`dev_codec_structured:to`, spec core §3.3).
pub fn to_msg(tabm: &Msg) -> Result<Msg> {
    let types: Vec<(Vec<u8>, Vec<u8>)> = match tabm.get(b"ao-types".as_slice()) {
        Some(Value::Bin(t)) => sf::parse_dict(t)
            .map_err(|e| Error::Codec(format!("ao-types: {e}")))?
            .iter()
            .map(|(k, m)| Ok((unescape(k.as_bytes()), type_text(m)?)))
            .collect::<Result<_>>()?,
        Some(other) => return codec(format!("ao-types is a {}, not a binary", other.kind())),
        None => Vec::new(),
    };
    let type_of = |k: &[u8]| -> Option<&[u8]> {
        types
            .iter()
            .rev()
            .find(|(tk, _)| tk.as_slice() == k)
            .map(|(_, t)| t.as_slice())
    };
    let mut out = Msg::new();
    for (k, t) in &types {
        let empty = match t.as_slice() {
            b"empty-binary" => Value::Bin(Vec::new()),
            b"empty-list" => Value::List(Vec::new()),
            b"empty-message" => Value::Map(Msg::new()),
            _ => continue,
        };
        out.insert(k.clone(), empty);
    }
    for (k, v) in tabm {
        if k == b"ao-types" {
            continue;
        }
        let decoded = match v {
            Value::Bin(b) => match type_of(&normalize_key(k)) {
                Some(t) if !t.starts_with(b"empty-") => decode_value(t, b)
                    .map_err(|e| Error::Codec(format!("key {:?}: {e}", lossy(k))))?,
                _ => v.clone(),
            },
            Value::Map(inner) => {
                let d = to_msg(inner)?;
                if type_of(k) == Some(b"list".as_slice()) {
                    Value::List(ordered_list(d)?)
                } else {
                    Value::Map(d)
                }
            }
            other => other.clone(),
        };
        out.insert(k.clone(), decoded);
    }
    filter_default_keys(&mut out);
    Ok(out)
}

/// `message_to_ordered_list`: keys must be exactly `1..N`.
fn ordered_list(m: Msg) -> Result<Vec<Value>> {
    let mut items: Vec<(usize, Value)> = Vec::with_capacity(m.len());
    for (k, v) in m {
        let n = std::str::from_utf8(&k)
            .ok()
            .and_then(|s| s.parse::<usize>().ok())
            .ok_or_else(|| Error::Codec(format!("list key {:?} is not an index", lossy(&k))))?;
        items.push((n, v));
    }
    items.sort_by_key(|(n, _)| *n);
    for (i, (n, _)) in items.iter().enumerate() {
        if *n != i + 1 {
            return codec(format!("list is missing index {}", i + 1));
        }
    }
    Ok(items.into_iter().map(|(_, v)| v).collect())
}

fn bare_to_value(b: &Bare) -> Result<Value> {
    Ok(match b {
        Bare::Integer(i) => Value::Int(*i),
        Bare::Decimal { mantissa, scale } => {
            Value::Float(*mantissa as f64 / 10f64.powi(i32::try_from(*scale).unwrap_or(0)))
        }
        Bare::String(s) | Bare::ByteSeq(s) => Value::Bin(s.clone()),
        Bare::Token(t) => Value::Atom(t.clone()),
        Bare::Boolean(true) => Value::Atom("true".into()),
        Bare::Boolean(false) => Value::Atom("false".into()),
        Bare::Date(d) => Value::Int(*d),
        Bare::DisplayString(s) => Value::Bin(s.clone().into_bytes()),
    })
}

/// `decode_value(Type, Bin)` (spec core §3.3).
pub fn decode_value(t: &[u8], b: &[u8]) -> Result<Value> {
    match t {
        b"integer" => match sf::parse_item(b)?.bare {
            Bare::Integer(i) => Ok(Value::Int(i)),
            _ => codec(format!("{:?} is not an integer", lossy(b))),
        },
        b"float" => {
            let s = std::str::from_utf8(b).map_err(|_| Error::Codec("float is not text".into()))?;
            match s.trim().parse::<f64>() {
                Ok(f) if f.is_finite() => Ok(Value::Float(f)),
                _ => codec(format!("{s:?} is not a float")),
            }
        }
        b"atom" => match sf::parse_item(b)?.bare {
            Bare::String(s) => Ok(Value::Atom(String::from_utf8_lossy(&s).into_owned())),
            Bare::Token(t) => Ok(Value::Atom(t)),
            _ => codec(format!("{:?} is not an atom", lossy(b))),
        },
        b"list" => {
            let mut out = Vec::new();
            for m in sf::parse_list(b)? {
                let Member::Item(it) = m else {
                    return codec("inner lists are not valid list elements");
                };
                match &it.bare {
                    Bare::String(s) if s.starts_with(b"(ao-type-") => {
                        let rest = &s[9..];
                        let pos = rest
                            .windows(2)
                            .position(|w| w == b") ")
                            .ok_or_else(|| Error::Codec("malformed typed list element".into()))?;
                        out.push(decode_value(&rest[..pos], &rest[pos + 2..])?);
                    }
                    other => out.push(bare_to_value(other)?),
                }
            }
            Ok(Value::List(out))
        }
        b"map" => {
            let mut out = Msg::new();
            for (k, m) in sf::parse_dict(b)? {
                let Member::Item(it) = m else {
                    return codec("inner lists are not valid map values");
                };
                out.insert(k.into_bytes(), bare_to_value(&it.bare)?);
            }
            Ok(Value::Map(out))
        }
        other => codec(format!("unexpected type {:?} in ao-types", lossy(other))),
    }
}

/// Drop keys that hold their `#tx{}` default value (`filter_default_keys`, spec core §2.4).
fn filter_default_keys(m: &mut Msg) {
    m.retain(|k, v| !match (k.as_slice(), &*v) {
        (b"format", Value::Atom(a)) => a == "ans104",
        (b"id" | b"unsigned_id", Value::Bin(b)) => b.len() == 32 && b.iter().all(|c| *c == 0),
        (b"last_tx" | b"target" | b"data" | b"data_root", Value::Bin(b)) => b.is_empty(),
        (b"owner" | b"signature", Value::Bin(b)) => b.len() == 512 && b.iter().all(|c| *c == 0),
        (b"tags" | b"data_tree", Value::List(l)) => l.is_empty(),
        (b"quantity" | b"data_size" | b"reward" | b"denomination", Value::Int(0)) => true,
        (b"manifest", Value::Atom(a)) => a == "undefined",
        _ => false,
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn floats_format_like_erlang() {
        let mut o = Vec::new();
        format_float(1.5, &mut o).unwrap();
        assert_eq!(o, b"1.50000000000000000000e+00");
        o.clear();
        format_float(-2.5e-7, &mut o).unwrap();
        assert_eq!(o, b"-2.49999999999999988687e-07"); // as C's %.20e
        o.clear();
        format_float(1e100, &mut o).unwrap();
        assert_eq!(o, b"1.00000000000000001590e+100");
        assert!(format_float(f64::NAN, &mut o).is_err());
    }

    #[test]
    fn fast_float_digits_agree_with_the_exact_formatter() {
        let mut seed = 0x9e3779b97f4a7c15u64;
        let check = |f: f64| {
            let mut o = Vec::new();
            format_float(f, &mut o).unwrap();
            let s = format!("{f:.20e}");
            let (mant, e) = s.split_once('e').unwrap();
            let e: i32 = e.parse().unwrap();
            let want = format!(
                "{mant}e{}{:02}",
                if e < 0 { '-' } else { '+' },
                e.unsigned_abs()
            );
            assert_eq!(String::from_utf8(o).unwrap(), want, "{f:e}");
        };
        for f in [
            0.0,
            -0.0,
            1.5,
            0.1,
            2.5e-3,
            1e10,
            123456789.125,
            5e-324,
            1e300,
            0.5,
            1e23,
        ] {
            check(f);
        }
        for _ in 0..200_000 {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            let f = f64::from_bits(seed);
            if f.is_finite() {
                check(f);
            }
            let g = (seed % 1_000_000_007) as f64 / 1024.0;
            check(g);
        }
    }
}
