//! Sign-in (issue 19) against a real OpenID provider on loopback: the npm
//! package oidc-provider, run by tests/oidc_provider.mjs, with the real
//! `kiln serve` and real Chromium filling in the provider's login and
//! consent pages, JavaScript off and on, from the baked Hugo example's own
//! form. A signed-in comment is stored under the verified name (the form's
//! is ignored) with its subject, is baked with the "verified" marker and,
//! trusted, skips moderation; the reader signs out again;
//! `comments = "signed-in"` refuses an anonymous post keeping its text; the
//! admin page takes a moderator by OIDC and refuses anyone else, and a
//! subject a site's `moderators` lists signs in to that site alone; the
//! script shows a signed-in post verified at once. Over plain HTTP: a forged state, a replayed callback and a code
//! issued to another client are refused; the proxy header counts only from
//! `auth.proxy_addresses`.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use crate::support::browser::{Browser, BrowserOptions};
use crate::support::themed::installed_tool;
use crate::support::*;

/// The provider process; killed on drop.
struct Provider {
    child: Child,
    stdin: ChildStdin,
    lines: mpsc::Receiver<String>,
    issuer: String,
}

impl Provider {
    /// Starts oidc-provider on a free port, or `None` (a panic where tools
    /// are required) when scripts/install-tools has not installed it.
    fn start() -> Option<Provider> {
        let modules = installed_tool("oidc-provider/node_modules/oidc-provider")?;
        let modules = modules.parent().unwrap().parent().unwrap().to_owned();
        let mut child = Command::new("node")
            .arg(repo_root().join("tests").join("oidc_provider.mjs"))
            .env("OIDC_PROVIDER_MODULES", &modules)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start node tests/oidc_provider.mjs");
        let stdin = child.stdin.take().unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        let first = lines
            .recv_timeout(Duration::from_secs(30))
            .expect("the provider prints its issuer");
        let issuer = first.strip_prefix("issuer ").expect(&first).to_owned();
        Some(Provider {
            child,
            stdin,
            lines,
            issuer,
        })
    }

    /// Registers the receiver's callback and waits until the provider serves.
    fn serve(&mut self, receiver: &Receiver) {
        writeln!(self.stdin, "{}/auth/callback", receiver.url).unwrap();
        let ready = self
            .lines
            .recv_timeout(Duration::from_secs(30))
            .expect("the provider says it is ready");
        assert_eq!(ready, "ready");
    }
}

impl Drop for Provider {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A site with one page to come back to, a provider, and a receiver
/// signing in with the provider's `kiln` client plus `extra` settings.
struct Setup {
    _tmp: tempfile::TempDir,
    site: StaticSite,
    provider: Provider,
    receiver: Receiver,
}

fn setup(extra: &[(&str, &str)]) -> Option<Setup> {
    setup_with_toml(extra, "")
}

/// `setup`, with this kiln.toml in the receiver's directory.
fn setup_with_toml(extra: &[(&str, &str)], kiln_toml: &str) -> Option<Setup> {
    let mut provider = Provider::start()?;
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("kiln.toml"), kiln_toml).unwrap();
    let root = tmp.path().join("site");
    std::fs::create_dir_all(root.join("posts/a")).unwrap();
    let site = StaticSite::serve(&root);
    let db = Db::fresh(tmp.path());
    let issuer = provider.issuer.clone();
    let mut env = auth_env(&issuer);
    env.extend_from_slice(extra);
    let receiver = Receiver::start(ReceiverOptions {
        dir: tmp.path(),
        db: &db,
        origin: &site.url,
        token: None,
        extra_env: &env,
    });
    provider.serve(&receiver);
    let page =
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>A</title></head>\
                <body><p>A page to come back to.</p></body></html>";
    std::fs::write(root.join("posts/a/index.html"), page).unwrap();
    Some(Setup {
        _tmp: tmp,
        site,
        provider,
        receiver,
    })
}

/// Fills in the provider's development login and consent pages in Chromium.
fn sign_in_at_provider(browser: &Browser, issuer: &str, login: &str) {
    eventually("the provider's login page", Duration::from_secs(30), || {
        (browser.current_url().unwrap().starts_with(issuer)
            && browser.exists("input[name=login]").unwrap())
        .then_some(())
    });
    browser.fill("input[name=login]", login).unwrap();
    browser.fill("input[name=password]", "any").unwrap();
    browser.click("button[type=submit]").unwrap();
    eventually("the consent page", Duration::from_secs(30), || {
        browser
            .exists("input[name=prompt][value=consent]")
            .unwrap()
            .then_some(())
    });
    browser.click("button[type=submit]").unwrap();
}

fn comment_row(receiver: &Receiver, text: &str) -> Option<(String, String, Option<String>)> {
    peek(&receiver.db)
        .row(
            "SELECT author, status, identity_subject FROM comments WHERE text = $1",
            &[text.into()],
        )
        .map(|r| (r[0].text(), r[1].text(), r[2].opt_text()))
}

/// The settings that turn sign-in on with the provider's `kiln` client.
fn auth_env(issuer: &str) -> Vec<(&str, &str)> {
    vec![
        ("KILN_AUTH_ISSUER", issuer),
        ("KILN_AUTH_CLIENT_ID", "kiln"),
        ("KILN_AUTH_CLIENT_SECRET", "kiln-secret"),
        ("KILN_AUTH_SCOPES", "profile,email,groups"),
    ]
}

#[test]
fn a_reader_signs_in_and_comments_under_the_verified_name_with_and_without_javascript() {
    for javascript in [false, true] {
        let Some(mut provider) = Provider::start() else {
            return;
        };
        let issuer = provider.issuer.clone();
        let mut env = auth_env(&issuer);
        env.extend([
            ("KILN_AUTH_COMMENTS", "signed-in"),
            ("KILN_AUTH_TRUSTED", "ann"),
        ]);
        // The Hugo example, baked with the same settings: its form carries
        // the sign-in link, and kiln.js when JavaScript runs.
        let Some(served) = ServedSite::start_with(&env) else {
            return;
        };
        provider.serve(&served.receiver);
        served.bake_with_env(&env, None, "state.bin");
        let page = served.page("/posts/hello-world/");

        // Anonymous: refused, the text kept, the way to sign in named.
        let anonymous = format!("Anonymous words, javascript {javascript}");
        let (status, _, body) = post_form(
            &served.receiver,
            &[
                ("thread", "/posts/hello-world/"),
                ("url", &page),
                ("name", "Anon"),
                ("text", &anonymous),
            ],
        );
        assert_eq!(status, 422, "{body}");
        assert!(body.contains(&anonymous), "the text is kept: {body}");
        assert!(body.contains("/auth/login?return="), "{body}");
        assert_eq!(comment_row(&served.receiver, &anonymous), None);

        let Some(browser) = Browser::start_or_skip(BrowserOptions { javascript }).unwrap() else {
            return;
        };
        browser.goto(&page).unwrap();
        browser.click(".kiln-signin a").unwrap();
        sign_in_at_provider(&browser, &provider.issuer, "ann");
        eventually(
            "back on the page, signed in",
            Duration::from_secs(30),
            || {
                (browser.current_url().unwrap() == page
                    && browser.exists("form.kiln-form").unwrap())
                .then_some(())
            },
        );
        assert!(browser.cookie("kiln_signin").unwrap().is_some());
        let text = format!("Signed-in words, javascript {javascript}");
        browser.fill("input[name=name]", "Mallory").unwrap();
        browser.fill("textarea[name=text]", &text).unwrap();
        browser.click("form.kiln-form button[type=submit]").unwrap();
        let row = eventually("the comment is stored", Duration::from_secs(30), || {
            comment_row(&served.receiver, &text)
        });
        assert_eq!(
            row,
            (
                "Ann Verified".to_owned(),
                "approved".to_owned(),
                Some("ann".to_owned())
            ),
            "the verified name, not the form's, and whose; trusted, so published"
        );
        // Baked, the name carries the marker; the anonymous names do not.
        served.bake_with_env(&env, None, "state.bin");
        let baked =
            std::fs::read_to_string(served.public.join("posts/hello-world/index.html")).unwrap();
        assert!(
            baked.contains("<bdi>Ann Verified</bdi></span></span> <span class=\"kiln-verified\""),
            "{baked}"
        );
        // Which road the post took: kiln.js's fetch keeps the reader on the
        // page; the plain form lands on the receiver's thank-you page.
        let landed = browser.current_url().unwrap();
        if javascript {
            assert_eq!(landed, page, "kiln.js posted it");
            // The comment the script shows at once carries the mark too,
            // before any bake reaches this page.
            assert!(
                browser.exists("article .kiln-verified").unwrap(),
                "the posted comment is shown verified"
            );
        } else {
            assert!(
                landed.starts_with(&format!("{}/posted/", served.receiver.url)),
                "{landed}"
            );
        }
        // Signing out from the page's link: a button, then back on the page.
        browser.goto(&page).unwrap();
        browser
            .click(".kiln-signin a[href*='/auth/logout']")
            .unwrap();
        browser.wait_for("#kiln-sign-out");
        browser.click("#kiln-sign-out").unwrap();
        eventually(
            "back on the page, signed out",
            Duration::from_secs(30),
            || (browser.current_url().unwrap() == page).then_some(()),
        );
        assert_eq!(browser.cookie("kiln_signin").unwrap(), None);
    }
}

#[test]
fn the_admin_page_takes_a_moderator_by_oidc_and_refuses_anyone_else() {
    let Some(s) = setup(&[("KILN_AUTH_MODERATOR_GROUP", "mods")]) else {
        return;
    };
    for (login, moderator) in [("ann", true), ("bob", false)] {
        let Some(browser) = Browser::start_or_skip(BrowserOptions { javascript: true }).unwrap()
        else {
            return;
        };
        browser.goto(&format!("{}/admin", s.receiver.url)).unwrap();
        browser.click("#ka-oidc a").unwrap();
        sign_in_at_provider(&browser, &s.provider.issuer, login);
        if moderator {
            eventually("the admin page, logged in", Duration::from_secs(30), || {
                let html = browser.source().unwrap();
                (browser.current_url().unwrap() == format!("{}/admin", s.receiver.url)
                    && html.contains("/admin/logout"))
                .then_some(())
            });
            assert!(browser.cookie("kiln_admin").unwrap().is_some());
        } else {
            eventually("the refusal", Duration::from_secs(30), || {
                browser
                    .source()
                    .unwrap()
                    .contains("not one of this site")
                    .then_some(())
            });
            assert!(browser.cookie("kiln_admin").unwrap().is_none());
        }
    }
}

#[test]
fn a_subject_a_site_lists_signs_in_to_that_site_alone() {
    const B: &str = "http://127.0.0.1:1314";
    let toml =
        format!("[[sites.site]]\nname = \"b\"\norigins = [\"{B}\"]\nmoderators = [\"ann\"]\n");
    // Neither `auth.moderators` nor a group names ann: the site's list does.
    let Some(s) = setup_with_toml(&[], &toml) else {
        return;
    };
    for (origin, site, text) in [
        (s.site.url.as_str(), "", "Words on the default site"),
        (B, "b", "Words on site b"),
    ] {
        let (status, _, body) = post_form(
            &s.receiver,
            &[
                ("thread", "/posts/a/"),
                ("url", &format!("{origin}/posts/a/")),
                ("name", "Someone"),
                ("text", text),
                ("site", site),
            ],
        );
        assert_eq!(status, 303, "{body}");
    }
    let Some(browser) = Browser::start_or_skip(BrowserOptions { javascript: true }).unwrap() else {
        return;
    };
    let admin = format!("{}/admin", s.receiver.url);
    browser.goto(&admin).unwrap();
    browser.click("#ka-oidc a").unwrap();
    sign_in_at_provider(&browser, &s.provider.issuer, "ann");
    let html = eventually("the admin page, logged in", Duration::from_secs(30), || {
        let html = browser.source().unwrap();
        (browser.current_url().unwrap() == admin && html.contains("/admin/logout")).then_some(html)
    });
    assert!(
        html.contains("Words on site b") && !html.contains("Words on the default site"),
        "ann sees site b alone: {html}"
    );
    browser.goto(&format!("{admin}?site=default")).unwrap();
    assert!(
        browser.source().unwrap().contains("You moderate only b"),
        "the default site's list is refused"
    );
}

/// A cookie jar for one host, enough to walk the provider's pages.
#[derive(Default)]
struct Jar(BTreeMap<String, String>);

impl Jar {
    fn keep(&mut self, response: &reqwest::blocking::Response) {
        for value in response.headers().get_all("set-cookie") {
            let pair = value.to_str().unwrap().split(';').next().unwrap();
            if let Some((name, value)) = pair.split_once('=') {
                self.0.insert(name.to_owned(), value.to_owned());
            }
        }
    }

    fn header(&self) -> String {
        self.0
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }
}

fn absolute(base: &str, location: &str) -> String {
    url::Url::parse(base)
        .unwrap()
        .join(location)
        .unwrap()
        .to_string()
}

/// The `action` of the provider page's form.
fn form_action(html: &str) -> String {
    let at = html.find("action=\"").expect(html) + "action=\"".len();
    html[at..].split('"').next().unwrap().replace("&amp;", "&")
}

/// Walks the provider's login and consent over HTTP from `authorize` (the
/// URL the receiver redirected to) as `login`, and returns the callback URL
/// the provider sends back, without following it.
fn walk_provider(issuer: &str, authorize: &str, login: &str, callback_prefix: &str) -> String {
    let client = http();
    let mut jar = Jar::default();
    let mut url = authorize.to_owned();
    for _ in 0..20 {
        if url.starts_with(callback_prefix) {
            return url;
        }
        let response = client
            .get(&url)
            .header("cookie", jar.header())
            .send()
            .unwrap();
        jar.keep(&response);
        if let Some(location) = response.headers().get("location") {
            url = absolute(&url, location.to_str().unwrap());
            continue;
        }
        let html = response.text().unwrap();
        let fields: Vec<(&str, &str)> = if html.contains("name=\"login\"") {
            vec![("prompt", "login"), ("login", login), ("password", "any")]
        } else if html.contains("value=\"consent\"") {
            vec![("prompt", "consent")]
        } else {
            panic!("an unexpected provider page at {url}: {html}");
        };
        let action = absolute(issuer, &form_action(&html));
        let response = client
            .post(&action)
            .header("cookie", jar.header())
            .header("content-type", "application/x-www-form-urlencoded")
            .body(form_body(&fields))
            .send()
            .unwrap();
        jar.keep(&response);
        let location = response
            .headers()
            .get("location")
            .expect("the form redirects");
        url = absolute(&action, location.to_str().unwrap());
    }
    panic!("the provider never sent the reader back");
}

/// `/auth/login`'s redirect to the provider.
fn start_login(receiver: &Receiver, page: &str) -> String {
    let response = http()
        .get(format!("{}/auth/login", receiver.url))
        .query(&[("return", page)])
        .send()
        .unwrap();
    assert_eq!(response.status(), 303);
    response.headers()["location"].to_str().unwrap().to_owned()
}

fn get(url: &str) -> (u16, bool, String) {
    let response = http().get(url).send().unwrap();
    let status = response.status().as_u16();
    let signed_in = response.headers().get_all("set-cookie").iter().any(|c| {
        c.to_str().unwrap().starts_with("kiln_signin=")
            && !c.to_str().unwrap().contains("Max-Age=0")
    });
    (status, signed_in, response.text().unwrap())
}

#[test]
fn forged_states_replayed_codes_and_other_clients_codes_are_refused() {
    let Some(s) = setup(&[]) else {
        return;
    };
    let page = format!("{}/posts/a/", s.site.url);
    let callback = format!("{}/auth/callback", s.receiver.url);

    // Not a page of the site: no redirect anywhere.
    let response = http()
        .get(format!("{}/auth/login", s.receiver.url))
        .query(&[("return", "https://evil.example/")])
        .send()
        .unwrap();
    assert_eq!(response.status(), 400);

    // A good login, its callback used twice: the second use signs no one in.
    let authorize = start_login(&s.receiver, &page);
    assert!(
        authorize.contains("code_challenge=") && authorize.contains("nonce="),
        "{authorize}"
    );
    let back = walk_provider(&s.provider.issuer, &authorize, "carol", &callback);
    // The same code with a state the receiver never issued.
    let forged = url::Url::parse(&back)
        .unwrap()
        .query_pairs()
        .map(|(k, v)| {
            if k == "state" {
                (k.into_owned(), "forged".to_owned())
            } else {
                (k.into_owned(), v.into_owned())
            }
        })
        .collect::<Vec<_>>();
    let forged = format!(
        "{callback}?{}",
        url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(forged)
            .finish()
    );
    let (status, signed_in, body) = get(&forged);
    assert_eq!((status, signed_in), (400, false), "{body}");
    let response = http().get(&back).send().unwrap();
    assert_eq!(response.status(), 303);
    assert_eq!(
        response.headers()["location"],
        page.as_str(),
        "back to the page"
    );
    let session = response
        .headers()
        .get_all("set-cookie")
        .iter()
        .find_map(|c| c.to_str().unwrap().strip_prefix("kiln_signin="))
        .map(|c| c.split(';').next().unwrap().to_owned())
        .expect("a session cookie");
    // Signing out clears the cookie and goes back to the page.
    let out = http()
        .post(format!("{}/auth/logout", s.receiver.url))
        .header("cookie", format!("kiln_signin={session}"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form_body(&[("return", &page)]))
        .send()
        .unwrap();
    assert_eq!(out.status(), 200);
    let cleared = out.headers()["set-cookie"].to_str().unwrap().to_owned();
    assert!(
        cleared.starts_with("kiln_signin=;") && cleared.contains("Max-Age=0"),
        "{cleared}"
    );
    let html = out.text().unwrap();
    assert!(html.contains(&format!("url={page}\"")), "{html}");
    let (status, signed_in, body) = get(&back);
    assert_eq!((status, signed_in), (400, false), "replayed: {body}");
    assert!(body.contains("start again"), "{body}");

    // A login the receiver started, completed at the provider by the other
    // client: its code is not the receiver's client's to redeem.
    let authorize = start_login(&s.receiver, &page);
    let other = authorize.replace("client_id=kiln", "client_id=other");
    assert_ne!(other, authorize);
    let back = walk_provider(&s.provider.issuer, &other, "carol", &callback);
    let (status, signed_in, body) = get(&back);
    assert_eq!((status, signed_in), (400, false), "{body}");
    assert!(body.contains("could not be verified"), "{body}");
}

fn admin_with_header(receiver: &Receiver, user: &str) -> (u16, Option<String>, String) {
    let response = http()
        .get(format!("{}/admin", receiver.url))
        .header("x-forwarded-user", user)
        .send()
        .unwrap();
    let status = response.status().as_u16();
    let cookie = response
        .headers()
        .get_all("set-cookie")
        .iter()
        .find_map(|c| {
            c.to_str()
                .unwrap()
                .strip_prefix("kiln_admin=")
                .map(|v| v.split(';').next().unwrap().to_owned())
        });
    (status, cookie, response.text().unwrap())
}

#[test]
fn the_proxy_header_is_honoured_from_the_proxy_addresses_only() {
    // Configured for this address; for others only; not configured at all.
    for (addresses, honoured) in [
        (Some("127.0.0.1"), true),
        (Some("10.0.0.0/8"), false),
        (None, false),
    ] {
        let env = match addresses {
            Some(addresses) => vec![
                ("KILN_AUTH_PROXY_HEADER", "X-Forwarded-User"),
                ("KILN_AUTH_PROXY_ADDRESSES", addresses),
            ],
            None => vec![],
        };
        let (_tmp, receiver) = fresh_receiver("https://example.org", &env);
        let (status, cookie, body) = admin_with_header(&receiver, "moderator@example.org");
        if honoured {
            assert_eq!(status, 303, "{body}");
            let cookie = cookie.expect("an admin session");
            assert!(admin_page(&receiver, &cookie).contains("/admin/logout"));
        } else {
            assert_eq!((status, cookie), (200, None), "from elsewhere, ignored");
            assert!(!body.contains("/admin/logout"), "{body}");
        }
    }
}
