//! "Import comments" on the admin page: the same import as `kiln import`
//! (`crate::import`), from an uploaded file. The upload is read and placed
//! with a dry run first and the report shown; only "Confirm import" stores
//! it. What is confirmed is the very file that was previewed, kept here
//! under a random token bound to the moderator's session (never a path the
//! client names), for a limited time, and deleted once imported or expired.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Mutex;

use axum::extract::{Multipart, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde_json::json;

use super::auth::Session;
use super::extract::{guard, AdminForm};
use super::{bad_request, page};
use crate::http::{now, ApiError, AppState};
use crate::import::{self, Format, Options, Report};

/// The largest file the page takes; bigger exports go through `kiln import`.
pub const MAX_UPLOAD_BYTES: usize = 32 * 1024 * 1024;
/// How long a previewed upload waits for its confirmation.
const KEEP_SECS: i64 = 30 * 60;

/// Uploads waiting for their confirmation, in a private temporary folder.
pub struct Uploads {
    dir: tempfile::TempDir,
    waiting: Mutex<HashMap<String, Waiting>>,
}

struct Waiting {
    /// The session that uploaded it; no other may confirm it.
    session: String,
    path: PathBuf,
    name: String,
    format: Option<Format>,
    site_url: Option<url::Url>,
    expires: i64,
}

impl Uploads {
    pub fn new() -> anyhow::Result<Self> {
        let dir = tempfile::Builder::new()
            .prefix("kiln-admin-import-")
            .tempdir()
            .map_err(|e| anyhow::anyhow!("cannot create a folder for admin uploads: {e}"))?;
        Ok(Uploads {
            dir,
            waiting: Mutex::new(HashMap::new()),
        })
    }

    /// Drops (and deletes) every upload whose time is up.
    fn sweep(waiting: &mut HashMap<String, Waiting>, now: i64) {
        waiting.retain(|_, w| {
            let keep = w.expires > now;
            if !keep {
                let _ = std::fs::remove_file(&w.path);
            }
            keep
        });
    }

    /// Deletes expired uploads; the admin page calls it on every visit,
    /// so a preview nobody confirms does not outlive its time by long.
    pub fn expire(&self) {
        let mut all = self.waiting.lock().unwrap_or_else(|e| e.into_inner());
        Self::sweep(&mut all, now());
    }

    fn keep(&self, token: String, waiting: Waiting) {
        let mut all = self.waiting.lock().unwrap_or_else(|e| e.into_inner());
        Self::sweep(&mut all, now());
        all.insert(token, waiting);
    }

    /// Takes the upload `token` names if this session made it and it is
    /// still waiting; a token is only ever taken once.
    fn take(&self, token: &str, session: &Session) -> Option<Waiting> {
        let mut all = self.waiting.lock().unwrap_or_else(|e| e.into_inner());
        Self::sweep(&mut all, now());
        match all.get(token) {
            Some(w) if w.session == session.id_hash => all.remove(token),
            _ => None,
        }
    }
}

/// `POST /admin/import`: the upload (multipart: `csrf` first, then
/// `format`, `site_url` and `file`), read and shown as a dry run.
pub async fn upload(
    State(state): State<AppState>,
    headers: HeaderMap,
    mut multipart: Multipart,
) -> Result<Response, ApiError> {
    let too_big = || {
        bad_request(
            &state,
            &format!(
                "The file is larger than the {} MiB the admin page takes; import it on the server with `kiln import` instead.",
                MAX_UPLOAD_BYTES / (1024 * 1024)
            ),
        )
    };
    let unreadable = |e: axum::extract::multipart::MultipartError| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            too_big()
        } else {
            bad_request(
                &state,
                &format!("The upload could not be read: {}", e.body_text()),
            )
        }
    };
    let mut session = None;
    let mut format = None;
    let mut site_url = None;
    let mut file: Option<(PathBuf, String, String)> = None;
    let result: Result<(), ApiError> = async {
        while let Some(mut field) = multipart.next_field().await.map_err(unreadable)? {
            let name = field.name().unwrap_or("").to_owned();
            if name == "csrf" {
                let csrf = field.text().await.map_err(unreadable)?;
                session = Some(guard(&state, &headers, &csrf).await?);
                continue;
            }
            // Nothing is read, let alone written, before the token is checked.
            if session.is_none() {
                return Err(guard(&state, &headers, "").await.err().unwrap_or_else(|| {
                    bad_request(&state, "The form must send its csrf field first.")
                }));
            }
            match name.as_str() {
                "format" => {
                    let value = field.text().await.map_err(unreadable)?;
                    format = match value.trim() {
                        "" | "detect" => None,
                        other => Some(Format::from_name(other).ok_or_else(|| {
                            bad_request(
                                &state,
                                &format!(
                                    "Format: kiln does not import {other:?}; choose detect or one of {}.",
                                    Format::ALL.map(Format::name).join(", ")
                                ),
                            )
                        })?),
                    };
                }
                "site_url" => {
                    let value = field.text().await.map_err(unreadable)?;
                    let value = value.trim();
                    if !value.is_empty() {
                        site_url = Some(Options::parse_site_url(value).map_err(|e| {
                            bad_request(&state, &format!("Site URL: {e:#}"))
                        })?);
                    }
                }
                "file" if file.is_none() => {
                    let shown = field
                        .file_name()
                        .map(|n| n.chars().filter(|c| !c.is_control()).take(200).collect())
                        .unwrap_or_else(|| "the upload".to_owned());
                    let token = crate::store::random_hex(32);
                    let path = state.admin.uploads.dir.path().join(&token);
                    // Small local writes of a bounded file: no need for the
                    // blocking pool here.
                    let mut out = std::fs::File::create(&path)
                        .map_err(|e| ApiError::from(anyhow::Error::from(e)))?;
                    file = Some((path.clone(), shown, token));
                    let mut size = 0usize;
                    while let Some(chunk) = field.chunk().await.map_err(unreadable)? {
                        size += chunk.len();
                        if size > MAX_UPLOAD_BYTES {
                            return Err(too_big());
                        }
                        std::io::Write::write_all(&mut out, &chunk)
                            .map_err(|e| ApiError::from(anyhow::Error::from(e)))?;
                    }
                    std::io::Write::flush(&mut out)
                        .map_err(|e| ApiError::from(anyhow::Error::from(e)))?;
                    if size == 0 {
                        return Err(bad_request(&state, "File: the uploaded file is empty; choose the export file."));
                    }
                }
                _ => {}
            }
        }
        Ok(())
    }
    .await;
    let discard = |file: &Option<(PathBuf, String, String)>| {
        if let Some((path, _, _)) = file {
            let _ = std::fs::remove_file(path);
        }
    };
    if let Err(e) = result {
        discard(&file);
        return Err(e);
    }
    let Some(session) = session else {
        return Err(guard(&state, &headers, "")
            .await
            .err()
            .unwrap_or_else(|| bad_request(&state, "The form must send its csrf field.")));
    };
    if let Err(refused) = may_import(&state, &session) {
        discard(&file);
        return Err(refused);
    }
    let Some((path, shown, token)) = file else {
        return Err(bad_request(
            &state,
            "File: choose the export file to import.",
        ));
    };
    let options = Options {
        site_url: site_url.clone(),
        ..Options::default()
    };
    match run(&state, format, path.clone(), &shown, options, true).await {
        Ok(report) => {
            state.admin.uploads.keep(
                token.clone(),
                Waiting {
                    session: session.id_hash.clone(),
                    path,
                    name: shown.clone(),
                    format: report.format,
                    site_url,
                    expires: now() + KEEP_SECS,
                },
            );
            render(&state, &session, &shown, &report, Some(&token))
        }
        Err(e) => {
            let _ = std::fs::remove_file(&path);
            Err(e)
        }
    }
}

/// `POST /admin/import/confirm`: stores the previewed upload `token` names.
pub async fn confirm(
    State(state): State<AppState>,
    AdminForm { session, form }: AdminForm,
) -> Result<Response, ApiError> {
    may_import(&state, &session)?;
    let Some(waiting) = state.admin.uploads.take(form.get("token"), &session) else {
        return Err(ApiError::new(
            StatusCode::GONE,
            "gone",
            "This import is no longer waiting: it was already confirmed, or its preview is older than 30 minutes. Upload the file again.",
        )
        .page(&state.pages));
    };
    let options = Options {
        site_url: waiting.site_url.clone(),
        ..Options::default()
    };
    let outcome = run(
        &state,
        waiting.format,
        waiting.path.clone(),
        &waiting.name,
        options,
        false,
    )
    .await;
    let _ = std::fs::remove_file(&waiting.path);
    let report = outcome?;
    tracing::info!(
        added = report.added_total(),
        threads = report.threads,
        "comments imported on the admin page"
    );
    render(&state, &session, &waiting.name, &report, None)
}

/// Imports land on the "default" site, so a moderator limited to other
/// sites may not import.
fn may_import(state: &AppState, session: &Session) -> Result<(), ApiError> {
    if session.sees(&state.config, crate::store::DEFAULT_SITE) {
        return Ok(());
    }
    Err(super::extract::forbidden(
        state,
        "Imports go to the \"default\" site, which you do not moderate.",
    ))
}

/// Reads, places and (unless `dry_run`) stores the file, through the same
/// `crate::import` as `kiln import`. A file that cannot be read is a 400
/// with the parser's message, naming the upload rather than our temp path.
async fn run(
    state: &AppState,
    format: Option<Format>,
    path: PathBuf,
    shown: &str,
    options: Options,
    dry_run: bool,
) -> Result<Report, ApiError> {
    let temp = path.display().to_string();
    let outcome = state
        .with_store(move |store| {
            Ok(import::prepare(format, &path, &options)
                .and_then(|planned| import::save(store, planned, dry_run)))
        })
        .await?;
    outcome.map_err(|e| {
        let message = format!("{e:#}").replace(&temp, shown);
        bad_request(state, &format!("Nothing was imported: {message}"))
    })
}

fn render(
    state: &AppState,
    session: &Session,
    name: &str,
    report: &Report,
    token: Option<&str>,
) -> Result<Response, ApiError> {
    let list = |items: &[import::Skipped]| -> Vec<serde_json::Value> {
        items
            .iter()
            .map(|s| json!({ "what": s.what, "why": s.why }))
            .collect()
    };
    let added: Vec<_> = report
        .added
        .iter()
        .map(|(status, n)| json!({ "status": status, "count": n }))
        .collect();
    let html = state.admin.views.render(
        "admin_import.html",
        &json!({
            "base": state.admin.base,
            "csrf": session.csrf,
            "name": name,
            "token": token,
            "dry_run": report.dry_run,
            "format": report.format.map(Format::name),
            "total": report.added_total(),
            "added": added,
            "threads": report.threads,
            "new_threads": report.new_threads,
            "already": report.already,
            "lists": [
                { "id": "skipped", "title": "Skipped", "items": list(&report.skipped) },
                { "id": "moved", "title": "Moved", "items": list(&report.moved) },
                {
                    "id": "unplaced",
                    "title": "Could not be placed (not imported)",
                    "items": list(&report.unplaced),
                },
            ],
            "keep_minutes": KEEP_SECS / 60,
        }),
    )?;
    Ok(page(StatusCode::OK, html))
}

/// The choices of the form's format menu.
pub fn formats() -> Vec<&'static str> {
    Format::ALL.map(Format::name).to_vec()
}
