//! `PgStore` as the backend-neutral `Store`: each method hands over to the
//! inherent one of the same name, which holds the SQL (as `sqlite/` does).

use anyhow::Result;
use kiln_bake::avatar::AvatarKeys;
use kiln_bake::export::{Export, Thread};

use super::PgStore;
use crate::store::copy::{Row, Tally};
use crate::store::{
    CommentEdit, Forgotten, ImportBatch, ImportOutcome, MailTrouble, NewComment, OutboxItem,
    Refusal, Search, Status, Store, StoredComment,
};

type Refused<T> = std::result::Result<T, Refusal>;

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

    fn import_batch(&mut self, _batch: &ImportBatch, _commit: bool) -> Result<ImportOutcome> {
        Err(anyhow::anyhow!(
            "kiln import does not reach PostgreSQL yet; import into SQLite, then kiln store copy"
        ))
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

    fn claim_mail(
        &mut self,
        now: i64,
        lease_until: i64,
        claimer: &str,
        limit: usize,
    ) -> Result<Vec<OutboxItem>> {
        PgStore::claim_mail(self, now, lease_until, claimer, limit)
    }

    fn mail_done(&mut self, id: i64) -> Result<()> {
        PgStore::mail_done(self, id)
    }

    fn mail_failed(&mut self, id: i64, error: &str, retry_at: Option<i64>, now: i64) -> Result<()> {
        PgStore::mail_failed(self, id, error, retry_at, now)
    }

    fn mail_trouble(&mut self) -> Result<MailTrouble> {
        PgStore::mail_trouble(self)
    }

    fn may_mail(&mut self, email: &str, confirmed: bool) -> Result<bool> {
        PgStore::may_mail(self, email, confirmed)
    }

    fn confirm_subscriber(&mut self, email: &str, now: i64) -> Result<()> {
        PgStore::confirm_subscriber(self, email, now)
    }

    fn unsubscribe(&mut self, email: &str, now: i64) -> Result<()> {
        PgStore::unsubscribe(self, email, now)
    }

    fn secret(&mut self) -> Result<String> {
        PgStore::secret(self)
    }

    fn instance_id(&mut self) -> Result<String> {
        super::mail::instance_id(&mut self.conn)
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
        thread: &str,
        text: &str,
        remote_addr: Option<&str>,
        email: Option<&str>,
        since: i64,
    ) -> Result<bool> {
        PgStore::is_duplicate(self, thread, text, remote_addr, email, since)
    }

    fn has_approved_comment(&mut self, email: &str) -> Result<bool> {
        PgStore::has_approved_comment(self, email)
    }

    fn personal_data(&mut self, email: &str) -> Result<serde_json::Value> {
        PgStore::personal_data(self, email)
    }

    fn forget(&mut self, email: &str) -> Result<Forgotten> {
        PgStore::forget(self, email)
    }

    fn copy_out(&mut self, each: &mut dyn FnMut(Row) -> Result<()>) -> Result<()> {
        PgStore::copy_out(self, each)
    }

    fn copy_in(
        &mut self,
        rows: &mut dyn Iterator<Item = Result<Row>>,
        replace: bool,
    ) -> Result<Tally> {
        PgStore::copy_in(self, rows, replace)
    }

    /// The driver marks its client closed once the server or the network
    /// has ended the session; no statement can succeed on it after that.
    fn is_broken(&self) -> bool {
        self.conn.is_closed()
    }
}
