//! Moderation from the command line: list the queue, show one comment,
//! approve, reject, mark as spam and delete by id (through the receiver's
//! `moderation` module, which the admin page and e-mail links use too), set
//! the admin password, export what is published, and export or forget one
//! person's data by email address. Each works on the
//! configured database and treats an unknown id as an error that changes
//! nothing.

use std::io::Write;
use std::path::Path;

use anyhow::{bail, Context, Result};
use kiln_receiver::config::Config;
use kiln_receiver::moderation::{self, Action};
use kiln_receiver::store::{self, Location, Mode, Refusal, Status, Store};

/// Opens the configured database, which must exist: moderating an empty,
/// freshly created file would only hide a wrong path.
fn open(config: &Config) -> Result<Box<dyn Store>> {
    let location = crate::location(config);
    if let Location::Sqlite(path) = location {
        if !path.is_file() {
            bail!(
                "there is no database at {}; pass --db PATH or set database.path (kiln serve creates it)",
                path.display()
            );
        }
    }
    let mut store = store::open_at(location, Mode::ReadWrite)?;
    // An approval from here queues its reply notifications for `kiln serve`.
    store.set_mail_events(config.mail.is_on());
    Ok(store)
}

/// Lists the queue, newest first: at most `limit` comments (0: all), then
/// how many more there are.
pub fn queue(config: &Config, limit: usize, site: Option<&str>) -> Result<()> {
    if let Some(site) = site {
        crate::known_site(config, site)?;
    }
    let mut store = open(config)?;
    let mut pending = store.by_status(Status::Pending)?;
    pending.retain(|c| site.is_none_or(|site| c.site == site));
    let mut out = std::io::stdout().lock();
    if pending.is_empty() {
        match site {
            Some(site) => writeln!(
                out,
                "No comments of site {site} are waiting for moderation."
            )?,
            None => writeln!(out, "No comments are waiting for moderation.")?,
        }
        return Ok(());
    }
    // With several sites, each comment says which one it is on.
    let sited = !config.sites.site.is_empty();
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let shown = if limit == 0 {
        pending.len()
    } else {
        limit.min(pending.len())
    };
    writeln!(out, "{} pending comment(s), newest first:\n", pending.len())?;
    for c in &pending[..shown] {
        let author = if c.author.is_empty() {
            "(no name)"
        } else {
            &c.author
        };
        let email = c
            .email
            .as_deref()
            .map(|e| format!(" <{e}>"))
            .unwrap_or_default();
        let reply = c
            .parent
            .map(|p| format!(", reply to #{p}"))
            .unwrap_or_default();
        writeln!(
            out,
            "#{id}  {on}{thread}  {author}{email}  {age} ago{reply}",
            id = c.id,
            on = if sited {
                format!("[{}] ", c.site)
            } else {
                String::new()
            },
            thread = c.thread,
            age = age(now - c.created_at),
        )?;
        writeln!(out, "    page: {}", c.page_url)?;
        for line in c.text.lines().take(6) {
            writeln!(out, "    | {}", one_line(line, 100))?;
        }
        if c.text.lines().count() > 6 {
            writeln!(out, "    | …")?;
        }
        writeln!(out)?;
    }
    let more = pending.len() - shown;
    if more > 0 {
        writeln!(
            out,
            "… and {more} older pending comment(s) not shown; `kiln queue --limit 0` lists all.\n"
        )?;
    }
    writeln!(
        out,
        "Approve with `kiln approve ID…`, reject with `kiln reject ID…`, mark as spam with \
         `kiln spam ID…`; `kiln show ID` shows everything about one, or use /admin."
    )?;
    Ok(())
}

pub fn approve(config: &Config, ids: &[i64]) -> Result<()> {
    act(config, Action::Approve, ids)
}

pub fn reject(config: &Config, ids: &[i64]) -> Result<()> {
    act(config, Action::Reject, ids)
}

pub fn delete(config: &Config, ids: &[i64]) -> Result<()> {
    act(config, Action::Delete, ids)
}

pub fn spam(config: &Config, ids: &[i64]) -> Result<()> {
    act(config, Action::Spam, ids)
}

pub fn not_spam(config: &Config, ids: &[i64]) -> Result<()> {
    act(config, Action::NotSpam, ids)
}

fn act(config: &Config, action: Action, ids: &[i64]) -> Result<()> {
    let mut store = open(config)?;
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    settle(
        moderation::apply(store.as_mut(), action, ids, now)?,
        action.done(),
        ids,
    )
}

/// Everything stored about one comment, for a moderator deciding about it.
pub fn show(config: &Config, id: i64) -> Result<()> {
    let mut store = open(config)?;
    let Some(c) = store.get(id)? else {
        bail!("{}", Refusal::Unknown(id));
    };
    let none = "(none)";
    let mut out = std::io::stdout().lock();
    writeln!(out, "comment  #{}", c.id)?;
    writeln!(out, "status   {}", c.status.as_str())?;
    if !config.sites.site.is_empty() {
        writeln!(out, "site     {}", c.site)?;
    }
    writeln!(out, "thread   {}", c.thread)?;
    writeln!(out, "page     {}", c.page_url)?;
    match c.parent {
        Some(p) => writeln!(out, "reply to #{p}")?,
        None => writeln!(out, "reply to {none}")?,
    }
    writeln!(
        out,
        "posted   {} ({} ago)",
        kiln_bake::export::unix_to_rfc3339(c.created_at),
        age(time::OffsetDateTime::now_utc().unix_timestamp() - c.created_at)
    )?;
    writeln!(out, "name     {}", one_line(&c.author, 200))?;
    writeln!(out, "email    {}", c.email.as_deref().unwrap_or(none))?;
    writeln!(out, "website  {}", c.website.as_deref().unwrap_or(none))?;
    writeln!(out, "ip       {}", c.remote_addr.as_deref().unwrap_or(none))?;
    writeln!(out, "\ntext:")?;
    for line in c.text.lines() {
        writeln!(out, "    {line}")?;
    }
    writeln!(out, "\nrendered HTML (as bake publishes it):")?;
    for line in kiln_bake::markdown::to_html(&c.text).lines() {
        writeln!(out, "    {line}")?;
    }
    Ok(())
}

/// `kiln admin set-password [--moderator NAME]`: from a no-echo prompt
/// (asked twice) on a terminal, else the first line of standard input;
/// never from argv.
pub fn set_password(config: &Config, moderator: Option<&str>) -> Result<()> {
    use std::io::{BufRead, IsTerminal};
    if let Some(name) = moderator {
        kiln_receiver::config::check_moderator_name(name)?;
    }
    let password = if std::io::stdin().is_terminal() {
        let prompt = match moderator {
            Some(name) => format!("New password for moderator {name}: "),
            None => "New admin password: ".to_owned(),
        };
        let first = rpassword::prompt_password(prompt).context("cannot read the password")?;
        let again =
            rpassword::prompt_password("The same again: ").context("cannot read the password")?;
        if first != again {
            bail!("the two passwords differ; nothing was changed");
        }
        first
    } else {
        let mut line = String::new();
        std::io::stdin()
            .lock()
            .read_line(&mut line)
            .context("cannot read the password from standard input")?;
        line.trim_end_matches(['\r', '\n']).to_owned()
    };
    let hash = kiln_receiver::password::hash(&password)?;
    // Unlike the moderation commands, this may create the database: setting
    // the password is often the first thing done on a new install.
    let mut store = store::open_at(crate::location(config), Mode::ReadWrite)?;
    let Some(name) = moderator else {
        store.set_admin_password_hash(&hash)?;
        println!(
            "The admin password is set (every admin session was logged out). Log in at {}/admin",
            config.public_url(None)
        );
        return Ok(());
    };
    store.set_moderator_password_hash(name, &hash)?;
    let sees = match config.sites.moderated_by(name) {
        Some(sites) => format!("only the sites that list it: {}", sites.join(", ")),
        None => "every site (no site's `moderators` lists it)".to_owned(),
    };
    println!(
        "Moderator {name}'s password is set ({name}'s sessions were logged out); {name} sees {sees}. Log in at {}/admin",
        config.public_url(None)
    );
    Ok(())
}

/// `kiln admin moderators`: each named moderator account with the sites it
/// sees, then the names sites list that are no account here (OpenID
/// subjects, or a typo).
pub fn moderators(config: &Config) -> Result<()> {
    let mut store = store::open_at(crate::location(config), Mode::ReadOnly)?;
    let accounts = store.moderator_accounts()?;
    if accounts.is_empty() {
        println!("No named moderators; add one with `kiln admin set-password --moderator NAME`.");
    }
    for name in &accounts {
        match config.sites.moderated_by(name) {
            Some(sites) => println!("{name}\tsites: {}", sites.join(", ")),
            None => println!("{name}\tevery site"),
        }
    }
    for name in config.sites.listed_moderators() {
        if !accounts.iter().any(|a| a == name) {
            println!("{name}\tno account here: an OpenID subject, or set its password with `kiln admin set-password --moderator {name}`");
        }
    }
    Ok(())
}

fn settle(outcome: std::result::Result<(), Refusal>, verb: &str, ids: &[i64]) -> Result<()> {
    match outcome {
        Ok(()) => {
            let list: Vec<String> = ids.iter().map(|i| format!("#{i}")).collect();
            println!("{verb} {}", list.join(", "));
            Ok(())
        }
        Err(refusal) => bail!("{refusal}; nothing was {verb}"),
    }
}

pub fn export(
    config: &Config,
    output: Option<&Path>,
    email: Option<&str>,
    site: &str,
) -> Result<()> {
    crate::known_site(config, site)?;
    let mut store = store::open_at(crate::location(config), Mode::ReadOnly)?;
    let mut json = match email {
        None => {
            let avatars = store.avatar_keys(config.privacy.gravatar)?;
            let mut export = store.export(site, &avatars)?;
            // A bake from this file offers reply notifications only if this
            // receiver can send them.
            export.mail = Some(config.mail.is_on());
            serde_json::to_string_pretty(&export)?
        }
        Some(email) => serde_json::to_string_pretty(&store.personal_data(checked_email(email)?)?)?,
    };
    json.push('\n');
    match output {
        None => std::io::stdout().lock().write_all(json.as_bytes())?,
        Some(path) => kiln_bake::inject::write_atomic(path, json.as_bytes(), None)
            .map(|_| ())
            .with_context(|| format!("cannot write {}", path.display()))?,
    }
    Ok(())
}

/// Removes every comment, subscription and queued message of one address.
pub fn forget(config: &Config, email: &str) -> Result<()> {
    let email = checked_email(email)?;
    let mut store = open(config)?;
    let done = store.forget(email)?;
    let plural = |n: u64| if n == 1 { "" } else { "s" };
    println!(
        "Forgot {email}: {} comment{} removed, {} kept as \"deleted\" because others replied, {}, {} queued message{} dropped.",
        done.removed,
        plural(done.removed),
        done.kept_as_deleted,
        if done.subscription { "subscription removed" } else { "no subscription" },
        done.queued_mail,
        plural(done.queued_mail),
    );
    Ok(())
}

fn checked_email(email: &str) -> Result<&str> {
    let email = email.trim();
    if !email.contains('@') || email.chars().any(char::is_whitespace) {
        bail!("{email:?} is not an email address; give the address exactly as the commenter typed it (case does not matter)");
    }
    Ok(email)
}

fn age(secs: i64) -> String {
    match secs.max(0) {
        s if s < 60 => format!("{s}s"),
        s if s < 3600 => format!("{}m", s / 60),
        s if s < 86_400 => format!("{}h", s / 3600),
        s => format!("{}d", s / 86_400),
    }
}

fn one_line(s: &str, max: usize) -> String {
    let clean: String = s
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    match clean.char_indices().nth(max) {
        Some((i, _)) => format!("{}…", &clean[..i]),
        None => clean,
    }
}
