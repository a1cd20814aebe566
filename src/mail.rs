//! `kiln mail test`: proves the `[mail]` settings work by sending one message
//! at once and printing the SMTP server's answer (or, with the file
//! transport, the file written), or its refusal with the whole cause chain
//! (never the password).

use anyhow::{bail, Context, Result};
use kiln_receiver::config::Config;
use kiln_receiver::store::{self, Mode};

pub fn test(config: &Config, to: Option<&str>) -> Result<()> {
    if !config.mail.writes_files() && config.mail.host.is_empty() {
        bail!("mail is off: set `mail.host` (and `mail.from`) in kiln.toml or KILN_MAIL_HOST");
    }
    if !config.mail.enabled {
        bail!("mail is off: `mail.enabled` is false");
    }
    // The unsubscribe link is signed with the receiver's key, so it works.
    let mut store = store::open_at(crate::location(config), Mode::ReadWrite)?;
    let signer = kiln_receiver::mail::signer(config, store.as_mut())?;
    let report = kiln_receiver::mail::send_test(config, signer, to)
        .context("the test message was not sent")?;
    println!("{report}");
    Ok(())
}
