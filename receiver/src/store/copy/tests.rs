//! `store copy` between real databases: SQLite files in temp directories and
//! PostgreSQL databases of each test's own (see `postgres/scratch.rs`; the
//! PostgreSQL parts do nothing, and say so, without a server). The source is
//! a site with every kind of row, made through the store's own methods.

use std::path::Path;

use anyhow::anyhow;

use super::*;
use crate::store::postgres::scratch::{scratch_db, ScratchDb};
use crate::store::testing::{Param, TestDb};
use crate::store::{open_at, Location, Mode, NewComment, Status, Store};

fn sqlite(path: &Path, mode: Mode) -> Box<dyn Store> {
    open_at(Location::Sqlite(path), mode).unwrap()
}

fn postgres(db: &ScratchDb, mode: Mode) -> Box<dyn Store> {
    open_at(
        Location::Postgres {
            url: &db.url,
            password: "",
        },
        mode,
    )
    .unwrap()
}

fn new(thread: &str, parent: Option<i64>, text: &str, email: Option<&str>) -> NewComment {
    NewComment {
        page_title: format!("Page {thread} — “quoted”"),
        parent,
        email: email.map(Into::into),
        website: Some("https://ann.example.org".into()),
        remote_addr: Some("192.0.2.0".into()),
        ..NewComment::sample(thread, "Ann Ångström", text)
    }
}

/// A site with a row of every kind: comments in every state (a "deleted"
/// marker with its reply, spam, pending, replies), one stored without HTML
/// as an old kiln did, subscribers pending, confirmed and unsubscribed,
/// outbox rows waiting, retrying and given up, a session, the admin
/// password and the signing secret. `salt` makes two sites differ.
fn seed(path: &Path, salt: &str) -> Box<dyn Store> {
    let mut store = sqlite(path, Mode::ReadWrite);
    store.set_mail_events(true);
    fn add(
        store: &mut Box<dyn Store>,
        c: NewComment,
        notify: bool,
        status: Status,
        at: i64,
    ) -> i64 {
        store
            .insert_opted(&c, notify, status, at)
            .unwrap()
            .unwrap()
            .id
    }
    let first = add(
        &mut store,
        new(
            "/a/",
            None,
            &format!("First **one** {salt} 🎉"),
            Some("Ann@Example.org"),
        ),
        true,
        Status::Pending,
        100,
    );
    store.approve(&[first], 110).unwrap().unwrap();
    store.confirm_subscriber("Ann@Example.org", 115).unwrap();
    let reply = add(
        &mut store,
        new(
            "/a/",
            Some(first),
            "a reply, <b>bold</b>",
            Some("bob@example.org"),
        ),
        true,
        Status::Pending,
        120,
    );
    store.approve(&[reply], 130).unwrap().unwrap();
    // Two readers like the first comment.
    for reader in [format!("reader-{salt}"), "reader-b".to_owned()] {
        store.like(first, &reader, 135).unwrap();
    }
    let spam = add(
        &mut store,
        new("/b/", None, "buy things", None),
        false,
        Status::Pending,
        140,
    );
    store.spam(&[spam]).unwrap().unwrap();
    let doomed = add(
        &mut store,
        new("/b/", None, "to be deleted", Some("dan@example.org")),
        false,
        Status::Approved,
        150,
    );
    add(
        &mut store,
        new("/b/", Some(doomed), "keeps its place", None),
        false,
        Status::Approved,
        160,
    );
    store.delete(&[doomed]).unwrap().unwrap();
    let old = add(
        &mut store,
        new("/c/", None, "stored before HTML was", None),
        false,
        Status::Approved,
        170,
    );
    add(
        &mut store,
        new("/c/", None, "still waiting", Some("eve@example.org")),
        true,
        Status::Pending,
        175,
    );
    store.unsubscribe("carol@example.org", 180).unwrap();
    let due = store.claim_mail(10_000, 10_060, "copy-test", 100).unwrap();
    assert!(due.len() >= 3, "{due:?}");
    store
        .mail_failed(due[0].id, "450 try later", Some(5_000), 190)
        .unwrap();
    store
        .mail_failed(due[1].id, "550 no such user", None, 191)
        .unwrap();
    store.secret().unwrap();
    // Comments `kiln import` brought: remembered by their source's ids, one
    // restored with the avatar key its export carried.
    let imported =
        |source_id: &str, parent: Option<&str>, avatar: Option<&str>| crate::store::ImportComment {
            source_id: source_id.into(),
            parent: parent.map(Into::into),
            id: None,
            status: Status::Approved,
            created_at: 150,
            fields: crate::store::ImportFields {
                author: "Imported".into(),
                text: format!("brought as {source_id}"),
                avatar: avatar.map(Into::into),
                ..Default::default()
            }
            .into(),
        };
    let batch = crate::store::ImportBatch {
        source: "disqus".into(),
        site: crate::store::DEFAULT_SITE.into(),
        threads: vec![crate::store::ImportThread {
            key: "/d/".into(),
            url: "https://example.org/d/".into(),
            title: "From Disqus".into(),
            comments: vec![
                imported("d-1", None, Some("0123456789abcdef")),
                imported("d-2", Some("d-1"), None),
            ],
        }],
        spill: None,
    };
    let outcome = store.import_batch(&batch, true).unwrap();
    assert_eq!(outcome.added.len(), 2, "{outcome:?}");
    store
        .set_admin_password_hash("$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA")
        .unwrap();
    store
        .create_admin_session(
            &format!("hash-{salt}"),
            "csrf-1",
            Some("bea"),
            200,
            9_000_000_000,
        )
        .unwrap();
    TestDb::sqlite(path).execute(
        "UPDATE comments SET html = NULL, html_version = NULL WHERE id = $1",
        &[Param::Int(old)],
    );
    store
}

fn rows_of(store: &mut dyn Store) -> Vec<Row> {
    let mut rows = Vec::new();
    store
        .copy_out(&mut |row| {
            rows.push(row);
            Ok(())
        })
        .unwrap();
    rows
}

fn instance_of_sqlite(path: &Path) -> String {
    TestDb::sqlite(path).query_text("SELECT value FROM meta WHERE key = 'instance'", &[])
}

fn instance_of_postgres(db: &ScratchDb) -> String {
    db.target
        .connect()
        .unwrap()
        .query_one("SELECT value FROM meta WHERE key = 'instance'", &[])
        .unwrap()
        .get(0)
}

/// The seed really holds every kind of row a copy must carry.
fn assert_every_kind(rows: &[Row]) {
    let comments: Vec<&CommentRow> = rows
        .iter()
        .filter_map(|r| match r {
            Row::Comment(c) => Some(c),
            _ => None,
        })
        .collect();
    for status in ["pending", "approved", "spam", "deleted"] {
        assert!(
            comments.iter().any(|c| c.status == status),
            "no {status} comment"
        );
    }
    assert!(comments.iter().any(|c| c.parent_id.is_some()), "no reply");
    assert!(comments.iter().any(|c| c.notify), "no notify");
    assert!(comments
        .iter()
        .any(|c| c.html.is_none() && c.status == "approved"));
    assert!(comments
        .iter()
        .any(|c| c.html.as_deref().is_some_and(|h| h.contains("<strong>"))));
    let outbox = || {
        rows.iter().filter_map(|r| match r {
            Row::Outbox(o) => Some(o),
            _ => None,
        })
    };
    assert!(outbox().any(|o| o.failed_at.is_some()), "no given-up mail");
    assert!(
        outbox().any(|o| o.last_error.is_some() && o.failed_at.is_none()),
        "no retrying mail"
    );
    assert!(outbox().any(|o| o.attempts == 0), "no waiting mail");
    let subscribers: Vec<&SubscriberRow> = rows
        .iter()
        .filter_map(|r| match r {
            Row::Subscriber(s) => Some(s),
            _ => None,
        })
        .collect();
    assert!(subscribers.iter().any(|s| s.confirmed_at.is_some()));
    assert!(subscribers.iter().any(|s| s.unsubscribed_at.is_some()));
    assert!(subscribers
        .iter()
        .any(|s| s.confirmed_at.is_none() && s.unsubscribed_at.is_none()));
    let meta: Vec<&str> = rows
        .iter()
        .filter_map(|r| match r {
            Row::Meta { key, .. } => Some(key.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(meta, ["admin_password", "avatar_salt", "secret"]);
    assert!(rows
        .iter()
        .any(|r| matches!(r, Row::ChangeSeq(n) if *n > 0)));
    assert!(rows.iter().any(|r| matches!(r, Row::Session(_))));
    assert_eq!(
        rows.iter()
            .filter(|r| matches!(r, Row::Reaction(_)))
            .count(),
        2
    );
    assert!(rows
        .iter()
        .any(|r| matches!(r, Row::Thread(t) if t.title.contains('“'))));
}

#[test]
fn a_copy_between_sqlite_files_carries_every_row_and_a_new_instance() {
    let dir = tempfile::tempdir().unwrap();
    let (from, to) = (
        dir.path().join("from.sqlite3"),
        dir.path().join("to.sqlite3"),
    );
    let mut source = seed(&from, "one");
    let rows = rows_of(source.as_mut());
    assert_every_kind(&rows);
    let mut target = sqlite(&to, Mode::ReadWrite);
    let tally = copy(source.as_mut(), target.as_mut(), false).unwrap();
    assert_eq!(rows_of(target.as_mut()), rows);
    assert_eq!(tally, super::tally(source.as_mut()).unwrap());
    for table in Table::ALL {
        assert!(tally.rows(table) > 0, "{} is empty", table.name());
    }
    assert_ne!(instance_of_sqlite(&from), instance_of_sqlite(&to));
    // The copy is a working database: pages and the next comment.
    let keys = |s: &mut Box<dyn Store>| s.avatar_keys(true).unwrap();
    let (a, b) = (keys(&mut source), keys(&mut target));
    assert_eq!(
        source.export("default", &a).unwrap(),
        target.export("default", &b).unwrap()
    );
    assert_eq!(source.change_seq().unwrap(), target.change_seq().unwrap());
    let max_id = rows
        .iter()
        .filter_map(|r| match r {
            Row::Comment(c) => Some(c.id),
            _ => None,
        })
        .max()
        .unwrap();
    let next = target
        .insert(
            &new("/a/", None, "after the move", None),
            Status::Pending,
            300,
        )
        .unwrap()
        .unwrap();
    assert_eq!(next.id, max_id + 1);
}

#[test]
fn sqlite_to_postgres_and_back_keeps_every_row() {
    let Some(pg) = scratch_db() else { return };
    let dir = tempfile::tempdir().unwrap();
    let (from, back) = (
        dir.path().join("from.sqlite3"),
        dir.path().join("back.sqlite3"),
    );
    let mut source = seed(&from, "one");
    // A parent with a higher id than its reply, as an import may leave:
    // PostgreSQL checks references at once, so it gets its parent last.
    let peek = TestDb::sqlite(&from);
    let (low, high) = (
        peek.query_i64("SELECT min(id) FROM comments WHERE parent_id IS NULL", &[]),
        peek.query_i64("SELECT max(id) FROM comments", &[]),
    );
    peek.execute(
        "UPDATE comments SET parent_id = $2 WHERE id = $1",
        &[Param::Int(low), Param::Int(high)],
    );
    let rows = rows_of(source.as_mut());
    assert_every_kind(&rows);

    let mut target = postgres(&pg, Mode::ReadWrite);
    let tally = copy(source.as_mut(), target.as_mut(), false).unwrap();
    assert_eq!(tally, super::tally(source.as_mut()).unwrap());
    let mut reader = postgres(&pg, Mode::ReadOnly);
    assert_eq!(
        rows_of(reader.as_mut()),
        rows,
        "PostgreSQL holds every row as SQLite did"
    );

    let mut returned = sqlite(&back, Mode::ReadWrite);
    let back_tally = copy(reader.as_mut(), returned.as_mut(), false).unwrap();
    assert_eq!(back_tally, tally);
    assert_eq!(rows_of(returned.as_mut()), rows, "and back in SQLite");

    let instances = [
        instance_of_sqlite(&from),
        instance_of_postgres(&pg),
        instance_of_sqlite(&back),
    ];
    assert!(
        instances[0] != instances[1]
            && instances[1] != instances[2]
            && instances[0] != instances[2],
        "{instances:?}"
    );
    // The next ids PostgreSQL hands out follow the copied ones.
    let mut conn = pg.target.connect().unwrap();
    for table in ["threads", "comments", "outbox"] {
        let (max, next): (i64, i64) = {
            let row = conn
                .query_one(
                    &format!(
                        "SELECT (SELECT max(id) FROM {table}),
                                nextval(pg_get_serial_sequence('{table}', 'id'))"
                    ),
                    &[],
                )
                .unwrap();
            (row.get(0), row.get(1))
        };
        assert_eq!(next, max + 1, "{table}");
    }
}

#[test]
fn a_target_holding_a_site_is_refused_unless_replaced() {
    let dir = tempfile::tempdir().unwrap();
    let (one, two) = (
        dir.path().join("one.sqlite3"),
        dir.path().join("two.sqlite3"),
    );
    let mut first = seed(&one, "one");
    let mut second = seed(&two, "two");
    let pg = scratch_db();
    let mut targets: Vec<(&str, Box<dyn Store>)> = vec![("SQLite", {
        let to = dir.path().join("to.sqlite3");
        // A receiver that started once made its keys: still empty.
        let mut fresh = sqlite(&to, Mode::ReadWrite);
        fresh.secret().unwrap();
        fresh
    })];
    if let Some(pg) = &pg {
        let mut fresh = postgres(pg, Mode::ReadWrite);
        fresh.secret().unwrap();
        targets.push(("PostgreSQL", fresh));
    }
    for (name, mut target) in targets {
        copy(first.as_mut(), target.as_mut(), false).unwrap();
        let held = super::tally(target.as_mut()).unwrap();
        let err = copy(second.as_mut(), target.as_mut(), false).unwrap_err();
        let not_empty = err
            .downcast_ref::<NotEmpty>()
            .unwrap_or_else(|| panic!("{name}: {err:#}"));
        assert!(
            not_empty.0.contains(&(Table::Comments, 9)),
            "{name}: {not_empty}"
        );
        let message = format!("{err:#}");
        assert!(
            message.contains("9 comments row(s)") && message.contains("an admin password"),
            "{message}"
        );
        assert_eq!(
            super::tally(target.as_mut()).unwrap(),
            held,
            "{name}: refused, unchanged"
        );
        let replaced = copy(second.as_mut(), target.as_mut(), true).unwrap();
        assert_eq!(replaced, super::tally(second.as_mut()).unwrap(), "{name}");
        assert_eq!(rows_of(target.as_mut()), rows_of(second.as_mut()), "{name}");
    }
}

#[test]
fn a_copy_that_fails_midway_leaves_the_target_as_it_was_and_can_run_again() {
    let dir = tempfile::tempdir().unwrap();
    let (from, other) = (
        dir.path().join("from.sqlite3"),
        dir.path().join("other.sqlite3"),
    );
    let mut source = seed(&from, "one");
    let mut site = seed(&other, "other");
    let rows = rows_of(source.as_mut());
    let middle = TestDb::sqlite(&from).query_i64(
        "SELECT id FROM comments WHERE text = 'keeps its place'",
        &[],
    );
    // A reply whose parent is in no database: every target refuses it,
    // after the rows before it went in.
    let broken: Vec<Row> = rows
        .iter()
        .cloned()
        .map(|row| match row {
            Row::Comment(c) if c.id == middle => Row::Comment(CommentRow {
                parent_id: Some(999),
                ..c
            }),
            row => row,
        })
        .collect();
    let pg = scratch_db();
    let mut targets: Vec<(&str, Box<dyn Store>)> = vec![(
        "SQLite",
        sqlite(&dir.path().join("to.sqlite3"), Mode::ReadWrite),
    )];
    if let Some(pg) = &pg {
        targets.push(("PostgreSQL", postgres(pg, Mode::ReadWrite)));
    }
    for (name, mut target) in targets {
        // The target holds a site, to be replaced.
        copy(site.as_mut(), target.as_mut(), false).unwrap();
        let before = rows_of(target.as_mut());
        let err = target
            .copy_in(&mut broken.iter().cloned().map(Ok), true)
            .unwrap_err();
        let err = format!("{err:#}");
        assert!(
            err.contains(&format!("comments row id {middle}")),
            "{name}: {err}"
        );
        assert_eq!(rows_of(target.as_mut()), before, "{name}: unchanged");
        // A source that breaks off halfway.
        let mut cut = rows
            .iter()
            .take(rows.len() / 2)
            .cloned()
            .map(Ok)
            .chain([Err(anyhow!("the source went away"))]);
        let err = format!("{:#}", target.copy_in(&mut cut, true).unwrap_err());
        assert!(err.contains("the source went away"), "{name}: {err}");
        assert_eq!(rows_of(target.as_mut()), before, "{name}: unchanged");
        // The copy runs again, and this time all of it is kept.
        copy(source.as_mut(), target.as_mut(), true).unwrap();
        assert_eq!(rows_of(target.as_mut()), rows, "{name}");
    }
}

#[test]
fn a_nul_in_a_text_is_named_with_its_row_and_stops_a_copy_to_postgres() {
    let Some(pg) = scratch_db() else { return };
    let dir = tempfile::tempdir().unwrap();
    let from = dir.path().join("from.sqlite3");
    let mut source = seed(&from, "one");
    let peek = TestDb::sqlite(&from);
    let id = peek.query_i64("SELECT id FROM comments WHERE text = 'still waiting'", &[]);
    peek.execute(
        "UPDATE comments SET text = $2 WHERE id = $1",
        &[Param::Int(id), Param::Text("nul \0 here")],
    );
    let mut target = postgres(&pg, Mode::ReadWrite);
    let empty = super::tally(target.as_mut()).unwrap();
    let err = format!(
        "{:#}",
        copy(source.as_mut(), target.as_mut(), false).unwrap_err()
    );
    assert!(
        err.contains(&format!(
            "comments row id {id} has a NUL character in `text`"
        )),
        "{err}"
    );
    assert_eq!(
        super::tally(target.as_mut()).unwrap(),
        empty,
        "nothing was kept"
    );
    // Still empty, so the next run needs no --replace.
    peek.execute(
        "UPDATE comments SET text = 'still waiting' WHERE id = $1",
        &[Param::Int(id)],
    );
    copy(source.as_mut(), target.as_mut(), false).unwrap();
    assert_eq!(rows_of(target.as_mut()), rows_of(source.as_mut()));
}

type Reader = Box<dyn Store>;
type Writer = Box<dyn Store>;

#[test]
fn the_source_is_read_from_one_snapshot_while_others_write() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("kiln.sqlite3");
    drop(seed(&path, "one"));
    let pg = scratch_db();
    let mut sources: Vec<(&str, Reader, Writer)> = vec![(
        "SQLite",
        sqlite(&path, Mode::ReadOnly),
        sqlite(&path, Mode::ReadWrite),
    )];
    if let Some(pg) = &pg {
        let mut target = postgres(pg, Mode::ReadWrite);
        let mut seeded = sqlite(&path, Mode::ReadOnly);
        copy(seeded.as_mut(), target.as_mut(), false).unwrap();
        sources.push(("PostgreSQL", postgres(pg, Mode::ReadOnly), target));
    }
    for (name, mut reader, mut writer) in sources {
        let before = rows_of(reader.as_mut());
        let mut seen = Vec::new();
        let mut written = false;
        reader
            .copy_out(&mut |row| {
                // Sessions come last: one made after the first row is
                // read must not appear in this copy.
                if !written {
                    writer.create_admin_session("late", "csrf", None, 300, 9_000_000_000)?;
                    written = true;
                }
                seen.push(row);
                Ok(())
            })
            .unwrap();
        assert!(written);
        assert_eq!(seen, before, "{name}");
        assert_ne!(
            rows_of(reader.as_mut()),
            before,
            "{name}: the session is there afterwards"
        );
    }
}
