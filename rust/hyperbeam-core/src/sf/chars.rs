//! Character classes and limits shared by the parser and the serialiser (RFC 8941 §3, with
//! HyperBEAM's lenient dictionary keys, spec core §1.6).

#[inline]
pub(super) fn is_tchar(c: u8) -> bool {
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
pub(super) fn is_token_start(c: u8) -> bool {
    c.is_ascii_alphabetic() || c == b'*'
}

#[inline]
pub(super) fn is_token_char(c: u8) -> bool {
    is_tchar(c) || c == b':' || c == b'/'
}

/// RFC key start (parameter keys): `lcalpha / "*"`.
#[inline]
pub(super) fn is_param_key_start(c: u8) -> bool {
    c.is_ascii_lowercase() || c == b'*'
}

/// RFC key continuation (parameter keys): `lcalpha / DIGIT / "_" / "-" / "." / "*"`.
#[inline]
pub(super) fn is_param_key_char(c: u8) -> bool {
    c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, b'_' | b'-' | b'.' | b'*')
}

/// HyperBEAM dictionary key start: `A-Z a-z 0-9 * % _ -` (spec core §1.6).
#[inline]
pub(super) fn is_dict_key_start(c: u8) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, b'*' | b'%' | b'_' | b'-')
}

/// HyperBEAM dictionary key continuation: `A-Z a-z 0-9 _ - . * %` (spec core §1.6).
#[inline]
pub(super) fn is_dict_key_char(c: u8) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, b'_' | b'-' | b'.' | b'*' | b'%')
}

#[inline]
pub(super) fn is_string_char(c: u8) -> bool {
    matches!(c, 0x20..=0x21 | 0x23..=0x5B | 0x5D..=0x7E)
}

/// Standard base64 alphabet, padding optional on decode, non-zero pad bits tolerated.
pub(super) const B64: base64::engine::GeneralPurpose = base64::engine::GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    base64::engine::GeneralPurposeConfig::new()
        .with_encode_padding(true)
        .with_decode_padding_mode(base64::engine::DecodePaddingMode::Indifferent)
        .with_decode_allow_trailing_bits(true),
);

/// Largest magnitude an integer (or date) may have on parse: 15 digits.
pub(super) const MAX_INT: i64 = 999_999_999_999_999;
/// Largest magnitude of a decimal's integer part: 12 digits.
pub(super) const MAX_DEC_INT: i128 = 999_999_999_999;
