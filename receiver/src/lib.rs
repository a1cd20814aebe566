//! kiln's receiver: accepts comment submissions from a plain HTML form or
//! JSON, stores them, and serves published comments to bake.

pub mod abuse;
pub mod address;
pub mod admission;
pub mod auth;
pub mod config;
pub mod http;
pub mod import;
pub mod mail;
pub mod moderation;
pub mod pages;
pub mod password;
pub mod publish;
pub mod reactions;
pub mod signing;
pub mod store;
pub mod submission;
