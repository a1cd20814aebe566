//! A real headless Chromium for the end-to-end tests, driven through the real
//! chromedriver over WebDriver.
//!
//! kiln promises that a reader can post with JavaScript switched off, so the
//! tests need a browser whose JavaScript really is off, submitting a real form
//! and following a real redirect. This is a small blocking WebDriver client
//! (plain JSON over loopback HTTP with `reqwest::blocking`): the tests are
//! synchronous, it needs no async runtime of its own, and every command it
//! sends is visible right here. Being blocking, it must not be used on an
//! async runtime's thread; call it from a plain `#[test]` (or
//! `spawn_blocking`).

use std::fs::File;
use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::Duration;

use anyhow::{anyhow, bail, Context, Result};
use serde_json::{json, Value};

/// Chromium on two busy cores is slow to start and to load pages: every wait
/// here is this long before it gives up and says what it waited for.
const WAIT: Duration = Duration::from_secs(30);

/// The key under which WebDriver returns an element reference.
const ELEMENT_KEY: &str = "element-6066-11e4-a52e-4f735466cecf";

/// How the browser is set up.
#[derive(Debug, Clone, Copy)]
pub struct BrowserOptions {
    /// Whether pages may run JavaScript. WebDriver commands work either way.
    pub javascript: bool,
}

/// One chromedriver process with one Chromium session. Dropping it ends the
/// session and kills chromedriver and everything it started.
pub struct Browser {
    driver: Child,
    /// `http://127.0.0.1:PORT/session/ID`, the prefix of every command.
    session: String,
    http: reqwest::blocking::Client,
    /// Holds the Chromium profile and chromedriver's log; removed after the
    /// processes are gone.
    scratch: tempfile::TempDir,
}

/// Where chromedriver and Chromium are, or why they cannot be used.
pub struct BrowserTools {
    pub chromedriver: PathBuf,
    pub chromium: PathBuf,
}

impl BrowserTools {
    /// `KILN_CHROMEDRIVER` / `KILN_CHROMIUM` if set, else Debian's paths,
    /// else the first match on PATH.
    pub fn find() -> Result<BrowserTools> {
        let chromedriver = find_program("KILN_CHROMEDRIVER", &["chromedriver"]).context(
            "chromedriver not found (Debian package chromium-driver; or set KILN_CHROMEDRIVER)",
        )?;
        let chromium = find_program("KILN_CHROMIUM", &["chromium", "chromium-browser"])
            .context("chromium not found (Debian package chromium; or set KILN_CHROMIUM)")?;
        Ok(BrowserTools {
            chromedriver,
            chromium,
        })
    }
}

fn find_program(override_var: &str, names: &[&str]) -> Result<PathBuf> {
    if let Some(path) = std::env::var_os(override_var) {
        let path = PathBuf::from(path);
        if path.is_file() {
            return Ok(path);
        }
        bail!(
            "{override_var} is set to {}, which is not a file",
            path.display()
        );
    }
    let mut dirs = vec![PathBuf::from("/usr/bin")];
    if let Some(path) = std::env::var_os("PATH") {
        dirs.extend(std::env::split_paths(&path));
    }
    for dir in &dirs {
        for name in names {
            let candidate = dir.join(name);
            if candidate.is_file() {
                return Ok(candidate);
            }
        }
    }
    bail!("none of {names:?} is in /usr/bin or on PATH")
}

impl Browser {
    /// Starts chromedriver and opens a session. When chromium or
    /// chromedriver is missing on a developer's machine it prints a notice
    /// and returns `Ok(None)`, so the calling test can return early. With
    /// `CI` or `KILN_REQUIRE_TOOLS` set it panics instead, so CI never passes
    /// by skipping.
    pub fn start_or_skip(options: BrowserOptions) -> Result<Option<Browser>> {
        match BrowserTools::find() {
            Ok(tools) => Browser::start_with(&tools, options).map(Some),
            Err(err) if super::tools_required() => {
                panic!("a browser test needs chromium and chromedriver: {err:#}; scripts/test installs them")
            }
            Err(err) => {
                eprintln!("NOTICE: browser test not run: {err:#}. scripts/test installs chromium and chromedriver.");
                Ok(None)
            }
        }
    }

    pub fn start_with(tools: &BrowserTools, options: BrowserOptions) -> Result<Browser> {
        let scratch = tempfile::Builder::new()
            .prefix("kiln-browser-")
            .tempdir()
            .context("create a temp dir for the browser profile")?;
        let http = reqwest::blocking::Client::builder()
            // Longer than the page-load timeout given to chromedriver, so a
            // slow page is reported by chromedriver, which says what it was.
            .timeout(WAIT + Duration::from_secs(30))
            .build()
            .context("build the WebDriver HTTP client")?;

        let driver = spawn_driver(tools, scratch.path())?;
        let mut browser = Browser {
            driver,
            session: String::new(),
            http,
            scratch,
        };
        // With `--port=0` chromedriver picks a port for IPv6 and then asks
        // for the same one on IPv4, where something else may hold it; it
        // then exits saying so, and a new start picks another port. Any
        // other early exit is an error. If this fails, Drop still kills
        // chromedriver.
        let mut attempt = 1;
        let base = loop {
            match browser.driver_ready() {
                Ok(base) => break base,
                Err(out) if attempt < 3 && out.contains("port not available") => {
                    attempt += 1;
                    browser.driver = spawn_driver(tools, browser.scratch.path())?;
                }
                Err(out) => bail!("chromedriver exited before it was ready: {out}"),
            }
        };
        browser.session = browser
            .new_session(&base, tools, options)
            .with_context(|| browser.driver_log_hint())?;
        Ok(browser)
    }

    /// Waits until chromedriver says which port it took and answers there
    /// that it is ready; returns its base URL, or what it said if it exited
    /// first.
    fn driver_ready(&mut self) -> Result<String, String> {
        let said = self.scratch.path().join("chromedriver.out");
        super::eventually("chromedriver to be ready", WAIT, || {
            let out = std::fs::read_to_string(&said).unwrap_or_default();
            if let Some(status) = self.driver.try_wait().expect("check on chromedriver") {
                return Ok(Err(format!("{status}: {out}")));
            }
            let port = out
                .split("started successfully on port ")
                .nth(1)
                .and_then(|rest| rest.split(|c: char| !c.is_ascii_digit()).next())
                .filter(|port| !port.is_empty())
                .ok_or_else(|| format!("chromedriver said: {out}"))?;
            let base = format!("http://127.0.0.1:{port}");
            let ready = self
                .http
                .get(format!("{base}/status"))
                .timeout(Duration::from_secs(2))
                .send()
                .ok()
                .and_then(|r| r.json::<Value>().ok())
                .is_some_and(|v| v["value"]["ready"] == true);
            if ready {
                Ok(Ok(base))
            } else {
                Err(format!("{base}/status does not say it is ready"))
            }
        })
    }

    fn new_session(
        &self,
        base: &str,
        tools: &BrowserTools,
        options: BrowserOptions,
    ) -> Result<String> {
        let profile = self.scratch.path().join("profile");
        let mut args = vec![
            "--headless".to_string(),
            "--no-sandbox".to_string(),
            "--disable-gpu".to_string(),
            "--no-first-run".to_string(),
            "--no-default-browser-check".to_string(),
            "--disable-background-networking".to_string(),
            "--disable-component-update".to_string(),
            "--disable-sync".to_string(),
            "--disable-quic".to_string(),
            // Containers often have a tiny /dev/shm, and Chromium crashes
            // when it fills up.
            "--disable-dev-shm-usage".to_string(),
            "--password-store=basic".to_string(),
            "--window-size=1280,1024".to_string(),
            format!("--user-data-dir={}", profile.display()),
        ];
        let mut prefs = json!({});
        if !options.javascript {
            // Two independent switches, each enough on its own with Chromium
            // 156: the content setting a managed policy would set, and
            // Blink's own setting. WebDriver's own scripts (used to read
            // attributes and check readiness) are not the page's and keep
            // working. The self-test `javascript_off_means_off_and_forms_still_post`
            // fails if page scripts run.
            args.push("--blink-settings=scriptEnabled=false".to_string());
            prefs = json!({ "profile.managed_default_content_settings.javascript": 2 });
        }
        let capabilities = json!({
            "capabilities": {
                "alwaysMatch": {
                    "browserName": "chrome",
                    "pageLoadStrategy": "normal",
                    // Keeps the page's console for `console_log`: what
                    // Chromium says there (CSP violations, failed loads) is
                    // what a developer would see in its devtools.
                    // And the DevTools protocol's network events for
                    // `requests_sent`.
                    "goog:loggingPrefs": { "browser": "ALL", "performance": "ALL" },
                    "timeouts": {
                        "implicit": 0,
                        "pageLoad": WAIT.as_millis() as u64,
                        "script": WAIT.as_millis() as u64,
                    },
                    "goog:chromeOptions": {
                        "binary": tools.chromium.to_string_lossy(),
                        "args": args,
                        "prefs": prefs,
                        "perfLoggingPrefs": { "enableNetwork": true, "enablePage": false },
                    },
                }
            }
        });
        let value = send(
            &self.http,
            reqwest::Method::POST,
            &format!("{base}/session"),
            Some(&capabilities),
        )
        .with_context(|| format!("start a Chromium session with {}", tools.chromium.display()))?;
        let id = value["sessionId"].as_str().ok_or_else(|| {
            anyhow!("chromedriver's new-session answer has no sessionId: {value}")
        })?;
        Ok(format!("{base}/session/{id}"))
    }

    /// Loads `url` and waits until it has loaded.
    pub fn goto(&self, url: &str) -> Result<()> {
        self.post("/url", json!({ "url": url }))
            .with_context(|| format!("open {url}"))?;
        Ok(())
    }

    pub fn current_url(&self) -> Result<String> {
        string(self.get("/url")?, "current URL")
    }

    /// The current DOM serialised as HTML. With JavaScript off this is the
    /// HTML the server sent, as parsed.
    pub fn source(&self) -> Result<String> {
        string(self.get("/source")?, "page source")
    }

    /// Whether an element matches `selector` right now.
    pub fn exists(&self, selector: &str) -> Result<bool> {
        Ok(self.count(selector)? > 0)
    }

    /// How many elements match `selector` right now.
    pub fn count(&self, selector: &str) -> Result<usize> {
        let found = self
            .post(
                "/elements",
                json!({ "using": "css selector", "value": selector }),
            )
            .with_context(|| format!("find all {selector}"))?;
        Ok(found.as_array().map_or(0, Vec::len))
    }

    /// Clears the field and types `text` into it, as a reader would. Line
    /// breaks are typed as Enter (a new line in a textarea; in an `<input>`
    /// it would submit the form), and any Unicode, emoji included, is typed
    /// as is.
    pub fn fill(&self, selector: &str, text: &str) -> Result<()> {
        let id = self.find(selector)?;
        self.post(&format!("/element/{id}/clear"), json!({}))
            .with_context(|| format!("clear {selector}"))?;
        let text = text.replace("\r\n", "\n");
        self.post(&format!("/element/{id}/value"), json!({ "text": text }))
            .with_context(|| format!("type into {selector}"))?;
        Ok(())
    }

    /// Clicks the element. If the click starts a navigation, use
    /// [`Browser::submit`] instead, which waits for the new page.
    pub fn click(&self, selector: &str) -> Result<()> {
        let id = self.find(selector)?;
        self.post(&format!("/element/{id}/click"), json!({}))
            .with_context(|| format!("click {selector}"))?;
        Ok(())
    }

    /// Clicks the element (a submit button or a link) and waits until the
    /// browser has left the current document and the new one has loaded.
    /// This works whatever the new URL is, even when it is the same one.
    pub fn submit(&self, selector: &str) -> Result<()> {
        self.leading_to_a_new_page(&format!("clicking {selector}"), || self.click(selector))
    }

    /// Presses and releases one key, as typed on a keyboard, in whatever
    /// has the focus (the page itself if nothing does). `key` is a
    /// character, or a WebDriver key code such as "\u{E007}" (Enter).
    pub fn press(&self, key: &str) -> Result<()> {
        let actions = json!({ "actions": [{
            "type": "key",
            "id": "keyboard",
            "actions": [
                { "type": "keyDown", "value": key },
                { "type": "keyUp", "value": key },
            ],
        }]});
        self.post("/actions", actions)
            .with_context(|| format!("press {key:?}"))?;
        Ok(())
    }

    /// Presses a key that makes the page navigate (a keyboard shortcut that
    /// clicks a submit button) and waits for the new page, like `submit`.
    pub fn press_to_navigate(&self, key: &str) -> Result<()> {
        self.leading_to_a_new_page(&format!("pressing {key:?}"), || self.press(key))
    }

    /// Does `act` and waits until the browser has left the current
    /// document and the new one has loaded. `what` names the act in errors.
    fn leading_to_a_new_page(&self, what: &str, act: impl FnOnce() -> Result<()>) -> Result<()> {
        // A mark on the current window object; a new document gets a new one.
        // (Asking whether the old <html> element went stale is less reliable:
        // chromedriver 156 sometimes answers that with an "unknown error".)
        self.script("window.__kilnOldDocument = true; return null")
            .context("mark the current page")?;
        act()?;
        super::eventually(&format!("a new page after {what}"), WAIT, || {
            // Errors are expected while the browser switches documents, so
            // they only count if they last until the wait times out.
            let state = self.script(
                "return window.__kilnOldDocument === true ? 'the old page' : document.readyState",
            );
            match state {
                Ok(state) if state == "complete" => Ok(()),
                Ok(state) if state == "the old page" => Err(format!(
                    "still the old page, {}; a form with an empty required field, or a \
                     button outside the form, does this",
                    self.current_url().unwrap_or_default()
                )),
                Ok(state) => Err(format!("the new page is {state}")),
                Err(err) => Err(format!("{err:#}")),
            }
        });
        Ok(())
    }

    /// Waits until something matches `selector`; panics, showing the page,
    /// if nothing does within 15 s.
    pub fn wait_for(&self, selector: &str) {
        super::eventually(
            &format!("{selector} to appear"),
            Duration::from_secs(15),
            || {
                if self.exists(selector).unwrap() {
                    Ok(())
                } else {
                    Err(format!("the page is:\n{}", self.source().unwrap()))
                }
            },
        )
    }

    /// Waits until nothing matches `selector`.
    pub fn wait_gone(&self, selector: &str) {
        super::eventually(
            &format!("{selector} to go"),
            Duration::from_secs(15),
            || (!self.exists(selector).unwrap()).then_some(()),
        )
    }

    /// Runs a WebDriver script (allowed even when the page's JavaScript is
    /// off) and returns its result.
    fn script(&self, script: &str) -> Result<Value> {
        self.post("/execute/sync", json!({ "script": script, "args": [] }))
    }

    /// The element's rendered text.
    pub fn text(&self, selector: &str) -> Result<String> {
        let id = self.find(selector)?;
        string(self.get(&format!("/element/{id}/text"))?, selector)
    }

    /// The element's attribute as written in the HTML, if it has one.
    pub fn attr(&self, selector: &str, name: &str) -> Result<Option<String>> {
        let id = self.find(selector)?;
        let value = self.post(
            "/execute/sync",
            json!({
                "script": "return arguments[0].getAttribute(arguments[1])",
                "args": [{ ELEMENT_KEY: id }, name],
            }),
        )?;
        Ok(value.as_str().map(str::to_string))
    }

    /// Whether the element that has the focus matches `selector`.
    pub fn focused_is(&self, selector: &str) -> Result<bool> {
        let value = self.run_script(
            "return document.activeElement !== null && document.activeElement.matches(arguments[0])",
            json!([selector]),
        )?;
        value
            .as_bool()
            .ok_or_else(|| anyhow!("focus check: expected a boolean, got {value}"))
    }

    /// Runs `script` (a function body; `arguments` holds `args`) in the page
    /// and returns what it returns. WebDriver runs it even with the page's
    /// JavaScript off.
    pub fn run_script(&self, script: &str, args: Value) -> Result<Value> {
        self.post("/execute/sync", json!({ "script": script, "args": args }))
            .with_context(|| format!("run {script:?}"))
    }

    /// Makes the page see a media feature as the reader's system would set
    /// it, e.g. `("prefers-reduced-motion", "reduce")`, through the
    /// DevTools protocol chromedriver passes on.
    pub fn emulate_media_feature(&self, name: &str, value: &str) -> Result<()> {
        self.post(
            "/goog/cdp/execute",
            json!({
                "cmd": "Emulation.setEmulatedMedia",
                "params": { "features": [{ "name": name, "value": value }] },
            }),
        )
        .with_context(|| format!("emulate {name}: {value}"))?;
        Ok(())
    }

    /// Runs `source` in every new document (and frame) before any of the
    /// page's own scripts, through the DevTools protocol chromedriver passes
    /// on: how a test installs a detector that a page cannot outrun.
    pub fn run_on_every_new_document(&self, source: &str) -> Result<()> {
        self.post(
            "/goog/cdp/execute",
            json!({
                "cmd": "Page.addScriptToEvaluateOnNewDocument",
                "params": { "source": source },
            }),
        )
        .context("add a script to every new document")?;
        Ok(())
    }

    /// Moves the real mouse pointer to each point (CSS pixels from the
    /// viewport's top left) and clicks there, in one WebDriver actions
    /// request: the trusted mouseover, mouseenter, mousedown, focus, mouseup
    /// and click events a reader's hand would cause.
    pub fn hover_and_click_at(&self, points: &[(f64, f64)]) -> Result<()> {
        let mut steps = Vec::with_capacity(points.len() * 3);
        for &(x, y) in points {
            steps.push(json!({
                "type": "pointerMove", "duration": 0, "origin": "viewport",
                "x": x.round() as i64, "y": y.round() as i64,
            }));
            steps.push(json!({ "type": "pointerDown", "button": 0 }));
            steps.push(json!({ "type": "pointerUp", "button": 0 }));
        }
        let actions = json!({ "actions": [{
            "type": "pointer",
            "id": "mouse",
            "parameters": { "pointerType": "mouse" },
            "actions": steps,
        }]});
        self.post("/actions", actions)
            .context("move the pointer over and click the elements")?;
        Ok(())
    }

    /// The computed value of a CSS property of the element, e.g. whether a
    /// stylesheet applied at all.
    pub fn css(&self, selector: &str, property: &str) -> Result<String> {
        let id = self.find(selector)?;
        string(
            self.get(&format!("/element/{id}/css/{property}"))?,
            selector,
        )
    }

    /// A form field's current value (what would be submitted).
    pub fn value(&self, selector: &str) -> Result<String> {
        let id = self.find(selector)?;
        string(
            self.get(&format!("/element/{id}/property/value"))?,
            selector,
        )
    }

    /// The console messages Chromium logged since the last call (each call
    /// drains them), whatever their level, with JavaScript on or off:
    /// Chromium itself logs there, e.g. every resource or inline style a
    /// Content-Security-Policy refused.
    pub fn console_log(&self) -> Result<Vec<String>> {
        // chromedriver's own endpoint; WebDriver has no standard one.
        let entries = self
            .post("/se/log", json!({ "type": "browser" }))
            .context("read the browser console")?;
        Ok(entries
            .as_array()
            .into_iter()
            .flatten()
            .map(|e| {
                format!(
                    "{} {}",
                    e["level"].as_str().unwrap_or_default(),
                    e["message"].as_str().unwrap_or_default()
                )
            })
            .collect())
    }

    /// The URL of every request the browser started since the last call
    /// (each call drains them): Chromium's own `Network.requestWillBeSent`
    /// events, scripts', styles', fetches' and CORS preflights' alike.
    pub fn requests_sent(&self) -> Result<Vec<String>> {
        let entries = self
            .post("/se/log", json!({ "type": "performance" }))
            .context("read the performance log")?;
        let mut urls = Vec::new();
        for entry in entries.as_array().into_iter().flatten() {
            let message: Value = serde_json::from_str(entry["message"].as_str().unwrap_or("{}"))
                .context("a performance log entry is JSON")?;
            let message = &message["message"];
            if message["method"] == "Network.requestWillBeSent" {
                let url = message["params"]["request"]["url"].as_str();
                urls.push(url.unwrap_or_default().to_owned());
            }
        }
        Ok(urls)
    }

    /// Sends one DevTools protocol command, e.g. to set the time zone
    /// (`Emulation.setTimezoneOverride`).
    pub fn cdp(&self, cmd: &str, params: Value) -> Result<Value> {
        self.post("/goog/cdp/execute", json!({ "cmd": cmd, "params": params }))
            .with_context(|| format!("run {cmd}"))
    }

    /// Saves a PNG of the viewport, for looking at a failing test.
    pub fn screenshot(&self, path: &Path) -> Result<()> {
        let encoded = string(self.get("/screenshot")?, "screenshot")?;
        let png = decode_base64(&encoded).context("decode the screenshot")?;
        std::fs::write(path, png).with_context(|| format!("write {}", path.display()))
    }

    /// Resizes the window, e.g. to a phone's width. Headless Chromium's
    /// viewport is then this size.
    pub fn set_window_size(&self, width: u32, height: u32) -> Result<()> {
        self.post("/window/rect", json!({ "width": width, "height": height }))
            .with_context(|| format!("resize the window to {width}x{height}"))?;
        Ok(())
    }

    /// The value of the cookie `name` that the current page's URL would
    /// send, HttpOnly cookies included (WebDriver sees them all).
    pub fn cookie(&self, name: &str) -> Result<Option<String>> {
        let all = self.get("/cookie").context("read the cookies")?;
        Ok(all
            .as_array()
            .into_iter()
            .flatten()
            .find(|c| c["name"] == name)
            .and_then(|c| c["value"].as_str())
            .map(str::to_string))
    }

    /// Whether the page is wider than the window, i.e. scrolls sideways:
    /// what a layout that fails on a phone does.
    pub fn scrolls_sideways(&self) -> Result<bool> {
        let value = self.script(
            "return document.documentElement.scrollWidth > document.documentElement.clientWidth",
        )?;
        value
            .as_bool()
            .ok_or_else(|| anyhow!("scroll width check: expected a boolean, got {value}"))
    }

    fn find(&self, selector: &str) -> Result<String> {
        let value = self
            .post(
                "/element",
                json!({ "using": "css selector", "value": selector }),
            )
            .with_context(|| {
                format!(
                    "find {selector} on {}",
                    self.current_url().unwrap_or_default()
                )
            })?;
        value[ELEMENT_KEY]
            .as_str()
            .map(str::to_string)
            .ok_or_else(|| anyhow!("find {selector}: unexpected answer {value}"))
    }

    fn get(&self, path: &str) -> Result<Value> {
        send(
            &self.http,
            reqwest::Method::GET,
            &format!("{}{path}", self.session),
            None,
        )
    }

    fn post(&self, path: &str, body: Value) -> Result<Value> {
        send(
            &self.http,
            reqwest::Method::POST,
            &format!("{}{path}", self.session),
            Some(&body),
        )
    }

    fn driver_log_hint(&self) -> String {
        format!(
            "chromedriver's log is {}",
            self.scratch.path().join("chromedriver.log").display()
        )
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        if !self.session.is_empty() {
            // Lets chromedriver close Chromium in an orderly way; errors are
            // irrelevant because the kill below follows either way.
            let _ = self
                .http
                .delete(&self.session)
                .timeout(Duration::from_secs(10))
                .send();
        }
        // chromedriver was made a process group leader, so this also reaches
        // any Chromium process that outlived the session. The shell's own
        // `kill` builtin is used because it is present everywhere.
        let group = format!("kill -KILL -- -{} 2>/dev/null", self.driver.id());
        let _ = Command::new("sh").arg("-c").arg(group).status();
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

/// Starts chromedriver in its own process group, on a port it picks itself
/// and names in its output (`chromedriver.out` in `scratch`).
fn spawn_driver(tools: &BrowserTools, scratch: &Path) -> Result<Child> {
    use std::os::unix::process::CommandExt;

    let log = scratch.join("chromedriver.log");
    let out = File::create(scratch.join("chromedriver.out"))
        .context("create chromedriver's output file")?;
    Command::new(&tools.chromedriver)
        .arg("--port=0")
        .arg(format!("--log-path={}", log.display()))
        .stdin(Stdio::null())
        .stdout(
            out.try_clone()
                .context("share chromedriver's output file")?,
        )
        .stderr(out)
        .process_group(0)
        .spawn()
        .with_context(|| format!("start {}", tools.chromedriver.display()))
}

fn send(
    http: &reqwest::blocking::Client,
    method: reqwest::Method,
    url: &str,
    body: Option<&Value>,
) -> Result<Value> {
    let mut request = http.request(method.clone(), url);
    if let Some(body) = body {
        request = request.json(body);
    }
    let response = request
        .send()
        .with_context(|| format!("WebDriver {method} {url}"))?;
    let status = response.status();
    let mut answer: Value = response
        .json()
        .with_context(|| format!("WebDriver {method} {url}: answer ({status}) is not JSON"))?;
    let value = answer["value"].take();
    if let Some(error) = value["error"].as_str() {
        // chromedriver appends a session-info line and a stack trace of
        // addresses; the first line is the useful part.
        let message = value["message"].as_str().unwrap_or_default();
        let first = message.lines().next().unwrap_or_default();
        bail!("WebDriver {method} {url}: {error}: {first}");
    }
    Ok(value)
}

fn string(value: Value, what: &str) -> Result<String> {
    match value {
        Value::String(s) => Ok(s),
        other => bail!("{what}: expected a string from WebDriver, got {other}"),
    }
}

/// Standard base64 (WebDriver screenshots), without pulling in a crate.
fn decode_base64(text: &str) -> Result<Vec<u8>> {
    let mut out = Vec::with_capacity(text.len() * 3 / 4);
    let mut bits = 0u32;
    let mut count = 0;
    for byte in text
        .bytes()
        .filter(|b| !b.is_ascii_whitespace() && *b != b'=')
    {
        let sextet = match byte {
            b'A'..=b'Z' => byte - b'A',
            b'a'..=b'z' => byte - b'a' + 26,
            b'0'..=b'9' => byte - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => bail!("not base64: byte {byte:#04x}"),
        };
        bits = (bits << 6) | u32::from(sextet);
        count += 6;
        if count >= 8 {
            count -= 8;
            out.push((bits >> count) as u8);
        }
    }
    Ok(out)
}

// ---------------------------------------------------------------------------
// Self-tests: this module's promises, against a tiny HTTP server.

/// A minimal HTTP/1.1 server for the self-tests: a page with a form and an
/// inline script, a POST handler that answers 303, and the page it leads to.
/// It hands every POST body it receives to the test through a channel.
struct FormServer {
    addr: SocketAddr,
    posts: std::sync::mpsc::Receiver<String>,
}

const FORM_PAGE: &str = r#"<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>form</title></head>
<body>
<p id="js">no script</p>
<script>document.getElementById("js").textContent = "script ran";</script>
<form method="post" action="/submit">
  <input type="text" name="author" id="author" value="prefilled">
  <textarea name="body" id="body"></textarea>
  <a id="about" href="/done" data-kind="link">about</a>
  <button type="submit" id="send">Send</button>
</form>
</body></html>"#;

const DONE_PAGE: &str = r#"<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>done</title></head>
<body><h1 id="done">Thanks</h1></body></html>"#;

impl FormServer {
    fn start() -> FormServer {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the form server");
        let addr = listener.local_addr().expect("form server address");
        let (tx, posts) = std::sync::mpsc::channel();
        // The thread lives until the test process ends; it only ever answers
        // this test's browser.
        thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let tx = tx.clone();
                // One thread per connection: Chromium opens speculative
                // connections that may never send a request.
                thread::spawn(move || {
                    let _ = serve_one(stream, &tx);
                });
            }
        });
        FormServer { addr, posts }
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }
}

fn serve_one(
    stream: std::net::TcpStream,
    posts: &std::sync::mpsc::Sender<String>,
) -> std::io::Result<()> {
    use std::io::{BufRead, BufReader, Read, Write};

    stream.set_read_timeout(Some(WAIT))?;
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut request_line = String::new();
    reader.read_line(&mut request_line)?;
    let mut length = 0;
    loop {
        let mut line = String::new();
        reader.read_line(&mut line)?;
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        if let Some((name, value)) = line.split_once(':') {
            if name.eq_ignore_ascii_case("content-length") {
                length = value.trim().parse().unwrap_or(0);
            }
        }
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body)?;

    let mut parts = request_line.split_whitespace();
    let (method, path) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
    let response = match (method, path) {
        ("GET", "/form") => page("200 OK", FORM_PAGE),
        ("GET", "/done") => page("200 OK", DONE_PAGE),
        ("POST", "/submit") => {
            let _ = posts.send(String::from_utf8_lossy(&body).into_owned());
            "HTTP/1.1 303 See Other\r\nLocation: /done\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".to_string()
        }
        _ => page("404 Not Found", "not found"),
    };
    let mut stream = stream;
    stream.write_all(response.as_bytes())?;
    stream.flush()
}

fn page(status: &str, html: &str) -> String {
    format!(
        "HTTP/1.1 {status}\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{html}",
        html.len()
    )
}

/// Decodes an `application/x-www-form-urlencoded` body into pairs.
fn form_pairs(body: &str) -> Vec<(String, String)> {
    fn decode(s: &str) -> String {
        let bytes = s.as_bytes();
        let mut out = Vec::new();
        let mut i = 0;
        while i < bytes.len() {
            match bytes[i] {
                b'+' => out.push(b' '),
                b'%' if i + 2 < bytes.len() => {
                    let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or("");
                    match u8::from_str_radix(hex, 16) {
                        Ok(b) => {
                            out.push(b);
                            i += 2;
                        }
                        Err(_) => out.push(b'%'),
                    }
                }
                b => out.push(b),
            }
            i += 1;
        }
        String::from_utf8_lossy(&out).into_owned()
    }
    body.split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            (decode(name), decode(value))
        })
        .collect()
}

#[test]
fn javascript_off_means_off_and_forms_still_post() -> Result<()> {
    let Some(browser) = Browser::start_or_skip(BrowserOptions { javascript: false })? else {
        return Ok(());
    };
    let server = FormServer::start();

    browser.goto(&server.url("/form"))?;
    // The inline script would have replaced this text.
    assert_eq!(browser.text("#js")?, "no script");
    assert!(browser.source()?.contains(r#"<p id="js">no script</p>"#));
    assert_eq!(browser.value("#author")?, "prefilled");
    assert_eq!(
        browser.attr("#about", "data-kind")?.as_deref(),
        Some("link")
    );
    assert_eq!(browser.attr("#about", "missing")?, None);
    assert!(browser.exists("#send")?);
    assert!(!browser.exists("#nothing-here")?);
    assert_eq!(browser.count("form > *")?, 4);

    let body = "First line, with ünïcödé — 日本語 🎉\nsecond line\n\n  indented <b>&amp;</b> last";
    browser.fill("#author", "Ada Lovelace")?;
    browser.fill("#body", body)?;
    assert_eq!(browser.value("#author")?, "Ada Lovelace");
    assert_eq!(browser.value("#body")?, body);

    browser.submit("#send")?;
    let posted = server
        .posts
        .recv_timeout(Duration::from_secs(5))
        .expect("the form's POST reached the server");
    let pairs = form_pairs(&posted);
    assert_eq!(
        pairs,
        vec![
            ("author".to_string(), "Ada Lovelace".to_string()),
            // Browsers send a textarea's line breaks as CRLF.
            ("body".to_string(), body.replace('\n', "\r\n")),
        ],
        "raw body: {posted}"
    );
    // The browser followed the 303 and has loaded the page it named.
    assert_eq!(browser.current_url()?, server.url("/done"));
    assert_eq!(browser.text("#done")?, "Thanks");

    let shot = tempfile::NamedTempFile::new()?;
    browser.screenshot(shot.path())?;
    let png = std::fs::read(shot.path())?;
    assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"), "screenshot is a PNG");
    Ok(())
}

#[test]
fn javascript_on_runs_page_scripts() -> Result<()> {
    let Some(browser) = Browser::start_or_skip(BrowserOptions { javascript: true })? else {
        return Ok(());
    };
    let server = FormServer::start();
    browser.goto(&server.url("/form"))?;
    assert_eq!(browser.text("#js")?, "script ran");
    // A link is followed by `submit` too, and a missing element is an error
    // that names the selector.
    browser.submit("#about")?;
    assert_eq!(browser.current_url()?, server.url("/done"));
    let err = browser.text("#js").unwrap_err();
    assert!(format!("{err:#}").contains("find #js"), "{err:#}");
    Ok(())
}

#[test]
fn base64_decodes() {
    assert_eq!(decode_base64("aGVsbG8=").unwrap(), b"hello");
    assert_eq!(decode_base64("aGk=").unwrap(), b"hi");
    assert_eq!(decode_base64("").unwrap(), b"");
    assert!(decode_base64("a*b").is_err());
}
