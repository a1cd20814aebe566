//! `PgStore` as the backend-neutral `Store`: each method hands over to the
//! inherent one of the same name, which holds the SQL (as `sqlite/` does).
//! What PostgreSQL cannot do yet (the outbox's reading side, subscriptions,
//! the abuse lookups) answers with an error that says so, rather than
//! pretending to an empty database; those arrive with a later stage of
//! issue 13 (docs/design/postgres.md §6).

use anyhow::{anyhow, Result};
use kiln_bake::avatar::AvatarKeys;
use kiln_bake::export::{Export, Thread};

use super::PgStore;
use crate::store::{
    CommentEdit, Forgotten, MailTrouble, NewComment, OutboxItem, Refusal, Search, Status, Store,
    StoredComment,
};

type Refused<T> = std::result::Result<T, Refusal>;

/// The error of a method PostgreSQL does not have yet.
fn not_yet<T>(what: &str) -> Result<T> {
    Err(anyhow!(
        "{what} is not on PostgreSQL yet (issue 13 is under way); use SQLite (`database.path`) for now"
    ))
}

impl Store for PgStore {
    fn set_mail_events(&mut self, on: bool) {
        self.mail_events = on;
    }

    fn insert_opted(
        &mut self,
        new: &NewComment,
        notify: bool,
        status: Status,
        now: i64,
    ) -> Result<Refused<StoredComment>> {
        PgStore::insert_opted(self, new, notify, status, now)
    }

    fn get(&mut self, id: i64) -> Result<Option<StoredComment>> {
        PgStore::get(self, id)
    }

    fn by_status(&mut self, status: Status) -> Result<Vec<StoredComment>> {
        PgStore::by_status(self, status)
    }

    fn approve(&mut self, ids: &[i64], now: i64) -> Result<Refused<()>> {
        PgStore::approve(self, ids, now)
    }

    fn reject(&mut self, ids: &[i64]) -> Result<Refused<()>> {
        PgStore::reject(self, ids)
    }

    fn delete(&mut self, ids: &[i64]) -> Result<Refused<()>> {
        PgStore::delete(self, ids)
    }

    fn spam(&mut self, ids: &[i64]) -> Result<Refused<()>> {
        PgStore::spam(self, ids)
    }

    fn not_spam(&mut self, ids: &[i64]) -> Result<Refused<()>> {
        PgStore::not_spam(self, ids)
    }

    fn unpublish(&mut self, ids: &[i64]) -> Result<Refused<()>> {
        PgStore::unpublish(self, ids)
    }

    fn edit(&mut self, id: i64, edit: &CommentEdit, hold: bool) -> Result<Refused<StoredComment>> {
        PgStore::edit(self, id, edit, hold)
    }

    fn search(&mut self, search: &Search) -> Result<Vec<StoredComment>> {
        PgStore::search(self, search)
    }

    fn count(&mut self, status: Status) -> Result<u64> {
        PgStore::count(self, status)
    }

    fn avatar_keys(&mut self, gravatar: bool) -> Result<AvatarKeys> {
        PgStore::avatar_keys(self, gravatar)
    }

    fn published_threads(
        &mut self,
        keys: Option<&[String]>,
        avatars: &AvatarKeys,
    ) -> Result<Vec<Thread>> {
        PgStore::published_threads(self, keys, avatars)
    }

    fn import(&mut self, export: &Export) -> Result<()> {
        PgStore::import(self, export)
    }

    fn thread_stamps(&mut self) -> Result<Vec<(String, u64, u64)>> {
        PgStore::thread_stamps(self)
    }

    fn change_seq(&mut self) -> Result<u64> {
        PgStore::change_seq(self)
    }

    fn approved_counts(&mut self, keys: &[String]) -> Result<Vec<u64>> {
        PgStore::approved_counts(self, keys)
    }

    fn due_mail(&mut self, _now: i64, _limit: usize) -> Result<Vec<OutboxItem>> {
        not_yet("the mail outbox")
    }

    fn mail_done(&mut self, _id: i64) -> Result<()> {
        not_yet("the mail outbox")
    }

    fn mail_failed(
        &mut self,
        _id: i64,
        _error: &str,
        _retry_at: Option<i64>,
        _now: i64,
    ) -> Result<()> {
        not_yet("the mail outbox")
    }

    fn mail_trouble(&mut self) -> Result<MailTrouble> {
        not_yet("the mail outbox")
    }

    fn may_mail(&mut self, _email: &str, _confirmed: bool) -> Result<bool> {
        not_yet("subscriptions")
    }

    fn confirm_subscriber(&mut self, _email: &str, _now: i64) -> Result<()> {
        not_yet("subscriptions")
    }

    fn unsubscribe(&mut self, _email: &str, _now: i64) -> Result<()> {
        not_yet("subscriptions")
    }

    fn secret(&mut self) -> Result<String> {
        PgStore::secret(self)
    }

    fn admin_password_hash(&mut self) -> Result<Option<String>> {
        PgStore::admin_password_hash(self)
    }

    fn set_admin_password_hash(&mut self, phc: &str) -> Result<()> {
        PgStore::set_admin_password_hash(self, phc)
    }

    fn create_admin_session(
        &mut self,
        id_hash: &str,
        csrf: &str,
        now: i64,
        expires_at: i64,
    ) -> Result<()> {
        PgStore::create_admin_session(self, id_hash, csrf, now, expires_at)
    }

    fn admin_session(&mut self, id_hash: &str, now: i64) -> Result<Option<String>> {
        PgStore::admin_session(self, id_hash, now)
    }

    fn end_admin_session(&mut self, id_hash: &str) -> Result<()> {
        PgStore::end_admin_session(self, id_hash)
    }

    fn is_duplicate(
        &mut self,
        _thread: &str,
        _text: &str,
        _remote_addr: Option<&str>,
        _email: Option<&str>,
        _since: i64,
    ) -> Result<bool> {
        not_yet("the duplicate check")
    }

    fn has_approved_comment(&mut self, _email: &str) -> Result<bool> {
        not_yet("the approved-author check")
    }

    fn personal_data(&mut self, email: &str) -> Result<serde_json::Value> {
        PgStore::personal_data(self, email)
    }

    fn forget(&mut self, email: &str) -> Result<Forgotten> {
        PgStore::forget(self, email)
    }
}
