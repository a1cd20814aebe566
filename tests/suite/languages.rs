//! Languages (issue 18), in real headless Chromium with JavaScript off: a
//! page that says `<html lang="de">` gets a German thread and one that says
//! `lang="ar"` an Arabic one, right to left; posting from each leads to the
//! receiver's pages in that language, an error page among them that keeps
//! what the reader typed. A page without a language stays English.

use crate::support::browser::BrowserOptions;
use crate::support::*;

const SUBMIT: &str = "form.kiln-form button[type=submit]";

/// What one language must show, page and receiver alike.
struct Expect {
    lang: &'static str,
    path: &'static str,
    heading: &'static str,
    button: &'static str,
    /// The email error, in that language.
    email_error: &'static str,
    /// The receiver's thank-you heading.
    thanks: &'static str,
    direction: &'static str,
}

const GERMAN: Expect = Expect {
    lang: "de-AT",
    path: "/sprache/",
    heading: "Noch keine Kommentare",
    button: "Kommentar senden",
    email_error: "Die E-Mail-Adresse muss wie name@example.org aussehen",
    thanks: "Vielen Dank",
    direction: "ltr",
};

const ARABIC: Expect = Expect {
    lang: "ar",
    path: "/lugha/",
    heading: "لا تعليقات بعد",
    button: "انشر التعليق",
    email_error: "يجب أن يكون البريد الإلكتروني بصيغة name@example.org",
    thanks: "شكرًا لك",
    direction: "rtl",
};

/// A page of the site in `lang`, with a thread placeholder.
fn write_page(served: &ServedSite, expect: &Expect) {
    let dir = served.public.join(expect.path.trim_matches('/'));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("index.html"),
        format!(
            "<!DOCTYPE html>\n<html lang=\"{}\">\n<head><meta charset=\"utf-8\"><title>{}</title></head>\n\
             <body><main><h1>{}</h1><div data-kiln-thread></div></main></body>\n</html>\n",
            expect.lang, expect.path, expect.path
        ),
    )
    .unwrap();
}

#[test]
fn german_and_arabic_pages_speak_their_language_on_the_page_and_the_receiver() {
    let Some((served, browser)) = ServedSite::with_browser(BrowserOptions { javascript: false })
    else {
        return;
    };
    let (db, receiver) = (&served.db, &served.receiver);
    for expect in [&GERMAN, &ARABIC] {
        write_page(&served, expect);
    }
    served.bake_from(None, "state.bin");

    // A page without a language of kiln's stays English.
    browser.goto(&served.page("/posts/hello-world/")).unwrap();
    assert_eq!(browser.text(SUBMIT).unwrap(), "Post comment");

    for (n, expect) in [&GERMAN, &ARABIC].into_iter().enumerate() {
        let page = served.page(expect.path);
        browser.goto(&page).unwrap();
        assert_eq!(browser.text(".kiln-heading").unwrap(), expect.heading);
        assert_eq!(browser.text(SUBMIT).unwrap(), expect.button);
        assert_eq!(
            browser.css(".kiln-thread", "direction").unwrap(),
            expect.direction,
            "{}",
            expect.lang
        );
        let shot = repo_root().join(format!("target/languages-{}.png", expect.lang));
        browser.screenshot(&shot).unwrap();
        assert!(std::fs::metadata(&shot).unwrap().len() > 1000, "{shot:?}");

        // An address the browser takes (type=email) but the receiver refuses.
        let typed = format!("Ein Kommentar, كلمات, number {n}.");
        let summary = post_refused_email(&browser, receiver, (&typed, "Layla", "layla@localhost"));
        assert!(
            summary.contains(expect.email_error),
            "{}: {summary}",
            expect.lang
        );
        assert_eq!(browser.value("textarea[name=text]").unwrap(), typed);
        assert_eq!(
            browser.css("main", "direction").unwrap(),
            expect.direction,
            "the error page is {} too",
            expect.direction
        );
        assert_eq!(count_rows(db, "comments"), n as i64, "nothing stored");

        // Fixed, it is stored, and the thank-you page is in the same language.
        browser
            .fill("input[name=email]", "layla@example.org")
            .unwrap();
        browser.submit(SUBMIT).unwrap();
        let at = browser.current_url().unwrap();
        assert!(at.starts_with(&format!("{}/posted/", receiver.url)), "{at}");
        assert_eq!(browser.text("h1").unwrap(), expect.thanks);
        assert_eq!(count_rows(db, "comments"), n as i64 + 1);
    }

    // Approved and baked, the German thread counts in German and dates the
    // comment the German way.
    served.moderate(&["approve", "1"]);
    served.bake_from(None, "state.bin");
    browser.goto(&served.page(GERMAN.path)).unwrap();
    assert_eq!(browser.text(".kiln-heading").unwrap(), "1 Kommentar");
    assert_eq!(browser.text("a.kiln-reply").unwrap(), "Antworten");
    let date = browser.text("time").unwrap();
    assert!(date.contains(". "), "a German date: {date}");
}

/// A form that names a language kiln has not, or something else entirely,
/// is answered in English: `lang` is never used as sent.
#[test]
fn an_unknown_form_language_is_answered_in_english() {
    let Some(served) = ServedSite::start() else {
        return;
    };
    let client = reqwest::blocking::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    for lang in ["tlh", "../../etc/passwd", "de\"><script>"] {
        let answer = client
            .post(format!("{}/comments", served.receiver.url))
            .form(&[
                ("thread", "/posts/hello-world/"),
                ("url", &served.page("/posts/hello-world/")),
                ("text", "   "),
                ("lang", lang),
            ])
            .send()
            .unwrap();
        assert_eq!(answer.status(), 422);
        let html = answer.text().unwrap();
        assert!(html.contains("<html lang=\"en\">"), "{lang}: {html}");
        assert!(
            html.contains("Please write a comment before posting."),
            "{html}"
        );
        assert!(!html.contains("<script>"), "{html}");
    }
}
