"""hyperbeam_fast: a Rust-accelerated implementation of the AO-Core protocol (HyperBEAM)."""
