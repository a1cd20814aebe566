//! `GET /api/export`: the published comments in the versioned export format,
//! for `kiln bake --from https://…` in CI. Guarded by a bearer token. One
//! site's comments: `?site=NAME`, "default" when absent.

use std::collections::HashMap;

use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};

use super::bearer::{Bearer, Guarded};
use super::{ApiError, AppState};

pub struct Export;

impl Guarded for Export {
    const NAME: &'static str = "export";

    fn off() -> ApiError {
        ApiError::off(
            "export_disabled",
            "The export API is off. Set server.export_token (or KILN_SERVER_EXPORT_TOKEN) to turn it on.",
        )
    }
}

pub async fn export(
    State(state): State<AppState>,
    _: Bearer<Export>,
    Query(query): Query<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    // Bake asks with `?site=`; it sends no `Origin`.
    let no_page = axum::http::HeaderMap::new();
    let site = super::asked_site(
        &state.config,
        query.get("site").map(String::as_str),
        &no_page,
    )?;
    let avatars = state.avatars.clone();
    let mut export = state
        .read_store(move |store| store.export(&site, &avatars))
        .await?;
    // Bake offers the "email me about replies" box only when it can be kept.
    export.mail = Some(state.mail.is_some());
    Ok(axum::Json(export).into_response())
}
