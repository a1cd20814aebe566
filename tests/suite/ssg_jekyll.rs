//! The jekyll adapter end to end (filled in with the adapter).
