//! The deployment recipes in `deploy/` (issue 19), checked with the tools an
//! operator's own checks would use, offline: the systemd unit with
//! `systemd-analyze verify` and `security`, the Kubernetes manifests against
//! the Kubernetes schemas (kubernetes-validate), and compose.yaml against the
//! compose-spec schema (check-jsonschema). Each recipe's kiln.toml, with its
//! example secrets in the environment, starts the real receiver until
//! `/healthz` answers: kiln has no separate "config check" command, and
//! `kiln serve` checks every key before it listens. None of these tests opens
//! a PostgreSQL database (the receivers run on a scratch SQLite file), so
//! scripts/test's PostgreSQL run skips them.

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
