//! TLS to PostgreSQL, for databases that are not on this machine: hosted
//! ones (which usually insist on it) and servers across a network. The URL
//! says what is wanted the way libpq's users already write it, so a URL
//! copied from a provider's page works:
//!
//! - `sslmode=disable`: in the clear.
//! - `sslmode=prefer` (the default, as in libpq): TLS when the server offers
//!   it, without checking the certificate; in the clear otherwise. Unix
//!   sockets never use TLS.
//! - `sslmode=require`: TLS or no connection. The certificate is checked only
//!   against an `sslrootcert` the URL names (then as `verify-ca`), as libpq
//!   does.
//! - `sslmode=verify-ca`: TLS, and the certificate must chain to a trusted
//!   root; `verify-full`: that, and it must name the host connected to.
//! - `sslrootcert=PATH` (PEM) names the roots to trust; without it, or with
//!   `sslrootcert=system`, the public web's roots (webpki-roots) are used.
//!
//! The driver itself knows only `disable`, `prefer` and `require` and no
//! `sslrootcert`, so `split` takes kiln's parameters out of the URL before
//! the driver parses the rest. rustls with ring does the work, as it does for
//! kiln's SMTP and HTTP clients: no OpenSSL.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{anyhow, bail, Context, Result};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::crypto::{verify_tls12_signature, verify_tls13_signature, CryptoProvider};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{
    CertificateError, ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme,
};
use tokio_postgres_rustls::MakeRustlsConnect;

/// Whether to speak TLS at all, in the driver's terms.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Disable,
    Prefer,
    Require,
}

/// How much of the server's certificate is checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Check {
    /// Nothing: encryption against eavesdroppers, not against a man in the
    /// middle (libpq's `prefer` and `require`).
    Nothing,
    /// The chain up to a trusted root, whatever name it carries.
    Chain,
    /// The chain, and the host name (or address) connected to.
    Full,
}

/// Where trusted roots come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Roots {
    /// The public web's roots, built into kiln.
    Public,
    /// A PEM file of root certificates (`sslrootcert`).
    File(PathBuf),
}

/// What a URL asks of TLS.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tls {
    pub mode: Mode,
    pub check: Check,
    pub roots: Roots,
}

/// Takes `sslmode` and `sslrootcert` out of `url`'s query; returns the URL
/// the driver is to parse (with `sslmode` in a form it knows) and what TLS
/// it asks for. Errors name the parameter and never include the URL.
pub fn split(url: &str) -> Result<(String, Tls)> {
    let (base, query) = match url.split_once('?') {
        Some((base, query)) => (base, query),
        None => (url, ""),
    };
    let (query, fragment) = match query.split_once('#') {
        Some((query, fragment)) => (query, Some(fragment)),
        None => (query, None),
    };
    let mut mode = None;
    let mut rootcert = None;
    let mut kept = Vec::new();
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        match key {
            "sslmode" => mode = Some(decode(value)),
            "sslrootcert" => rootcert = Some(decode(value)),
            _ => kept.push(pair),
        }
    }
    let roots = match rootcert.as_deref() {
        None | Some("system") => Roots::Public,
        Some("") => bail!("`database.url`: sslrootcert is empty; name a PEM file of root certificates, or `system`"),
        Some(path) => Roots::File(PathBuf::from(path)),
    };
    let named_roots = matches!(roots, Roots::File(_));
    let (mode, check) = match mode.as_deref() {
        None | Some("prefer") | Some("allow") => (Mode::Prefer, Check::Nothing),
        Some("disable") => (Mode::Disable, Check::Nothing),
        Some("require") if named_roots => (Mode::Require, Check::Chain),
        Some("require") => (Mode::Require, Check::Nothing),
        Some("verify-ca") => (Mode::Require, Check::Chain),
        Some("verify-full") => (Mode::Require, Check::Full),
        Some(other) => bail!(
            "`database.url`: sslmode={other} is not one kiln knows; use disable, prefer, require, verify-ca or verify-full"
        ),
    };
    kept.push(match mode {
        Mode::Disable => "sslmode=disable",
        Mode::Prefer => "sslmode=prefer",
        Mode::Require => "sslmode=require",
    });
    let mut rebuilt = format!("{base}?{}", kept.join("&"));
    if let Some(fragment) = fragment {
        rebuilt.push('#');
        rebuilt.push_str(fragment);
    }
    Ok((rebuilt, Tls { mode, check, roots }))
}

/// `%XX` escapes decoded, for a query value such as a file path.
fn decode(value: &str) -> String {
    super::connect::percent_decode(value)
}

impl Tls {
    /// The connector the driver uses; `None` to connect in the clear.
    pub fn connector(&self) -> Result<Option<MakeRustlsConnect>> {
        if self.mode == Mode::Disable {
            return Ok(None);
        }
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let verifier: Arc<dyn ServerCertVerifier> = match self.check {
            Check::Nothing => Arc::new(Unchecked(provider.clone())),
            Check::Chain => Arc::new(ChainOnly(self.webpki(&provider)?)),
            Check::Full => self.webpki(&provider)?,
        };
        let config = ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .context("TLS to PostgreSQL: no protocol version in common")?
            .dangerous()
            .with_custom_certificate_verifier(verifier)
            .with_no_client_auth();
        Ok(Some(MakeRustlsConnect::new(config)))
    }

    fn webpki(&self, provider: &Arc<CryptoProvider>) -> Result<Arc<WebPkiServerVerifier>> {
        let mut roots = RootCertStore::empty();
        match &self.roots {
            Roots::Public => roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned()),
            Roots::File(path) => {
                let certs = CertificateDer::pem_file_iter(path)
                    .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
                    .map_err(|e| {
                        anyhow!(
                            "`database.url`: cannot read sslrootcert {}: {e}",
                            path.display()
                        )
                    })?;
                if certs.is_empty() {
                    bail!(
                        "`database.url`: sslrootcert {} holds no PEM certificate",
                        path.display()
                    );
                }
                for cert in certs {
                    roots.add(cert).map_err(|e| {
                        anyhow!(
                            "`database.url`: sslrootcert {} holds a certificate kiln cannot use: {e}",
                            path.display()
                        )
                    })?;
                }
            }
        }
        WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider.clone())
            .build()
            .map_err(|e| anyhow!("`database.url`: cannot check certificates: {e}"))
    }
}

/// Accepts any certificate, but still checks that the server holds its key:
/// what libpq's `prefer` and `require` promise, and no more.
#[derive(Debug)]
struct Unchecked(Arc<CryptoProvider>);

impl ServerCertVerifier for Unchecked {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// The full check, except that a certificate for another name passes:
/// `verify-ca`.
#[derive(Debug)]
struct ChainOnly(Arc<WebPkiServerVerifier>);

impl ServerCertVerifier for ChainOnly {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        match self
            .0
            .verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now)
        {
            Err(rustls::Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.supported_verify_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tls(url: &str) -> (String, Tls) {
        split(url).unwrap()
    }

    #[test]
    fn libpq_modes_map_to_what_they_promise() {
        let (url, t) = tls("postgres://k@db/kiln");
        assert_eq!(url, "postgres://k@db/kiln?sslmode=prefer");
        assert_eq!((t.mode, t.check), (Mode::Prefer, Check::Nothing));
        let (_, t) = tls("postgres://k@db/kiln?sslmode=disable");
        assert_eq!(t.mode, Mode::Disable);
        let (_, t) = tls("postgres://k@db/kiln?sslmode=require");
        assert_eq!((t.mode, t.check), (Mode::Require, Check::Nothing));
        let (url, t) = tls("postgres://k@db/kiln?sslmode=require&sslrootcert=%2Fetc%2Fca.pem");
        assert_eq!(url, "postgres://k@db/kiln?sslmode=require");
        assert_eq!((t.mode, t.check), (Mode::Require, Check::Chain));
        assert_eq!(t.roots, Roots::File("/etc/ca.pem".into()));
        let (_, t) = tls("postgres://k@db/kiln?sslmode=verify-ca");
        assert_eq!(
            (t.mode, t.check, t.roots),
            (Mode::Require, Check::Chain, Roots::Public)
        );
        let (url, t) =
            tls("postgres://k@db/kiln?application_name=x&sslmode=verify-full&sslrootcert=system");
        assert_eq!(
            url,
            "postgres://k@db/kiln?application_name=x&sslmode=require"
        );
        assert_eq!(
            (t.mode, t.check, t.roots),
            (Mode::Require, Check::Full, Roots::Public)
        );
    }

    #[test]
    fn unknown_modes_and_empty_roots_are_refused_by_name() {
        let err = split("postgres://k:secret@db/kiln?sslmode=strict")
            .unwrap_err()
            .to_string();
        assert!(err.contains("sslmode=strict"), "{err}");
        assert!(err.contains("verify-full"), "{err}");
        assert!(!err.contains("secret"), "{err}");
        let err = split("postgres://k@db/kiln?sslrootcert=")
            .unwrap_err()
            .to_string();
        assert!(err.contains("sslrootcert"), "{err}");
    }

    #[test]
    fn a_roots_file_that_cannot_be_used_says_so() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("none.pem");
        let t = Tls {
            mode: Mode::Require,
            check: Check::Full,
            roots: Roots::File(missing.clone()),
        };
        let err = t.connector().err().unwrap().to_string();
        assert!(err.contains("cannot read sslrootcert"), "{err}");
        let empty = dir.path().join("empty.pem");
        std::fs::write(&empty, "not a certificate\n").unwrap();
        let t = Tls {
            roots: Roots::File(empty),
            ..t
        };
        let err = t.connector().err().unwrap().to_string();
        assert!(err.contains("holds no PEM certificate"), "{err}");
    }

    /// Against the test cluster's TLS listener (scripts/pg-cluster): its
    /// certificate names `localhost` and 127.0.0.1, not 127.0.0.2, and is
    /// signed by a CA of its own.
    mod against_a_server {
        use crate::store::postgres::connect::Target;
        use crate::store::postgres::scratch::tls_server_url;

        /// The test URL with another host and query.
        fn variant(url: &str, host: &str, query: &str) -> String {
            let (_, rest) = url.split_once("@localhost:").unwrap();
            let (port_and_db, old_query) = rest.split_once('?').unwrap();
            let ca = old_query
                .split('&')
                .find_map(|p| p.strip_prefix("sslrootcert="))
                .unwrap();
            let query = query.replace("{ca}", ca);
            format!("postgres://kiln@{host}:{port_and_db}?{query}")
        }

        /// Whether the session runs over TLS, as the server sees it.
        fn encrypted(url: &str) -> Result<bool, String> {
            let target = Target::parse(url, "").map_err(|e| format!("{e:#}"))?;
            let mut conn = target.connect().map_err(|e| format!("{e:#}"))?;
            let row = conn
                .query_one(
                    "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()",
                    &[],
                )
                .map_err(|e| e.to_string())?;
            Ok(row.get(0))
        }

        #[test]
        fn verify_full_connects_to_the_names_the_certificate_carries() {
            let Some(url) = tls_server_url() else { return };
            assert_eq!(encrypted(&url), Ok(true), "{url}");
            let by_address = variant(&url, "127.0.0.1", "sslmode=verify-full&sslrootcert={ca}");
            assert_eq!(encrypted(&by_address), Ok(true));
        }

        #[test]
        fn verify_full_refuses_another_name_and_verify_ca_accepts_it() {
            let Some(url) = tls_server_url() else { return };
            let other = variant(&url, "127.0.0.2", "sslmode=verify-full&sslrootcert={ca}");
            let err = encrypted(&other).unwrap_err();
            assert!(
                err.contains("cannot connect to PostgreSQL at kiln@127.0.0.2"),
                "{err}"
            );
            assert!(err.contains("certificate"), "{err}");
            assert!(!err.contains('\n'), "one line: {err}");
            let chain_only = variant(&url, "127.0.0.2", "sslmode=verify-ca&sslrootcert={ca}");
            assert_eq!(encrypted(&chain_only), Ok(true));
            // `require` with a CA named checks the chain too, as in libpq.
            let require = variant(&url, "127.0.0.2", "sslmode=require&sslrootcert={ca}");
            assert_eq!(encrypted(&require), Ok(true));
        }

        #[test]
        fn a_certificate_from_an_unknown_ca_is_refused_with_what_to_do() {
            let Some(url) = tls_server_url() else { return };
            // The public roots do not know the test CA.
            let public = variant(&url, "localhost", "sslmode=verify-full");
            let err = encrypted(&public).unwrap_err();
            assert!(err.contains("sslrootcert"), "says what to set: {err}");
            let system = variant(&url, "localhost", "sslmode=verify-ca&sslrootcert=system");
            assert!(encrypted(&system).is_err());
        }

        #[test]
        fn require_and_prefer_encrypt_without_checking_and_disable_does_not() {
            let Some(url) = tls_server_url() else { return };
            let require = variant(&url, "127.0.0.2", "sslmode=require");
            assert_eq!(encrypted(&require), Ok(true));
            let prefer = variant(&url, "127.0.0.2", "");
            assert_eq!(encrypted(&prefer), Ok(true));
            let disable = variant(&url, "localhost", "sslmode=disable");
            assert_eq!(encrypted(&disable), Ok(false));
        }
    }
}
