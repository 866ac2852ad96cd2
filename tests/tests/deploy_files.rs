//! The files in `deploy/` agree with the binaries and with each other, as
//! far as can be checked without a cluster or a booted systemd: every
//! Secret and ConfigMap the Kubernetes manifests use is created by the
//! kustomization or created by a step deploy/README.md shows; the node's
//! probes are `/ready` and `/healthz` on its admin port, and a real node
//! waiting for its first configuration fails the first and passes the
//! second; every flag and `ARCHWAY_*` variable in the units, env files,
//! manifests, compose file and both READMEs' commands exists in the
//! binary's `--help`; the systemd units pass `systemd-analyze verify`
//! (where it exists; required where `tests/run` says so), and two
//! instances of the node unit on one host get distinct ports from their env
//! files (compared, not bound: a test never takes fixed ports), their own
//! state directories and node ids, and both, started from the unit's
//! ExecStart with those ids and directories, serve.

use archway_e2e::http_client::fetch;
use archway_e2e::process::{Process, bin_dir};
use archway_e2e::tools::available;
use archway_e2e::{Admin, ControlPlane, TEST_NODE_TOKEN};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Every YAML document of every file under deploy/kubernetes, with its file.
fn manifests() -> Vec<(PathBuf, Value)> {
    let mut files = Vec::new();
    let mut dirs = vec![repo().join("deploy/kubernetes")];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "yaml") {
                files.push(path);
            }
        }
    }
    files.sort();
    let mut documents = Vec::new();
    for file in files {
        let parsed: Vec<Value> = serde_saphyr::from_multiple(&read(&file))
            .unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        documents.extend(parsed.into_iter().map(|doc| (file.clone(), doc)));
    }
    documents
}

/// A Secret or ConfigMap a manifest uses: (kind, name, key, optional).
type Reference = (&'static str, String, Option<String>, bool);

/// Walks a document for every way a pod can use a Secret or ConfigMap.
fn references(value: &Value, found: &mut Vec<Reference>) {
    match value {
        Value::Object(map) => {
            for (field, inner) in map {
                let name = inner["name"].as_str().map(str::to_owned);
                let key = inner["key"].as_str().map(str::to_owned);
                let optional = inner["optional"].as_bool().unwrap_or(false);
                match (field.as_str(), name) {
                    ("secretKeyRef" | "secretRef", Some(name)) => {
                        found.push(("Secret", name, key, optional))
                    }
                    ("configMapKeyRef" | "configMapRef", Some(name)) => {
                        found.push(("ConfigMap", name, key, optional))
                    }
                    ("configMap", Some(name)) => found.push(("ConfigMap", name, None, optional)),
                    ("secret", _) => {
                        if let Some(name) = inner["secretName"].as_str() {
                            found.push(("Secret", name.into(), None, optional));
                        }
                    }
                    _ => {}
                }
                references(inner, found);
            }
        }
        Value::Array(items) => items.iter().for_each(|i| references(i, found)),
        _ => {}
    }
}

#[test]
fn every_secret_and_config_map_the_manifests_use_is_created_or_documented() {
    let documents = manifests();
    let deploy_readme = read(&repo().join("deploy/README.md"));
    let kustomization = documents
        .iter()
        .find(|(file, _)| file.ends_with("kustomization.yaml"))
        .map(|(_, doc)| doc.clone())
        .expect("a kustomization");

    // What the kustomization makes: generated Secrets and ConfigMaps with
    // their keys, and plain Secret/ConfigMap resources it lists.
    let mut created: BTreeMap<(&str, String), BTreeSet<String>> = BTreeMap::new();
    for (field, kind) in [
        ("secretGenerator", "Secret"),
        ("configMapGenerator", "ConfigMap"),
    ] {
        for generator in kustomization[field].as_array().into_iter().flatten() {
            let name = generator["name"].as_str().unwrap().to_owned();
            let mut keys = BTreeSet::new();
            for entry in ["files", "literals", "envs"]
                .iter()
                .flat_map(|f| generator[*f].as_array().into_iter().flatten())
            {
                let entry = entry.as_str().unwrap();
                let (key, source) = entry.split_once('=').unwrap_or((entry, entry));
                keys.insert(key.to_owned());
                // A generator reads files the operator makes (they are
                // secrets, so not in git): the README must say how.
                if generator["files"]
                    .as_array()
                    .is_some_and(|f| f.iter().any(|e| e == entry))
                {
                    assert!(
                        deploy_readme.contains(&format!("> {source}")),
                        "deploy/README.md shows how to make {source} (for {kind} {name})"
                    );
                }
            }
            created.insert((kind, name), keys);
        }
    }
    let listed: Vec<&str> = kustomization["resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r.as_str().unwrap())
        .collect();
    for (file, doc) in &documents {
        let name = file.file_name().unwrap().to_str().unwrap();
        let in_base = file.parent() == Some(&repo().join("deploy/kubernetes"));
        if in_base && name != "kustomization.yaml" {
            assert!(listed.contains(&name), "kustomization lists {name}");
        }
        if let Some(kind @ ("Secret" | "ConfigMap")) = doc["kind"].as_str() {
            let kind = if kind == "Secret" {
                "Secret"
            } else {
                "ConfigMap"
            };
            let keys = doc["data"]
                .as_object()
                .into_iter()
                .chain(doc["stringData"].as_object())
                .flat_map(|m| m.keys().cloned())
                .collect();
            created.insert(
                (kind, doc["metadata"]["name"].as_str().unwrap().into()),
                keys,
            );
        }
    }

    let mut used = Vec::new();
    for (_, doc) in &documents {
        references(doc, &mut used);
    }
    assert!(!used.is_empty(), "the manifests use secrets");
    for (kind, name, key, optional) in used {
        match created.get(&(kind, name.clone())) {
            Some(keys) => {
                if let Some(key) = key {
                    assert!(keys.contains(&key), "{kind} {name} has key {key}: {keys:?}");
                }
            }
            None => {
                // Not made by the kustomization: an optional one the
                // README shows how to create.
                let verb = if kind == "Secret" {
                    format!("kubectl -n archway create secret generic {name}")
                } else {
                    format!("kubectl -n archway create configmap {name}")
                };
                assert!(
                    optional && deploy_readme.contains(&format!("{verb} ")),
                    "{kind} {name} is used but nothing creates it: make it in the \
                     kustomization, or mark it optional and show '{verb}' in deploy/README.md"
                );
                if let Some(key) = key {
                    assert!(
                        deploy_readme.contains(&format!("--from-literal={key}=")),
                        "deploy/README.md creates {name} with key {key}"
                    );
                }
            }
        }
    }
}

/// The data-plane Deployment's container.
fn node_container(documents: &[(PathBuf, Value)]) -> Value {
    documents
        .iter()
        .find(|(_, d)| d["kind"] == "Deployment")
        .map(|(_, d)| d["spec"]["template"]["spec"]["containers"][0].clone())
        .expect("the data-plane Deployment")
}

fn env_of(container: &Value, name: &str) -> Option<String> {
    container["env"]
        .as_array()?
        .iter()
        .find(|e| e["name"] == name)
        .and_then(|e| e["value"].as_str().map(str::to_owned))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn node_probes_are_ready_and_healthz_so_a_waiting_node_is_not_restarted() -> anyhow::Result<()>
{
    let documents = manifests();
    let node = node_container(&documents);
    let admin_listen = env_of(&node, "ARCHWAY_ADMIN_LISTEN").expect("the admin port is set");
    let admin_port: u64 = admin_listen.rsplit(':').next().unwrap().parse()?;
    assert!(
        admin_listen.starts_with("0.0.0.0:"),
        "the kubelet reaches the pod's address, not its loopback: {admin_listen}"
    );
    let port_named = |name: &Value| {
        node["ports"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| &p["name"] == name)
            .and_then(|p| p["containerPort"].as_u64())
    };
    let readiness = &node["readinessProbe"]["httpGet"];
    let liveness = &node["livenessProbe"]["httpGet"];
    for probe in [readiness, liveness] {
        assert_eq!(port_named(&probe["port"]), Some(admin_port), "{probe}");
    }
    let ready_path = readiness["path"].as_str().expect("readiness is HTTP");
    let live_path = liveness["path"].as_str().expect("liveness is HTTP");

    // The metrics Service reaches the same port and says so to Prometheus.
    let metrics = documents
        .iter()
        .map(|(_, d)| d)
        .find(|d| {
            d["kind"] == "Service" && d["metadata"]["annotations"]["prometheus.io/scrape"] == "true"
        })
        .expect("a Service annotated for scraping");
    let annotations = &metrics["metadata"]["annotations"];
    assert_eq!(annotations["prometheus.io/port"], admin_port.to_string());
    assert_eq!(annotations["prometheus.io/path"], "/metrics");
    assert_eq!(
        port_named(&metrics["spec"]["ports"][0]["targetPort"]),
        Some(admin_port)
    );

    // A real node whose control plane is not there yet: not ready (kept
    // out of the Service), alive (not restarted).
    let dir = tempfile::tempdir()?;
    let control_plane = format!("http://{}", archway_e2e::unused_loopback_addr());
    let waiting =
        archway_e2e::DataPlane::start(&control_plane, "waiting", &dir.path().join("w"), &[])?;
    let admin = waiting.admin_addr();
    let (ready, _) = fetch(&format!("http://{admin}{ready_path}")).await?;
    let (live, _) = fetch(&format!("http://{admin}{live_path}")).await?;
    assert_eq!(ready.as_u16(), 503);
    assert_eq!(live.as_u16(), 200);
    let (scraped, body) = fetch(&format!("http://{admin}/metrics")).await?;
    assert_eq!(scraped.as_u16(), 200);
    assert!(body.contains("# TYPE"), "{body}");
    Ok(())
}

/// The flags and `ARCHWAY_*` variables a binary's help lists, the
/// subcommands' too.
fn help_of(binary: &str) -> BTreeSet<String> {
    fn collect(binary: &Path, path: &[String], into: &mut BTreeSet<String>, depth: usize) {
        let output = Command::new(binary)
            .args(path)
            .arg("--help")
            .output()
            .unwrap();
        let help = String::from_utf8_lossy(&output.stdout).into_owned();
        into.extend(words(&help));
        // Subcommands are listed under "Commands:", two spaces in.
        let Some(commands) = help.split("Commands:\n").nth(1) else {
            return;
        };
        if depth == 0 {
            return;
        }
        for line in commands.lines().take_while(|l| l.starts_with("  ")) {
            let name = line.split_whitespace().next().unwrap();
            if name != "help" {
                let mut sub = path.to_vec();
                sub.push(name.into());
                collect(binary, &sub, into, depth - 1);
            }
        }
    }
    let mut all = BTreeSet::new();
    collect(&bin_dir().join(binary), &[], &mut all, 3);
    all
}

/// The `--flags` and `ARCHWAY_*` names in a text.
fn words(text: &str) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    let word_at = |rest: &str, allowed: fn(char) -> bool| -> String {
        rest.chars().take_while(|c| allowed(*c)).collect()
    };
    for (at, _) in text.match_indices("--") {
        let before = text[..at].chars().last();
        let flag = word_at(&text[at + 2..], |c| {
            c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'
        });
        if before.is_none_or(|c| !c.is_alphanumeric() && c != '-')
            && flag.starts_with(|c: char| c.is_ascii_lowercase())
        {
            found.insert(format!("--{flag}"));
        }
    }
    for (at, _) in text.match_indices("ARCHWAY_") {
        let name = word_at(&text[at..], |c| c.is_ascii_uppercase() || c == '_');
        found.insert(name.trim_end_matches('_').to_owned());
    }
    found
}

/// The commands in a README's fenced blocks that run `binary`.
fn commands_in(readme: &str, binary: &str) -> Vec<String> {
    readme
        .split("```")
        .skip(1)
        .step_by(2)
        .flat_map(|block| {
            block
                .lines()
                .map(str::trim)
                .map(str::to_owned)
                .collect::<Vec<_>>()
        })
        .filter(|line| {
            line.split_whitespace()
                .next()
                .is_some_and(|first| first == binary || first.ends_with(&format!("/{binary}")))
        })
        .map(|line| line.split(" #").next().unwrap().to_owned())
        .collect()
}

#[test]
fn every_flag_and_variable_in_the_deploy_files_exists_in_the_binaries() {
    let control_plane = help_of("archway-control-plane");
    let data_plane = help_of("archway-data-plane");
    let ctl = help_of("archwayctl");
    let binaries = [
        ("archway-control-plane", &control_plane),
        ("archway-data-plane", &data_plane),
        ("archwayctl", &ctl),
    ];
    let help_for = |binary: &str| {
        binaries
            .iter()
            .find(|(name, _)| binary.ends_with(name))
            .map(|(_, help)| *help)
            .unwrap_or_else(|| panic!("{binary} is one of ours"))
    };
    let mut checked = 0;
    let mut check = |binary: &str, used: BTreeSet<String>, source: &str| {
        let help = help_for(binary);
        for word in used {
            assert!(
                help.contains(&word),
                "{source} uses {word}, which `{binary} --help` does not list"
            );
            checked += 1;
        }
    };
    let deploy = repo().join("deploy");

    // systemd: each unit's ExecStart, each env file's variables (set or
    // shown commented out).
    for (unit, env_file, binary) in [
        (
            "archway-control-plane.service",
            "control-plane.env.example",
            "archway-control-plane",
        ),
        (
            "archway-data-plane@.service",
            "data-plane.env.example",
            "archway-data-plane",
        ),
    ] {
        let unit_text = read(&deploy.join("systemd").join(unit));
        for line in unit_text.lines().filter(|l| l.starts_with("ExecStart=")) {
            assert!(line.contains(binary), "{unit}: {line}");
            check(binary, words(line), unit);
        }
        for line in unit_text.lines().filter(|l| l.starts_with("Environment=")) {
            check(binary, words(line), unit);
        }
        let env_text = read(&deploy.join("systemd").join(env_file));
        let assigned = env_text
            .lines()
            .map(|l| l.trim_start_matches('#'))
            .filter(|l| l.starts_with("ARCHWAY_") && l.contains('='))
            .flat_map(words)
            .collect();
        check(binary, assigned, env_file);
    }

    // Kubernetes: each container's command and environment.
    for (file, doc) in manifests() {
        let containers = doc["spec"]["template"]["spec"]["containers"]
            .as_array()
            .cloned();
        for container in containers.into_iter().flatten() {
            let binary = container["command"][0].as_str().unwrap().to_owned();
            let mut used: BTreeSet<String> = container["command"]
                .as_array()
                .unwrap()
                .iter()
                .chain(container["args"].as_array().into_iter().flatten())
                .flat_map(|a| words(a.as_str().unwrap()))
                .collect();
            for env in container["env"].as_array().into_iter().flatten() {
                let name = env["name"].as_str().unwrap();
                if name.starts_with("ARCHWAY_") {
                    used.insert(name.into());
                }
            }
            check(&binary, used, &file.display().to_string());
        }
    }

    // Compose: each service's command and environment keys.
    let compose: Value =
        serde_saphyr::from_str(&read(&deploy.join("container/compose.yaml"))).unwrap();
    for (name, service) in compose["services"].as_object().unwrap() {
        let binary = service["command"][0].as_str().unwrap().to_owned();
        let used = service["environment"]
            .as_object()
            .unwrap()
            .keys()
            .filter(|k| k.starts_with("ARCHWAY_"))
            .cloned()
            .collect();
        check(&binary, used, &format!("compose service {name}"));
    }

    // Both READMEs: every command line that runs one of our binaries.
    for readme in ["README.md", "deploy/README.md"] {
        let text = read(&repo().join(readme));
        for (binary, _) in binaries {
            for line in commands_in(&text, binary) {
                check(binary, words(&line), &format!("{readme}: {line}"));
            }
        }
    }
    assert!(checked > 60, "checked {checked} flags and variables");
}

#[test]
fn the_systemd_units_pass_systemd_analyze_verify() {
    if !available(
        "systemd-analyze",
        &["--version"],
        "the systemd units' verification",
    ) {
        return;
    }
    // The units as installed, with the binaries where this build has them.
    let dir = tempfile::tempdir().unwrap();
    for unit in [
        "archway-control-plane.service",
        "archway-data-plane@.service",
    ] {
        let text = read(&repo().join("deploy/systemd").join(unit))
            .replace("/usr/local/bin/", &format!("{}/", bin_dir().display()));
        std::fs::write(dir.path().join(unit), text).unwrap();
    }
    for unit in [
        "archway-control-plane.service",
        "archway-data-plane@edge1.service",
        "archway-data-plane@edge2.service",
    ] {
        let output = Command::new("systemd-analyze")
            .args(["verify", "--man=no"])
            .arg(dir.path().join(unit))
            .env("SYSTEMD_LOG_COLOR", "0")
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(output.status.success(), "{unit}: {stderr}");
        assert!(
            !stderr.contains("archway"),
            "{unit}: systemd-analyze warns: {stderr}"
        );
    }
}

/// The value of `KEY=` in an env file.
fn env_value(env_file: &str, key: &str) -> Option<String> {
    env_file
        .lines()
        .find_map(|l| l.strip_prefix(&format!("{key}=")))
        .map(str::to_owned)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_node_instances_on_one_host_get_their_own_ports_dirs_and_ids() -> anyhow::Result<()> {
    let systemd = repo().join("deploy/systemd");
    let unit = read(&systemd.join("archway-data-plane@.service"));
    let readme = read(&repo().join("deploy/README.md"));
    // The second instance's env file, made as deploy/README.md says.
    let recipe = readme
        .lines()
        .skip_while(|l| !l.starts_with("(umask 077; sed"))
        .take(2)
        .collect::<Vec<_>>()
        .join("\n")
        .replace("deploy/systemd/", &format!("{}/", systemd.display()));
    assert!(
        recipe.contains("data-plane-edge2.env"),
        "the recipe: {recipe}"
    );
    let dir = tempfile::tempdir()?;
    let etc = dir.path().join("etc");
    std::fs::create_dir_all(&etc)?;
    let recipe = recipe.replace("/etc/archway/", &format!("{}/", etc.display()));
    let made = Command::new("sh").args(["-c", &recipe]).status()?;
    assert!(made.success(), "{recipe}");
    let edge1 = read(&systemd.join("data-plane.env.example"));
    let edge2 = read(&etc.join("data-plane-edge2.env"));

    // What the unit and its env file give each instance.
    let exec = unit
        .lines()
        .find_map(|l| l.strip_prefix("ExecStart="))
        .expect("ExecStart");
    let instance = |name: &str, env_file: &str| {
        let expand = |s: &str| {
            s.replace("%S", &dir.path().join("state").display().to_string())
                .replace("%i", name)
        };
        let node_id = unit
            .lines()
            .find_map(|l| l.strip_prefix("Environment=ARCHWAY_NODE_ID="))
            .map(expand)
            .expect("the node id comes from the instance name");
        (
            env_value(env_file, "ARCHWAY_LISTEN").expect("ARCHWAY_LISTEN"),
            env_value(env_file, "ARCHWAY_ADMIN_LISTEN").expect("ARCHWAY_ADMIN_LISTEN"),
            expand(exec),
            node_id,
        )
    };
    let one = instance("edge1", &edge1);
    let two = instance("edge2", &edge2);
    // Ports, not strings: 0.0.0.0:8080 and [::]:8080 would clash.
    let port = |addr: &str| {
        addr.parse::<std::net::SocketAddr>()
            .unwrap_or_else(|e| panic!("'{addr}' is not an address: {e}"))
            .port()
    };
    assert_ne!(port(&one.0), port(&two.0), "listen ports");
    assert_ne!(port(&one.1), port(&two.1), "admin ports");
    assert_ne!(one.2, two.2, "state directories");
    assert_ne!(one.3, two.3, "node ids");
    assert!(unit.contains("EnvironmentFile=/etc/archway/data-plane-%i.env"));
    assert!(unit.contains("StateDirectory=archway/data-plane/%i"));

    // Both run at once, each from its ExecStart line (its state directory)
    // and node id, talking to a test control plane. Their ports are free
    // ones, not the env files' (a test never takes 8080): the env files'
    // ports are only compared above.
    let cp = ControlPlane::start(&dir.path().join("cp"))?;
    let mut nodes = Vec::new();
    for (_, _, exec, node_id) in [&one, &two] {
        let args: Vec<String> = exec
            .split_whitespace()
            .skip(1)
            .map(str::to_owned)
            .chain(
                [
                    "--listen",
                    "127.0.0.1:0",
                    "--admin-listen",
                    "127.0.0.1:0",
                    "--control-plane",
                    &cp.url(),
                ]
                .map(str::to_owned),
            )
            .collect();
        nodes.push(Process::spawn_with_env(
            "archway-data-plane",
            &args,
            2,
            &[
                ("ARCHWAY_NODE_ID", node_id),
                ("ARCHWAY_TOKEN", TEST_NODE_TOKEN),
            ],
        )?);
    }
    let mut admin = Admin::connect(&cp.url()).await?;
    admin.wait_converged(&["edge1", "edge2"]).await?;
    for node in &nodes {
        let (ready, _) = fetch(&format!("http://{}/ready", node.addrs[1])).await?;
        assert_eq!(ready.as_u16(), 200);
    }
    for state in ["edge1", "edge2"] {
        let path = dir.path().join("state/archway/data-plane").join(state);
        assert!(path.is_dir(), "{} holds its own state", path.display());
    }
    Ok(())
}

/// Copies deploy/kubernetes into `into`.
fn copy_tree(from: &Path, into: &Path) {
    std::fs::create_dir_all(into).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let path = entry.unwrap().path();
        let target = into.join(path.file_name().unwrap());
        if path.is_dir() {
            copy_tree(&path, &target);
        } else {
            std::fs::copy(&path, &target).unwrap();
        }
    }
}

#[test]
fn the_kustomization_needs_the_secret_files_and_then_builds() {
    // Debian has no kubectl package: tests/run does not require it.
    if !available(
        "kubectl",
        &["version", "--client"],
        "the kustomization's build",
    ) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let base = dir.path().join("kubernetes");
    copy_tree(&repo().join("deploy/kubernetes"), &base);
    let _ = std::fs::remove_dir_all(base.join("secrets"));
    let build = || {
        Command::new("kubectl")
            .arg("kustomize")
            .arg(&base)
            .output()
            .unwrap()
    };
    // Without the files: refused, naming the missing one.
    let refused = build();
    assert!(!refused.status.success());
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("secrets/node-token"),
        "{}",
        String::from_utf8_lossy(&refused.stderr)
    );
    // With them, as deploy/README.md makes them: a Secret whose hashed name
    // every reference uses.
    std::fs::create_dir_all(base.join("secrets")).unwrap();
    for file in ["node-token", "master-key"] {
        let made = Command::new("sh")
            .arg("-c")
            .arg(format!(
                "head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \\n' > secrets/{file}"
            ))
            .current_dir(&base)
            .status()
            .unwrap();
        assert!(made.success());
    }
    let built = build();
    let stdout = String::from_utf8_lossy(&built.stdout);
    assert!(
        built.status.success(),
        "{}",
        String::from_utf8_lossy(&built.stderr)
    );
    let documents: Vec<Value> = serde_saphyr::from_multiple(&stdout).unwrap();
    let secret = documents
        .iter()
        .find(|d| d["kind"] == "Secret")
        .expect("the generated Secret");
    let name = secret["metadata"]["name"].as_str().unwrap();
    assert!(name.starts_with("archway-tokens-"), "{name}");
    // kustomize folds long values over lines.
    let master_key = secret["data"]["master-key"].as_str().unwrap();
    let encoded = master_key.chars().filter(|c| !c.is_whitespace()).count();
    assert_eq!(encoded, 88, "64 hex characters, base64-encoded");
    let mut used = Vec::new();
    for doc in &documents {
        references(doc, &mut used);
    }
    for (kind, used_name, _, _) in used.iter().filter(|r| r.0 == "Secret") {
        assert_eq!(
            used_name, name,
            "{kind} reference rewritten to the hashed name"
        );
    }
}
