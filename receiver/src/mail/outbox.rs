//! Delivers the outbox in the background of `kiln serve`: due messages are
//! claimed, built from the comments as they are now, sent, and forgotten; a
//! failed attempt is retried with exponential backoff, from the database, so
//! mail survives restarts. Several receivers may share one database: each
//! claims a message (with a lease, `mail.claim_seconds`) before sending it,
//! so each message goes out once, and each carries a Message-ID made from
//! its row, so that a message sent twice after a crash is recognisable.
//! Logs name outbox ids, never addresses or credentials.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use anyhow::Result;
use kiln_bake::markdown;
use lettre::message::Mailbox;
use lettre::Message;
use tokio::sync::Notify;

use super::{Letter, Links, Mailer, Quoted};
use crate::config::Config;
use crate::store::{
    self, random_hex, Location, OutboxItem, OutboxKind, SharedStore, Status, Store, StoredComment,
};
use crate::submission::{is_bidi_control, isolated_name};

/// How long the outbox sleeps when nobody wakes it: mail queued by another
/// process (`kiln approve`) waits at most this long.
const POLL: Duration = Duration::from_secs(5);
/// The first retry waits this long; each later one twice as long as the last.
const FIRST_RETRY_SECS: i64 = 5;
const MAX_RETRY_SECS: i64 = 3600;
/// After this many failed attempts (about a day) a message is given up.
const MAX_ATTEMPTS: u32 = 30;
/// Messages handled per round.
const BATCH: usize = 20;
/// How long stopping waits for a message being sent, so that one the server
/// took is recorded as sent rather than sent again after its lease.
const FINISH: Duration = Duration::from_secs(5);

/// What the outbox needs besides the store.
pub struct MailService {
    pub mailer: Mailer,
    pub links: Links,
    /// Who hears of the default site's new comments (`mail.moderators`).
    pub moderators: Vec<Mailbox>,
    /// Each further site's own moderators and sender (`[sites.site.mail]`,
    /// else `[mail]`'s); empty with one site, whose mail then never names
    /// a site.
    sites: BTreeMap<String, SiteMail>,
    /// Notified after a change queued mail, so it goes out at once.
    pub wake: Notify,
    /// This process's name on the messages it claims: unique among the
    /// receivers sharing a database.
    claimer: String,
    /// `mail.claim_seconds`.
    lease_secs: i64,
    /// The database's instance id, for Message-IDs; read on first use.
    instance: OnceLock<String>,
    /// Set when the receiver shuts down: claim nothing more.
    stopping: AtomicBool,
}

impl MailService {
    pub fn new(config: &Config, links: Links) -> Result<Self> {
        Self::with_mailer(config, links, Mailer::new(&config.mail)?)
    }

    /// With a mailer made elsewhere: tests hand in one that keeps messages
    /// in memory.
    pub fn with_mailer(config: &Config, links: Links, mailer: Mailer) -> Result<Self> {
        let mailboxes = |list: &[String]| -> Result<Vec<Mailbox>> {
            Ok(list.iter().map(|m| m.parse()).collect::<Result<_, _>>()?)
        };
        let moderators = mailboxes(&config.mail.moderators)?;
        let mut sites = BTreeMap::new();
        for site in &config.sites.site {
            let from = match &site.mail.from {
                Some(from) => Some(from.parse()?),
                None => None,
            };
            let moderators = mailboxes(config.mail_moderators_of(&site.name))?;
            sites.insert(site.name.clone(), SiteMail { moderators, from });
        }
        Ok(MailService {
            mailer,
            links,
            moderators,
            sites,
            wake: Notify::new(),
            claimer: format!("{}.{}", std::process::id(), random_hex(8)),
            lease_secs: i64::from(config.mail.claim_seconds),
            instance: OnceLock::new(),
            stopping: AtomicBool::new(false),
        })
    }

    fn is_stopping(&self) -> bool {
        self.stopping.load(Ordering::SeqCst)
    }

    /// Who hears of site `site`'s new comments.
    fn moderators_of(&self, site: &str) -> &[Mailbox] {
        self.sites
            .get(site)
            .map_or(&self.moderators, |s| &s.moderators)
    }

    /// The sender of site `site`'s mail.
    fn sender_of(&self, site: &str) -> &Mailbox {
        let own = self.sites.get(site).and_then(|s| s.from.as_ref());
        own.unwrap_or_else(|| self.mailer.from())
    }

    /// The site's name as the moderators' mail gives it, when the receiver
    /// serves more than one.
    fn site_label(&self, site: &str) -> Option<String> {
        (!self.sites.is_empty()).then(|| site.to_owned())
    }
}

/// A further site's own mail settings, as mailboxes.
struct SiteMail {
    moderators: Vec<Mailbox>,
    from: Option<Mailbox>,
}

/// The running outbox of `kiln serve` (see `start`).
pub struct Outbox {
    mail: Arc<MailService>,
    task: tokio::task::JoinHandle<()>,
    _wake: store::OutboxWake,
}

/// Starts delivering: a task that sends what is due, woken by this
/// process's changes (`MailService::wake`), by mail other processes queue
/// in the database at `location` where the backend can tell, and by a poll.
pub fn start(store: SharedStore, mail: Arc<MailService>, location: Location) -> Result<Outbox> {
    let waker = mail.clone();
    let wake = store::wake_on_queued_mail(location, move || waker.wake.notify_one())?;
    let task = tokio::spawn(run(store, mail.clone()));
    Ok(Outbox {
        mail,
        task,
        _wake: wake,
    })
}

impl Outbox {
    /// Stops claiming, and gives a message being sent a moment to finish.
    /// One still unsent then keeps its claim until the lease runs out: the
    /// server may have taken it, so sending it again at once could send it
    /// twice.
    pub async fn stop(self) {
        self.mail.stopping.store(true, Ordering::SeqCst);
        self.mail.wake.notify_one();
        if tokio::time::timeout(FINISH, self.task).await.is_err() {
            tracing::warn!("stopped while a message was being sent; it is retried after its claim runs out (mail.claim_seconds)");
        }
    }
}

/// Runs until stopped: delivers what is due, then sleeps until woken or `POLL`.
pub async fn run(store: SharedStore, mail: Arc<MailService>) {
    while !mail.is_stopping() {
        loop {
            match deliver_due(&store, &mail).await {
                // A full batch: there may be more due right away.
                Ok(n) if n == BATCH => continue,
                Ok(_) => break,
                Err(e) => {
                    tracing::error!(error = format!("{e:#}"), "outbox failed");
                    break;
                }
            }
        }
        tokio::select! {
            _ = mail.wake.notified() => {}
            _ = tokio::time::sleep(POLL) => {}
        }
    }
}

/// Delivers due messages, claiming one at a time, until none is due,
/// `BATCH` went, or the outbox stops; returns how many it handled. One at a
/// time, so that a claim's lease only has to outlast one message, and
/// receivers sharing a database share a burst of mail between them.
async fn deliver_due(store: &SharedStore, mail: &Arc<MailService>) -> Result<usize> {
    let mut handled = 0;
    while handled < BATCH && !mail.is_stopping() {
        let now = now();
        let (claimer, lease_until) = (mail.claimer.clone(), now + mail.lease_secs);
        let claimed = store
            .with_store(move |s| s.claim_mail(now, lease_until, &claimer, 1))
            .await?;
        let Some(item) = claimed.into_iter().next() else {
            break;
        };
        deliver(store, mail, item, now).await?;
        handled += 1;
    }
    Ok(handled)
}

/// Sends one claimed message and records what became of it.
async fn deliver(
    store: &SharedStore,
    mail: &Arc<MailService>,
    item: OutboxItem,
    now: i64,
) -> Result<()> {
    let composed = {
        let (item, mail) = (item.clone(), mail.clone());
        store
            .with_store(move |s| compose(s, &mail, &item, now))
            .await
    };
    let outcome = match composed {
        Ok(messages) => {
            let mail = mail.clone();
            tokio::task::spawn_blocking(move || -> Result<usize> {
                for message in &messages {
                    mail.mailer.send(message)?;
                }
                Ok(messages.len())
            })
            .await
            .map_err(anyhow::Error::from)
            .and_then(|r| r)
        }
        Err(e) => Err(e),
    };
    let id = item.id;
    match outcome {
        Ok(sent) => {
            tracing::info!(outbox = id, kind = ?item.kind, comment = item.comment_id, messages = sent, "mail delivered");
            store.with_store(move |s| s.mail_done(id)).await?;
        }
        Err(e) => {
            let attempt = item.attempts + 1;
            let error = format!("{e:#}");
            let retry_at = (attempt < MAX_ATTEMPTS).then(|| now + backoff(attempt));
            match retry_at {
                Some(at) => {
                    tracing::warn!(outbox = id, attempt, retry_in_secs = at - now, error = %error, "mail not delivered; will retry")
                }
                None => {
                    tracing::error!(outbox = id, attempt, error = %error, "mail not delivered; giving up")
                }
            }
            store
                .with_store(move |s| s.mail_failed(id, &error, retry_at, now))
                .await?;
        }
    }
    Ok(())
}

/// Seconds to wait after the `attempt`th failure.
fn backoff(attempt: u32) -> i64 {
    let shift = attempt.saturating_sub(1).min(20);
    (FIRST_RETRY_SECS << shift).min(MAX_RETRY_SECS)
}

/// The messages an outbox row stands for, built from the database as it is
/// now. None at all when there is no longer anyone to tell (the comment is
/// gone, the recipient unsubscribed).
fn compose(
    store: &mut dyn Store,
    mail: &MailService,
    item: &OutboxItem,
    now: i64,
) -> Result<Vec<Message>> {
    let Some(comment) = store.get(item.comment_id)? else {
        return Ok(Vec::new());
    };
    let links = &mail.links;
    let from = mail.sender_of(&comment.site);
    let letters = match (item.kind, item.recipient.as_deref()) {
        (OutboxKind::NewComment, _) => {
            let mut letters = Vec::new();
            let site = mail.site_label(&comment.site);
            for moderator in mail.moderators_of(&comment.site) {
                if store.may_mail(moderator.email.as_ref(), false)? {
                    let letter = new_comment(links, moderator, &comment, now);
                    letters.push(with_site(letter, site.as_deref()));
                }
            }
            letters
        }
        (OutboxKind::Confirm, Some(to)) if store.may_mail(to, false)? => {
            vec![confirm(links, to.parse()?, to, &comment, now)]
        }
        (OutboxKind::Reply, Some(to))
            if comment.status == Status::Approved && store.may_mail(to, true)? =>
        {
            vec![reply(links, to.parse()?, to, &comment)]
        }
        _ => Vec::new(),
    };
    let instance = match mail.instance.get() {
        Some(known) => known,
        None => {
            let read = store.instance_id()?;
            mail.instance.get_or_init(|| read)
        }
    };
    let several = letters.len() > 1;
    letters
        .iter()
        .enumerate()
        .map(|(k, letter)| {
            let id = message_id(instance, item, several.then_some(k + 1), from);
            letter.build_as(from, Some(id))
        })
        .collect()
}

/// `<kiln.{instance}.{outbox id}.{attempt}@{the sender's domain}>`: the same
/// for every sending of one attempt at one outbox row, and for nothing
/// else. A row that becomes several messages (one per moderator) numbers
/// them after the attempt.
fn message_id(instance: &str, item: &OutboxItem, nth: Option<usize>, from: &Mailbox) -> String {
    let attempt = item.attempts + 1;
    let nth = nth.map(|n| format!(".{n}")).unwrap_or_default();
    format!(
        "<kiln.{instance}.{}.{attempt}{nth}@{}>",
        item.id,
        from.email.domain()
    )
}

/// The author as a subject line names them: no direction controls (a
/// subject cannot hold an isolate that every client shows right).
fn author(c: &StoredComment) -> String {
    if c.author.is_empty() {
        "Someone".to_owned()
    } else {
        c.author
            .chars()
            .filter(|ch| !is_bidi_control(*ch))
            .collect()
    }
}

/// The author as the message's text names them: isolated, so the name
/// cannot reorder the sentence around it.
fn author_in_text(c: &StoredComment) -> String {
    if c.author.is_empty() {
        "Someone".to_owned()
    } else {
        isolated_name(&c.author)
    }
}

fn quoted(caption: String, c: &StoredComment) -> Quoted {
    Quoted {
        caption,
        text: c.text.clone(),
        html: markdown::to_html(&c.text),
    }
}

/// The page as a person names it: its title (as the baked form sent it)
/// with the address, or the address alone.
fn page_name(c: &StoredComment) -> String {
    if c.page_title.is_empty() {
        c.page_url.clone()
    } else {
        format!("\u{201c}{}\u{201d} ({})", c.page_title, c.page_url)
    }
}

/// The page's title for a subject line, or its address.
fn page_short(c: &StoredComment) -> &str {
    if c.page_title.is_empty() {
        &c.page_url
    } else {
        &c.page_title
    }
}

fn new_comment(links: &Links, to: &Mailbox, c: &StoredComment, now: i64) -> Letter {
    let mut lines = vec![format!(
        "{} commented on {} (thread {}){}.",
        author_in_text(c),
        page_name(c),
        c.thread,
        c.parent
            .map(|p| format!(", replying to comment #{p}"))
            .unwrap_or_default()
    )];
    lines.push(format!(
        "Name: {} · Email: {} · Website: {} · Network: {}",
        if c.author.is_empty() {
            "(none)".to_owned()
        } else {
            isolated_name(&c.author)
        },
        c.email.as_deref().unwrap_or("(none)"),
        c.website.as_deref().unwrap_or("(none)"),
        c.remote_addr.as_deref().unwrap_or("(unknown)"),
    ));
    let mut actions = Vec::new();
    if c.status == Status::Pending {
        lines.push(
            "It waits for moderation. Each link below asks you to confirm before anything changes."
                .to_owned(),
        );
        for (label, action) in [
            ("Approve", "approve"),
            ("Reject", "reject"),
            ("Mark as spam", "spam"),
        ] {
            actions.push((label.to_owned(), links.moderate(c.id, action, now)));
        }
    } else {
        lines.push(format!("It is {} already.", c.status.as_str()));
    }
    if let Some(page) = links.page(&c.page_url) {
        actions.push(("Open the page".to_owned(), page.as_str().to_owned()));
    }
    actions.push(("Moderation queue".to_owned(), links.admin()));
    // Replying to the notification reaches the commenter; the name is
    // encoded by lettre's mailbox header, never pasted.
    let reply_to = c
        .email
        .as_deref()
        .and_then(|e| e.parse().ok())
        .map(|address| Mailbox::new((!c.author.is_empty()).then(|| c.author.clone()), address));
    Letter {
        to: to.clone(),
        reply_to,
        subject: format!("New comment by {} on {}", author(c), page_short(c)),
        lines,
        quoted: Some(quoted(format!("Comment #{}:", c.id), c)),
        actions,
        unsubscribe: links.unsubscribe(to.email.as_ref()),
    }
}

/// A moderators' message that names the site it is about, when there are
/// several: in the subject, so a moderator of two sites can sort them, and
/// first in the text.
fn with_site(mut letter: Letter, site: Option<&str>) -> Letter {
    if let Some(site) = site {
        letter.subject = format!("[{site}] {}", letter.subject);
        letter.lines.insert(0, format!("Site: {site}"));
    }
    letter
}

fn confirm(links: &Links, to: Mailbox, email: &str, c: &StoredComment, now: i64) -> Letter {
    Letter {
        to,
        reply_to: None,
        subject: format!("Confirm reply notifications for {}", c.page_url),
        lines: vec![
            format!(
                "Someone, hopefully you, commented on {} with this address and asked to be told about replies.",
                c.page_url
            ),
            "Confirm with the link below. Until you do, nothing else is sent to this address; if it was not you, ignore this message.".to_owned(),
        ],
        quoted: None,
        actions: vec![(
            "Yes, tell me about replies".to_owned(),
            links.confirm(email, now),
        )],
        unsubscribe: links.unsubscribe(email),
    }
}

fn reply(links: &Links, to: Mailbox, email: &str, c: &StoredComment) -> Letter {
    let page = links
        .page(&c.page_url)
        .map(|page| page.with_fragment(&format!("kiln-comment-{}", c.id)));
    Letter {
        to,
        reply_to: None,
        subject: format!("{} replied to your comment on {}", author(c), page_short(c)),
        lines: vec![format!(
            "{} replied to your comment on {}.",
            author_in_text(c),
            page_name(c)
        )],
        quoted: Some(quoted(format!("{} wrote:", author_in_text(c)), c)),
        actions: page
            .map(|page| ("Read it on the page".to_owned(), page.as_str().to_owned()))
            .into_iter()
            .collect(),
        unsubscribe: links.unsubscribe(email),
    }
}

fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::signing::Signer;
    use crate::store::NewComment;

    /// A store with one pending comment whose author asked to hear of
    /// replies: the moderators' message and the confirmation are due.
    fn store_with_a_comment(dir: &std::path::Path) -> SharedStore {
        let mut store =
            crate::store::open(&dir.join("kiln.sqlite3"), crate::store::Mode::ReadWrite).unwrap();
        store.set_mail_events(true);
        let comment = NewComment {
            page_title: "A page".into(),
            email: Some("ann@example.org".into()),
            ..NewComment::sample("/a/", "Ann", "Hello *there*")
        };
        store
            .insert_opted(&comment, true, Status::Pending, now())
            .unwrap()
            .unwrap();
        SharedStore::new(store)
    }

    fn service(config: &Config, mailer: Mailer) -> Arc<MailService> {
        let links = Links::new(
            config,
            "http://kiln.test",
            Signer::new(b"a key for the outbox tests, long enough"),
        );
        Arc::new(MailService::with_mailer(config, links, mailer).unwrap())
    }

    fn config() -> Config {
        Config::parse(
            "[mail]\nhost = \"smtp.example.org\"\nfrom = \"Comments <kiln@example.org>\"\nmoderators = [\"mod@example.org\"]",
        )
        .unwrap()
    }

    #[tokio::test]
    async fn due_mail_reaches_the_moderators_and_the_commenter() {
        let dir = tempfile::tempdir().unwrap();
        let store = store_with_a_comment(dir.path());
        let config = config();
        let (mailer, sent) = Mailer::in_memory(config.mail.from.parse().unwrap());
        deliver_due(&store, &service(&config, mailer))
            .await
            .unwrap();
        let messages = sent.messages();
        let to = |m: &Message| m.headers().get_raw("To").unwrap_or_default().to_owned();
        let subjects: Vec<(String, String)> = messages
            .iter()
            .map(|m| (to(m), m.headers().get_raw("Subject").unwrap().to_owned()))
            .collect();
        assert_eq!(
            subjects,
            [
                (
                    "mod@example.org".to_owned(),
                    "New comment by Ann on A page".to_owned()
                ),
                (
                    "ann@example.org".to_owned(),
                    "Confirm reply notifications for https://example.org/a/".to_owned()
                ),
            ]
        );
        let raw = String::from_utf8(messages[0].formatted()).unwrap();
        assert!(raw.contains("http://kiln.test/mail/moderate/"), "{raw}");
        // Each message is named after its outbox row and attempt.
        let instance = store.with_store(|s| s.instance_id()).await.unwrap();
        let ids: Vec<&str> = messages
            .iter()
            .map(|m| m.headers().get_raw("Message-ID").unwrap())
            .collect();
        assert_eq!(
            ids,
            [
                format!("<kiln.{instance}.1.1@example.org>"),
                format!("<kiln.{instance}.2.1@example.org>"),
            ]
        );
        assert!(
            all_due(&store).await.is_empty(),
            "delivered mail leaves the outbox"
        );
    }

    /// Claims everything waiting, whenever it is due.
    async fn all_due(store: &SharedStore) -> Vec<OutboxItem> {
        store
            .with_store(|s| s.claim_mail(i64::MAX - 1, i64::MAX, "test", 100))
            .await
            .unwrap()
    }

    #[tokio::test]
    async fn two_receivers_on_one_database_send_each_message_once() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("kiln.sqlite3");
        let mut store = crate::store::open(&path, crate::store::Mode::ReadWrite).unwrap();
        store.set_mail_events(true);
        for n in 0..15 {
            let comment = NewComment {
                page_url: format!("https://example.org/t{n}/"),
                email: Some(format!("ann{n}@example.org")),
                ..NewComment::sample(&format!("/t{n}/"), "Ann", &format!("comment {n}"))
            };
            store
                .insert_opted(&comment, true, Status::Pending, now())
                .unwrap()
                .unwrap();
        }
        drop(store);
        // Two receivers: their own connections, mailers and claimer names.
        let config = config();
        let receiver = || {
            let store =
                SharedStore::new(crate::store::open(&path, crate::store::Mode::ReadWrite).unwrap());
            let (mailer, sent) = Mailer::in_memory(config.mail.from.parse().unwrap());
            (store, service(&config, mailer), sent)
        };
        let (a, b) = (receiver(), receiver());
        let (sent_a, sent_b) = tokio::join!(deliver_due(&a.0, &a.1), deliver_due(&b.0, &b.1));
        assert_eq!(sent_a.unwrap() + sent_b.unwrap(), 30);
        let mut ids: Vec<String> = [a.2.messages(), b.2.messages()]
            .concat()
            .iter()
            .map(|m| m.headers().get_raw("Message-ID").unwrap().to_owned())
            .collect();
        assert_eq!(ids.len(), 30);
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), 30, "a message went out twice");
        assert!(all_due(&a.0).await.is_empty());
    }

    #[tokio::test]
    async fn a_stopped_outbox_claims_nothing_more() {
        let dir = tempfile::tempdir().unwrap();
        let store = store_with_a_comment(dir.path());
        let config = config();
        let (mailer, sent) = Mailer::in_memory(config.mail.from.parse().unwrap());
        let mail = service(&config, mailer);
        mail.stopping.store(true, Ordering::SeqCst);
        // Returns at once instead of running forever.
        run(store.clone(), mail.clone()).await;
        assert_eq!(deliver_due(&store, &mail).await.unwrap(), 0);
        assert!(sent.messages().is_empty());
        assert_eq!(
            all_due(&store).await.len(),
            2,
            "both messages still wait, unclaimed"
        );
    }

    #[test]
    fn names_in_mail_cannot_reorder_the_text_around_them() {
        let comment = StoredComment {
            author: "\u{202e}gnp.exe".into(),
            ..approved_comment()
        };
        let to: Mailbox = "mod@example.org".parse().unwrap();
        let links = Links::new(
            &config(),
            "http://kiln.test",
            Signer::new(b"a key, long enough"),
        );
        let letter = new_comment(&links, &to, &comment, 0);
        assert!(
            letter.lines[0].starts_with("\u{2068}gnp.exe\u{2069} commented on"),
            "{:?}",
            letter.lines[0]
        );
        assert_eq!(
            letter.subject,
            "New comment by gnp.exe on https://example.org/a/"
        );
        let reply = reply(&links, to, "b@example.org", &comment);
        assert_eq!(
            reply.quoted.unwrap().caption,
            "\u{2068}gnp.exe\u{2069} wrote:"
        );
    }

    fn approved_comment() -> StoredComment {
        StoredComment {
            id: 7,
            site: "default".into(),
            thread: "/a/".into(),
            parent: None,
            status: Status::Approved,
            author: "Ann".into(),
            email: None,
            website: None,
            text: "Hi".into(),
            page_url: "https://example.org/a/".into(),
            page_title: String::new(),
            remote_addr: None,
            created_at: 0,
        }
    }

    #[test]
    fn mail_links_only_to_pages_of_configured_sites() {
        let comment = approved_comment();
        let to: Mailbox = "mod@example.org".parse().unwrap();
        let links_for = |origin: &str| {
            let mut config = config();
            config.sites.origins = vec![origin.to_owned()];
            Links::new(
                &config,
                "http://kiln.test",
                Signer::new(b"a key, long enough"),
            )
        };
        let urls = |letter: &Letter| -> Vec<String> {
            letter.actions.iter().map(|(_, url)| url.clone()).collect()
        };
        let configured = links_for("https://example.org");
        assert!(urls(&new_comment(&configured, &to, &comment, 0))
            .contains(&"https://example.org/a/".to_owned()));
        assert_eq!(
            urls(&reply(&configured, to.clone(), "b@example.org", &comment)),
            ["https://example.org/a/#kiln-comment-7"]
        );
        // The site was dropped from `sites.origins` since the comment came.
        let dropped = links_for("https://other.example");
        for letter in [
            new_comment(&dropped, &to, &comment, 0),
            reply(&dropped, to.clone(), "b@example.org", &comment),
        ] {
            assert!(
                urls(&letter)
                    .iter()
                    .all(|u| u.starts_with("http://kiln.test/")),
                "{:?}",
                urls(&letter)
            );
        }
    }

    #[tokio::test]
    async fn a_failed_delivery_stays_in_the_outbox_for_a_retry() {
        let dir = tempfile::tempdir().unwrap();
        let store = store_with_a_comment(dir.path());
        let mut config = config();
        config.mail.transport = "file".into();
        config.mail.file_dir = dir.path().join("no such directory");
        let mailer = Mailer::new(&config.mail).unwrap();
        deliver_due(&store, &service(&config, mailer))
            .await
            .unwrap();
        let (due_now, waiting, trouble) = store
            .with_store(|s| {
                Ok((
                    s.claim_mail(now(), now() + 60, "test", 10)?.len(),
                    s.claim_mail(i64::MAX - 1, i64::MAX, "test", 10)?,
                    s.mail_trouble()?,
                ))
            })
            .await
            .unwrap();
        assert_eq!(due_now, 0, "the retry waits");
        assert_eq!(waiting.len(), 2);
        assert!(waiting.iter().all(|item| item.attempts == 1));
        assert_eq!(trouble.retrying, 2);
        let error = trouble.last_error.unwrap();
        assert!(error.contains("no such directory"), "{error}");
    }

    #[test]
    fn retries_back_off_up_to_an_hour() {
        assert_eq!(backoff(1), 5);
        assert_eq!(backoff(2), 10);
        assert_eq!(backoff(5), 80);
        assert_eq!(backoff(12), 3600);
        assert_eq!(backoff(29), 3600);
    }
}
