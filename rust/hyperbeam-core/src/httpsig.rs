//! The `httpsig@1.0` codec (spec core §6): TABM <-> HTTP headers plus a multipart body.
//! Encoding is in `httpsig_encode`, decoding in `httpsig_decode`; decoding a signed message
//! also rebuilds its commitments (`httpsig_commit`, spec core §7.7), so this entry sits above all
//! three.

use crate::error::Result;
use crate::httpsig_commit::commitments_from_signature;
use crate::httpsig_decode::from_http_unsigned;
pub use crate::httpsig_encode::{content_digest, to_http, HttpMsg, MAX_HEADER_LENGTH};
use crate::value::Msg;

/// HTTP -> TABM (`dev_codec_httpsig_conv:from`, spec core §6.4): the fields and body decoded,
/// then `signature`/`signature-input` (when both are present) turned into commitments.
pub fn from_http(h: &HttpMsg) -> Result<Msg> {
    let t = from_http_unsigned(h)?;
    match (
        h.get(b"signature".as_slice()),
        h.get(b"signature-input".as_slice()),
    ) {
        (Some(sig), Some(input)) => commitments_from_signature(&t, sig, input),
        _ => Ok(t),
    }
}
