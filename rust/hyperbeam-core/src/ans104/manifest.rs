//! The `bundle-map` manifest (spec core §8.6): a JSON object from bundle keys to item IDs.

use super::codec;
use crate::error::{Error, Result};

fn json_string(out: &mut Vec<u8>, s: &[u8]) -> Result<()> {
    if std::str::from_utf8(s).is_err() {
        return codec("ans104: a bundle key is not valid UTF-8 (the JSON manifest needs text)");
    }
    out.push(b'"');
    for &c in s {
        match c {
            b'"' => out.extend_from_slice(b"\\\""),
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            b'\t' => out.extend_from_slice(b"\\t"),
            0x08 => out.extend_from_slice(b"\\b"),
            0x0c => out.extend_from_slice(b"\\f"),
            c if c < 0x20 => out.extend_from_slice(format!("\\u{c:04X}").as_bytes()),
            c => out.push(c),
        }
    }
    out.push(b'"');
    Ok(())
}

/// Compact JSON `{"key":"id",...}` in the given order (`json:encode` folds the map).
pub(super) fn manifest_json(index: &[(&[u8], String)]) -> Result<Vec<u8>> {
    let mut out = Vec::with_capacity(index.len() * 56 + 2);
    out.push(b'{');
    for (i, (k, v)) in index.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        json_string(&mut out, k)?;
        out.push(b':');
        json_string(&mut out, v.as_bytes())?;
    }
    out.push(b'}');
    Ok(out)
}

struct Json<'a> {
    s: &'a [u8],
    pos: usize,
}

impl Json<'_> {
    fn ws(&mut self) {
        while matches!(self.s.get(self.pos), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.pos += 1;
        }
    }
    fn eat(&mut self, c: u8) -> Result<()> {
        self.ws();
        if self.s.get(self.pos) == Some(&c) {
            self.pos += 1;
            Ok(())
        } else {
            codec(format!(
                "ans104: bad bundle manifest JSON (expected {:?})",
                c as char
            ))
        }
    }
    fn hex4(&mut self) -> Result<u32> {
        let h = self
            .s
            .get(self.pos..self.pos + 4)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u32::from_str_radix(h, 16).ok())
            .ok_or_else(|| Error::Codec("ans104: bad \\u escape in bundle manifest".into()))?;
        self.pos += 4;
        Ok(h)
    }
    fn string(&mut self) -> Result<String> {
        self.eat(b'"')?;
        let mut out: Vec<u8> = Vec::new();
        loop {
            let Some(&c) = self.s.get(self.pos) else {
                return codec("ans104: unterminated string in bundle manifest");
            };
            self.pos += 1;
            match c {
                b'"' => break,
                b'\\' => {
                    let Some(&e) = self.s.get(self.pos) else {
                        return codec("ans104: bad escape in bundle manifest");
                    };
                    self.pos += 1;
                    match e {
                        b'"' | b'\\' | b'/' => out.push(e),
                        b'b' => out.push(8),
                        b'f' => out.push(12),
                        b'n' => out.push(b'\n'),
                        b'r' => out.push(b'\r'),
                        b't' => out.push(b'\t'),
                        b'u' => {
                            let mut cp = self.hex4()?;
                            if (0xd800..0xdc00).contains(&cp)
                                && self.s.get(self.pos) == Some(&b'\\')
                            {
                                self.pos += 2;
                                let lo = self.hex4()?;
                                cp = 0x10000
                                    + ((cp - 0xd800) << 10)
                                    + (lo.wrapping_sub(0xdc00) & 0x3ff);
                            }
                            let ch = char::from_u32(cp).ok_or_else(|| {
                                Error::Codec("ans104: bad code point in bundle manifest".into())
                            })?;
                            let mut b = [0u8; 4];
                            out.extend_from_slice(ch.encode_utf8(&mut b).as_bytes());
                        }
                        _ => return codec("ans104: bad escape in bundle manifest"),
                    }
                }
                c => out.push(c),
            }
        }
        String::from_utf8(out)
            .map_err(|_| Error::Codec("ans104: bundle manifest is not UTF-8".into()))
    }
}

/// Parses the manifest `{"key": "id", ...}` (string values only), in document order.
pub fn parse_manifest_json(s: &[u8]) -> Result<Vec<(String, String)>> {
    let mut p = Json { s, pos: 0 };
    let mut out = Vec::new();
    p.eat(b'{')?;
    p.ws();
    if p.s.get(p.pos) == Some(&b'}') {
        p.pos += 1;
    } else {
        loop {
            p.ws();
            let k = p.string()?;
            p.eat(b':')?;
            p.ws();
            let v = p.string()?;
            out.push((k, v));
            p.ws();
            match p.s.get(p.pos) {
                Some(b',') => p.pos += 1,
                Some(b'}') => {
                    p.pos += 1;
                    break;
                }
                _ => return codec("ans104: bad bundle manifest JSON"),
            }
        }
    }
    p.ws();
    if p.pos != s.len() {
        return codec("ans104: trailing bytes after the bundle manifest JSON");
    }
    Ok(out)
}
