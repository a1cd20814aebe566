//! `SqliteStore` as the backend-neutral `Store`: each method hands over to
//! the inherent one of the same name, which holds the SQL. Kept apart so the
//! SQL files stay about SQL, and the inherent methods stay callable where
//! only SQLite makes sense (bake's parallel runs, tests that read `conn`).

use anyhow::Result;
use kiln_bake::avatar::AvatarKeys;
use kiln_bake::export::Thread;

use super::SqliteStore;
use crate::store::copy::{Row, Tally};
use crate::store::{
    AdminSession, CommentEdit, Forgotten, ImportBatch, ImportOutcome, MailTrouble, NewComment,
    OutboxItem, Posted, Posting, Refusal, Search, Status, Store, StoredComment,
};

type Refused<T> = std::result::Result<T, Refusal>;

impl Store for SqliteStore {
    fn set_mail_events(&mut self, on: bool) {
        SqliteStore::set_mail_events(self, on)
    }

    fn insert_opted(
        &mut self,
        new: &NewComment,
        notify: bool,
        status: Status,
        now: i64,
    ) -> Result<Refused<StoredComment>> {
        SqliteStore::insert_opted(self, new, notify, status, now)
    }

    /// A batch of one: the rules and the insert in one transaction.
    fn post(&mut self, posting: &Posting) -> Posted {
        let mut answers = SqliteStore::post_batch(self, std::slice::from_ref(posting))?;
        answers
            .pop()
            .unwrap_or_else(|| Err(anyhow::anyhow!("a batch of one came back empty")))
    }

    fn post_batch(&mut self, batch: &[Posting]) -> Result<Vec<Posted>> {
        SqliteStore::post_batch(self, batch)
    }

    fn get(&mut self, id: i64) -> Result<Option<StoredComment>> {
        SqliteStore::get(self, id)
    }

    fn by_status(&mut self, status: Status) -> Result<Vec<StoredComment>> {
        SqliteStore::by_status(self, status)
    }

    fn approve(&mut self, ids: &[i64], now: i64) -> Result<Refused<()>> {
        SqliteStore::approve(self, ids, now)
    }

    fn reject(&mut self, ids: &[i64]) -> Result<Refused<()>> {
        SqliteStore::reject(self, ids)
    }

    fn delete(&mut self, ids: &[i64]) -> Result<Refused<()>> {
        SqliteStore::delete(self, ids)
    }

    fn spam(&mut self, ids: &[i64]) -> Result<Refused<()>> {
        SqliteStore::spam(self, ids)
    }

    fn not_spam(&mut self, ids: &[i64]) -> Result<Refused<()>> {
        SqliteStore::not_spam(self, ids)
    }

    fn unpublish(&mut self, ids: &[i64]) -> Result<Refused<()>> {
        SqliteStore::unpublish(self, ids)
    }

    fn edit(&mut self, id: i64, edit: &CommentEdit, hold: bool) -> Result<Refused<StoredComment>> {
        SqliteStore::edit(self, id, edit, hold)
    }

    fn search(&mut self, search: &Search) -> Result<Vec<StoredComment>> {
        SqliteStore::search(self, search)
    }

    fn count(&mut self, status: Status) -> Result<u64> {
        SqliteStore::count(self, status)
    }

    fn count_on(&mut self, site: &str, status: Status) -> Result<u64> {
        SqliteStore::count_on(self, site, status)
    }

    fn like(&mut self, comment: i64, reader: &str, now: i64) -> Result<crate::store::Liked> {
        SqliteStore::like(self, comment, reader, now)
    }

    fn likes(&mut self, site: &str, thread: &str) -> Result<Vec<(i64, u64)>> {
        SqliteStore::likes(self, site, thread)
    }

    fn avatar_keys(&mut self, gravatar: bool) -> Result<AvatarKeys> {
        SqliteStore::avatar_keys(self, gravatar)
    }

    fn published_threads(
        &mut self,
        site: &str,
        keys: Option<&[String]>,
        avatars: &AvatarKeys,
    ) -> Result<Vec<Thread>> {
        SqliteStore::published_threads(self, site, keys, avatars)
    }

    fn import_batch(&mut self, batch: &ImportBatch, commit: bool) -> Result<ImportOutcome> {
        SqliteStore::import_batch(self, batch, commit)
    }

    fn thread_stamps(&mut self, site: &str) -> Result<Vec<(String, u64, u64)>> {
        SqliteStore::thread_stamps(self, site)
    }

    fn change_seq(&mut self) -> Result<u64> {
        SqliteStore::change_seq(self)
    }

    fn approved_counts(&mut self, site: &str, keys: &[String]) -> Result<Vec<u64>> {
        SqliteStore::approved_counts(self, site, keys)
    }

    fn claim_mail(
        &mut self,
        now: i64,
        lease_until: i64,
        claimer: &str,
        limit: usize,
    ) -> Result<Vec<OutboxItem>> {
        SqliteStore::claim_mail(self, now, lease_until, claimer, limit)
    }

    fn mail_done(&mut self, id: i64) -> Result<()> {
        SqliteStore::mail_done(self, id)
    }

    fn mail_failed(&mut self, id: i64, error: &str, retry_at: Option<i64>, now: i64) -> Result<()> {
        SqliteStore::mail_failed(self, id, error, retry_at, now)
    }

    fn mail_trouble(&mut self) -> Result<MailTrouble> {
        SqliteStore::mail_trouble(self)
    }

    fn may_mail(&mut self, email: &str, confirmed: bool) -> Result<bool> {
        SqliteStore::may_mail(self, email, confirmed)
    }

    fn confirm_subscriber(&mut self, email: &str, now: i64) -> Result<()> {
        SqliteStore::confirm_subscriber(self, email, now)
    }

    fn unsubscribe(&mut self, email: &str, now: i64) -> Result<()> {
        SqliteStore::unsubscribe(self, email, now)
    }

    fn secret(&mut self) -> Result<String> {
        SqliteStore::secret(self)
    }

    fn instance_id(&mut self) -> Result<String> {
        SqliteStore::instance_id(self)
    }

    fn admin_password_hash(&mut self) -> Result<Option<String>> {
        SqliteStore::admin_password_hash(self)
    }

    fn set_admin_password_hash(&mut self, phc: &str) -> Result<()> {
        SqliteStore::set_admin_password_hash(self, phc)
    }

    fn create_admin_session(
        &mut self,
        id_hash: &str,
        csrf: &str,
        moderator: Option<&str>,
        now: i64,
        expires_at: i64,
    ) -> Result<()> {
        SqliteStore::create_admin_session(self, id_hash, csrf, moderator, now, expires_at)
    }

    fn admin_session(&mut self, id_hash: &str, now: i64) -> Result<Option<AdminSession>> {
        SqliteStore::admin_session(self, id_hash, now)
    }

    fn moderator_password_hash(&mut self, name: &str) -> Result<Option<String>> {
        SqliteStore::moderator_password_hash(self, name)
    }

    fn set_moderator_password_hash(&mut self, name: &str, phc: &str) -> Result<()> {
        SqliteStore::set_moderator_password_hash(self, name, phc)
    }

    fn moderator_accounts(&mut self) -> Result<Vec<String>> {
        SqliteStore::moderator_accounts(self)
    }

    fn end_admin_session(&mut self, id_hash: &str) -> Result<()> {
        SqliteStore::end_admin_session(self, id_hash)
    }

    fn is_duplicate(
        &mut self,
        site: &str,
        thread: &str,
        text: &str,
        remote_addr: Option<&str>,
        email: Option<&str>,
        since: i64,
    ) -> Result<bool> {
        SqliteStore::is_duplicate(self, site, thread, text, remote_addr, email, since)
    }

    fn has_approved_comment(&mut self, email: &str) -> Result<bool> {
        SqliteStore::has_approved_comment(self, email)
    }

    fn personal_data(&mut self, email: &str) -> Result<serde_json::Value> {
        SqliteStore::personal_data(self, email)
    }

    fn forget(&mut self, email: &str) -> Result<Forgotten> {
        SqliteStore::forget(self, email)
    }

    fn copy_out(&mut self, each: &mut dyn FnMut(Row) -> Result<()>) -> Result<()> {
        SqliteStore::copy_out(self, each)
    }

    fn copy_in(
        &mut self,
        rows: &mut dyn Iterator<Item = Result<Row>>,
        replace: bool,
    ) -> Result<Tally> {
        SqliteStore::copy_in(self, rows, replace)
    }
}
