//! The `kiln` binary: parses the command line, loads the configuration, runs
//! one subcommand, and turns its outcome into an exit code. Errors are
//! printed with their whole cause chain.

mod backup;
mod bake;
mod cli;
mod demo;
mod healthcheck;
mod import;
mod init;
mod mail;
mod moderate;
mod site_config;
mod store_cmd;
mod watch;

use std::io::{IsTerminal, Write};
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::Parser;
use kiln_receiver::config::Config;
use kiln_receiver::store::Location;

use cli::{Cli, Command};

/// Bad usage or invalid configuration; clap uses 2 for usage errors too.
const EXIT_USAGE: u8 = 2;

/// An error that is the user's configuration or arguments, not a failure.
#[derive(Debug)]
struct UsageError;

impl std::fmt::Display for UsageError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("invalid configuration")
    }
}

impl std::error::Error for UsageError {}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) if is_broken_pipe(&err) => ExitCode::SUCCESS,
        Err(err) => {
            // UsageError is only ever the outermost context: it sets the
            // exit code and is not worth a line of its own.
            let usage = err.downcast_ref::<UsageError>().is_some();
            let mut stderr = std::io::stderr().lock();
            let mut chain = err.chain().skip(usize::from(usage));
            if let Some(first) = chain.next() {
                let _ = writeln!(stderr, "Error: {first}");
            }
            for cause in chain {
                let _ = writeln!(stderr, "Reason: {cause}");
            }
            if usage {
                ExitCode::from(EXIT_USAGE)
            } else {
                ExitCode::FAILURE
            }
        }
    }
}

fn run(cli: Cli) -> Result<()> {
    // `init` prepares a site that may have no (valid) kiln.toml yet.
    if let Command::Init(args) = cli.command {
        return init::run(args);
    }
    // `demo` runs on its own settings, whatever kiln.toml says.
    if let Command::Demo(args) = cli.command {
        return demo::run(args);
    }
    // `healthcheck` reads only server.listen, and answers 0 or 1 whatever
    // goes wrong (container runtimes reserve 2): see `healthcheck`.
    if let Command::Healthcheck(args) = &cli.command {
        return healthcheck(args, cli.global.config.as_deref());
    }
    let mut config = Config::load(cli.global.config.as_deref()).context(UsageError)?;
    // `--db` names an SQLite file, or a PostgreSQL database by its URL.
    if let Some(db) = &cli.global.db {
        match Location::from_arg(db) {
            Location::Sqlite(path) => config.database.use_sqlite(path.to_owned()),
            Location::Postgres { url, .. } => config.database.use_postgres(url),
        }
    }
    // A copy names both of its databases on the command line; of
    // `[database]` it takes only the password (for a URL without one).
    if let Command::Store(cli::StoreCommand::Copy(args)) = &cli.command {
        let password = std::mem::take(&mut config.database.password);
        config.database = Default::default();
        config.validate().context(UsageError)?;
        return store_cmd::copy(args, &password);
    }
    if let Command::Serve(args) = &cli.command {
        if let Some(listen) = &args.listen {
            config.server.listen = listen.clone();
        }
        if !args.origins.is_empty() {
            config.sites.origins = args.origins.clone();
        }
        if let Some(url) = &args.public_url {
            config.server.public_url = url.clone();
        }
    }
    // Every command checks the whole configuration: a typo in a key that one
    // command ignores would otherwise surface later, somewhere else.
    config.validate().context(UsageError)?;
    if let Command::Store(cli::StoreCommand::Migrate) = &cli.command {
        return store_cmd::migrate(&config);
    }
    match cli.command {
        Command::Serve(_) => serve(config),
        Command::Queue(args) => moderate::queue(&config, args.limit, args.site.as_deref()),
        Command::Approve(args) => moderate::approve(&config, &args.ids),
        Command::Reject(args) => moderate::reject(&config, &args.ids),
        Command::Delete(args) => moderate::delete(&config, &args.ids),
        Command::Spam(args) => moderate::spam(&config, &args.ids),
        Command::NotSpam(args) => moderate::not_spam(&config, &args.ids),
        Command::Show(args) => moderate::show(&config, args.id),
        Command::Admin(cli::AdminCommand::SetPassword { moderator }) => {
            moderate::set_password(&config, moderator.as_deref())
        }
        Command::Admin(cli::AdminCommand::Moderators) => moderate::moderators(&config),
        Command::Mail(cli::MailCommand::Test(args)) => mail::test(&config, args.to.as_deref()),
        Command::Export(args) => moderate::export(
            &config,
            args.output.as_deref(),
            args.email.as_deref(),
            &args.site,
        ),
        Command::Forget(args) => moderate::forget(&config, &args.email),
        Command::Import(args) => import::run(&config, args),
        Command::Bake(args) => bake::run(&config, args),
        Command::Backup(args) => backup::backup(&config, &args),
        Command::Restore(args) => backup::restore(&config, &args),
        Command::Init(_) | Command::Demo(_) | Command::Store(_) | Command::Healthcheck(_) => {
            unreachable!("handled before the configuration is checked")
        }
    }
}

fn serve(config: Config) -> Result<()> {
    init_logs("info");
    let runtime = tokio::runtime::Runtime::new().context("cannot start the async runtime")?;
    let served = runtime.block_on(async move {
        let addr = config.listen_addr()?;
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .with_context(|| format!("cannot listen on {addr}"))?;
        kiln_receiver::http::launch(config, listener, shutdown_signal()).await
    });
    // A mail delivery may be waiting on a slow SMTP server. Its message stays
    // in the outbox until it is sent, so the next start retries it: do not
    // hold the exit for it.
    runtime.shutdown_timeout(std::time::Duration::from_secs(1));
    served
}

/// Logs go to stdout: human-readable by default, one JSON object per line
/// with KILN_LOG_FORMAT=json for log collectors. KILN_LOG sets the level
/// (`default` when unset).
fn init_logs(default: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("KILN_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let logs = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stdout);
    if std::env::var("KILN_LOG_FORMAT").is_ok_and(|f| f.eq_ignore_ascii_case("json")) {
        logs.json().init();
    } else {
        logs.with_ansi(std::io::stdout().is_terminal()).init();
    }
}

/// Resolves on Ctrl-C or SIGTERM, so in-flight requests finish cleanly.
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
    tracing::info!("shutting down");
}

/// Runs `kiln healthcheck` and exits with its verdict: 0 and the answer on
/// stdout, or 1 and one line on stderr (the cause chain joined, not the
/// usual one line per cause), since a health check's output is shown as one
/// line by `podman inspect` and `docker inspect`.
fn healthcheck(args: &cli::HealthcheckArgs, config: Option<&std::path::Path>) -> Result<()> {
    match healthcheck::run(args, config) {
        Ok(line) => {
            println!("healthy: {line}");
            Ok(())
        }
        Err(err) => {
            eprintln!("unhealthy: {err:#}");
            std::process::exit(1);
        }
    }
}

/// The configured database, for the commands to open.
pub(crate) fn location(config: &Config) -> Location<'_> {
    let db = &config.database;
    Location::new(&db.path, &db.url, &db.password)
}

/// Refuses a `--site` that names no site of this configuration.
pub(crate) fn known_site(config: &Config, site: &str) -> anyhow::Result<()> {
    if !config.sites.knows(site) {
        anyhow::bail!(
            "--site {site:?} is not a site of this configuration; name one of {:?}",
            config.sites.names()
        );
    }
    Ok(())
}

fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|c| {
        c.downcast_ref::<std::io::Error>()
            .is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe)
    })
}
