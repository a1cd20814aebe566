//! The pelican adapter end to end (filled in with the adapter).
