//! Python objects <-> `hb_core::Value` (the message model of spec core §2.1): owned conversion
//! (`owned`), and borrowed entries for the fast ID path (`borrowed`, which uses `owned`).

mod borrowed;
mod owned;

pub(crate) use borrowed::str_bytes;
pub use borrowed::{with_entries, with_entries_borrowed};
pub use owned::{bin_bytes, http_to_py, msg_to_py, to_http, to_msg};
