//! kiln's end-to-end tests, in one test binary to keep CI builds lean. They
//! run the real `kiln` binary, the real `hugo`, real headless Chromium and
//! real SQLite files; see `support` for the helpers and `suite` for the tests.

mod suite;
mod support;
