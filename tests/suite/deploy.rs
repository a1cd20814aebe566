//! The deployment recipes in `deploy/` (issue 19), checked with the tools an
//! operator's own checks would use, offline: the systemd unit with
//! `systemd-analyze verify` and `security`, the Kubernetes manifests against
//! the Kubernetes schemas (kubernetes-validate), and compose.yaml against the
//! compose-spec schema (check-jsonschema). Each recipe's kiln.toml, with its
//! example secrets in the environment, starts the real receiver until
//! `/healthz` answers: kiln has no separate "config check" command, and
//! `kiln serve` checks every key before it listens.
//!
//! Then what is built from them: `kiln healthcheck` against a real
//! receiver; the Containerfile's image, built with podman around the static
//! kiln scripts/test builds, inspected, and its file system run as the
//! image's user (`podman run` itself fails on these machines, see that
//! test); and the Debian package, built with cargo-deb, installed with
//! dpkg into a root of its own, started, and removed.
//!
//! Their receivers run on scratch SQLite files, but for the image's
//! PostgreSQL check, which makes its own database on the cluster whatever
//! the backend; so scripts/test's PostgreSQL run skips these tests.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

use kiln_receiver::config::Config;
use serde_json::Value;

use crate::support::*;

fn deploy_dir() -> PathBuf {
    repo_root().join("deploy")
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// Starts `kiln serve` on `config` (with `env` set, as the recipe's secrets
/// would be) against a scratch SQLite file, and waits for `/healthz` to
/// answer `ok`. Only `--listen` and `--db` are overridden; `--origin` is the
/// file's own first origin, so the file's `[sites]` is what runs.
fn serves_healthz(config: &Path, env: &[(String, String)]) {
    let toml = std::fs::read_to_string(config).unwrap();
    let parsed =
        Config::parse(&toml).unwrap_or_else(|e| panic!("{} does not parse: {e}", config.display()));
    let origin = parsed.sites.origins.first().cloned().unwrap_or_else(|| {
        panic!("{} names no site origin", config.display());
    });
    let tmp = tempfile::tempdir().unwrap();
    let db = Db::sqlite(tmp.path().join("kiln.sqlite3"));
    let mut vars: Vec<(&str, &str)> = vec![("KILN_CONFIG", config.to_str().unwrap())];
    vars.extend(env.iter().map(|(k, v)| (k.as_str(), v.as_str())));
    let receiver = Receiver::start(ReceiverOptions {
        dir: tmp.path(),
        db: &db,
        origin: &origin,
        token: None,
        extra_env: &vars,
    });
    let client = http();
    let url = format!("{}/healthz", receiver.url);
    eventually(
        &format!("{url} to answer 200 ok"),
        Duration::from_secs(30),
        || {
            let answer = client.get(&url).send().map_err(|e| e.to_string())?;
            let status = answer.status().as_u16();
            let body = answer.text().map_err(|e| e.to_string())?;
            if status == 200 && body.trim() == "ok" {
                Ok(())
            } else {
                Err(format!("{status} {body}"))
            }
        },
    );
}

/// Where the image keeps kiln (the Containerfile's ENTRYPOINT).
const IMAGE_KILN: &str = "/usr/local/bin/kiln";

/// The image name and tag the Containerfile's header tells to build, which
/// the recipes use: `localhost/kiln:<this kiln's version>`.
fn documented_image() -> String {
    let containerfile = std::fs::read_to_string(repo_root().join("Containerfile")).unwrap();
    let image = format!("localhost/kiln:{}", env!("CARGO_PKG_VERSION"));
    assert!(
        containerfile.contains(&format!("podman build --format docker -t {image} .")),
        "the Containerfile should tell to build {image}"
    );
    assert!(
        containerfile.contains(&format!("ENTRYPOINT [\"{IMAGE_KILN}\"]")),
        "the Containerfile's ENTRYPOINT is {IMAGE_KILN}"
    );
    image
}

/// `drain_ms` of a recipe's kiln.toml.
fn drain_ms(config: &Path) -> u64 {
    Config::parse(&std::fs::read_to_string(config).unwrap())
        .unwrap()
        .server
        .drain_ms
}

#[test]
fn the_systemd_unit_verifies_and_its_config_serves() {
    let Some(analyze) = require_tool("systemd-analyze", "KILN_SYSTEMD_ANALYZE") else {
        return;
    };
    let unit = std::fs::read_to_string(deploy_dir().join("systemd/kiln.service")).unwrap();
    // `verify` insists that ExecStart's binary exists, and /usr/local/bin/kiln
    // is where an operator installs it, not where the test build is: verify a
    // copy whose ExecStart is the kiln this test run built.
    const INSTALLED: &str = "ExecStart=/usr/local/bin/kiln ";
    assert!(unit.contains(INSTALLED), "the unit runs {INSTALLED}…");
    let tmp = tempfile::tempdir().unwrap();
    let copy = tmp.path().join("kiln.service");
    std::fs::write(
        &copy,
        unit.replace(INSTALLED, &format!("ExecStart={KILN} ")),
    )
    .unwrap();

    // Unknown or misspelt directives are only warnings (exit 0), so the
    // output must be empty too.
    let out = Command::new(&analyze)
        .arg("verify")
        .arg(&copy)
        .output()
        .unwrap();
    assert!(
        out.status.success() && out.stdout.is_empty() && out.stderr.is_empty(),
        "systemd-analyze verify kiln.service:\n{}",
        text(&out)
    );

    // The sandbox's exposure score (0 is the most locked down, 10 the
    // least), as docs/deploy.md reports it. --offline reads the file, so
    // this needs no running systemd. Another systemd release may weigh the
    // findings differently: then the docs get its score.
    let out = Command::new(&analyze)
        .args(["security", "--offline=yes", "--no-pager"])
        .arg(&copy)
        .output()
        .unwrap();
    let report = text(&out);
    let score: f64 = report
        .lines()
        .find_map(|l| l.split("Overall exposure level for kiln.service: ").nth(1))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no exposure level in:\n{report}"));
    eprintln!("systemd-analyze security kiln.service: {score}");
    let documented = std::fs::read_to_string(repo_root().join("docs/deploy.md")).unwrap();
    assert!(
        documented.contains(&format!("exposure level of {score}")),
        "docs/deploy.md should report the score systemd-analyze gives, {score}"
    );
    assert!(
        score <= 2.0,
        "the unit's sandbox loosened: {score}\n{report}"
    );

    // systemd waits TimeoutStopSec= before SIGKILL; the receiver needs
    // drain_ms and then a moment for requests in flight.
    let config = deploy_dir().join("systemd/kiln.toml");
    let timeout_s: u64 = unit
        .lines()
        .find_map(|l| l.strip_prefix("TimeoutStopSec="))
        .and_then(|v| v.trim().strip_suffix('s'))
        .and_then(|v| v.parse().ok())
        .expect("TimeoutStopSec=Ns in the unit");
    assert!(
        timeout_s * 1000 > drain_ms(&config) + 5000,
        "TimeoutStopSec={timeout_s}s leaves too little after drain_ms"
    );
    serves_healthz(&config, &[]);
}

/// Every YAML document in `files`, as JSON, read by the venv's PyYAML.
fn yaml_documents(python: &Path, files: &[PathBuf]) -> Vec<Value> {
    let out = Command::new(python)
        .args([
            "-c",
            "import json, sys, yaml\n\
             docs = [d for f in sys.argv[1:] for d in yaml.safe_load_all(open(f)) if d]\n\
             print(json.dumps(docs))",
        ])
        .args(files)
        .output()
        .unwrap();
    assert!(out.status.success(), "reading YAML:\n{}", text(&out));
    serde_json::from_slice(&out.stdout).unwrap()
}

fn manifests() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(deploy_dir().join("kubernetes"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
        .collect();
    files.sort();
    files
}

#[test]
fn the_kubernetes_manifests_pass_the_kubernetes_schemas_and_their_config_serves() {
    let Some(python) = python_with("kubernetes_validate") else {
        return;
    };
    let validate = |files: &[PathBuf]| {
        Command::new(&python)
            .args(["-m", "kubernetes_validate", "--strict", "--no-warn"])
            .args(files)
            .output()
            .unwrap()
    };
    let files = manifests();
    assert!(
        files.len() >= 5,
        "deployment, service, pdb, configmap, secret: {files:?}"
    );
    let out = validate(&files);
    assert!(out.status.success(), "kubernetes-validate:\n{}", text(&out));

    // The validator does catch a wrong manifest.
    let tmp = tempfile::tempdir().unwrap();
    let broken = tmp.path().join("deployment.yaml");
    let deployment = std::fs::read_to_string(deploy_dir().join("kubernetes/deployment.yaml"))
        .unwrap()
        .replace("replicas: 3", "replicas: three");
    std::fs::write(&broken, deployment).unwrap();
    let out = validate(std::slice::from_ref(&broken));
    assert!(
        !out.status.success(),
        "a string for replicas passed:\n{}",
        text(&out)
    );

    let docs = yaml_documents(&python, &files);
    let kind = |k: &str| {
        docs.iter()
            .find(|d| d["kind"] == k)
            .unwrap_or_else(|| panic!("no {k} in deploy/kubernetes"))
    };
    for k in [
        "Deployment",
        "Service",
        "PodDisruptionBudget",
        "ConfigMap",
        "Secret",
    ] {
        kind(k);
    }
    let deployment = kind("Deployment");
    assert_eq!(deployment["spec"]["replicas"], 3);
    let pod = &deployment["spec"]["template"]["spec"];
    assert_eq!(pod["securityContext"]["runAsNonRoot"], true);
    assert_eq!(
        pod["securityContext"]["seccompProfile"]["type"],
        "RuntimeDefault"
    );
    let kiln = &pod["containers"][0];
    // The Containerfile's image (its version), pushed to a registry, and
    // the binary where the image has it.
    let tag = documented_image();
    let version = tag.rsplit(':').next().unwrap();
    for container in [kiln, &pod["initContainers"][0]] {
        let image = container["image"].as_str().unwrap();
        assert!(image.ends_with(&format!("/kiln:{version}")), "{image}");
        assert_eq!(container["command"][0], IMAGE_KILN);
    }
    assert_eq!(kiln["securityContext"]["readOnlyRootFilesystem"], true);
    assert_eq!(kiln["securityContext"]["capabilities"]["drop"][0], "ALL");
    for probe in ["readinessProbe", "livenessProbe"] {
        assert_eq!(kiln[probe]["httpGet"]["path"], "/healthz", "{probe}");
    }

    // The ConfigMap's kiln.toml with the example Secret's values in the
    // environment: the names are ones kiln reads (an unknown KILN_SERVER_*
    // name stops it), and the file starts a receiver.
    let toml = kind("ConfigMap")["data"]["kiln.toml"]
        .as_str()
        .expect("the ConfigMap carries kiln.toml");
    let config = tmp.path().join("kiln.toml");
    std::fs::write(&config, toml).unwrap();
    let grace_s = pod["terminationGracePeriodSeconds"].as_u64().unwrap();
    assert!(
        grace_s * 1000 > drain_ms(&config) + 5000,
        "terminationGracePeriodSeconds={grace_s} leaves too little after drain_ms"
    );
    let secret: Vec<(String, String)> = kind("Secret")["stringData"]
        .as_object()
        .expect("the Secret's stringData")
        .iter()
        .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_owned()))
        .collect();
    for (name, _) in &secret {
        assert!(name.starts_with("KILN_"), "{name} is not a kiln setting");
    }
    serves_healthz(&config, &secret);
}

/// `KEY=VALUE` lines of an env file, without comments and blank lines.
fn env_file(path: &Path) -> Vec<(String, String)> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|l| {
            let (k, v) = l.split_once('=').expect("KEY=VALUE");
            (k.to_owned(), v.to_owned())
        })
        .collect()
}

#[test]
fn the_compose_file_passes_the_compose_spec_and_its_config_serves() {
    // check-jsonschema validates; PyYAML (kubernetes-validate's) reads.
    let (Some(python), Some(_)) = (python_with("check_jsonschema"), python_with("yaml")) else {
        return;
    };
    let check = |file: &Path| {
        Command::new(&python)
            .args([
                "-m",
                "check_jsonschema",
                "--builtin-schema",
                "vendor.compose-spec",
            ])
            .arg(file)
            .output()
            .unwrap()
    };
    let compose = deploy_dir().join("compose.yaml");
    let out = check(&compose);
    assert!(out.status.success(), "compose.yaml:\n{}", text(&out));

    // The schema does catch a wrong file.
    let tmp = tempfile::tempdir().unwrap();
    let broken = tmp.path().join("compose.yaml");
    let source = std::fs::read_to_string(&compose).unwrap();
    std::fs::write(&broken, source.replace("services:", "service:")).unwrap();
    assert!(
        !check(&broken).status.success(),
        "a misspelt `services` passed"
    );

    let docs = yaml_documents(&python, std::slice::from_ref(&compose));
    let services = &docs[0]["services"];
    assert!(services["postgres"]["healthcheck"].is_object());
    // The image the Containerfile builds, built from this checkout with
    // `--build`, checked by kiln itself (it has no shell or curl).
    let kiln = &services["kiln"];
    assert_eq!(kiln["image"], documented_image());
    let context = deploy_dir().join(kiln["build"]["context"].as_str().unwrap());
    let containerfile = kiln["build"]["dockerfile"].as_str().unwrap();
    assert!(
        context.join(containerfile).is_file(),
        "no {containerfile} in {context:?}"
    );
    assert_eq!(
        kiln["healthcheck"]["test"].as_array().unwrap()[..3],
        [
            Value::from("CMD"),
            Value::from(IMAGE_KILN),
            Value::from("healthcheck")
        ]
    );
    assert_eq!(
        services["kiln"]["depends_on"]["postgres"]["condition"],
        "service_healthy"
    );
    let config = deploy_dir().join("kiln.compose.toml");
    let grace = services["kiln"]["stop_grace_period"].as_str().unwrap();
    let grace_s: u64 = grace
        .strip_suffix('s')
        .and_then(|s| s.parse().ok())
        .unwrap();
    assert!(
        grace_s * 1000 > drain_ms(&config) + 5000,
        "stop_grace_period={grace} leaves too little after drain_ms"
    );
    // The example env file's kiln settings are ones kiln reads.
    let env: Vec<(String, String)> = env_file(&deploy_dir().join("kiln.env.example"))
        .into_iter()
        .filter(|(k, _)| k.starts_with("KILN_"))
        .collect();
    assert!(env.iter().any(|(k, _)| k == "KILN_DATABASE_URL"));
    serves_healthz(&config, &env);
}

/// Exit code, stdout and stderr of a finished command, for messages.
fn described(out: &Output) -> String {
    format!("exit {:?}\n{}", out.status.code(), text(out))
}

/// The port of a receiver's `http://127.0.0.1:PORT` URL.
fn port_of(url: &str) -> u16 {
    url.rsplit(':')
        .next()
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("no port in {url}"))
}

/// Asserts `kiln healthcheck` said healthy: exit 0, one line on stdout.
fn assert_healthy(out: &Output, url: &str) {
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.code() == Some(0)
            && stdout.lines().count() == 1
            && stdout.starts_with(&format!("healthy: {url} answered 200 OK: ok")),
        "kiln healthcheck should find {url} healthy:\n{}",
        described(out)
    );
}

/// Asserts `kiln healthcheck` said unhealthy: exit 1 (never 2, which
/// container runtimes reserve), one line on stderr containing `why`.
fn assert_unhealthy(out: &Output, why: &str) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.code() == Some(1)
            && out.stdout.is_empty()
            && stderr.lines().count() == 1
            && stderr.starts_with("unhealthy: ")
            && stderr.contains(why),
        "kiln healthcheck should exit 1 with one line containing {why:?}:\n{}",
        described(out)
    );
}

#[test]
fn kiln_healthcheck_exits_0_on_200_and_1_on_a_draining_or_stopped_receiver() {
    let tmp = tempfile::tempdir().unwrap();
    let db = Db::sqlite(tmp.path().join("kiln.sqlite3"));
    let receiver = Receiver::start(ReceiverOptions {
        dir: tmp.path(),
        db: &db,
        origin: "http://blog.test",
        token: None,
        extra_env: &[("KILN_SERVER_DRAIN_MS", "5000")],
    });
    let port = port_of(&receiver.url);
    let healthz = format!("http://127.0.0.1:{port}/healthz");
    let check = |args: &[&str], env: &[(&str, &str)]| {
        kiln_cmd(tmp.path())
            .arg("healthcheck")
            .args(args)
            .envs(env.iter().copied())
            .output()
            .unwrap()
    };

    assert_healthy(&check(&["--url", &healthz], &[]), &healthz);
    // From the configuration, as the image's HEALTHCHECK asks: a receiver
    // listening on every interface is asked on loopback.
    let everywhere = format!("0.0.0.0:{port}");
    let from_env = [("KILN_SERVER_LISTEN", everywhere.as_str())];
    assert_healthy(&check(&[], &from_env), &healthz);
    let config = tmp.path().join("kiln.toml");
    std::fs::write(&config, format!("[server]\nlisten = \"[::]:{port}\"\n")).unwrap();
    let out = check(&["--config", config.to_str().unwrap()], &[]);
    // [::] means [::1], where this receiver (on 127.0.0.1) is not.
    assert_unhealthy(&out, &format!("http://[::1]:{port}/healthz did not answer"));

    // Draining: /healthz answers 503 until drain_ms has passed.
    receiver.terminate();
    let out = eventually(
        "kiln healthcheck to see the drain",
        Duration::from_secs(30),
        || {
            let out = check(&[], &from_env);
            if out.status.code() == Some(1) {
                Ok(out)
            } else {
                Err(described(&out))
            }
        },
    );
    assert_unhealthy(
        &out,
        &format!("{healthz} answered 503 Service Unavailable: draining"),
    );
    assert!(receiver.wait_for_exit().success());
    // Stopped: nothing listens.
    assert_unhealthy(&check(&[], &from_env), &format!("{healthz} did not answer"));

    // A configuration it cannot use is unhealthy too, not a usage error (2).
    let missing = tmp.path().join("missing.toml");
    let out = check(&["--config", missing.to_str().unwrap()], &[]);
    assert_unhealthy(&out, "cannot read config file");
    let out = check(&[], &[("KILN_SERVER_LISTEN", "port 8080")]);
    assert_unhealthy(&out, "`server.listen`");
}

/// The static kiln scripts/test builds once for the image and the Debian
/// package, or `None` after saying why the calling test does nothing.
fn static_kiln() -> Option<PathBuf> {
    let path = repo_root().join("target/x86_64-unknown-linux-gnu/kiln-static/kiln");
    if path.is_file() {
        return Some(path);
    }
    let build = "RUSTFLAGS='-C target-feature=+crt-static' cargo build --profile kiln-static \
                 --target x86_64-unknown-linux-gnu --bin kiln";
    if tools_required() {
        panic!(
            "no static kiln at {}; scripts/test builds it: {build}",
            path.display()
        );
    }
    eprintln!("NOTICE: no static kiln; this test did not run. Build it with: {build}");
    None
}

/// Whether this process is root, which unshare --root, mknod and dpkg need; a
/// failure when tools are required (tests run as root here and in CI).
fn running_as_root() -> bool {
    let out = Command::new("id").arg("-u").output().unwrap();
    if String::from_utf8_lossy(&out.stdout).trim() == "0" {
        return true;
    }
    if tools_required() {
        panic!("this test runs unshare --root and dpkg as root; run it as root (as CI does)");
    }
    eprintln!("NOTICE: not root; this test did not run.");
    false
}

/// Runs `cmd` and insists that it succeeded.
fn run_ok(cmd: &mut Command) -> Output {
    let out = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    assert!(out.status.success(), "{cmd:?}:\n{}", described(&out));
    out
}

/// An image (or container) that podman removes when the test ends.
struct Podman<'a> {
    podman: &'a Path,
    what: &'a str,
    name: String,
}

impl Drop for Podman<'_> {
    fn drop(&mut self) {
        let _ = Command::new(self.podman)
            .args([self.what, "rm", "--force", &self.name])
            .output();
    }
}

/// The untagged images podman has: a build's stages and layers stay as
/// such (podman removes them with neither the final image nor --no-cache).
/// `None` if podman could not list them.
fn dangling_images(podman: &Path) -> Option<Vec<String>> {
    let out = Command::new(podman)
        .args(["images", "--all", "--quiet", "--no-trunc"])
        .args(["--filter", "dangling=true"])
        .output()
        .ok()
        .filter(|o| o.status.success())?;
    let ids = String::from_utf8_lossy(&out.stdout);
    Some(ids.split_whitespace().map(str::to_owned).collect())
}

/// Removes, when the test ends, the untagged images that appeared since
/// `before`: this test's build stages. One that another image still builds
/// on is left alone (no --force).
struct Leftovers<'a> {
    podman: &'a Path,
    before: Vec<String>,
}

impl Drop for Leftovers<'_> {
    fn drop(&mut self) {
        // A stage is removable once the stage built on it is gone: repeat
        // while a pass removes something.
        loop {
            let removed = dangling_images(self.podman)
                .unwrap_or_default()
                .iter()
                .filter(|id| !self.before.contains(id))
                .filter(|id| {
                    Command::new(self.podman)
                        .args(["image", "rm", id])
                        .output()
                        .is_ok_and(|o| o.status.success())
                })
                .count();
            if removed == 0 {
                break;
            }
        }
    }
}

/// The PostgreSQL test cluster's TLS URL (`scripts/pg-cluster tls-url`): a
/// `verify-full` URL naming `localhost`. `None` after saying so when it is
/// not set and tools are not required.
fn tls_database_url() -> Option<String> {
    match std::env::var("KILN_TEST_DATABASE_TLS_URL") {
        Ok(url) if !url.is_empty() => Some(url),
        _ if tools_required() => {
            panic!("KILN_TEST_DATABASE_TLS_URL is not set; scripts/test starts a cluster (scripts/pg-cluster)")
        }
        _ => {
            eprintln!(
                "NOTICE: KILN_TEST_DATABASE_TLS_URL is not set; the PostgreSQL part did not run."
            );
            None
        }
    }
}

#[test]
fn the_container_image_is_kiln_alone_on_scratch_as_user_65532_and_serves_from_its_config() {
    let Some(podman) = require_tool("podman", "KILN_PODMAN") else {
        return;
    };
    let Some(binary) = static_kiln() else {
        return;
    };
    if !running_as_root() {
        return;
    }
    // util-linux's unshare changes root, working directory and user, as a
    // container runtime does, without namespaces or rlimits.
    let Some(unshare) = require_tool("unshare", "KILN_UNSHARE") else {
        return;
    };
    let root = repo_root();
    let tmp = tempfile::tempdir().unwrap();

    // The Containerfile's `host` stage takes this static kiln from the build
    // context instead of building one in a Rust image: no registry is
    // reachable here, so the Rust image could not be pulled. --no-cache:
    // podman 4.3 reuses a cached COPY layer whose --chown differs.
    let tag = format!("localhost/kiln:e2e-{}", std::process::id());
    // Dropped last: the stages are dangling once the image is gone.
    let _leftovers = Leftovers {
        podman: &podman,
        before: dangling_images(&podman).expect("podman images --filter dangling=true"),
    };
    let _image = Podman {
        podman: &podman,
        what: "image",
        name: tag.clone(),
    };
    let context_path = binary
        .strip_prefix(&root)
        .expect("the static kiln is under target/, in the build context");
    run_ok(
        Command::new(&podman)
            .args(["build", "--no-cache", "--format", "docker", "--build-arg"])
            .arg("KILN_BINARY_FROM=host")
            .arg("--build-arg")
            .arg(format!("KILN_BINARY={}", context_path.display()))
            .args(["--tag", &tag, "--file"])
            .arg(root.join("Containerfile"))
            .arg(&root),
    );

    let out = run_ok(Command::new(&podman).args(["image", "inspect", &tag]));
    let inspect: Value = serde_json::from_slice(&out.stdout).unwrap();
    let image = &inspect[0];
    let config = &image["Config"];
    assert_eq!(config["User"], "65532:65532", "a numeric non-root user");
    assert_eq!(config["Entrypoint"], serde_json::json!([IMAGE_KILN]));
    assert_eq!(config["Cmd"], serde_json::json!(["serve"]));
    assert!(config["ExposedPorts"]["8080/tcp"].is_object(), "{config}");
    assert!(config["Volumes"]["/var/lib/kiln"].is_object(), "{config}");
    assert_eq!(config["WorkingDir"], "/var/lib/kiln");
    // podman shows the docker format's health check beside Config.
    let health: Vec<String> = image["Healthcheck"]["Test"]
        .as_array()
        .unwrap_or_else(|| panic!("no HEALTHCHECK kept: {image}"))
        .iter()
        .map(|v| v.as_str().unwrap().to_owned())
        .collect();
    assert_eq!(health[..3], ["CMD", IMAGE_KILN, "healthcheck"]);
    let env: Vec<(String, String)> = config["Env"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| {
            let (k, v) = v.as_str().unwrap().split_once('=').unwrap();
            (k.to_owned(), v.to_owned())
        })
        .collect();
    assert!(
        env.iter()
            .any(|(k, v)| k == "KILN_CONFIG" && v == "/etc/kiln/kiln.toml"),
        "{env:?}"
    );
    // Small: kiln and its kiln.toml, nothing else.
    let size = image["Size"].as_u64().unwrap();
    let kiln_size = std::fs::metadata(&binary).unwrap().len();
    eprintln!("image {tag}: {size} bytes, of which kiln {kiln_size}");
    assert!(
        size < kiln_size + 64 * 1024,
        "the image holds more than kiln: {size} bytes for a {kiln_size}-byte kiln"
    );

    // Where containers can run, the image runs.
    let run = Command::new(&podman)
        .args(["run", "--rm", "--network=none", &tag, "--version"])
        .output()
        .unwrap();
    if run.status.success() {
        let version = format!("kiln {}\n", env!("CARGO_PKG_VERSION"));
        assert_eq!(String::from_utf8_lossy(&run.stdout), version);
    } else {
        eprintln!(
            "NOTICE: podman run cannot run containers here; the image's file system runs under unshare instead:\n{}",
            String::from_utf8_lossy(&run.stderr).trim()
        );
    }
    // `podman run` fails on these machines before kiln starts (crun cannot
    // set RLIMIT_NOFILE: "Operation not permitted"), so the image's file
    // system is taken out of a created, never started, container and kiln is
    // run in it (unshare --root), in the image's working directory, as the
    // image's user, with the image's environment and nothing of the host's:
    // no libc, no /etc/passwd.
    let created = run_ok(Command::new(&podman).args(["create", &tag]));
    let container = Podman {
        podman: &podman,
        what: "container",
        name: String::from_utf8_lossy(&created.stdout).trim().to_owned(),
    };
    let tar = tmp.path().join("rootfs.tar");
    run_ok(
        Command::new(&podman)
            .args(["export", "--output"])
            .arg(&tar)
            .arg(&container.name),
    );
    drop(container);
    let rootfs = tmp.path().join("rootfs");
    std::fs::create_dir(&rootfs).unwrap();
    run_ok(
        Command::new("tar")
            .args(["--extract", "--same-owner", "--numeric-owner", "--file"])
            .arg(&tar)
            .arg("--directory")
            .arg(&rootfs),
    );
    assert!(
        std::fs::read(rootfs.join("usr/local/bin/kiln")).unwrap()
            == std::fs::read(&binary).unwrap(),
        "the image's kiln is not the static kiln it was built from"
    );
    {
        use std::os::unix::fs::MetadataExt;
        let owner = |p: &str| std::fs::metadata(rootfs.join(p)).unwrap().uid();
        assert_eq!(owner("var/lib/kiln"), 65532, "the volume is the user's");
        assert_eq!(owner("tmp"), 65532);
        assert_eq!(
            owner("etc/kiln/kiln.toml"),
            0,
            "the config is read-only to the user"
        );
        assert_eq!(owner("usr/local/bin/kiln"), 0);
    }
    // What every container runtime adds to an image's file system: the
    // random and null devices (Rust's getrandom crate finds no getrandom()
    // through dlsym in a static program, so it reads /dev/urandom) and
    // /etc/hosts.
    std::fs::create_dir(rootfs.join("dev")).unwrap();
    for (name, minor) in [("null", "3"), ("random", "8"), ("urandom", "9")] {
        run_ok(
            Command::new("mknod")
                .args(["-m", "666"])
                .arg(rootfs.join("dev").join(name))
                .args(["c", "1", minor]),
        );
    }
    std::fs::write(
        rootfs.join("etc/hosts"),
        "127.0.0.1 localhost\n::1 localhost\n",
    )
    .unwrap();
    let in_image = |args: &[&str], extra: &[(&str, &str)]| {
        let mut cmd = Command::new(&unshare);
        cmd.env_clear()
            .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .envs(extra.iter().copied())
            .arg(format!("--root={}", rootfs.display()))
            .arg(format!("--wd={}", config["WorkingDir"].as_str().unwrap()))
            .args(["--setgid=65532", "--setuid=65532"])
            .arg("/usr/local/bin/kiln")
            .args(args);
        cmd
    };

    // kiln serve from the image's own kiln.toml (its volume's SQLite file),
    // with only what an operator must set (the origins) and the address (the
    // image's 0.0.0.0:8080 is not this test's to take).
    let origins = ("KILN_SITES_ORIGINS", "https://example.org");
    let db = Db::sqlite(rootfs.join("var/lib/kiln/kiln.sqlite3"));
    let mut serve = in_image(
        &["serve"],
        &[origins, ("KILN_SERVER_LISTEN", "127.0.0.1:0")],
    );
    serve.env("KILN_LOG", "info");
    let receiver = Receiver::launch(serve, &db);
    let port = port_of(&receiver.url);
    let healthz = format!("http://127.0.0.1:{port}/healthz");
    let answer = http().get(&healthz).send().unwrap();
    assert_eq!(answer.status(), 200);
    assert_eq!(answer.text().unwrap(), "ok\n");
    assert!(
        rootfs.join("var/lib/kiln/kiln.sqlite3").is_file(),
        "the SQLite file is in the image's volume"
    );
    // The image's HEALTHCHECK command itself, with the image's config
    // (listen 0.0.0.0), on this receiver's port.
    let everywhere = format!("0.0.0.0:{port}");
    let listen = ("KILN_SERVER_LISTEN", everywhere.as_str());
    let healthcheck: Vec<&str> = health[2..].iter().map(String::as_str).collect();
    assert_healthy(
        &in_image(&healthcheck, &[listen]).output().unwrap(),
        &healthz,
    );
    receiver.terminate();
    let out = eventually(
        "the image's health check to see the drain",
        Duration::from_secs(30),
        || {
            let out = in_image(&healthcheck, &[listen]).output().unwrap();
            if out.status.code() == Some(1) {
                Ok(out)
            } else {
                Err(described(&out))
            }
        },
    );
    assert_unhealthy(&out, "503 Service Unavailable: draining");
    assert!(receiver.wait_for_exit().success());

    // PostgreSQL by name and by address: getaddrinfo in a static glibc
    // binary reads /etc/hosts with no NSS module to load.
    let Some(tls_url) = tls_database_url() else {
        return;
    };
    let Some(pg) = Db::postgres() else {
        return;
    };
    // The scratch database's name: its URL's path (a socket URL has no
    // host, which the url crate refuses for postgres://).
    let after_scheme = pg.arg().split_once("://").unwrap().1;
    let path = &after_scheme[after_scheme.find('/').unwrap()..];
    let name = path.split('?').next().unwrap();
    let mut url = url::Url::parse(&tls_url).unwrap();
    url.set_path(name);
    let ca = url
        .query_pairs()
        .find(|(k, _)| k == "sslrootcert")
        .map(|(_, v)| v.into_owned())
        .expect("the TLS URL names its CA");
    std::fs::copy(&ca, rootfs.join("etc/kiln/ca.pem")).unwrap();
    url.query_pairs_mut()
        .clear()
        .append_pair("sslmode", "verify-full")
        .append_pair("sslrootcert", "/etc/kiln/ca.pem");
    for host in ["localhost", "127.0.0.1"] {
        url.set_host(Some(host)).unwrap();
        let mut serve = in_image(
            &["serve"],
            &[
                origins,
                ("KILN_SERVER_LISTEN", "127.0.0.1:0"),
                ("KILN_DATABASE_URL", url.as_str()),
            ],
        );
        serve.env("KILN_LOG", "info");
        let receiver = Receiver::launch(serve, &pg);
        let port = port_of(&receiver.url);
        let everywhere = format!("0.0.0.0:{port}");
        let out = in_image(&healthcheck, &[("KILN_SERVER_LISTEN", everywhere.as_str())])
            .output()
            .unwrap();
        assert_healthy(&out, &format!("http://127.0.0.1:{port}/healthz"));
    }
}

#[test]
fn the_debian_package_installs_serves_from_its_config_and_removes() {
    let Some(binary) = static_kiln() else {
        return;
    };
    // scripts/install-tools puts cargo-deb in the tools directory.
    let cargo_deb = find_tool("cargo-deb", "KILN_CARGO_DEB")
        .or_else(|| Some(tools_dir().join("cargo-deb/bin/cargo-deb")).filter(|p| p.is_file()));
    let Some(cargo_deb) = cargo_deb.or_else(|| require_tool("cargo-deb", "KILN_CARGO_DEB")) else {
        return;
    };
    let (Some(dpkg), Some(dpkg_deb)) = (
        require_tool("dpkg", "KILN_DPKG"),
        require_tool("dpkg-deb", "KILN_DPKG_DEB"),
    ) else {
        return;
    };
    if !running_as_root() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();

    // The static kiln scripts/test built, packaged as it is: --no-build, so
    // no release build (minutes on CI's two cores) just for the package.
    // --fast: xz's quick preset, a package of about the same size.
    let deb = tmp.path().join("kiln.deb");
    run_ok(
        Command::new(&cargo_deb)
            .current_dir(repo_root())
            .args([
                "--no-build",
                "--fast",
                "--target",
                "x86_64-unknown-linux-gnu",
            ])
            .args(["--profile", "kiln-static", "--output"])
            .arg(&deb),
    );
    let info = text(&run_ok(Command::new(&dpkg_deb).arg("--info").arg(&deb)));
    for field in [
        "Package: kiln",
        "Version: 0.1.0-1",
        "Architecture: amd64",
        "Section: web",
    ] {
        assert!(info.contains(field), "{field} in:\n{info}");
    }
    // No maintainer scripts: DynamicUser= makes a system user unneeded, and
    // the service is not enabled before its kiln.toml is edited.
    for script in ["preinst", "postinst", "prerm", "postrm"] {
        assert!(!info.contains(script), "a {script} in:\n{info}");
    }
    let conffiles = run_ok(
        Command::new(&dpkg_deb)
            .arg("--info")
            .arg(&deb)
            .arg("conffiles"),
    );
    assert_eq!(
        String::from_utf8_lossy(&conffiles.stdout).trim(),
        "/etc/kiln/kiln.toml"
    );
    let contents = text(&run_ok(Command::new(&dpkg_deb).arg("--contents").arg(&deb)));
    let files = [
        "usr/bin/kiln",
        "etc/kiln/kiln.toml",
        "lib/systemd/system/kiln.service",
        "lib/systemd/system/kiln.service.d/debian.conf",
        "usr/share/doc/kiln/copyright",
        "usr/share/doc/kiln/README.md",
        "usr/share/doc/kiln/deploy.md",
    ];
    for file in files {
        assert!(
            contents.contains(&format!(" ./{file}\n")),
            "{file} in:\n{contents}"
        );
    }

    // dpkg into a root of its own (--root), not the machine's: the test
    // needs no lock on the machine's package database, leaves nothing behind
    // when it fails, and cannot clash with a kiln installed for real. With
    // no maintainer scripts, nothing runs inside that root.
    let root = tmp.path().join("root");
    std::fs::create_dir_all(root.join("var/lib/dpkg/updates")).unwrap();
    std::fs::create_dir_all(root.join("var/lib/dpkg/info")).unwrap();
    std::fs::write(root.join("var/lib/dpkg/status"), "").unwrap();
    let dpkg_in_root = || {
        let mut cmd = Command::new(&dpkg);
        cmd.arg(format!("--root={}", root.display()))
            .arg("--log=/dev/null");
        cmd
    };
    run_ok(dpkg_in_root().arg("--install").arg(&deb));
    let status = text(&run_ok(dpkg_in_root().args(["--status", "kiln"])));
    assert!(status.contains("Status: install ok installed"), "{status}");
    let installed = |p: &str| root.join(p);
    let read = |p: &Path| std::fs::read_to_string(p).unwrap();
    let deploy = deploy_dir();
    assert_eq!(
        read(&installed("lib/systemd/system/kiln.service")),
        read(&deploy.join("systemd/kiln.service"))
    );
    assert_eq!(
        read(&installed("etc/kiln/kiln.toml")),
        read(&deploy.join("systemd/kiln.toml"))
    );
    // The drop-in moves ExecStart= to the package's /usr/bin and changes
    // nothing else of the unit's command.
    let unit = read(&deploy.join("systemd/kiln.service"));
    let exec = |text: &str| -> Vec<String> {
        text.lines()
            .filter(|l| l.starts_with("ExecStart="))
            .map(str::to_owned)
            .collect()
    };
    let drop_in = read(&installed("lib/systemd/system/kiln.service.d/debian.conf"));
    let mut expected = vec!["ExecStart=".to_owned()];
    expected.extend(
        exec(&unit)
            .iter()
            .map(|l| l.replace("=/usr/local/bin/kiln ", "=/usr/bin/kiln ")),
    );
    assert_eq!(exec(&drop_in), expected);
    let kiln = installed("usr/bin/kiln");
    let version = |k: &Path| text(&run_ok(Command::new(k).arg("--version")));
    assert_eq!(version(&kiln), version(&binary));

    // The installed kiln with the installed kiln.toml. This machine's PID 1
    // is not systemd, so the unit cannot be started as a service: the
    // binary is started as the unit's ExecStart= would, with the SQLite
    // path (the unit's StateDirectory=) moved into this test's directory.
    let state = tmp.path().join("state");
    std::fs::create_dir(&state).unwrap();
    let config_text = read(&installed("etc/kiln/kiln.toml"));
    const STATE_DIR: &str = "\"/var/lib/kiln/";
    assert!(config_text.contains(STATE_DIR), "{config_text}");
    let config = tmp.path().join("kiln.toml");
    std::fs::write(
        &config,
        config_text.replace(STATE_DIR, &format!("\"{}/", state.display())),
    )
    .unwrap();
    let db = Db::sqlite(state.join("kiln.sqlite3"));
    let mut serve = program_cmd(&kiln, &state);
    serve
        .arg("--config")
        .arg(&config)
        .args(["serve", "--listen", "127.0.0.1:0"])
        .env("KILN_LOG", "info");
    let receiver = Receiver::launch(serve, &db);
    let answer = http()
        .get(format!("{}/healthz", receiver.url))
        .send()
        .unwrap();
    assert_eq!(answer.status(), 200);
    assert!(state.join("kiln.sqlite3").is_file());
    let port = port_of(&receiver.url);
    let listen = format!("127.0.0.1:{port}");
    let out = program_cmd(&kiln, &state)
        .arg("--config")
        .arg(&config)
        .arg("healthcheck")
        .env("KILN_SERVER_LISTEN", &listen)
        .output()
        .unwrap();
    assert_healthy(&out, &format!("http://{listen}/healthz"));
    drop(receiver);

    // Removed, the configuration stays (a conffile); purged, it goes too.
    run_ok(dpkg_in_root().args(["--remove", "kiln"]));
    for file in files.iter().filter(|f| !f.starts_with("etc/")) {
        assert!(!installed(file).exists(), "{file} left after dpkg --remove");
    }
    assert!(installed("etc/kiln/kiln.toml").is_file());
    run_ok(dpkg_in_root().args(["--purge", "kiln"]));
    assert!(!installed("etc/kiln/kiln.toml").exists());
    let status = dpkg_in_root().args(["--status", "kiln"]).output().unwrap();
    assert!(!status.status.success(), "{}", described(&status));
}
