//! kiln's receiver: accepts comment submissions from a plain HTML form or
//! JSON, stores them, and serves published comments to bake.

pub mod config;
pub mod http;
pub mod pages;
pub mod store;
pub mod submission;
