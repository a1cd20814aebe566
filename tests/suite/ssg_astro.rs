//! The astro adapter end to end (filled in with the adapter).
