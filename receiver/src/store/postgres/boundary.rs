//! `PgStore` as the backend-neutral `Store`. What PostgreSQL can do so far
//! (the keys, the admin password, sessions, the outbox and subscriptions,
//! the abuse lookups) hands over to the inherent methods; everything else answers with an error that says it is not on
//! PostgreSQL yet, rather than pretending to an empty database. Those
//! methods arrive in the later stages of issue 13 (docs/design/postgres.md §6).

use anyhow::{anyhow, Result};
use kiln_bake::avatar::AvatarKeys;
use kiln_bake::export::{Export, Thread};

use super::PgStore;
use crate::store::copy::{Row, Tally};
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
        _new: &NewComment,
        _notify: bool,
        _status: Status,
        _now: i64,
    ) -> Result<Refused<StoredComment>> {
        not_yet("storing a comment")
    }

    fn get(&mut self, _id: i64) -> Result<Option<StoredComment>> {
        not_yet("reading a comment")
    }

    fn by_status(&mut self, _status: Status) -> Result<Vec<StoredComment>> {
        not_yet("listing comments")
    }

    fn approve(&mut self, _ids: &[i64], _now: i64) -> Result<Refused<()>> {
        not_yet("approving")
    }

    fn reject(&mut self, _ids: &[i64]) -> Result<Refused<()>> {
        not_yet("rejecting")
    }

    fn delete(&mut self, _ids: &[i64]) -> Result<Refused<()>> {
        not_yet("deleting")
    }

    fn spam(&mut self, _ids: &[i64]) -> Result<Refused<()>> {
        not_yet("marking spam")
    }

    fn not_spam(&mut self, _ids: &[i64]) -> Result<Refused<()>> {
        not_yet("marking not spam")
    }

    fn unpublish(&mut self, _ids: &[i64]) -> Result<Refused<()>> {
        not_yet("unpublishing")
    }

    fn edit(
        &mut self,
        _id: i64,
        _edit: &CommentEdit,
        _hold: bool,
    ) -> Result<Refused<StoredComment>> {
        not_yet("editing a comment")
    }

    fn search(&mut self, _search: &Search) -> Result<Vec<StoredComment>> {
        not_yet("searching comments")
    }

    fn count(&mut self, _status: Status) -> Result<u64> {
        not_yet("counting comments")
    }

    fn avatar_keys(&mut self, gravatar: bool) -> Result<AvatarKeys> {
        PgStore::avatar_keys(self, gravatar)
    }

    fn published_threads(
        &mut self,
        _keys: Option<&[String]>,
        _avatars: &AvatarKeys,
    ) -> Result<Vec<Thread>> {
        not_yet("reading published threads")
    }

    fn import(&mut self, _export: &Export) -> Result<()> {
        not_yet("importing")
    }

    fn thread_stamps(&mut self) -> Result<Vec<(String, u64, u64)>> {
        not_yet("reading thread stamps")
    }

    fn change_seq(&mut self) -> Result<u64> {
        not_yet("reading the change sequence")
    }

    fn approved_counts(&mut self, _keys: &[String]) -> Result<Vec<u64>> {
        not_yet("counting approved comments")
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

    fn personal_data(&mut self, _email: &str) -> Result<serde_json::Value> {
        not_yet("exporting one person's data")
    }

    fn forget(&mut self, _email: &str) -> Result<Forgotten> {
        not_yet("forgetting one person's data")
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
