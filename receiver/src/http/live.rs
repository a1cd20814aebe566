//! What the optional script (`templates/kiln.js`) talks to: the script
//! itself, a Markdown preview rendered exactly as bake renders, the
//! comments of a thread published after the ones a page was baked with, and
//! the comment counts of the threads a list page links to.
//! Pages live on the site's origins, so these answer CORS requests from
//! `sites.origins` (and from nowhere else); nothing here needs cookies.
//!
//! Bake writes the script into the site (`bake.script_file`), so reading a
//! page sends the receiver nothing; `GET /kiln.js` here serves sites that
//! load it from the receiver, gzipped.
//!
//! Notes on the script, which carries few comments because every reader
//! downloads every byte of it (at most 4 KB gzipped, tested):
//! - No eval, no inline handlers: a strict Content-Security-Policy allows it.
//! - It asks the receiver nothing until the reader uses the form (a fresh
//!   token on focus, a preview, a post). Only when bake marks its `<script>`
//!   with `data-kiln-live` (`bake.live`) does it ask for comments approved
//!   since the bake once a thread is on screen, and for list pages' counts.
//!   With `data-kiln-live`, a thread with like buttons (`[reactions]`) also
//!   asks `GET /api/likes` once on load, so the counts baked into the page
//!   are topped up to the receiver's (the answer is cached a few seconds).
//! - The thread's heading counts what the reader sees: the baked count
//!   (`meta[itemprop=commentCount]`), plus comments it inserts (the
//!   reader's pending ones too), less the ones deleted. It rewrites only the
//!   built-in words of `count.html`; a site's own words are left alone.
//! - A pending comment it shows has no Reply link: the receiver refuses
//!   replies to comments not yet approved.
//! - The reader's own comments say until when they can be changed, in the
//!   reader's own time zone and way of writing the time.
//! - Messages go to a `role=status` region that is emptied first and filled
//!   a moment later, so the same message twice is announced twice.
//! - Focus moves scroll with `behavior: "instant"` under
//!   `prefers-reduced-motion`, even where the site's CSS scrolls smoothly.
//! - A signed form (`spam.form_token`) asks `GET /api/token` once, when the
//!   reader first focuses it: a post made with that token sooner than
//!   `spam.min_fill_seconds` later is refused as `too_fast`, since people
//!   do not write that quickly. The baked token stays if the request fails.
//! - After a post, the edit link from the 201 is kept in `localStorage`
//!   (`kiln-edits`, by comment id) with its expiry and the text, name and
//!   website as posted or last saved: the reader's own words on their own
//!   device, so the editor is filled after a reload too. Never the email.
//!   Expired entries are dropped whenever it is read (at load and every
//!   second), and the key is removed once empty, so nothing is stored for
//!   readers who have not posted. Edit and Delete show on those comments
//!   (`#kiln-comment-ID`, inserted or baked) until then; a link the
//!   receiver refuses (400, 404, 410) is dropped at once. One edit or
//!   delete request runs at a time per comment: a second click on Save or
//!   "Yes, delete" while one is on its way does nothing.
//! - A like (`[reactions]`) is posted as JSON and the count set from the
//!   answer, without leaving the page; a refused like changes nothing.
//!   `/api/comments` also answers every comment's likes (with reactions
//!   on), for clients that show fresh counts: the script itself does not
//!   read them, for its size.

use std::collections::{BTreeSet, HashMap};

use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use kiln_bake::export::CommentStatus;
use sha2::{Digest, Sha256};

use super::{ApiError, AppState};

/// The script, embedded like the templates.
const SCRIPT: &str = kiln_bake::render::templates::builtin("kiln.js").expect("kiln.js is built in");

/// The script as sent: its bytes, gzipped once, and an ETag for each (two
/// representations need two strong ETags).
struct Encoded {
    plain: &'static [u8],
    gzip: Vec<u8>,
    etag: String,
    etag_gzip: String,
}

fn encoded() -> &'static Encoded {
    static ENCODED: std::sync::OnceLock<Encoded> = std::sync::OnceLock::new();
    ENCODED.get_or_init(|| {
        use std::io::Write as _;
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        gz.write_all(SCRIPT.as_bytes())
            .and_then(|()| gz.finish())
            .map(|gzip| {
                let hash = &hex(&Sha256::digest(SCRIPT.as_bytes()))[..16];
                Encoded {
                    plain: SCRIPT.as_bytes(),
                    gzip,
                    etag: format!("\"{hash}\""),
                    etag_gzip: format!("\"{hash}-gz\""),
                }
            })
            .expect("gzip into memory cannot fail")
    })
}

/// Whether `Accept-Encoding` takes gzip: named (or `*`) without `q=0`.
fn takes_gzip(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::ACCEPT_ENCODING)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|coding| {
            let mut parts = coding.split(';').map(str::trim);
            let name = parts.next().unwrap_or_default();
            let refused = parts.any(|p| {
                p.strip_prefix("q=")
                    .and_then(|q| q.parse::<f32>().ok())
                    .is_some_and(|q| q == 0.0)
            });
            (name.eq_ignore_ascii_case("gzip") || name == "*") && !refused
        })
}

/// `GET /kiln.js`, for sites that load it from here (`bake.script_file =
/// ""`, and `--fragments`): gzipped when the browser takes it, cached for
/// an hour, revalidated by its hash.
pub async fn script(headers: HeaderMap) -> Response {
    let script = encoded();
    let gzip = takes_gzip(&headers);
    let (etag, body) = if gzip {
        (&script.etag_gzip, script.gzip.as_slice())
    } else {
        (&script.etag, script.plain)
    };
    let mut response = if headers
        .get(header::IF_NONE_MATCH)
        .is_some_and(|v| v.as_bytes() == etag.as_bytes())
    {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        (
            [(header::CONTENT_TYPE, "text/javascript; charset=utf-8")],
            body,
        )
            .into_response()
    };
    let h = response.headers_mut();
    if gzip {
        h.insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
    }
    h.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
    h.insert(header::ETAG, HeaderValue::from_str(etag).expect("hex"));
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=3600"),
    );
    response
}

#[derive(serde::Deserialize)]
pub struct PreviewRequest {
    #[serde(default)]
    text: String,
}

/// `POST /api/preview` `{"text": "..."}` → `{"html": "..."}`: the same
/// renderer and sanitizer as bake, so the preview is what will be published.
pub async fn preview(
    State(state): State<AppState>,
    Json(request): Json<PreviewRequest>,
) -> Result<Response, ApiError> {
    let limit = state.config.limits.text;
    if request.text.chars().count() > limit {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "too_long",
            format!("Comment is longer than {limit} characters; shorten it to preview it."),
        ));
    }
    let html = kiln_bake::markdown::to_html(&request.text);
    Ok(Json(serde_json::json!({ "html": html })).into_response())
}

/// `GET /api/comments?thread=ID&after=N`: the thread's published comments
/// with ids above `N` (the newest a page was baked with), each rendered as
/// the baked page renders it. One indexed query, revalidated by ETag, so a
/// busy page costs little.
pub async fn since(
    State(state): State<AppState>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let thread = query.get("thread").cloned().unwrap_or_default();
    if thread.is_empty() || thread.len() > 500 {
        return Err(ApiError::bad_request(
            "invalid",
            "Give the thread id as ?thread=ID.",
        ));
    }
    let after: i64 = match query.get("after").map(|a| a.parse()) {
        None => 0,
        Some(Ok(n)) if n >= 0 => n,
        Some(_) => {
            return Err(ApiError::bad_request(
                "invalid",
                "`after` must be a comment id (a whole number).",
            ))
        }
    };
    let site = super::asked_site(
        &state.config,
        query.get("site").map(String::as_str),
        &headers,
    )?;
    let key = thread.clone();
    let avatars = state.avatars.clone();
    let threads = state
        .read_store(move |store| store.published_threads(&site, Some(&[key]), &avatars))
        .await?;
    let mut comments = Vec::new();
    // With reactions on, every published comment's likes, so the script
    // tops up the counts baked into the page.
    let mut likes = serde_json::Map::new();
    if let Some(found) = threads.first() {
        for comment in &found.comments {
            if state.config.reactions.enabled && comment.likes > 0 {
                likes.insert(comment.id.to_string(), comment.likes.into());
            }
            if comment.id <= after || comment.status != CommentStatus::Approved {
                continue;
            }
            let html = state
                .pages
                .published_comment(&found.id, &found.url, comment)?;
            comments.push(serde_json::json!({
                "id": comment.id,
                "parent": comment.parent,
                "html": html,
            }));
        }
    }
    let mut body = serde_json::json!({ "comments": comments });
    if state.config.reactions.enabled {
        body["likes"] = likes.into();
    }
    revalidated(&body, &headers)
}

/// How many threads one `/api/counts` request may ask about: more than a
/// list page shows, few enough that one request stays cheap.
pub const MAX_COUNT_THREADS: usize = 100;

/// `GET /api/counts?thread=A&thread=B...`: for each thread, how many
/// comments it shows and the words `count.html` makes of that, for the
/// `data-kiln-count` elements of a page. One indexed count per thread,
/// revalidated by ETag like `/api/comments`.
pub async fn counts(
    State(state): State<AppState>,
    Query(query): Query<Vec<(String, String)>>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let asked_site = query.iter().find(|(name, _)| name == "site");
    let site = super::asked_site(&state.config, asked_site.map(|(_, v)| v.as_str()), &headers)?;
    let keys: BTreeSet<String> = query
        .into_iter()
        .filter(|(name, _)| name == "thread")
        .map(|(_, key)| key)
        .collect();
    if keys.is_empty() || keys.iter().any(|k| k.is_empty() || k.len() > 500) {
        return Err(ApiError::bad_request(
            "invalid",
            "Give each thread id as ?thread=ID (repeat it for more threads).",
        ));
    }
    if keys.len() > MAX_COUNT_THREADS {
        return Err(ApiError::bad_request(
            "too_many",
            format!("Ask about at most {MAX_COUNT_THREADS} threads at once."),
        ));
    }
    let keys: Vec<String> = keys.into_iter().collect();
    let asked = keys.clone();
    let found = state
        .read_store(move |store| store.approved_counts(&site, &asked))
        .await?;
    let mut counts = serde_json::Map::new();
    for (key, count) in keys.into_iter().zip(found) {
        let html = state.pages.count(count)?;
        counts.insert(key, serde_json::json!({ "count": count, "html": html }));
    }
    revalidated(&serde_json::json!({ "counts": counts }), &headers)
}

/// A JSON answer with an ETag of its bytes, or `304` when the client holds
/// it already.
fn revalidated(body: &serde_json::Value, headers: &HeaderMap) -> Result<Response, ApiError> {
    let body = serde_json::to_vec(body).map_err(anyhow::Error::from)?;
    let etag = format!("\"{}\"", &hex(&Sha256::digest(&body))[..16]);
    let mut response = if headers
        .get(header::IF_NONE_MATCH)
        .is_some_and(|v| v.as_bytes() == etag.as_bytes())
    {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        ([(header::CONTENT_TYPE, "application/json")], body).into_response()
    };
    let h = response.headers_mut();
    h.insert(header::ETAG, HeaderValue::from_str(&etag).expect("hex"));
    // Shared caches may keep it, but must ask again each time: a 304
    // costs a few indexed queries, and a fresh approval shows at once.
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, no-cache"),
    );
    Ok(response)
}

/// CORS for the routes pages call: every site's origins only, JSON bodies
/// allowed, with credentials: kiln.js sends the reader's sign-in cookie
/// (`kiln_signin`, the only cookie these paths see: the admin's is
/// `SameSite=Strict` on `/admin`).
pub fn cors(config: &crate::config::Config) -> tower_http::cors::CorsLayer {
    let sites = &config.sites;
    let origins: Vec<HeaderValue> = (sites.names().into_iter())
        .flat_map(|name| sites.origins_of(name))
        .filter_map(|o| HeaderValue::from_str(o).ok())
        .collect();
    tower_http::cors::CorsLayer::new()
        .allow_origin(origins)
        .allow_methods([axum::http::Method::GET, axum::http::Method::POST])
        // The origins are the configured list, never a wildcard.
        .allow_credentials(true)
        .allow_headers([header::CONTENT_TYPE, header::ACCEPT])
        .max_age(std::time::Duration::from_secs(600))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
