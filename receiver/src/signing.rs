//! Signed, expiring tokens (email links, form tokens): bake's
//! `kiln_bake::signing`, so that bake signs forms and the receiver checks
//! them with the same code.

pub use kiln_bake::signing::*;
