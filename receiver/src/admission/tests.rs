//! The pipeline against a real store in a temp directory, with no HTTP
//! server: each rejection kind, the honeypot's drop, and what is stored.

use super::testing::{InPlace, Scratch};
use super::*;

struct Receiver {
    config: Config,
    signer: Signer,
    limiter: RateLimiter,
    counters: Counters,
    store: InPlace,
    _dir: tempfile::TempDir,
}

impl Receiver {
    fn new(tune: impl FnOnce(&mut Config)) -> Receiver {
        let mut config = Config::default();
        tune(&mut config);
        let Scratch {
            dir,
            store,
            limits,
            signer,
        } = Scratch::new();
        Receiver {
            limiter: RateLimiter::new(&config, limits),
            signer,
            counters: Counters::default(),
            store: InPlace::new(store),
            config,
            _dir: dir,
        }
    }

    async fn admit(&self, sent: &Sent) -> std::result::Result<Admitted, Rejection> {
        let admission = Admission {
            config: &self.config,
            signer: &self.signer,
            limiter: &self.limiter,
            counters: &self.counters,
            store: &self.store,
        };
        admission.admit(sent).await.unwrap()
    }

    async fn refused(&self, sent: &Sent) -> Rejection {
        self.admit(sent).await.unwrap_err()
    }

    fn counted(&self, line: &str) -> bool {
        self.counters.render().lines().any(|l| l == line)
    }
}

fn sent(text: &str) -> Sent {
    Sent {
        submission: Submission {
            thread: "/a/".into(),
            url: "http://127.0.0.1:4000/a/".into(),
            name: "Ann".into(),
            email: "ann@example.org".into(),
            text: text.into(),
            ..Submission::default()
        },
        notify: false,
        honeypot: false,
        token: String::new(),
        trusted: false,
        identity_subject: None,
        client: "192.0.2.7".parse().unwrap(),
        now: 1_800_000_000,
        moment: crate::store::Moment::now(),
    }
}

#[tokio::test]
async fn a_good_submission_is_stored_and_counted() {
    let r = Receiver::new(|_| {});
    let Admitted::Stored {
        comment,
        page,
        html,
    } = r.admit(&sent("Hello")).await.unwrap()
    else {
        panic!("not stored");
    };
    assert_eq!(html, "<p>Hello</p>\n", "answered with the text as HTML");
    assert_eq!(
        comment.status,
        Status::Pending,
        "moderation is on by default"
    );
    assert_eq!(page.as_str(), "http://127.0.0.1:4000/a/");
    assert!(r.counted("kiln_submissions_accepted_total 1"));

    let r = Receiver::new(|c| c.moderation.enabled = false);
    let Admitted::Stored { comment, .. } = r.admit(&sent("Hello")).await.unwrap() else {
        panic!("not stored");
    };
    assert_eq!(comment.status, Status::Approved);
}

#[tokio::test]
async fn broken_fields_are_all_named() {
    let r = Receiver::new(|_| {});
    let mut s = sent("");
    s.submission.url = "ftp://example.org/".into();
    let Rejection::Fields(errors) = r.refused(&s).await else {
        panic!("not a field rejection");
    };
    let named: Vec<_> = errors.iter().map(|e| (e.field, e.code)).collect();
    assert!(named.contains(&("url", "invalid")), "{named:?}");
    assert!(named.contains(&("text", "required")), "{named:?}");
}

#[tokio::test]
async fn a_filled_honeypot_is_dropped_unstored() {
    let r = Receiver::new(|_| {});
    let mut s = sent("Buy now");
    s.honeypot = true;
    assert!(matches!(r.admit(&s).await, Ok(Admitted::Dropped(_))));
    assert!(r.counted("kiln_submissions_refused_total{rule=\"honeypot\"} 1"));
    let stored = r
        .store
        .with_store(|store| store.count(Status::Pending))
        .await
        .unwrap();
    assert_eq!(stored, 0);
}

#[tokio::test]
async fn form_tokens_are_checked_when_on() {
    let r = Receiver::new(|c| c.spam.form_token = true);
    let error = match r.refused(&sent("Hello")).await {
        Rejection::FormToken(error) => error,
        other => panic!("{other:?}"),
    };
    assert_eq!((error.field, error.code), ("token", "form_token_missing"));

    // A fresh token, used at once: quicker than a person writes.
    let mut s = sent("Hello");
    s.token = crate::abuse::fresh_form_token(&r.signer, "/a/", s.now);
    assert_eq!(r.refused(&s).await.first().code, "too_fast");
    s.now += 60;
    assert!(r.admit(&s).await.is_ok());
}

#[tokio::test]
async fn rate_limits_say_which_and_how_long() {
    let r = Receiver::new(|c| c.spam.posts_per_ip = 1);
    assert!(r.admit(&sent("One")).await.is_ok());
    let Rejection::RateLimited { limit, wait } = r.refused(&sent("Two")).await else {
        panic!("not rate limited");
    };
    assert_eq!(limit, Limit::Client);
    assert!((1..=601).contains(&wait), "{wait}");
    let error = Rejection::RateLimited { limit, wait }.first();
    assert_eq!((error.field, error.code), ("text", "rate_limit_ip"));
}

#[tokio::test]
async fn content_rules_refuse_with_their_rule() {
    let r = Receiver::new(|c| c.spam.max_links = 0);
    let rejection = r.refused(&sent("See https://example.com")).await;
    assert!(matches!(&rejection, Rejection::Content(e) if e.code == "too_many_links"));
}

#[tokio::test]
async fn held_comments_wait_whatever_moderation_says() {
    let r = Receiver::new(|c| {
        c.moderation.enabled = false;
        c.spam.block_words = vec!["casino".into()];
    });
    let Admitted::Stored { comment, .. } = r.admit(&sent("A casino")).await.unwrap() else {
        panic!("not stored");
    };
    assert_eq!(comment.status, Status::Pending);
    assert!(r.counted("kiln_submissions_held_total{rule=\"block_words\"} 1"));
}

#[tokio::test]
async fn the_same_comment_twice_is_a_duplicate() {
    let r = Receiver::new(|_| {});
    assert!(r.admit(&sent("Hello")).await.is_ok());
    assert_eq!(r.refused(&sent("Hello")).await, Rejection::Duplicate);
    assert!(r.admit(&sent("Hello again")).await.is_ok());
}

#[tokio::test]
async fn notify_needs_an_address() {
    let r = Receiver::new(|_| {});
    let mut s = sent("Hello");
    s.notify = true;
    s.submission.email.clear();
    assert_eq!(r.refused(&s).await, Rejection::NotifyWithoutEmail);
    assert_eq!(Rejection::NotifyWithoutEmail.first().field, "email");
}

#[tokio::test]
async fn a_reply_to_nothing_is_refused_by_the_store() {
    let r = Receiver::new(|_| {});
    let mut s = sent("Hello");
    s.submission.parent = "999".into();
    let rejection = r.refused(&s).await;
    assert_eq!(rejection, Rejection::Parent(Refusal::ParentMissing(999)));
    let error = rejection.first();
    assert_eq!((error.field, error.code), ("parent", "parent_not_found"));
}

#[test]
fn body_faults_name_the_body() {
    let error = Rejection::TooLarge { limit: 100 }.first();
    assert_eq!((error.field, error.code), ("body", "too_large"));
    assert!(error.message.contains("100 bytes"));
    assert_eq!(
        Rejection::Fields(Vec::new()).first().code,
        "invalid",
        "an empty list still names a cause"
    );
}
