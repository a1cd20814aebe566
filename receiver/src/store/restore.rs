//! Restoring a kiln export (`Store::import`): the export becomes an import
//! batch under the source `kiln`, each comment keeping its id and avatar
//! key, and goes through `Store::import_batch` like any other import. Here,
//! not in a backend, so both backends restore by the same rules.

use anyhow::Result;
use kiln_bake::export::{CommentStatus, Export};

use super::{parse_time, ImportBatch, ImportComment, ImportFields, ImportThread, Status};

/// An export as an import batch under the source `kiln`, each comment
/// keeping its id. `kiln import kiln` builds the same from the same file,
/// through the import pass.
pub(super) fn batch_of_export(export: &Export) -> Result<ImportBatch> {
    let threads = export
        .threads
        .iter()
        .map(|t| {
            let comments = t
                .comments
                .iter()
                .map(|c| {
                    Ok(ImportComment {
                        source_id: c.id.to_string(),
                        parent: c.parent.map(|p| p.to_string()),
                        id: Some(c.id),
                        status: match c.status {
                            CommentStatus::Approved => Status::Approved,
                            CommentStatus::Deleted => Status::Deleted,
                        },
                        created_at: parse_time(&c.created_at)?,
                        fields: ImportFields {
                            author: c.author.clone(),
                            email: None,
                            website: c.website.clone(),
                            text: c.text.clone(),
                            remote_addr: None,
                            avatar: c.avatar.clone(),
                        }
                        .into(),
                    })
                })
                .collect::<Result<_>>()?;
            Ok(ImportThread {
                key: t.id.clone(),
                url: t.url.clone(),
                title: String::new(),
                comments,
            })
        })
        .collect::<Result<_>>()?;
    Ok(ImportBatch {
        source: "kiln".to_owned(),
        site: super::DEFAULT_SITE.to_owned(),
        threads,
        spill: None,
    })
}
