//! The command line: every subcommand and flag of `kiln`, with the help text
//! a user learns the tool from.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

const AFTER_HELP: &str = "\
Configuration comes from kiln.toml in the current directory (or --config FILE),
then KILN_<SECTION>_<KEY> environment variables (e.g. KILN_SERVER_LISTEN,
KILN_SITES_ORIGINS=https://a.example,https://b.example), then flags.
With no configuration at all kiln uses kiln.sqlite3 in the current directory,
listens on 127.0.0.1:8080 and holds every comment for moderation.

Exit codes:
  0  success
  1  the command failed (I/O, database, network, refused moderation action)
  2  bad usage or invalid configuration

Quick start:
  kiln serve --origin http://127.0.0.1:1313      # accept comments
  kiln queue                                      # see what awaits moderation
  kiln approve 1                                  # publish comment 1
  hugo && kiln bake public/                       # put comments into the site
  kiln init hugo                                  # or jekyll, pelican, astro: set up a site";

/// kiln: comments baked into static sites.
///
/// A small receiver accepts comments from a plain HTML form (no JavaScript
/// needed) and holds them for moderation; `kiln bake` renders the approved
/// ones into the HTML your static site generator produced.
#[derive(Debug, Parser)]
#[command(name = "kiln", version, after_help = AFTER_HELP, max_term_width = 100)]
pub struct Cli {
    #[command(flatten)]
    pub global: Global,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Args)]
pub struct Global {
    /// Configuration file [default: kiln.toml in the current directory, if present]
    #[arg(
        long,
        short = 'c',
        global = true,
        env = "KILN_CONFIG",
        value_name = "FILE"
    )]
    pub config: Option<PathBuf>,
    /// SQLite database file, or a postgres:// URL (overrides database.path and database.url)
    /// [default: kiln.sqlite3]
    #[arg(long, global = true, value_name = "PATH|URL")]
    pub db: Option<std::ffi::OsString>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the receiver: accept comment submissions and serve the export API
    Serve(ServeArgs),
    /// List comments waiting for moderation, newest first
    Queue(QueueArgs),
    /// Publish pending comments
    Approve(IdsArgs),
    /// Throw away pending comments
    Reject(IdsArgs),
    /// Delete comments in any state (a published comment with replies stays as "deleted")
    Delete(IdsArgs),
    /// Mark pending comments as spam: kept on record, never published
    Spam(IdsArgs),
    /// Return comments marked as spam to the queue (a mistake, or a false positive)
    NotSpam(IdsArgs),
    /// Show everything about one comment: status, thread, page, author, e-mail, IP, text, HTML
    Show(ShowArgs),
    /// Manage the admin page (/admin): set its password
    #[command(subcommand)]
    Admin(AdminCommand),
    /// Email: check the [mail] settings by sending a test message
    #[command(subcommand)]
    Mail(MailCommand),
    /// Write every published comment as export JSON (the format the export API serves)
    Export(ExportArgs),
    /// Remove everything kept about one email address: comments, subscription, queued mail
    Forget(ForgetArgs),
    /// Bring comments from Isso, Disqus, WordPress, Remark42, Commento, Comentario, Staticman, or a kiln export
    Import(ImportArgs),
    /// Render approved comments into a built site's HTML
    Bake(BakeArgs),
    /// Set kiln up in a Hugo, Jekyll, Pelican or Astro site: kiln.toml and the adapter
    Init(InitArgs),
    /// Try kiln with no setup: the example site, the receiver and the admin page on 127.0.0.1
    Demo(DemoArgs),
    /// The database itself: copy it between SQLite and PostgreSQL, or migrate its schema
    #[command(subcommand)]
    Store(StoreCommand),
    /// Write a consistent copy of the database to FILE while the receivers keep running
    Backup(BackupArgs),
    /// Bring a backup made by `kiln backup` back into the configured database
    Restore(RestoreArgs),
    /// Ask a running receiver's /healthz: exit 0 if it answers 200, else 1 (for container health checks)
    Healthcheck(HealthcheckArgs),
}

#[derive(Debug, Args)]
#[command(after_help = "\
Backs up the configured database (database.path, database.url or --db) while
receivers keep taking comments, from one consistent state of it:
  kiln backup /var/backups/kiln/kiln-$(date +%F).sqlite3
  KILN_DATABASE_URL=postgres://kiln@db.example/kiln kiln backup kiln.backup.sqlite3

The backup is one SQLite file with kiln's schema whichever backend it came
from, so it restores into either. An SQLite database is copied with SQLite's
online backup, a PostgreSQL one with `kiln store copy`; either way from one
snapshot, while writers go on. The file is checked (SQLite's integrity check,
and every table's row count and SHA-256 against the snapshot's) before it
takes its name, so a failed backup leaves no partial file.

The file holds everything: e-mail and client addresses, the admin password's
hash, sessions and the signing secret. It is created readable by its owner
only (mode 0600); store it like a password. See docs/backup.md.")]
pub struct BackupArgs {
    /// The backup file to write (refused if it exists, unless --force)
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
    /// Replace FILE if it exists (once the new backup is complete)
    #[arg(long)]
    pub force: bool,
}

#[derive(Debug, Args)]
#[command(after_help = "\
Copies every table of a backup made by `kiln backup` into the configured
database (SQLite or PostgreSQL), in one transaction that is read back and
checked before it commits: a failed restore leaves the database as it was.
  kiln restore /var/backups/kiln/kiln-2026-12-01.sqlite3
  kiln --db postgres://kiln@db.example/kiln restore kiln.backup.sqlite3

Stop every receiver on the database first: a receiver reads its keys when it
starts and would go on with the old ones. On PostgreSQL a restore refuses to
start while other kiln sessions are connected. A database that already holds
comments, threads, subscriptions, mail, sessions or an admin password is
refused unless --force, which replaces all of it. A backup from an older kiln
is migrated on the way in (the file is not changed); one from a newer kiln is
refused. See docs/backup.md.")]
pub struct RestoreArgs {
    /// The backup file to restore
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
    /// Replace everything the database holds
    #[arg(long)]
    pub force: bool,
}

#[derive(Debug, Args)]
#[command(after_help = "\
Without --url it asks server.listen from the configuration (kiln.toml or
--config, and KILN_SERVER_LISTEN), on loopback when that is 0.0.0.0 or [::].
/healthz answers 200 while the database answers and 503 while the receiver
drains before it stops. One line tells what it saw. The exit code is 0 or 1,
never 2, as container health checks expect; a configuration that cannot be
read is 1 as well. It needs no shell, so an image FROM scratch can use it:
  HEALTHCHECK CMD [\"/usr/local/bin/kiln\", \"healthcheck\"]
  kiln healthcheck --url http://127.0.0.1:8080/healthz")]
pub struct HealthcheckArgs {
    /// The URL to ask [default: http://LISTEN/healthz, from server.listen]
    #[arg(long, value_name = "URL")]
    pub url: Option<String>,
    /// Give up after this many seconds
    #[arg(long, value_name = "SECONDS", default_value_t = 5)]
    pub timeout: u64,
}

#[derive(Debug, Subcommand)]
pub enum StoreCommand {
    /// Copy every table of one database into another (SQLite or PostgreSQL, either way), verified
    #[command(after_help = "\
DATABASE is an SQLite file or a PostgreSQL URL (postgres://user@host:port/dbname;
a URL without a password takes database.password, e.g. from KILN_DATABASE_PASSWORD):
  kiln store copy --from kiln.sqlite3 --to postgres://kiln@db.example/kiln
  kiln store copy --from postgres://kiln@db.example/kiln --to backup.sqlite3

Everything is copied: comments with their rendered HTML, threads, the change
sequence, subscriptions, the mail outbox, the admin password and sessions, and
the keys (avatar salt, signing secret), so pages baked from either database are
the same and links in mail already sent keep working. The source is read from
one snapshot and never written. The target is written in one transaction and
read back before it commits: each table's row count and SHA-256 must match the
source's, or nothing is kept. A target that already holds comments, threads,
subscriptions, mail, sessions or an admin password is refused unless --replace,
which replaces all of it. A failed copy leaves the target as it was (a new
SQLite file is removed again), so running the same command again just works.

Stop the receivers on the source first, or changes made during the copy stay
behind. The target gets an id of its own, so the first bake from it renders
every page once. See docs/upgrading.md.")]
    Copy(StoreCopyArgs),
    /// Bring the configured database's schema up to date, then exit
    #[command(after_help = "\
Applies the migrations this kiln has and the database lacks, exactly as
`kiln serve` does on start (on PostgreSQL under a lock, so receivers starting
at the same time wait for it). Use it to migrate before a rollout:
  kiln store migrate --db kiln.sqlite3
  KILN_DATABASE_URL=postgres://kiln@db.example/kiln kiln store migrate")]
    Migrate,
}

#[derive(Debug, Args)]
pub struct StoreCopyArgs {
    /// The database to copy: an SQLite file or a postgres:// URL
    #[arg(long, value_name = "DATABASE")]
    pub from: String,
    /// The database to copy into (created if it is a new SQLite file)
    #[arg(long, value_name = "DATABASE")]
    pub to: String,
    /// Replace whatever the target holds
    #[arg(long)]
    pub replace: bool,
}

#[derive(Debug, Args)]
#[command(after_help = "\
Serves the bundled example Hugo site with comments baked in, the receiver and
its admin page, from this one process, on 127.0.0.1 only. It reads no
kiln.toml. Each start prints the URLs and a new admin password. An approved
comment is baked into the served page at once (the in-place strategy).")]
pub struct DemoArgs {
    /// Where the demo keeps its site copy and SQLite database
    #[arg(long, value_name = "DIR", default_value = "kiln-demo")]
    pub dir: PathBuf,
    /// Port of the example site (0 picks a free port)
    #[arg(long, value_name = "PORT", default_value_t = 8080)]
    pub site_port: u16,
    /// Port of the receiver and admin page (0 picks a free port)
    #[arg(long, value_name = "PORT", default_value_t = 8081)]
    pub port: u16,
}

#[derive(Debug, Args)]
#[command(after_help = "\
Writes SITE_DIR/kiln.toml (commented) and copies the adapter's files into the
site, then prints what to add to your templates and configuration. A file that
exists with other contents is never replaced without --force; nothing is
written at all if any would be. --print shows everything instead of writing.

  kiln init hugo my-site/
  kiln init               # in a site's directory: the generator is detected")]
pub struct InitArgs {
    /// The site's generator [default: detected from its configuration file]
    #[arg(value_enum, value_name = "SSG")]
    pub ssg: Option<crate::init::Ssg>,
    /// The site's directory [default: the current directory]
    #[arg(value_name = "SITE_DIR")]
    pub site_dir: Option<PathBuf>,
    /// Replace files that exist with other contents
    #[arg(long)]
    pub force: bool,
    /// Print the files and instructions instead of writing anything
    #[arg(long, conflicts_with = "force")]
    pub print: bool,
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on, e.g. 127.0.0.1:8080 (port 0 picks a free port)
    #[arg(long, value_name = "ADDR")]
    pub listen: Option<String>,
    /// An origin whose pages may post comments, e.g. https://example.org (repeatable; replaces sites.origins)
    #[arg(long = "origin", value_name = "URL")]
    pub origins: Vec<String>,
    /// URL at which browsers reach this receiver [default: http://LISTEN]
    #[arg(long, value_name = "URL")]
    pub public_url: Option<String>,
}

#[derive(Debug, Args)]
pub struct QueueArgs {
    /// Show at most this many (0: all); the rest are counted
    #[arg(long, value_name = "N", default_value_t = 20)]
    pub limit: usize,
    /// Only this site's comments: a `[[sites.site]]` name, or "default" for sites.origins [default: every site]
    #[arg(long, value_name = "NAME")]
    pub site: Option<String>,
}

#[derive(Debug, Args)]
pub struct IdsArgs {
    /// Comment ids, as shown by `kiln queue`
    #[arg(required = true, value_name = "ID")]
    pub ids: Vec<i64>,
}

#[derive(Debug, Args)]
pub struct ShowArgs {
    /// Comment id, as shown by `kiln queue`
    #[arg(value_name = "ID")]
    pub id: i64,
}

#[derive(Debug, Subcommand)]
pub enum AdminCommand {
    /// Set the admin page's password (read from standard input, or prompted for without echo)
    #[command(after_help = "\
The password is never taken from the command line, where other users and the
shell history would see it. On a terminal you are asked for it twice, without
echo; otherwise the first line of standard input is used:
  kiln admin set-password
  printf '%s\\n' \"$KILN_ADMIN_PASSWORD\" | kiln admin set-password
It is stored as an argon2id hash in the database, and every admin session is
logged out. At least 10 characters.

With --moderator NAME it sets (or makes) a named moderator's password instead,
and logs out only that moderator. A name listed in a site's `moderators`
([sites] or [[sites.site]]) sees only the sites that list it; a name listed
nowhere sees every site, as the admin password does:
  kiln admin set-password --moderator bea")]
    SetPassword {
        /// A named moderator's password instead of the admin password
        /// (letters, digits, `.`, `_`, `-`, `@`; at most 64)
        #[arg(long, value_name = "NAME")]
        moderator: Option<String>,
    },
    /// List the named moderators and the sites each one sees
    Moderators,
}

#[derive(Debug, Subcommand)]
pub enum MailCommand {
    /// Send a test message now, through the configured SMTP server, and show its answer
    #[command(after_help = "\
Uses the [mail] settings (host, port, security, username, from; the password
preferably from KILN_MAIL_PASSWORD) exactly as `kiln serve` does, but sends at
once instead of through the outbox, so any SMTP error is shown here. With
transport = \"file\" it writes the message into file_dir and names the file:
  kiln mail test                          # to every address in mail.moderators
  kiln mail test --to me@example.org")]
    Test(MailTestArgs),
}

#[derive(Debug, Args)]
pub struct MailTestArgs {
    /// Recipient [default: every address in mail.moderators]
    #[arg(long, value_name = "ADDRESS")]
    pub to: Option<String>,
}

#[derive(Debug, Args)]
pub struct ExportArgs {
    /// Write to FILE (atomically) instead of standard output
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Instead, one person's data: every comment in any state and the
    /// subscription of this address, with its email and client address
    #[arg(long, value_name = "EMAIL")]
    pub email: Option<String>,
    /// Whose comments: a `[[sites.site]]` name, or "default" for sites.origins
    #[arg(
        long,
        value_name = "NAME",
        default_value = "default",
        conflicts_with = "email"
    )]
    pub site: String,
}

#[derive(Debug, Args)]
#[command(after_help = "\
Comments of the address (compared ignoring case) are deleted; one that others
replied to stays on its page as \"deleted\", with its name, text, email,
website and client address removed. Its subscription and any mail queued for
it go too. Run `kiln export --email EMAIL` first to give the person a copy.")]
pub struct ForgetArgs {
    /// The email address, as the commenter gave it
    #[arg(value_name = "EMAIL")]
    pub email: String,
}

#[derive(Debug, Args)]
#[command(
    override_usage = "kiln import [OPTIONS] [FORMAT] SOURCE",
    after_help = "\
FORMAT and where SOURCE comes from (FORMAT may be left out when the file shows it):
  isso        Isso's SQLite database file (comments.db)
  disqus      the XML file Disqus mails (Admin > Moderation > Export)
  wordpress   a WXR file (Tools > Export > All content), 1.0 to 1.2
  remark42    a backup (backup-SITE-DATE.gz or a manual export), gzipped or not
  commento    Commento's JSON export (gzipped or not)
  comentario  Comentario's JSON export, version 1 or 3 (gzipped or not)
  staticman   the folder of data files, e.g. _data/comments
  kiln        a `kiln export` file: a restore, keeping ids

Threads are keyed like the adapters key them: the page's URL path. With
--site-url, page URLs lose that origin and base path, and a URL on another
host is reported instead of imported; --map FILE renames threads, one
`OLD NEW` a line (OLD: a source URL, source thread id or key). Approved stays
published, pending stays pending, spam stays spam; a deleted comment with
replies becomes the \"deleted\" marker, one without is left out. Nothing is
mailed. The import is one transaction, and running it again adds nothing.
A running `kiln serve` publishes the change once.
  kiln import disqus export.xml --site-url https://example.org --dry-run
  kiln import comments.db"
)]
pub struct ImportArgs {
    /// The source's format, then the source; or only the source
    #[arg(value_name = "FORMAT|SOURCE")]
    pub first: String,
    /// The file (or folder) to import, when FORMAT was given
    #[arg(value_name = "SOURCE")]
    pub source: Option<PathBuf>,
    /// The old site's URL (origin and base path) that the source's page URLs start with
    #[arg(long, value_name = "URL")]
    pub site_url: Option<String>,
    /// Whose threads the comments join: a `[[sites.site]]` name, or "default" for sites.origins [default: default]
    #[arg(long, value_name = "NAME")]
    pub site: Option<String>,
    /// A file of thread renames, `OLD NEW` per line
    #[arg(long, value_name = "FILE")]
    pub map: Option<PathBuf>,
    /// Print what would be imported and skipped; write nothing
    #[arg(long)]
    pub dry_run: bool,
    /// What a comment with a status kiln does not know becomes
    #[arg(long, value_name = "STATUS", default_value = "pending", value_parser = ["pending", "spam", "approved"])]
    pub status_of_unknown: String,
}

#[derive(Debug, Args)]
#[command(after_help = "\
SOURCE is one of:
  a kiln SQLite database      kiln bake --from kiln.sqlite3 public/
  a kiln PostgreSQL database  kiln bake --from postgres://kiln@db.example/kiln public/
                              (read-only, never written)
  a receiver's URL            kiln bake --from https://comments.example.org public/
                              (token from --token or KILN_TOKEN)
  an export JSON file         kiln bake --from comments.json public/

Every element with data-kiln-thread=\"ID\" gets the thread and a reply form; an
empty ID means the page's path (/posts/a/ for posts/a/index.html, after the path
of --site-url when the site lives under one, e.g. /blog/posts/a/). Elements with
data-kiln-count=\"ID\" get the number of comments. Files are only rewritten when
their bytes change, each atomically. Running bake twice changes nothing.

Dev servers (hugo server, astro dev) keep pages in memory, so there is nothing
to bake. With --fragments DIR, bake writes DIR/<sha256 of the thread id>.html
holding what that thread's placeholder would get, and DIR/counts.json; the SSG
adapters include them. Only files whose bytes change are written:
  kiln bake --fragments assets/kiln                # beside `hugo server`

--watch keeps bake running: it bakes again when the SSG rewrites its output
(hugo --watch, jekyll build --watch) or when comments change (the database
file is watched, a receiver or PostgreSQL URL is polled), never in answer to its own writes:
  hugo --watch & kiln bake --watch public/
  kiln bake --fragments assets/kiln --watch & hugo server")]
pub struct BakeArgs {
    /// The built site to bake into (e.g. Hugo's public/)
    #[arg(value_name = "OUTPUT_DIR", required_unless_present = "fragments")]
    pub output_dir: Option<PathBuf>,
    /// Instead of baking a built site, write one fragment file per thread into DIR, for SSG dev servers (see below)
    #[arg(long, value_name = "DIR", conflicts_with_all = ["output_dir", "state", "full"])]
    pub fragments: Option<PathBuf>,
    /// Where the comments come from [default: bake.from, else the configured database]
    #[arg(long, value_name = "SOURCE")]
    pub from: Option<String>,
    /// Token for a receiver URL source
    #[arg(long, env = "KILN_TOKEN", hide_env_values = true, value_name = "TOKEN")]
    pub token: Option<String>,
    /// The site's public base URL, for page URLs in forms [default: bake.site_url, else the first of sites.origins]
    #[arg(long, value_name = "URL")]
    pub site_url: Option<String>,
    /// Whose comments to bake: a `[[sites.site]]` name, or "default" for sites.origins [default: bake.site]
    #[arg(long, value_name = "NAME")]
    pub site: Option<String>,
    /// The receiver's public URL that forms post to [default: server.public_url, or the source URL]
    #[arg(long, value_name = "URL")]
    pub receiver_url: Option<String>,
    /// Directory of templates overriding the built-in ones [default: templates.dir]
    #[arg(long, value_name = "DIR")]
    pub templates: Option<PathBuf>,
    /// Nesting levels shown before replies are shown flat [default: bake.max_depth, 4]
    #[arg(long, value_name = "N")]
    pub max_depth: Option<usize>,
    /// Write Atom feeds of the comments into the site, as `bake.feeds = true` does [default: bake.feeds, false]
    #[arg(long, conflicts_with = "fragments")]
    pub feeds: bool,
    /// Ignore what the last bake remembered and process every page
    #[arg(long)]
    pub full: bool,
    /// File where bake remembers what it wrote, to make re-bakes fast [default: in the user's cache directory]
    #[arg(long, value_name = "FILE")]
    pub state: Option<PathBuf>,
    /// Never show a progress bar
    #[arg(long)]
    pub quiet: bool,
    /// Keep running: bake again whenever the output or the comments change
    #[arg(long)]
    pub watch: bool,
    /// With --watch and a receiver URL source, check for new comments every SECONDS
    #[arg(long, value_name = "SECONDS", default_value_t = 30)]
    pub poll: u64,
}
