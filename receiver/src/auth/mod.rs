//! Sign-in with an OpenID Connect provider (issue 19), for commenters and
//! moderators: the authorization code flow with PKCE, a nonce and a state,
//! through the `openidconnect` crate, which checks the ID token's
//! signature, issuer, audience, nonce and expiry. This module knows nothing
//! of HTTP: `http::signin` turns its answers into redirects and pages.
//!
//! A login waiting for its callback (`Pending`: the PKCE verifier, the
//! nonce, where to go back to) is kept in memory under its state, taken out
//! by the first callback that names it and dropped after ten minutes. In
//! memory rather than in a cookie because single use is then a map
//! removal, with nothing a replayed callback could bring back; the price is
//! that with several replicas the callback must reach the receiver that
//! sent the reader away (sticky sessions), which docs/signin.md says.
//!
//! A commenter's session is a signed, expiring cookie (`session`); a
//! moderator's becomes an ordinary admin session in the store, so the admin
//! page's logout, expiry and CSRF apply unchanged.

pub mod session;

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use anyhow::{anyhow, Context, Result};
use base64::Engine;
use openidconnect::core::{CoreAuthenticationFlow, CoreClient, CoreProviderMetadata};
use openidconnect::{
    AuthorizationCode, ClientId, ClientSecret, CsrfToken, EndpointMaybeSet, EndpointNotSet,
    EndpointSet, IssuerUrl, Nonce, PkceCodeChallenge, PkceCodeVerifier, RedirectUrl, Scope,
    TokenResponse,
};

use crate::config::{Auth as AuthConfig, Config};

pub use session::{Identity, SESSION_COOKIE};

/// How long a login may wait for its callback.
const PENDING_TTL: Duration = Duration::from_secs(600);
/// Most logins waiting at once; past that new ones are refused until some
/// expire, so a flood of `/auth/login` cannot fill the memory.
const MAX_PENDING: usize = 10_000;

/// The client as discovery makes it: an authorization endpoint, and a token
/// and user-info endpoint if the provider has them.
type Client = CoreClient<
    EndpointSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointMaybeSet,
    EndpointMaybeSet,
>;

/// Where a finished login goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Return {
    /// Back to a page of a configured site (already checked), signed in.
    Page(String),
    /// To the admin page, if the identity is a moderator's.
    Admin,
}

struct Pending {
    verifier: PkceCodeVerifier,
    nonce: Nonce,
    to: Return,
    since: Instant,
}

/// Why a callback did not sign anyone in.
#[derive(Debug, thiserror::Error)]
pub enum Refused {
    /// No login waits under this state: forged, used already, or expired.
    #[error("this sign-in is unknown, was finished already or took longer than ten minutes; start again")]
    UnknownState,
    /// The provider said no (the reader cancelled, or it refused).
    #[error("the provider did not sign you in ({0}); start again")]
    Provider(String),
    /// The code or the ID token was refused.
    #[error("the sign-in could not be verified ({0}); start again")]
    Invalid(String),
    /// Too many logins are waiting.
    #[error("too many sign-ins are in progress; try again in a few minutes")]
    Busy,
}

/// Sign-in as the receiver runs it.
pub struct SignIn {
    config: AuthConfig,
    redirect: RedirectUrl,
    http: reqwest::Client,
    /// Discovered on the first login, so a provider that is down at
    /// start-up does not stop the receiver.
    client: tokio::sync::OnceCell<Client>,
    pending: Mutex<HashMap<String, Pending>>,
}

impl SignIn {
    /// Sign-in for `config`, or None when `auth.issuer` is empty.
    pub fn new(config: &Config, public_url: &str) -> Result<Option<Self>> {
        if !config.auth.oidc_on() {
            return Ok(None);
        }
        let redirect = RedirectUrl::new(format!(
            "{}/auth/callback",
            public_url.trim_end_matches('/')
        ))
        .context("server.public_url does not make a callback URL")?;
        let http = reqwest::Client::builder()
            // The library's advice: following a redirect could leak a code.
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(15))
            .build()
            .context("cannot build the HTTP client for the OpenID provider")?;
        Ok(Some(SignIn {
            config: config.auth.clone(),
            redirect,
            http,
            client: tokio::sync::OnceCell::new(),
            pending: Mutex::new(HashMap::new()),
        }))
    }

    async fn client(&self) -> Result<&Client> {
        self.client
            .get_or_try_init(|| async {
                let issuer = IssuerUrl::new(self.config.issuer.clone())
                    .context("`auth.issuer` is not a URL")?;
                let metadata = CoreProviderMetadata::discover_async(issuer, &self.http)
                    .await
                    .map_err(|e| {
                        anyhow!("OpenID discovery at {} failed: {e}", self.config.issuer)
                    })?;
                let secret = (!self.config.client_secret.is_empty())
                    .then(|| ClientSecret::new(self.config.client_secret.clone()));
                Ok(CoreClient::from_provider_metadata(
                    metadata,
                    ClientId::new(self.config.client_id.clone()),
                    secret,
                )
                .set_redirect_uri(self.redirect.clone()))
            })
            .await
    }

    /// Starts a login: remembers it and answers the provider URL to send
    /// the reader to.
    pub async fn start(&self, to: Return) -> Result<Result<String, Refused>> {
        let client = self.client().await?;
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let mut request = client
            .authorize_url(
                CoreAuthenticationFlow::AuthorizationCode,
                CsrfToken::new_random,
                Nonce::new_random,
            )
            .set_pkce_challenge(challenge);
        for scope in &self.config.scopes {
            request = request.add_scope(Scope::new(scope.clone()));
        }
        let (url, state, nonce) = request.url();
        let mut pending = self.pending.lock().expect("pending logins lock");
        pending.retain(|_, p| p.since.elapsed() < PENDING_TTL);
        if pending.len() >= MAX_PENDING {
            return Ok(Err(Refused::Busy));
        }
        pending.insert(
            state.secret().clone(),
            Pending {
                verifier,
                nonce,
                to,
                since: Instant::now(),
            },
        );
        Ok(Ok(url.to_string()))
    }

    /// Finishes a login from the callback's `state` and `code` (or the
    /// provider's `error`): the state is taken (once), the code exchanged
    /// with the PKCE verifier, and the ID token verified.
    pub async fn finish(
        &self,
        state: &str,
        code: Option<&str>,
        error: Option<&str>,
    ) -> Result<(Identity, Return), Refused> {
        let pending = {
            let mut map = self.pending.lock().expect("pending logins lock");
            map.remove(state)
        }
        .filter(|p| p.since.elapsed() < PENDING_TTL)
        .ok_or(Refused::UnknownState)?;
        if let Some(error) = error {
            return Err(Refused::Provider(short(error)));
        }
        let code = code
            .filter(|c| !c.is_empty())
            .ok_or_else(|| Refused::Provider("no code".into()))?;
        let client = self
            .client()
            .await
            .map_err(|e| Refused::Invalid(e.to_string()))?;
        let tokens = client
            .exchange_code(AuthorizationCode::new(code.to_owned()))
            .map_err(|e| Refused::Invalid(e.to_string()))?
            .set_pkce_verifier(pending.verifier)
            .request_async(&self.http)
            .await
            .map_err(|e| {
                Refused::Invalid(format!("the code was refused: {}", short(&e.to_string())))
            })?;
        let id_token = tokens
            .id_token()
            .ok_or_else(|| Refused::Invalid("the provider sent no ID token".into()))?;
        let claims = id_token
            .claims(&client.id_token_verifier(), &pending.nonce)
            .map_err(|e| Refused::Invalid(format!("the ID token was refused: {e}")))?;
        let email = claims.email().map(|e| e.as_str().to_owned());
        let name = claims
            .name()
            .and_then(|n| n.get(None))
            .map(|n| n.as_str().to_owned())
            .or_else(|| claims.preferred_username().map(|u| u.as_str().to_owned()))
            .or_else(|| email.clone())
            .unwrap_or_else(|| claims.subject().as_str().to_owned());
        // The groups are not a standard claim: read from the token's
        // payload, which the line above has just verified.
        let groups = groups_in(&id_token.to_string(), &self.config.groups_claim);
        let identity = Identity {
            subject: claims.subject().as_str().to_owned(),
            name: name.chars().take(100).collect(),
            email,
            groups,
        };
        Ok((identity, pending.to))
    }

    /// Whether `who` may use the admin page.
    pub fn is_moderator(&self, who: &Identity) -> bool {
        self.config.moderators.contains(&who.subject)
            || (!self.config.moderator_group.is_empty()
                && who.groups.contains(&self.config.moderator_group))
    }
}

/// Whether `who`'s comments skip moderation (`auth.trusted` names their
/// subject or their e-mail address).
pub fn is_trusted(config: &AuthConfig, who: &Identity) -> bool {
    config
        .trusted
        .iter()
        .any(|t| *t == who.subject || who.email.as_deref() == Some(t.as_str()))
}

/// The strings in claim `name` of a JWT's payload (a list, or one string).
fn groups_in(jwt: &str, name: &str) -> Vec<String> {
    let Some(payload) = jwt.split('.').nth(1) else {
        return Vec::new();
    };
    let Ok(bytes) = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(payload) else {
        return Vec::new();
    };
    let Ok(value) = serde_json::from_slice::<serde_json::Value>(&bytes) else {
        return Vec::new();
    };
    match value.get(name) {
        Some(serde_json::Value::Array(items)) => items
            .iter()
            .filter_map(|g| g.as_str().map(str::to_owned))
            .collect(),
        Some(serde_json::Value::String(one)) => vec![one.clone()],
        _ => Vec::new(),
    }
}

/// A provider's words, kept short for a page.
fn short(text: &str) -> String {
    text.chars().take(200).collect()
}

/// The identity a trusted reverse proxy names in `auth.proxy_header`, if
/// the request came from one of `auth.proxy_addresses` and the header is
/// there; anything else is ignored, whoever sent it.
pub fn proxy_identity(
    config: &AuthConfig,
    peer: std::net::IpAddr,
    headers: &axum::http::HeaderMap,
) -> Option<String> {
    if config.proxy_header.is_empty() {
        return None;
    }
    if !config.proxy_ranges().iter().any(|r| r.contains(peer)) {
        return None;
    }
    let value = headers
        .get(config.proxy_header.as_str())?
        .to_str()
        .ok()?
        .trim();
    if value.is_empty() {
        return None;
    }
    // An empty `moderators` list leaves the choice to the proxy.
    (config.moderators.is_empty() || config.moderators.iter().any(|m| m == value))
        .then(|| value.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn auth(text: &str) -> AuthConfig {
        let config = Config::parse(text).unwrap();
        config.validate().unwrap();
        config.auth
    }

    #[test]
    fn the_proxy_header_counts_only_from_proxy_addresses() {
        let config =
            auth("[auth]\nproxy_header = \"X-Forwarded-User\"\nproxy_addresses = [\"10.0.0.0/8\"]");
        let mut headers = axum::http::HeaderMap::new();
        headers.insert("x-forwarded-user", "ann".parse().unwrap());
        let proxy = "10.1.2.3".parse().unwrap();
        let elsewhere = "192.0.2.1".parse().unwrap();
        assert_eq!(
            proxy_identity(&config, proxy, &headers).as_deref(),
            Some("ann")
        );
        assert_eq!(proxy_identity(&config, elsewhere, &headers), None);
        assert_eq!(proxy_identity(&config, proxy, &Default::default()), None);
        let listed = auth(
            "[auth]\nproxy_header = \"X-Forwarded-User\"\nproxy_addresses = [\"10.0.0.0/8\"]\nmoderators = [\"bob\"]",
        );
        assert_eq!(
            proxy_identity(&listed, proxy, &headers),
            None,
            "ann is no moderator"
        );
        let off = auth("");
        assert_eq!(proxy_identity(&off, proxy, &headers), None);
    }

    #[test]
    fn groups_are_read_as_a_list_or_one_string() {
        let encode = |json: &str| {
            format!(
                "e30.{}.sig",
                base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(json)
            )
        };
        assert_eq!(
            groups_in(&encode(r#"{"groups":["a","b"]}"#), "groups"),
            ["a", "b"]
        );
        assert_eq!(groups_in(&encode(r#"{"roles":"mods"}"#), "roles"), ["mods"]);
        assert!(groups_in(&encode(r#"{"groups":7}"#), "groups").is_empty());
        assert!(groups_in("not a token", "groups").is_empty());
    }

    #[test]
    fn trusted_names_a_subject_or_an_email() {
        let config = auth(
            "[auth]\nissuer = \"https://id.example.org\"\nclient_id = \"k\"\ntrusted = [\"s-1\", \"bo@example.org\"]",
        );
        let who = |subject: &str, email: Option<&str>| Identity {
            subject: subject.into(),
            name: "N".into(),
            email: email.map(str::to_owned),
            groups: vec![],
        };
        assert!(is_trusted(&config, &who("s-1", None)));
        assert!(is_trusted(&config, &who("s-2", Some("bo@example.org"))));
        assert!(!is_trusted(&config, &who("s-2", Some("eve@example.org"))));
    }
}
