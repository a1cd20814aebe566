#[path = "support/browser.rs"]
mod browser;

#[test]
fn scratch_no_navigation() {
    let b = browser::Browser::start(browser::BrowserOptions { javascript: false }).unwrap();
    b.goto("data:text/html,<form action='http://127.0.0.1:9/x'><input required name=a><button id=b>go</button></form>").unwrap();
    let t = std::time::Instant::now();
    let err = b.submit("#b").unwrap_err();
    eprintln!("after {:?}: {err:#}", t.elapsed());
}
