//! `PgStore` as the backend-neutral `Store`: each method hands over to the
//! inherent one of the same name, which holds the SQL (as `sqlite/` does),
//! through `PgStore::guard`, which notes a connection that failed.

use anyhow::Result;
use kiln_bake::avatar::AvatarKeys;
use kiln_bake::export::Thread;

use super::PgStore;
use crate::store::copy::{Row, Tally};
use crate::store::{
    AdminSession, CommentEdit, Forgotten, ImportBatch, ImportOutcome, MailTrouble, NewComment,
    OutboxItem, Refusal, Search, Status, Store, StoredComment,
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
        self.guard(|s| PgStore::insert_opted(s, new, notify, status, now))
    }

    fn get(&mut self, id: i64) -> Result<Option<StoredComment>> {
        self.guard(|s| PgStore::get(s, id))
    }

    fn by_status(&mut self, status: Status) -> Result<Vec<StoredComment>> {
        self.guard(|s| PgStore::by_status(s, status))
    }

    fn approve(&mut self, ids: &[i64], now: i64) -> Result<Refused<()>> {
        self.guard(|s| PgStore::approve(s, ids, now))
    }

    fn reject(&mut self, ids: &[i64]) -> Result<Refused<()>> {
        self.guard(|s| PgStore::reject(s, ids))
    }

    fn delete(&mut self, ids: &[i64]) -> Result<Refused<()>> {
        self.guard(|s| PgStore::delete(s, ids))
    }

    fn spam(&mut self, ids: &[i64]) -> Result<Refused<()>> {
        self.guard(|s| PgStore::spam(s, ids))
    }

    fn not_spam(&mut self, ids: &[i64]) -> Result<Refused<()>> {
        self.guard(|s| PgStore::not_spam(s, ids))
    }

    fn unpublish(&mut self, ids: &[i64]) -> Result<Refused<()>> {
        self.guard(|s| PgStore::unpublish(s, ids))
    }

    fn edit(&mut self, id: i64, edit: &CommentEdit, hold: bool) -> Result<Refused<StoredComment>> {
        self.guard(|s| PgStore::edit(s, id, edit, hold))
    }

    fn search(&mut self, search: &Search) -> Result<Vec<StoredComment>> {
        self.guard(|s| PgStore::search(s, search))
    }

    fn count(&mut self, status: Status) -> Result<u64> {
        self.guard(|s| PgStore::count(s, status))
    }

    fn count_on(&mut self, site: &str, status: Status) -> Result<u64> {
        self.guard(|s| PgStore::count_on(s, site, status))
    }

    fn like(&mut self, comment: i64, reader: &str, now: i64) -> Result<crate::store::Liked> {
        self.guard(|s| PgStore::like(s, comment, reader, now))
    }

    fn likes(&mut self, site: &str, thread: &str) -> Result<Vec<(i64, u64)>> {
        self.guard(|s| PgStore::likes(s, site, thread))
    }

    fn avatar_keys(&mut self, gravatar: bool) -> Result<AvatarKeys> {
        self.guard(|s| PgStore::avatar_keys(s, gravatar))
    }

    fn published_threads(
        &mut self,
        site: &str,
        keys: Option<&[String]>,
        avatars: &AvatarKeys,
    ) -> Result<Vec<Thread>> {
        self.guard(|s| PgStore::published_threads(s, site, keys, avatars))
    }

    fn import_batch(&mut self, batch: &ImportBatch, commit: bool) -> Result<ImportOutcome> {
        self.guard(|s| PgStore::import_batch(s, batch, commit))
    }

    fn thread_stamps(&mut self, site: &str) -> Result<Vec<(String, u64, u64)>> {
        self.guard(|s| PgStore::thread_stamps(s, site))
    }

    fn change_seq(&mut self) -> Result<u64> {
        self.guard(PgStore::change_seq)
    }

    fn approved_counts(&mut self, site: &str, keys: &[String]) -> Result<Vec<u64>> {
        self.guard(|s| PgStore::approved_counts(s, site, keys))
    }

    fn claim_mail(
        &mut self,
        now: i64,
        lease_until: i64,
        claimer: &str,
        limit: usize,
    ) -> Result<Vec<OutboxItem>> {
        self.guard(|s| PgStore::claim_mail(s, now, lease_until, claimer, limit))
    }

    fn mail_done(&mut self, id: i64) -> Result<()> {
        self.guard(|s| PgStore::mail_done(s, id))
    }

    fn mail_failed(&mut self, id: i64, error: &str, retry_at: Option<i64>, now: i64) -> Result<()> {
        self.guard(|s| PgStore::mail_failed(s, id, error, retry_at, now))
    }

    fn mail_trouble(&mut self) -> Result<MailTrouble> {
        self.guard(PgStore::mail_trouble)
    }

    fn may_mail(&mut self, email: &str, confirmed: bool) -> Result<bool> {
        self.guard(|s| PgStore::may_mail(s, email, confirmed))
    }

    fn confirm_subscriber(&mut self, email: &str, now: i64) -> Result<()> {
        self.guard(|s| PgStore::confirm_subscriber(s, email, now))
    }

    fn unsubscribe(&mut self, email: &str, now: i64) -> Result<()> {
        self.guard(|s| PgStore::unsubscribe(s, email, now))
    }

    fn secret(&mut self) -> Result<String> {
        self.guard(PgStore::secret)
    }

    fn instance_id(&mut self) -> Result<String> {
        self.guard(PgStore::instance_id)
    }

    fn admin_password_hash(&mut self) -> Result<Option<String>> {
        self.guard(PgStore::admin_password_hash)
    }

    fn set_admin_password_hash(&mut self, phc: &str) -> Result<()> {
        self.guard(|s| PgStore::set_admin_password_hash(s, phc))
    }

    fn create_admin_session(
        &mut self,
        id_hash: &str,
        csrf: &str,
        moderator: Option<&str>,
        now: i64,
        expires_at: i64,
    ) -> Result<()> {
        self.guard(|s| PgStore::create_admin_session(s, id_hash, csrf, moderator, now, expires_at))
    }

    fn admin_session(&mut self, id_hash: &str, now: i64) -> Result<Option<AdminSession>> {
        self.guard(|s| PgStore::admin_session(s, id_hash, now))
    }

    fn moderator_password_hash(&mut self, name: &str) -> Result<Option<String>> {
        self.guard(|s| PgStore::moderator_password_hash(s, name))
    }

    fn set_moderator_password_hash(&mut self, name: &str, phc: &str) -> Result<()> {
        self.guard(|s| PgStore::set_moderator_password_hash(s, name, phc))
    }

    fn moderator_accounts(&mut self) -> Result<Vec<String>> {
        self.guard(PgStore::moderator_accounts)
    }

    fn end_admin_session(&mut self, id_hash: &str) -> Result<()> {
        self.guard(|s| PgStore::end_admin_session(s, id_hash))
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
        self.guard(|s| PgStore::is_duplicate(s, site, thread, text, remote_addr, email, since))
    }

    fn has_approved_comment(&mut self, email: &str) -> Result<bool> {
        self.guard(|s| PgStore::has_approved_comment(s, email))
    }

    fn personal_data(&mut self, email: &str) -> Result<serde_json::Value> {
        self.guard(|s| PgStore::personal_data(s, email))
    }

    fn forget(&mut self, email: &str) -> Result<Forgotten> {
        self.guard(|s| PgStore::forget(s, email))
    }

    fn copy_out(&mut self, each: &mut dyn FnMut(Row) -> Result<()>) -> Result<()> {
        self.guard(|s| PgStore::copy_out(s, each))
    }

    fn copy_in(
        &mut self,
        rows: &mut dyn Iterator<Item = Result<Row>>,
        replace: bool,
    ) -> Result<Tally> {
        self.guard(|s| PgStore::copy_in(s, rows, replace))
    }

    /// The driver marks its client closed once the server or the network
    /// has ended the session, but not always before the method that met the
    /// failure returns: the store also remembers any connection-class error
    /// it saw (`PgStore::guard`). No statement can succeed on it after that.
    fn is_broken(&self) -> bool {
        self.broken || self.conn.is_closed()
    }
}
