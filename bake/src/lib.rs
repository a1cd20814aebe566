//! kiln's bake pipeline: read published comments from a source, render each
//! thread with the templates, and inject the result into a static site's HTML.

pub mod export;
pub mod source;
