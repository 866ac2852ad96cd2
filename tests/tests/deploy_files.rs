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

/// The first container of the workload (Deployment or StatefulSet) that
/// runs `binary`, with its workload.
fn workload_running(documents: &[(PathBuf, Value)], binary: &str) -> (Value, Value) {
    documents
        .iter()
        .map(|(_, d)| d)
        .filter(|d| d["kind"] == "Deployment" || d["kind"] == "StatefulSet")
        .find(|d| {
            d["spec"]["template"]["spec"]["containers"][0]["command"][0]
                .as_str()
                .is_some_and(|c| c == binary || c.ends_with(&format!("/{binary}")))
        })
        .map(|d| {
            (
                d.clone(),
                d["spec"]["template"]["spec"]["containers"][0].clone(),
            )
        })
        .unwrap_or_else(|| panic!("a workload running {binary}"))
}

/// The data-plane Deployment's container.
fn node_container(documents: &[(PathBuf, Value)]) -> Value {
    workload_running(documents, "archway-data-plane").1
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
    // Every unknown word, not only the first: one run says all there is to fix.
    let mut unknown = Vec::new();
    let mut check = |binary: &str, used: BTreeSet<String>, source: &str| {
        let help = help_for(binary);
        for word in used {
            if !help.contains(&word) {
                unknown.push(format!(
                    "{source} uses {word}, which `{binary} --help` does not list"
                ));
            }
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
            if binary.ends_with("/etcd") {
                // etcd's own flags: the_etcd_flags_in_every_deploy_file_exist_in_etcd.
                continue;
            }
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
    for (file, compose) in compose_files() {
        for (name, service) in compose["services"].as_object().unwrap() {
            let binary = service["command"][0].as_str().unwrap().to_owned();
            if binary.ends_with("/etcd") {
                continue;
            }
            let used = service["environment"]
                .as_object()
                .unwrap()
                .keys()
                .filter(|k| k.starts_with("ARCHWAY_"))
                .cloned()
                .collect();
            check(&binary, used, &format!("{file} service {name}"));
        }
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
    assert!(unknown.is_empty(), "{}", unknown.join("\n"));
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
    let kustomization: Value =
        serde_saphyr::from_str(&read(&base.join("kustomization.yaml"))).unwrap();
    let files: Vec<String> = kustomization["secretGenerator"][0]["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f.as_str().unwrap().split_once('=').unwrap().1.to_owned())
        .collect();
    assert_eq!(
        files,
        [
            "secrets/admin-token",
            "secrets/node-token",
            "secrets/master-key"
        ]
    );
    for file in &files {
        let made = Command::new("sh")
            .arg("-c")
            .arg(format!(
                "head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \\n' > {file}"
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
    // What kubectl would apply, against the Kubernetes schemas.
    if let Some(validator) = venv_tool("kubernetes-validate", "the built kustomization's schemas") {
        let built_file = dir.path().join("built.yaml");
        std::fs::write(&built_file, stdout.as_bytes()).unwrap();
        let (ok, output) = kubernetes_validate(&validator, &[built_file]);
        assert!(ok, "{output}");
        assert_eq!(
            output.matches(" passed for resource ").count(),
            documents.len(),
            "{output}"
        );
    }
}

// --- Validators: the Kubernetes schemas and the Compose Specification --------

/// Each compose file in deploy/container, parsed (YAML merge keys resolved),
/// with its file name.
fn compose_files() -> Vec<(String, Value)> {
    ["compose.yaml", "compose.ha.yaml"]
        .into_iter()
        .map(|name| {
            let text = read(&repo().join("deploy/container").join(name));
            let parsed = serde_saphyr::from_str(&text).unwrap_or_else(|e| panic!("{name}: {e}"));
            (name.to_owned(), parsed)
        })
        .collect()
}

/// A PyPI tool `tests/run` installs (tests/requirements.txt): beside the
/// venv's Python, else on the PATH. None (the test skips `what`) when it
/// does not start, unless `tests/run` requires it.
fn venv_tool(name: &str, what: &str) -> Option<PathBuf> {
    let python = archway_e2e::tools::python();
    let path = python
        .parent()
        .map(|dir| dir.join(name))
        .filter(|p| p.exists())
        .unwrap_or_else(|| PathBuf::from(name));
    let path_text = path.to_str().unwrap();
    if !available(path_text, &["--version"], what) {
        assert!(
            !archway_e2e::tools::required(name),
            "{name} is required ({}) but does not start: {}",
            archway_e2e::tools::REQUIRE_TOOLS,
            archway_e2e::tools::INSTALL_HINT
        );
        return None;
    }
    Some(path)
}

/// `kubernetes-validate --strict` (PyPI; the Kubernetes API's JSON schemas,
/// strict: a field the API does not have is an error, as the API server's
/// strict field validation makes it): whether every resource passed, and
/// what it said.
fn kubernetes_validate(tool: &Path, files: &[PathBuf]) -> (bool, String) {
    let output = Command::new(tool)
        .arg("--strict")
        .args(files)
        .output()
        .unwrap();
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (output.status.success() && !said.contains("ERROR"), said)
}

/// The manifests under deploy/kubernetes that are Kubernetes API objects
/// (not the kustomization, not a CRD's object like the ServiceMonitor, for
/// which the Kubernetes schemas have nothing), with their documents' count.
fn kubernetes_api_files() -> (Vec<PathBuf>, usize) {
    let mut files = BTreeSet::new();
    let mut count = 0;
    for (file, doc) in manifests() {
        let api = doc["apiVersion"].as_str().unwrap();
        let group = api.split_once('/').map_or("", |(g, _)| g);
        let kubernetes_api = group.is_empty() || !group.contains('.') || group.ends_with(".k8s.io");
        if kubernetes_api && doc["kind"] != "Kustomization" {
            files.insert(file);
            count += 1;
        }
    }
    (files.into_iter().collect(), count)
}

#[test]
fn the_kubernetes_manifests_pass_the_kubernetes_schemas() {
    let Some(validator) = venv_tool("kubernetes-validate", "the Kubernetes schema check") else {
        return;
    };
    let (files, documents) = kubernetes_api_files();
    for expected in ["etcd.yaml", "control-plane.yaml", "data-plane.yaml"] {
        assert!(
            files.iter().any(|f| f.ends_with(expected)),
            "{expected} is checked: {files:?}"
        );
    }
    let (ok, output) = kubernetes_validate(&validator, &files);
    assert!(ok, "{output}");
    // Every document validated (none skipped for want of a schema).
    assert_eq!(
        output.matches(" passed for resource ").count(),
        documents,
        "{output}"
    );
    assert!(!output.contains("WARN"), "{output}");
}

/// A way to break a file: its name, the change, and the word the
/// validator's refusal must name.
type Breakage = (&'static str, Box<dyn Fn(&mut Value)>, &'static str);

/// The control plane's Deployment, broken in `how`, written to `dir`.
fn broken_control_plane(dir: &Path, name: &str, how: impl Fn(&mut Value)) -> PathBuf {
    let documents = manifests();
    let (mut deployment, _) = workload_running(&documents, "archway-control-plane");
    how(&mut deployment);
    let file = dir.join(format!("{name}.yaml"));
    // JSON is YAML.
    std::fs::write(&file, serde_json::to_string_pretty(&deployment).unwrap()).unwrap();
    file
}

#[test]
fn the_kubernetes_schema_check_refuses_a_broken_manifest() {
    let Some(validator) = venv_tool("kubernetes-validate", "the Kubernetes schema check") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let intact = broken_control_plane(dir.path(), "intact", |_| {});
    let (ok, output) = kubernetes_validate(&validator, std::slice::from_ref(&intact));
    assert!(ok, "the unbroken copy passes: {output}");
    let cases: [Breakage; 4] = [
        (
            "replicas-as-text",
            Box::new(|d| d["spec"]["replicas"] = "three".into()),
            "spec.replicas",
        ),
        (
            "misspelt-field",
            Box::new(|d| {
                let container = &mut d["spec"]["template"]["spec"]["containers"][0];
                let command = container["command"].take();
                container.as_object_mut().unwrap().remove("command");
                container["comand"] = command;
            }),
            "comand",
        ),
        (
            "probe-port-as-list",
            Box::new(|d| {
                d["spec"]["template"]["spec"]["containers"][0]["readinessProbe"]["grpc"]["port"] =
                    serde_json::json!([7070])
            }),
            "port",
        ),
        (
            "no-selector",
            Box::new(|d| {
                d["spec"].as_object_mut().unwrap().remove("selector");
            }),
            "selector",
        ),
    ];
    for (name, how, field) in cases {
        let file = broken_control_plane(dir.path(), name, how);
        let (ok, output) = kubernetes_validate(&validator, &[file]);
        assert!(!ok, "{name} is refused: {output}");
        assert!(output.contains(field), "{name}: names {field}: {output}");
    }
}

/// `check-jsonschema` (PyPI) against the Compose Specification's JSON
/// schema that it ships (`vendor.compose-spec`, taken from the
/// compose-spec project): whether the file passed, and what it said.
fn compose_schema_check(tool: &Path, file: &Path) -> (bool, String) {
    let output = Command::new(tool)
        .args(["--builtin-schema", "vendor.compose-spec"])
        .arg(file)
        .output()
        .unwrap();
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (output.status.success(), said)
}

#[test]
fn the_compose_files_pass_the_compose_specification_schema() {
    let container = repo().join("deploy/container");
    // `docker compose config` where the Compose plugin exists (it does not
    // on the project's machines: no Debian package has it).
    let has_compose = Command::new("docker")
        .args(["compose", "version"])
        .output()
        .is_ok_and(|o| o.status.success());
    for (file, _) in compose_files() {
        if has_compose {
            let config = Command::new("docker")
                .args(["compose", "-f", &file, "config", "--quiet"])
                .current_dir(&container)
                .env("ARCHWAY_MASTER_KEY", "00".repeat(32))
                .env("ARCHWAY_ADMIN_TOKEN", "a".repeat(32))
                .env("ARCHWAY_NODE_TOKEN", "n".repeat(32))
                .output()
                .unwrap();
            assert!(
                config.status.success(),
                "{file}: {}",
                String::from_utf8_lossy(&config.stderr)
            );
        }
    }
    let Some(checker) = venv_tool("check-jsonschema", "the Compose Specification check") else {
        return;
    };
    for (file, _) in compose_files() {
        let (ok, output) = compose_schema_check(&checker, &container.join(&file));
        assert!(ok, "{file}: {output}");
    }
}

#[test]
fn the_compose_schema_check_refuses_a_broken_compose_file() {
    let Some(checker) = venv_tool("check-jsonschema", "the Compose Specification check") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let (_, compose) = compose_files().pop().unwrap();
    let cases: [Breakage; 3] = [
        (
            "misspelt-key",
            Box::new(|c| c["services"]["node"]["restrat"] = "always".into()),
            "restrat",
        ),
        (
            // A duration is a string with its unit ("15s").
            "duration-as-number",
            Box::new(|c| c["services"]["node"]["stop_grace_period"] = 15.into()),
            "stop_grace_period",
        ),
        (
            "unknown-condition",
            Box::new(|c| {
                c["services"]["control-plane-1"]["depends_on"]["etcd-1"]["condition"] =
                    "service_ready".into()
            }),
            "service_ready",
        ),
    ];
    let intact = dir.path().join("intact.yaml");
    std::fs::write(&intact, serde_json::to_string_pretty(&compose).unwrap()).unwrap();
    let (ok, output) = compose_schema_check(&checker, &intact);
    assert!(ok, "the unbroken copy passes: {output}");
    for (name, how, word) in cases {
        let mut broken = compose.clone();
        how(&mut broken);
        let file = dir.path().join(format!("{name}.yaml"));
        std::fs::write(&file, serde_json::to_string_pretty(&broken).unwrap()).unwrap();
        let (ok, output) = compose_schema_check(&checker, &file);
        assert!(!ok, "{name} is refused: {output}");
        assert!(output.contains(word), "{name}: names {word}: {output}");
    }
}

// --- The HA wiring: etcd members, control-plane replicas, nodes ------------

/// etcd's flags as a deploy file passes them (`--flag=value`), by name.
fn etcd_flags(args: &[String]) -> BTreeMap<String, String> {
    args.iter()
        .map(|a| {
            let flag = a
                .strip_prefix("--")
                .unwrap_or_else(|| panic!("{a} is a flag"));
            let (name, value) = flag
                .split_once('=')
                .unwrap_or_else(|| panic!("--{flag} has its value after '='"));
            (name.to_owned(), value.to_owned())
        })
        .collect()
}

/// The `host:port` of an `http://host:port` URL.
fn host_port(url: &str) -> String {
    url.strip_prefix("http://")
        .unwrap_or_else(|| panic!("{url} is http://"))
        .trim_end_matches('/')
        .to_owned()
}

/// The port of a `host:port`.
fn port_of(address: &str) -> u16 {
    address
        .rsplit(':')
        .next()
        .unwrap()
        .parse()
        .unwrap_or_else(|e| panic!("{address}: {e}"))
}

/// The etcd members `ARCHWAY_STORE=etcd://HOST:PORT,...[/PREFIX]` names.
fn store_members(store: &str) -> BTreeSet<String> {
    let rest = store
        .strip_prefix("etcd://")
        .unwrap_or_else(|| panic!("{store} is etcd://"));
    let hosts = rest.split_once('/').map_or(rest, |(hosts, _)| hosts);
    hosts.split(',').map(str::to_owned).collect()
}

/// What each member of one etcd cluster must agree on with the others and
/// with the control plane: each member's flags (by member name) and the
/// client addresses they advertise. `self_host` is the name the member's
/// peers reach it by.
fn check_etcd_cluster(
    members: &BTreeMap<String, (String, BTreeMap<String, String>)>,
) -> BTreeSet<String> {
    assert_eq!(members.len(), 3, "3 etcd members: {:?}", members.keys());
    let mut clients = BTreeSet::new();
    let clusters: BTreeSet<&String> = members
        .values()
        .map(|(_, f)| &f["initial-cluster"])
        .collect();
    assert_eq!(
        clusters.len(),
        1,
        "one --initial-cluster for all: {clusters:?}"
    );
    let cluster: BTreeMap<&str, &str> = clusters
        .first()
        .unwrap()
        .split(',')
        .map(|m| m.split_once('=').unwrap())
        .collect();
    let tokens: BTreeSet<&String> = members
        .values()
        .map(|(_, f)| &f["initial-cluster-token"])
        .collect();
    assert_eq!(tokens.len(), 1, "one cluster token: {tokens:?}");
    for (name, (self_host, flags)) in members {
        assert_eq!(&flags["name"], name);
        let peer = &flags["initial-advertise-peer-urls"];
        assert_eq!(
            cluster.get(name.as_str()),
            Some(&peer.as_str()),
            "{name} in --initial-cluster"
        );
        assert_eq!(
            host_port(peer).rsplit_once(':').unwrap().0,
            self_host,
            "{name}'s peer URL"
        );
        let client = host_port(&flags["advertise-client-urls"]);
        assert_eq!(
            client.rsplit_once(':').unwrap().0,
            self_host,
            "{name}'s client URL"
        );
        // It listens where it advertises.
        assert_eq!(
            port_of(&host_port(&flags["listen-client-urls"])),
            port_of(&client)
        );
        assert_eq!(
            port_of(&host_port(&flags["listen-peer-urls"])),
            port_of(&host_port(peer))
        );
        assert_eq!(flags["initial-cluster-state"], "new");
        // One admin write is one transaction; large applies touch
        // thousands of keys.
        assert_eq!(flags["max-txn-ops"], "10000", "{name}");
        assert_eq!(flags["max-request-bytes"], "33554432", "{name}");
        assert!(
            flags.contains_key("auto-compaction-retention"),
            "{name} compacts"
        );
        assert!(flags["data-dir"].starts_with('/'), "{name}'s data dir");
        clients.insert(client);
    }
    assert_eq!(
        cluster.len(),
        members.len(),
        "--initial-cluster names every member and no other"
    );
    clients
}

#[test]
fn the_ha_compose_file_wires_every_replica_to_every_etcd_member_and_every_node_to_every_replica() {
    let (_, compose) = compose_files()
        .into_iter()
        .find(|(f, _)| f == "compose.ha.yaml")
        .unwrap();
    let services = compose["services"].as_object().unwrap();
    let running = |binary: &str| -> Vec<(&String, &Value)> {
        services
            .iter()
            .filter(|(_, s)| {
                s["command"][0]
                    .as_str()
                    .is_some_and(|c| c == binary || c.ends_with(&format!("/{binary}")))
            })
            .collect()
    };
    let env = |service: &Value, key: &str| -> String {
        service["environment"][key]
            .as_str()
            .unwrap_or_else(|| panic!("{key} is set: {service}"))
            .to_owned()
    };

    // etcd: every member knows every other, by its service name.
    let mut members = BTreeMap::new();
    for (name, service) in running("etcd") {
        let args: Vec<String> = service["command"].as_array().unwrap()[1..]
            .iter()
            .map(|a| a.as_str().unwrap().to_owned())
            .collect();
        let volume = service["volumes"][0].as_str().unwrap();
        assert!(
            volume.ends_with(":/var/lib/etcd"),
            "{name} keeps its data in a volume: {volume}"
        );
        let flags = etcd_flags(&args);
        assert!(
            flags["data-dir"].starts_with("/var/lib/etcd/"),
            "{name}: data in the volume"
        );
        members.insert(name.clone(), (name.clone(), flags));
    }
    let clients = check_etcd_cluster(&members);
    let volumes: BTreeSet<&str> = running("etcd")
        .iter()
        .map(|(_, s)| s["volumes"][0].as_str().unwrap().split(':').next().unwrap())
        .collect();
    assert_eq!(volumes.len(), 3, "a volume per member: {volumes:?}");

    // Control planes: all on every member, with the same secrets.
    let replicas = running("archway-control-plane");
    assert_eq!(replicas.len(), 3, "3 control-plane replicas");
    let mut listen = BTreeSet::new();
    let mut host_ports = BTreeSet::new();
    for (name, service) in &replicas {
        assert_eq!(
            store_members(&env(service, "ARCHWAY_STORE")),
            clients,
            "{name}'s store"
        );
        let depends: BTreeSet<&String> =
            service["depends_on"].as_object().unwrap().keys().collect();
        assert_eq!(
            depends,
            members.keys().collect(),
            "{name} starts after etcd"
        );
        for key in [
            "ARCHWAY_STORE",
            "ARCHWAY_MASTER_KEY",
            "ARCHWAY_BOOTSTRAP_ADMIN_TOKEN",
            "ARCHWAY_BOOTSTRAP_NODE_TOKEN",
        ] {
            assert_eq!(
                env(service, key),
                env(replicas[0].1, key),
                "{name}: the same {key}"
            );
        }
        let own = env(service, "ARCHWAY_LISTEN");
        assert!(
            own.starts_with("0.0.0.0:"),
            "{name} serves the compose network"
        );
        listen.insert(format!("http://{name}:{}", port_of(&own)));
        for published in service["ports"].as_array().unwrap() {
            let published = published.as_str().unwrap();
            let (host, container) = published.rsplit_once(':').unwrap();
            assert_eq!(
                container.parse::<u16>().unwrap(),
                port_of(&own),
                "{name}: {published}"
            );
            assert!(
                host.starts_with("127.0.0.1:"),
                "{name}: loopback only: {published}"
            );
            assert!(
                host_ports.insert(host.to_owned()),
                "{name}: {published} is its own"
            );
        }
    }

    // Nodes: one scalable service that knows every replica.
    let nodes = running("archway-data-plane");
    assert_eq!(nodes.len(), 1, "one node service, scaled");
    let (name, node) = nodes[0];
    let control_planes: BTreeSet<String> = env(node, "ARCHWAY_CONTROL_PLANE")
        .split(',')
        .map(str::to_owned)
        .collect();
    assert_eq!(control_planes, listen, "{name} knows every replica");
    assert_eq!(
        env(node, "ARCHWAY_TOKEN"),
        env(replicas[0].1, "ARCHWAY_BOOTSTRAP_NODE_TOKEN"),
        "the nodes' token is the one the replicas register"
    );
    assert_eq!(node["deploy"]["replicas"], 2);
    // `--scale node=N` needs every container to differ by itself.
    assert!(node["container_name"].is_null());
    assert!(
        node["environment"]["ARCHWAY_NODE_ID"].is_null(),
        "node ids are each container's own"
    );
    assert!(
        node["volumes"].is_null(),
        "no named volume shared by every node"
    );
    let published = node["ports"][0].as_str().unwrap();
    let (range, container) = published.rsplit_once(':').unwrap();
    assert_eq!(
        container.parse::<u16>().unwrap(),
        port_of(&env(node, "ARCHWAY_LISTEN"))
    );
    assert!(
        range.contains('-'),
        "a host port range for scaled nodes: {published}"
    );
}

/// Whether `selector` (a matchLabels map) picks a pod with `labels`.
fn selects(selector: &Value, labels: &Value) -> bool {
    let selector = selector.as_object().expect("a label selector");
    !selector.is_empty() && selector.iter().all(|(k, v)| &labels[k] == v)
}

/// The container port named `name`.
fn container_port(container: &Value, name: &str) -> u64 {
    container["ports"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == name)
        .and_then(|p| p["containerPort"].as_u64())
        .unwrap_or_else(|| panic!("a port named {name}: {container}"))
}

/// The Secret key an env variable of `container` comes from.
fn secret_key(container: &Value, name: &str) -> (String, String) {
    let env = container["env"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["name"] == name)
        .unwrap_or_else(|| panic!("{name} is set"));
    let reference = &env["valueFrom"]["secretKeyRef"];
    (
        reference["name"]
            .as_str()
            .unwrap_or_else(|| panic!("{name} comes from a Secret"))
            .to_owned(),
        reference["key"].as_str().unwrap().to_owned(),
    )
}

/// Expands Kubernetes' `$(VAR)` in an argument from the pod's values.
fn expand(arg: &str, values: &[(&str, &str)]) -> String {
    values
        .iter()
        .fold(arg.to_owned(), |a, (k, v)| a.replace(&format!("$({k})"), v))
}

/// The etcd StatefulSet's members: name → (host, flags), each member's
/// arguments with `$(POD_NAME)` expanded, as the kubelet does.
fn kubernetes_etcd_members(
    documents: &[(PathBuf, Value)],
) -> BTreeMap<String, (String, Vec<String>)> {
    let (etcd, container) = workload_running(documents, "etcd");
    assert_eq!(
        etcd["kind"], "StatefulSet",
        "etcd members need stable names and volumes"
    );
    let name = etcd["metadata"]["name"].as_str().unwrap();
    let service = etcd["spec"]["serviceName"].as_str().unwrap();
    let pod_name_env = container["env"].as_array().unwrap().iter().any(|e| {
        e["name"] == "POD_NAME" && e["valueFrom"]["fieldRef"]["fieldPath"] == "metadata.name"
    });
    assert!(pod_name_env, "POD_NAME is the pod's name");
    (0..etcd["spec"]["replicas"].as_u64().unwrap())
        .map(|i| {
            let pod = format!("{name}-{i}");
            let args = container["command"].as_array().unwrap()[1..]
                .iter()
                .map(|a| expand(a.as_str().unwrap(), &[("POD_NAME", &pod)]))
                .collect();
            (pod.clone(), (format!("{pod}.{service}"), args))
        })
        .collect()
}

#[test]
fn the_kubernetes_manifests_wire_the_control_plane_to_every_etcd_member() {
    let documents = manifests();
    let find = |kind: &str, name: &str| -> Value {
        documents
            .iter()
            .map(|(_, d)| d)
            .find(|d| d["kind"] == kind && d["metadata"]["name"] == name)
            .unwrap_or_else(|| panic!("{kind} {name}"))
            .clone()
    };
    let budget_for = |pods: &Value| -> Value {
        let budgets: Vec<&Value> = documents
            .iter()
            .map(|(_, d)| d)
            .filter(|d| d["kind"] == "PodDisruptionBudget")
            .filter(|d| selects(&d["spec"]["selector"]["matchLabels"], pods))
            .collect();
        assert_eq!(budgets.len(), 1, "one PodDisruptionBudget for {pods}");
        budgets[0].clone()
    };

    // etcd: a headless Service that publishes members before they are
    // ready (they find each other through it), one stable name per member.
    let (etcd, etcd_container) = workload_running(&documents, "etcd");
    let etcd_labels = &etcd["spec"]["template"]["metadata"]["labels"];
    assert!(selects(
        &etcd["spec"]["selector"]["matchLabels"],
        etcd_labels
    ));
    let headless = find("Service", etcd["spec"]["serviceName"].as_str().unwrap());
    assert_eq!(headless["spec"]["clusterIP"], "None");
    assert_eq!(headless["spec"]["publishNotReadyAddresses"], true);
    assert!(selects(&headless["spec"]["selector"], etcd_labels));
    assert_eq!(
        etcd["spec"]["podManagementPolicy"], "Parallel",
        "members start together"
    );
    let mut service_ports = BTreeMap::new();
    for port in headless["spec"]["ports"].as_array().unwrap() {
        let target = port["targetPort"].as_str().unwrap();
        assert_eq!(
            port["port"].as_u64(),
            Some(container_port(&etcd_container, target))
        );
        service_ports.insert(target.to_owned(), port["port"].as_u64().unwrap());
    }
    let members: BTreeMap<String, (String, BTreeMap<String, String>)> =
        kubernetes_etcd_members(&documents)
            .into_iter()
            .map(|(name, (host, args))| (name, (host, etcd_flags(&args))))
            .collect();
    let clients = check_etcd_cluster(&members);
    for (name, (_, flags)) in &members {
        let client = port_of(&host_port(&flags["advertise-client-urls"]));
        let peer = port_of(&host_port(&flags["initial-advertise-peer-urls"]));
        assert_eq!(u64::from(client), service_ports["client"], "{name}");
        assert_eq!(u64::from(peer), service_ports["peer"], "{name}");
    }
    // The data on the claim template's volume.
    let mount = &etcd_container["volumeMounts"][0];
    assert_eq!(
        mount["name"],
        etcd["spec"]["volumeClaimTemplates"][0]["metadata"]["name"]
    );
    let data_dir = &members.values().next().unwrap().1["data-dir"];
    assert!(
        data_dir.starts_with(mount["mountPath"].as_str().unwrap()),
        "{data_dir}"
    );
    // Probes on the port of --listen-metrics-urls.
    let metrics = port_of(&host_port(
        &members.values().next().unwrap().1["listen-metrics-urls"],
    ));
    for probe in ["readinessProbe", "livenessProbe"] {
        let port = etcd_container[probe]["httpGet"]["port"].as_str().unwrap();
        assert_eq!(
            container_port(&etcd_container, port),
            u64::from(metrics),
            "{probe}"
        );
    }
    // Voluntary disruptions keep a quorum.
    let replicas = etcd["spec"]["replicas"].as_u64().unwrap();
    let quorum = replicas / 2 + 1;
    let budget = budget_for(etcd_labels);
    assert!(budget["spec"]["maxUnavailable"].as_u64().unwrap() <= replicas - quorum);

    // Control plane: 3 replicas on every member, secrets from Secrets, a
    // Service that reaches them.
    let (control_plane, cp_container) = workload_running(&documents, "archway-control-plane");
    assert_eq!(control_plane["spec"]["replicas"], 3);
    let cp_labels = &control_plane["spec"]["template"]["metadata"]["labels"];
    let store = env_of(&cp_container, "ARCHWAY_STORE").expect("ARCHWAY_STORE");
    assert_eq!(
        store_members(&store),
        clients,
        "the store names every member"
    );
    let master_key = secret_key(&cp_container, "ARCHWAY_MASTER_KEY");
    secret_key(&cp_container, "ARCHWAY_BOOTSTRAP_ADMIN_TOKEN");
    let node_token = secret_key(&cp_container, "ARCHWAY_BOOTSTRAP_NODE_TOKEN");
    assert_eq!(master_key.0, node_token.0);
    let listen = env_of(&cp_container, "ARCHWAY_LISTEN").unwrap();
    assert_eq!(
        u64::from(port_of(&listen)),
        container_port(&cp_container, "admin"),
        "it listens on its admin port"
    );
    let cp_budget = budget_for(cp_labels);
    assert!(cp_budget["spec"]["maxUnavailable"].as_u64().unwrap() < 3);
    let cp_service = documents
        .iter()
        .map(|(_, d)| d)
        .find(|d| d["kind"] == "Service" && selects(&d["spec"]["selector"], cp_labels))
        .expect("a Service for the control plane");
    let cp_port = &cp_service["spec"]["ports"][0];
    assert_eq!(
        container_port(&cp_container, cp_port["targetPort"].as_str().unwrap()),
        u64::from(port_of(&listen))
    );

    // Nodes: through that Service, with the token the replicas register.
    let node = node_container(&documents);
    assert_eq!(
        env_of(&node, "ARCHWAY_CONTROL_PLANE").unwrap(),
        format!(
            "http://{}:{}",
            cp_service["metadata"]["name"].as_str().unwrap(),
            cp_port["port"]
        )
    );
    assert_eq!(secret_key(&node, "ARCHWAY_TOKEN"), node_token);
    let (nodes, _) = workload_running(&documents, "archway-data-plane");
    budget_for(&nodes["spec"]["template"]["metadata"]["labels"]);

    // The migration Job: from the earlier control plane's sled volume, as
    // mounted where that control plane had it, to every etcd member.
    let (job, copy) = documents
        .iter()
        .map(|(_, d)| d)
        .find(|d| d["kind"] == "Job")
        .map(|d| (d, &d["spec"]["template"]["spec"]["containers"][0]))
        .expect("the store copy Job");
    let args: Vec<&str> = copy["command"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap())
        .collect();
    assert_eq!(args[..3], ["archwayctl", "store", "copy"]);
    let after = |flag: &str| args[args.iter().position(|a| *a == flag).unwrap() + 1];
    assert_eq!(
        store_members(after("--to")),
        clients,
        "the copy goes to every member"
    );
    let mount = &copy["volumeMounts"][0];
    assert_eq!(
        after("--from"),
        format!("sled:{}", mount["mountPath"].as_str().unwrap())
    );
    let volume = job["spec"]["template"]["spec"]["volumes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["name"] == mount["name"])
        .unwrap();
    // The earlier StatefulSet archway-control-plane's claim "data", pod 0.
    assert_eq!(
        volume["persistentVolumeClaim"]["claimName"],
        "data-archway-control-plane-0"
    );
    assert_eq!(
        job["metadata"]["namespace"], "archway",
        "applied on its own, not by the kustomization"
    );
}

// --- etcd: the flags exist, and the members form a cluster ------------------

/// etcd's `--flags`, from Debian's etcd (`tests/run` installs etcd-server).
fn etcd_help() -> Option<BTreeSet<String>> {
    if !available("etcd", &["--version"], "the etcd flags") {
        return None;
    }
    let output = Command::new("etcd").arg("--help").output().unwrap();
    // etcd prints its help on stderr.
    let help = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    Some(
        words(&help)
            .into_iter()
            .filter(|w| w.starts_with("--"))
            .collect(),
    )
}

/// The etcd arguments of the compose file's members, by service name.
fn compose_etcd_members() -> BTreeMap<String, Vec<String>> {
    let (_, compose) = compose_files()
        .into_iter()
        .find(|(f, _)| f == "compose.ha.yaml")
        .unwrap();
    compose["services"]
        .as_object()
        .unwrap()
        .iter()
        .filter(|(_, s)| {
            s["command"][0]
                .as_str()
                .is_some_and(|c| c.ends_with("/etcd"))
        })
        .map(|(name, s)| {
            let args = s["command"].as_array().unwrap()[1..]
                .iter()
                .map(|a| a.as_str().unwrap().to_owned())
                .collect();
            (name.clone(), args)
        })
        .collect()
}

/// The etcd settings of deploy/systemd/etcd.env.example as flags
/// (`ETCD_MAX_TXN_OPS=10000` is `--max-txn-ops=10000`: etcd reads every
/// flag from its `ETCD_` variable).
fn systemd_etcd_flags() -> Vec<String> {
    read(&repo().join("deploy/systemd/etcd.env.example"))
        .lines()
        .filter(|l| l.starts_with("ETCD_"))
        .map(|l| {
            let (key, value) = l.split_once('=').unwrap();
            let flag = key
                .trim_start_matches("ETCD_")
                .to_lowercase()
                .replace('_', "-");
            format!("--{flag}={value}")
        })
        .collect()
}

#[test]
fn the_etcd_flags_in_every_deploy_file_exist_in_etcd() {
    let Some(help) = etcd_help() else {
        return;
    };
    let documents = manifests();
    let mut sources: Vec<(String, Vec<String>)> = compose_etcd_members()
        .into_iter()
        .map(|(name, args)| (format!("compose.ha.yaml {name}"), args))
        .collect();
    for (name, (_, args)) in kubernetes_etcd_members(&documents) {
        sources.push((format!("etcd.yaml {name}"), args));
    }
    sources.push(("etcd.env.example".into(), systemd_etcd_flags()));
    for (source, args) in sources {
        let flags = etcd_flags(&args);
        for flag in flags.keys() {
            assert!(
                help.contains(&format!("--{flag}")),
                "{source} uses --{flag}, which `etcd --help` does not list"
            );
        }
        assert_eq!(flags["max-txn-ops"], "10000", "{source}");
        assert_eq!(flags["max-request-bytes"], "33554432", "{source}");
    }
    // The host install: one member's settings, naming all three, and the
    // control plane's example store naming the same three.
    let systemd = etcd_flags(&systemd_etcd_flags());
    let cluster: BTreeSet<String> = systemd["initial-cluster"]
        .split(',')
        .map(|m| {
            host_port(m.split_once('=').unwrap().1)
                .rsplit_once(':')
                .unwrap()
                .0
                .to_owned()
        })
        .collect();
    let env = read(&repo().join("deploy/systemd/control-plane.env.example"));
    let store = env
        .lines()
        .find_map(|l| l.strip_prefix("#ARCHWAY_STORE="))
        .expect("control-plane.env.example shows ARCHWAY_STORE");
    let store_hosts: BTreeSet<String> = store_members(store)
        .iter()
        .map(|m| m.rsplit_once(':').unwrap().0.to_owned())
        .collect();
    assert_eq!(store_hosts, cluster, "the example store names every member");
    let client_port = port_of(&host_port(&systemd["advertise-client-urls"]));
    assert!(
        store_members(store)
            .iter()
            .all(|m| port_of(m) == client_port)
    );
}

#[test]
fn the_etcd_env_file_is_where_debians_etcd_unit_reads_it() {
    // Debian's etcd-server ships etcd.service; deploy/README.md installs the
    // settings where that unit reads them.
    let unit = Path::new("/lib/systemd/system/etcd.service");
    if !available("etcd", &["--version"], "Debian's etcd unit") {
        return;
    }
    let unit = read(unit);
    assert!(unit.contains("EnvironmentFile=-/etc/default/%p"), "{unit}");
    let readme = read(&repo().join("deploy/README.md"));
    assert!(
        readme.contains("deploy/systemd/etcd.env.example /etc/default/etcd"),
        "deploy/README.md installs etcd.env.example as /etc/default/etcd"
    );
    let control_plane = read(&repo().join("deploy/systemd/archway-control-plane.service"));
    assert!(control_plane.contains("\nAfter=etcd.service\n"));
}

/// An etcd member a test started: killed when dropped.
struct EtcdMember {
    child: std::process::Child,
    client: String,
    log: PathBuf,
}

impl Drop for EtcdMember {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `members` (name → host its peers reach it by, etcd's arguments
/// as the deploy file gives them) with Debian's etcd on loopback: every
/// `http://HOST:PORT` (`0.0.0.0` being the member's own host) becomes
/// 127.0.0.1 and a free port of its own, the data directory one in `dir`.
/// Everything else is the file's.
/// Also returns where each `HOST:PORT` of the file went (`127.0.0.1:PORT`).
fn start_etcd(
    members: &BTreeMap<String, (String, Vec<String>)>,
    dir: &Path,
) -> anyhow::Result<(Vec<EtcdMember>, BTreeMap<String, String>)> {
    let mut ports: BTreeMap<String, u16> = BTreeMap::new();
    let mut rewrite = |own_host: &str, arg: &str| -> String {
        let mut out = String::new();
        let mut rest = arg;
        while let Some(at) = rest.find("http://") {
            out.push_str(&rest[..at + "http://".len()]);
            rest = &rest[at + "http://".len()..];
            let end = rest.find([',', '/']).unwrap_or(rest.len());
            let (host, port) = rest[..end].rsplit_once(':').expect("host:port");
            let host = if host == "0.0.0.0" { own_host } else { host };
            let free = *ports
                .entry(format!("{host}:{port}"))
                .or_insert_with(|| archway_e2e::unused_loopback_addr().port());
            out.push_str(&format!("127.0.0.1:{free}"));
            rest = &rest[end..];
        }
        out.push_str(rest);
        out
    };
    std::fs::create_dir_all(dir)?;
    let mut started = Vec::new();
    for (name, (host, args)) in members {
        let data = dir.join(name);
        let args: Vec<String> = args
            .iter()
            .map(|a| match a.split_once('=') {
                Some(("--data-dir", _)) => format!("--data-dir={}", data.display()),
                _ => rewrite(host, a),
            })
            .collect();
        let client = etcd_flags(&args)["advertise-client-urls"].clone();
        let log = dir.join(format!("{name}.log"));
        let child = Command::new("etcd")
            .args(&args)
            .stdout(std::fs::File::create(&log)?)
            .stderr(std::fs::File::create(&log)?.try_clone()?)
            .spawn()?;
        started.push(EtcdMember { child, client, log });
    }
    let moved = ports
        .into_iter()
        .map(|(from, port)| (from, format!("127.0.0.1:{port}")))
        .collect();
    Ok((started, moved))
}

/// POSTs `body` (JSON) to etcd's JSON gateway: the status and the answer.
async fn etcd_call(client: &str, path: &str, body: &Value) -> anyhow::Result<(u16, Value)> {
    use http_body_util::{BodyExt, Full};
    let http: hyper_util::client::legacy::Client<_, Full<bytes::Bytes>> =
        hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
            .build_http();
    let request = http::Request::post(format!("{client}{path}"))
        .header("content-type", "application/json")
        .body(Full::new(bytes::Bytes::from(serde_json::to_vec(body)?)))?;
    let response = http.request(request).await?;
    let status = response.status().as_u16();
    let answer = response.into_body().collect().await?.to_bytes();
    Ok((status, serde_json::from_slice(&answer)?))
}

/// Waits (bounded) until every member reports the cluster healthy.
async fn wait_healthy(members: &[EtcdMember]) -> anyhow::Result<()> {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    for member in members {
        loop {
            if let Ok((status, body)) = fetch(&format!("{}/health", member.client)).await
                && status.as_u16() == 200
                && body.contains("\"true\"")
            {
                break;
            }
            if std::time::Instant::now() > deadline {
                anyhow::bail!(
                    "etcd at {} is not healthy: {}",
                    member.client,
                    std::fs::read_to_string(&member.log).unwrap_or_default()
                );
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
    }
    Ok(())
}

/// One transaction of `ops` puts of `value_bytes` each, as a large apply
/// makes: whether etcd took it, and what it answered.
async fn large_transaction(
    client: &str,
    ops: usize,
    value_bytes: usize,
) -> anyhow::Result<(bool, Value)> {
    use base64::Engine as _;
    let b64 = |b: &[u8]| base64::engine::general_purpose::STANDARD.encode(b);
    let value = b64(&vec![b'x'; value_bytes]);
    let success: Vec<Value> = (0..ops)
        .map(|i| serde_json::json!({"request_put": {"key": b64(format!("/archway-test/{i}").as_bytes()), "value": value}}))
        .collect();
    let (status, answer) = etcd_call(
        client,
        "/v3/kv/txn",
        &serde_json::json!({ "success": success }),
    )
    .await?;
    Ok((status == 200 && answer["succeeded"] == true, answer))
}

/// The deploy file's etcd cluster, started from its own arguments: three
/// members that elect a leader and take a transaction of 5,000 puts and
/// 2.5 MB, which etcd's defaults (128 operations, 1.5 MiB) refuse.
async fn cluster_takes_a_large_transaction(
    members: BTreeMap<String, (String, Vec<String>)>,
) -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let (started, _) = start_etcd(&members, dir.path())?;
    wait_healthy(&started).await?;
    let (_, list) = etcd_call(
        &started[0].client,
        "/v3/cluster/member/list",
        &serde_json::json!({}),
    )
    .await?;
    let names: BTreeSet<&str> = list["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        members.keys().map(String::as_str).collect(),
        "{list}"
    );
    // Through another member than the leader's likely one, too.
    for member in &started[1..] {
        let (took, answer) = large_transaction(&member.client, 5000, 500).await?;
        assert!(took, "{answer}");
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_compose_etcd_members_form_a_cluster_that_takes_a_large_apply() -> anyhow::Result<()> {
    if etcd_help().is_none() {
        return Ok(());
    }
    let members = compose_etcd_members()
        .into_iter()
        .map(|(name, args)| (name.clone(), (name, args)))
        .collect();
    cluster_takes_a_large_transaction(members).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_kubernetes_etcd_members_form_a_cluster_that_takes_a_large_apply() -> anyhow::Result<()>
{
    if etcd_help().is_none() {
        return Ok(());
    }
    cluster_takes_a_large_transaction(kubernetes_etcd_members(&manifests())).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_the_raised_limits_etcd_refuses_the_large_apply() -> anyhow::Result<()> {
    // The check above can fail: one member started from the same file
    // without --max-txn-ops and --max-request-bytes refuses what the
    // cluster took.
    if etcd_help().is_none() {
        return Ok(());
    }
    let (name, args) = compose_etcd_members().into_iter().next().unwrap();
    let args: Vec<String> = args
        .into_iter()
        .filter(|a| !a.starts_with("--max-txn-ops=") && !a.starts_with("--max-request-bytes="))
        .map(|a| match a.split_once('=') {
            Some(("--initial-cluster", _)) => {
                format!("--initial-cluster={name}=http://{name}:2380")
            }
            _ => a,
        })
        .collect();
    let dir = tempfile::tempdir()?;
    let members = BTreeMap::from([(name.clone(), (name, args))]);
    let (started, _) = start_etcd(&members, dir.path())?;
    wait_healthy(&started).await?;
    // Many small puts: over the operations limit only.
    let (took, answer) = large_transaction(&started[0].client, 5000, 10).await?;
    assert!(!took, "{answer}");
    assert!(
        answer.to_string().contains("too many operations"),
        "{answer}"
    );
    // A few large ones: over the size limit only.
    let (took, answer) = large_transaction(&started[0].client, 100, 20_000).await?;
    assert!(!took, "2 MB in one request: {answer}");
    assert!(answer.to_string().contains("large"), "{answer}");
    let (took, answer) = large_transaction(&started[0].client, 100, 500).await?;
    assert!(took, "a small one passes: {answer}");
    Ok(())
}

// --- The systemd units, started by a real systemd ---------------------------

/// This machine's systemd, booted as PID 1 of its own namespaces on an
/// overlay of the root file system by tests/scripts/boot-systemd.sh (which
/// says why nothing reaches the machine); halted when dropped.
struct BootedSystemd {
    launcher: std::process::Child,
    /// systemd's PID, as this machine sees it.
    pid: u32,
    /// The cgroup made for it, below this process's own.
    cgroup: PathBuf,
    _dir: tempfile::TempDir,
}

/// The tool `tests/run` names when it guarantees that systemd can be booted
/// in namespaces (root, unshare, nsenter, capsh, cgroup2).
const SYSTEMD_BOOT: &str = "systemd-boot";

impl BootedSystemd {
    /// None (the test skips `what`) where systemd cannot be booted here,
    /// unless `tests/run` requires it.
    fn boot(what: &str) -> Option<Self> {
        let skip = |why: String| -> Option<Self> {
            assert!(
                !archway_e2e::tools::required(SYSTEMD_BOOT),
                "{SYSTEMD_BOOT} is required ({}) but: {why}",
                archway_e2e::tools::REQUIRE_TOOLS
            );
            eprintln!("skipped: {why}: {what} is not checked here");
            None
        };
        let uid = Command::new("id").arg("-u").output().ok()?;
        if String::from_utf8_lossy(&uid.stdout).trim() != "0" {
            return skip("booting systemd in namespaces needs root".into());
        }
        for tool in ["unshare", "nsenter", "capsh", "/lib/systemd/systemd"] {
            if Command::new(tool).arg("--version").output().is_err() {
                return skip(format!("{tool} does not start"));
            }
        }
        // A cgroup of its own in the cgroup2 hierarchy, below ours.
        let mountinfo = read(Path::new("/proc/self/mountinfo"));
        let Some(cgroup2) = mountinfo.lines().find_map(|l| {
            let (mount, fs) = l.split_once(" - ")?;
            fs.starts_with("cgroup2 ")
                .then(|| mount.split(' ').nth(4).unwrap().to_owned())
        }) else {
            return skip("no cgroup2 hierarchy is mounted".into());
        };
        let own = read(Path::new("/proc/self/cgroup"))
            .lines()
            .find_map(|l| l.strip_prefix("0::").map(str::to_owned))
            .unwrap_or_default();
        let cgroup = Path::new(&cgroup2)
            .join(own.trim_start_matches('/'))
            .join(format!(
                "archway-systemd-test-{}-{}",
                std::process::id(),
                archway_e2e::unused_loopback_addr().port()
            ));
        if let Err(e) = std::fs::create_dir(&cgroup) {
            return skip(format!("cannot make the cgroup {}: {e}", cgroup.display()));
        }
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("layers")).unwrap();
        std::fs::create_dir(dir.path().join("root")).unwrap();
        let script = repo().join("tests/scripts/boot-systemd.sh");
        let log = dir.path().join("boot.log");
        let launcher = Command::new("sh")
            .arg("-c")
            .arg(format!(
                "echo $$ > {}/cgroup.procs && exec unshare --pid --fork --mount --uts --ipc \
                 --net --cgroup --kill-child {} {}",
                cgroup.display(),
                script.display(),
                dir.path().display()
            ))
            .stdout(std::fs::File::create(&log).unwrap())
            .stderr(std::fs::File::create(&log).unwrap().try_clone().unwrap())
            .spawn()
            .unwrap();
        let mut booted = BootedSystemd {
            launcher,
            pid: 0,
            cgroup,
            _dir: dir,
        };
        // systemd moves itself into init.scope of its cgroup namespace.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        loop {
            let procs = std::fs::read_to_string(booted.cgroup.join("init.scope/cgroup.procs"));
            if let Some(pid) = procs.ok().and_then(|p| p.lines().next()?.parse().ok()) {
                booted.pid = pid;
                break;
            }
            assert!(
                std::time::Instant::now() < deadline
                    && booted.launcher.try_wait().unwrap().is_none(),
                "systemd did not boot: {}",
                std::fs::read_to_string(&log).unwrap_or_default()
            );
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        loop {
            let state = booted.run(&["systemctl", "is-system-running"]);
            let state = String::from_utf8_lossy(&state.stdout).trim().to_owned();
            if state == "running" {
                break;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "systemd is {state}: {}",
                String::from_utf8_lossy(
                    &booted.run(&["systemctl", "--failed", "--no-pager"]).stdout
                )
            );
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        Some(booted)
    }

    /// Its root file system (the overlay), from here.
    fn root(&self) -> PathBuf {
        PathBuf::from(format!("/proc/{}/root", self.pid))
    }

    /// Runs a command inside (its namespaces and root), bounded.
    fn run(&self, args: &[&str]) -> std::process::Output {
        Command::new("timeout")
            .arg("60")
            .args(["nsenter", "-t", &self.pid.to_string(), "-a", "-r", "-w"])
            .args(args)
            .output()
            .unwrap()
    }

    /// Runs `systemctl args`, which must succeed.
    fn systemctl(&self, args: &[&str]) -> String {
        let mut all = vec!["systemctl", "--no-pager"];
        all.extend(args);
        let output = self.run(&all);
        let said = String::from_utf8_lossy(&output.stdout).into_owned();
        assert!(
            output.status.success(),
            "systemctl {args:?}: {said}{}\n{}",
            String::from_utf8_lossy(&output.stderr),
            self.journal()
        );
        said
    }

    /// The journal of the archway units, for a failure's message.
    fn journal(&self) -> String {
        let output = self.run(&[
            "journalctl",
            "--no-pager",
            "-n",
            "80",
            "-u",
            "archway-*",
            "-u",
            "etcd",
        ]);
        String::from_utf8_lossy(&output.stdout).into_owned()
    }

    /// Writes `text` to `path` inside (on the overlay).
    fn write(&self, path: &str, text: &str) {
        let target = self.root().join(path.trim_start_matches('/'));
        std::fs::create_dir_all(target.parent().unwrap()).unwrap();
        std::fs::write(&target, text).unwrap_or_else(|e| panic!("{}: {e}", target.display()));
    }

    /// Installs the repository's units as deploy/README.md does, with the
    /// binaries where this build has them.
    fn install_units(&self) {
        for unit in [
            "archway-control-plane.service",
            "archway-data-plane@.service",
        ] {
            let text = read(&repo().join("deploy/systemd").join(unit))
                .replace("/usr/local/bin/", &format!("{}/", bin_dir().display()));
            self.write(&format!("/etc/systemd/system/{unit}"), &text);
        }
    }

    /// `archwayctl` inside, with the admin token `token` (a file of the
    /// control plane's data directory when None).
    fn archwayctl(&self, token: Option<&str>, args: &[&str]) -> std::process::Output {
        let ctl = bin_dir().join("archwayctl");
        let mut all = vec![ctl.to_str().unwrap()];
        match token {
            Some(token) => all.extend(["--token", token]),
            None => all.extend(["--token-file", "/var/lib/archway/control-plane/admin-token"]),
        }
        all.extend(args);
        self.run(&all)
    }

    /// `archwayctl get nodes` inside, until every node of `nodes` is
    /// connected and has applied what was sent (bounded).
    fn wait_nodes(&self, token: Option<&str>, nodes: &[&str]) {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        loop {
            let output = self.archwayctl(token, &["get", "nodes"]);
            let table = String::from_utf8_lossy(&output.stdout).into_owned();
            let converged = nodes.iter().all(|node| {
                table.lines().any(|l| {
                    let cols: Vec<&str> = l.split_whitespace().collect();
                    cols.len() > 3 && cols[0] == *node && cols[1] == "true" && cols[2] == cols[3]
                })
            });
            if converged {
                return;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "nodes {nodes:?} not converged: {table}{}\n{}",
                String::from_utf8_lossy(&output.stderr),
                self.journal()
            );
            std::thread::sleep(std::time::Duration::from_millis(200));
        }
    }

    /// The status line of `GET path` on a loopback port inside.
    fn http_status(&self, port: u16, path: &str) -> String {
        let output = self.run(&[
            "bash",
            "-c",
            &format!(
                "exec 3<>/dev/tcp/127.0.0.1/{port}; printf 'GET {path} HTTP/1.0\\r\\n\\r\\n' >&3; head -n1 <&3"
            ),
        ]);
        String::from_utf8_lossy(&output.stdout).trim().to_owned()
    }
}

impl Drop for BootedSystemd {
    fn drop(&mut self) {
        // SIGRTMIN+3 halts systemd; as its namespace's init, its exit ends
        // every process in it.
        if self.pid != 0 {
            let _ = Command::new("kill")
                .args(["-s", "RTMIN+3", &self.pid.to_string()])
                .status();
        }
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        while self.launcher.try_wait().ok().flatten().is_none() {
            if std::time::Instant::now() > deadline {
                let _ = self.launcher.kill();
                let _ = self.launcher.wait();
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        // Its cgroups, deepest first, once their processes are gone.
        for _ in 0..100 {
            let mut dirs = Vec::new();
            let mut stack = vec![self.cgroup.clone()];
            while let Some(dir) = stack.pop() {
                if let Ok(entries) = std::fs::read_dir(&dir) {
                    stack.extend(entries.flatten().map(|e| e.path()).filter(|p| p.is_dir()));
                    dirs.push(dir);
                }
            }
            dirs.sort_by_key(|d| std::cmp::Reverse(d.components().count()));
            for dir in &dirs {
                let _ = std::fs::remove_dir(dir);
            }
            if !self.cgroup.exists() {
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
    }
}

/// A random token of 48 hex characters.
fn random_token() -> String {
    (0..3).map(|_| format!("{:016x}", rand_u64())).collect()
}

/// 64 random bits, from the kernel.
fn rand_u64() -> u64 {
    let mut bytes = [0u8; 8];
    use std::io::Read as _;
    std::fs::File::open("/dev/urandom")
        .unwrap()
        .read_exact(&mut bytes)
        .unwrap();
    u64::from_le_bytes(bytes)
}

/// Writes the nodes' env files as deploy/README.md makes them (edge2's by
/// its recipe), each with `token`, and `control_plane` if given.
fn install_node_env_files(systemd: &BootedSystemd, token: &str, control_plane: Option<&str>) {
    let example = read(&repo().join("deploy/systemd/data-plane.env.example"));
    let readme = read(&repo().join("deploy/README.md"));
    let recipe = readme
        .lines()
        .skip_while(|l| !l.starts_with("(umask 077; sed"))
        .take(2)
        .collect::<Vec<_>>()
        .join("\n")
        .replace(
            "deploy/systemd/",
            &format!("{}/", repo().join("deploy/systemd").display()),
        )
        .replace(
            "/etc/archway/",
            &format!("{}/etc/archway/", systemd.root().display()),
        );
    systemd.write("/etc/archway/data-plane-edge1.env", &example);
    let made = Command::new("sh").args(["-c", &recipe]).status().unwrap();
    assert!(made.success(), "{recipe}");
    for node in ["edge1", "edge2"] {
        let path = format!("/etc/archway/data-plane-{node}.env");
        let mut text = read(&systemd.root().join(path.trim_start_matches('/')))
            .replace("\nARCHWAY_TOKEN=\n", &format!("\nARCHWAY_TOKEN={token}\n"));
        if let Some(url) = control_plane {
            text.push_str(&format!("ARCHWAY_CONTROL_PLANE={url}\n"));
        }
        assert!(text.contains(token), "{path} takes the token");
        systemd.write(&path, &text);
    }
}

#[test]
fn the_systemd_units_start_under_a_real_systemd() {
    let Some(systemd) = BootedSystemd::boot("starting the systemd units") else {
        return;
    };
    systemd.install_units();
    let token = random_token();
    let control_plane = read(&repo().join("deploy/systemd/control-plane.env.example"))
        + &format!("ARCHWAY_BOOTSTRAP_NODE_TOKEN={token}\n");
    systemd.write("/etc/archway/control-plane.env", &control_plane);
    install_node_env_files(&systemd, &token, None);
    systemd.systemctl(&["daemon-reload"]);
    systemd.systemctl(&[
        "start",
        "archway-control-plane",
        "archway-data-plane@edge1",
        "archway-data-plane@edge2",
    ]);
    systemd.wait_nodes(None, &["edge1", "edge2"]);
    // Each node's admin port, from its env file: ready (it serves).
    for node in ["edge1", "edge2"] {
        let env = read(
            &systemd
                .root()
                .join(format!("etc/archway/data-plane-{node}.env")),
        );
        let admin = env_value(&env, "ARCHWAY_ADMIN_LISTEN").unwrap();
        let status = systemd.http_status(port_of(&admin), "/ready");
        assert!(status.contains(" 200 "), "{node}: {status}");
    }
    // Transient users (DynamicUser=): the state is theirs, not root's.
    use std::os::unix::fs::MetadataExt as _;
    for state in [
        "var/lib/private/archway/control-plane",
        "var/lib/private/archway/data-plane/edge1",
        "var/lib/private/archway/data-plane/edge2",
    ] {
        let meta = std::fs::metadata(systemd.root().join(state)).unwrap();
        assert_ne!(meta.uid(), 0, "{state} belongs to the unit's user");
        assert_eq!(meta.mode() & 0o777, 0o700, "{state}");
    }
    // A stop drains and exits cleanly within TimeoutStopSec=: inactive,
    // not failed; the other node keeps serving.
    systemd.systemctl(&["stop", "archway-data-plane@edge1"]);
    let state = systemd.run(&["systemctl", "is-active", "archway-data-plane@edge1"]);
    assert_eq!(String::from_utf8_lossy(&state.stdout).trim(), "inactive");
    let state = systemd.run(&["systemctl", "is-active", "archway-data-plane@edge2"]);
    assert_eq!(String::from_utf8_lossy(&state.stdout).trim(), "active");
}

#[test]
fn the_control_plane_unit_runs_on_debians_etcd_service_under_a_real_systemd() {
    if !available(
        "etcd",
        &["--version"],
        "the control plane on Debian's etcd.service",
    ) {
        return;
    }
    let Some(systemd) = BootedSystemd::boot("the control plane on Debian's etcd.service") else {
        return;
    };
    // Debian's etcd.service, with deploy/systemd/etcd.env.example as
    // /etc/default/etcd: this host's member alone (its peers would be the
    // other hosts), every member's host name on this namespace's loopback.
    let example = read(&repo().join("deploy/systemd/etcd.env.example"));
    let flags = etcd_flags(&systemd_etcd_flags());
    let own = flags["initial-cluster"]
        .split(',')
        .find(|m| m.starts_with(&format!("{}=", flags["name"])))
        .expect("the member is in its cluster")
        .to_owned();
    let default: String = example
        .lines()
        .map(|l| match l.strip_prefix("ETCD_INITIAL_CLUSTER=") {
            Some(_) => format!("ETCD_INITIAL_CLUSTER={own}\n"),
            None => format!("{l}\n"),
        })
        .collect();
    systemd.write("/etc/default/etcd", &default);
    let mut hosts = read(&systemd.root().join("etc/hosts"));
    for member in flags["initial-cluster"].split(',') {
        let host = host_port(member.split_once('=').unwrap().1);
        hosts.push_str(&format!("127.0.0.1 {}\n", host.rsplit_once(':').unwrap().0));
    }
    systemd.write("/etc/hosts", &hosts);
    systemd.systemctl(&["start", "etcd"]);

    // First as a host install made before etcd: the control plane on sled
    // (its master key made in its data directory), with a write to keep.
    systemd.install_units();
    let (admin, node) = (random_token(), random_token());
    let example = read(&repo().join("deploy/systemd/control-plane.env.example"));
    let tokens =
        format!("ARCHWAY_BOOTSTRAP_ADMIN_TOKEN={admin}\nARCHWAY_BOOTSTRAP_NODE_TOKEN={node}\n");
    systemd.write(
        "/etc/archway/control-plane.env",
        &format!("{example}{tokens}"),
    );
    systemd.systemctl(&["daemon-reload"]);
    systemd.systemctl(&["start", "archway-control-plane"]);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while !systemd
        .archwayctl(Some(&admin), &["tokens", "create", "made-on-sled"])
        .status
        .success()
    {
        assert!(
            std::time::Instant::now() < deadline,
            "{}",
            systemd.journal()
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    systemd.systemctl(&["stop", "archway-control-plane"]);

    // Moved to etcd with deploy/README.md's commands, as they are.
    let copy = commands_in(&read(&repo().join("deploy/README.md")), "archwayctl")
        .into_iter()
        .find(|c| c.starts_with("archwayctl store copy --from sled:"))
        .expect("deploy/README.md shows the store copy");
    let ctl = bin_dir().join("archwayctl");
    let args: Vec<&str> = std::iter::once(ctl.to_str().unwrap())
        .chain(copy.split_whitespace().skip(1))
        .collect();
    let copied = systemd.run(&args);
    assert!(
        copied.status.success(),
        "{copy}: {}",
        String::from_utf8_lossy(&copied.stderr)
    );
    assert!(
        String::from_utf8_lossy(&copied.stdout).contains("verified"),
        "{}",
        String::from_utf8_lossy(&copied.stdout)
    );

    // The control plane on etcd, as deploy/README.md sets it up: the env
    // example's ARCHWAY_STORE, the master key the sled store used, both
    // tokens, in the env file.
    let master_key = read(
        &systemd
            .root()
            .join("var/lib/private/archway/control-plane/master.key"),
    );
    let env = example.replace("\n#ARCHWAY_STORE=", "\nARCHWAY_STORE=")
        + &format!("ARCHWAY_MASTER_KEY={}\n{tokens}", master_key.trim());
    systemd.write("/etc/archway/control-plane.env", &env);
    // The nodes list every replica, as deploy/README.md shows.
    let readme = read(&repo().join("deploy/README.md"));
    let etcd_hosts: BTreeSet<&str> = hosts
        .lines()
        .filter_map(|l| l.strip_prefix("127.0.0.1 "))
        .collect();
    let replicas = readme
        .split('`')
        .filter_map(|s| s.strip_prefix("ARCHWAY_CONTROL_PLANE="))
        .find(|urls| {
            urls.split(',').all(|u| {
                let host = host_port(u);
                etcd_hosts.contains(host.rsplit_once(':').unwrap().0)
            })
        })
        .expect("deploy/README.md shows the nodes' ARCHWAY_CONTROL_PLANE on the etcd hosts");
    install_node_env_files(&systemd, &node, Some(replicas));
    systemd.systemctl(&["daemon-reload"]);
    systemd.systemctl(&[
        "start",
        "archway-control-plane",
        "archway-data-plane@edge1",
        "archway-data-plane@edge2",
    ]);
    // What was written on sled is there.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    let listed = loop {
        let listed = systemd.archwayctl(Some(&admin), &["tokens", "list"]);
        if listed.status.success() || std::time::Instant::now() > deadline {
            break listed;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    };
    assert!(
        String::from_utf8_lossy(&listed.stdout).contains("made-on-sled"),
        "{}{}",
        String::from_utf8_lossy(&listed.stdout),
        String::from_utf8_lossy(&listed.stderr)
    );
    systemd.wait_nodes(Some(&admin), &["edge1", "edge2"]);

    // The store is etcd: a write is taken; with etcd stopped, one is
    // refused and the control plane keeps running; with etcd back, it is
    // taken again.
    let taken = systemd.archwayctl(Some(&admin), &["tokens", "create", "before"]);
    assert!(
        taken.status.success(),
        "a write with etcd: {}",
        String::from_utf8_lossy(&taken.stderr)
    );
    systemd.systemctl(&["stop", "etcd"]);
    let refused = systemd.archwayctl(Some(&admin), &["tokens", "create", "probe"]);
    let said = String::from_utf8_lossy(&refused.stderr);
    assert!(
        !refused.status.success() && said.contains("store unavailable"),
        "a write without etcd is refused as the store being unavailable: {said}{}",
        String::from_utf8_lossy(&refused.stdout)
    );
    let state = systemd.run(&["systemctl", "is-active", "archway-control-plane"]);
    assert_eq!(String::from_utf8_lossy(&state.stdout).trim(), "active");
    systemd.systemctl(&["start", "etcd"]);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let taken = systemd.archwayctl(Some(&admin), &["tokens", "create", "probe"]);
        if taken.status.success() {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "a write with etcd back: {}",
            String::from_utf8_lossy(&taken.stderr)
        );
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
}

/// A compose value with `${NAME...}` interpolated from `values` (every
/// variable the file uses must be there).
fn interpolate(text: &str, values: &BTreeMap<&str, String>) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(at) = rest.find("${") {
        out.push_str(&rest[..at]);
        let end = rest[at..].find('}').expect("a closing brace") + at;
        let expression = &rest[at + 2..end];
        let name = expression.split([':', '-', '?']).next().unwrap();
        out.push_str(
            values
                .get(name)
                .unwrap_or_else(|| panic!("the test sets {name}")),
        );
        rest = &rest[end + 1..];
    }
    out.push_str(rest);
    out
}

/// Waits (bounded) until every node of `ids` is connected to some replica
/// and on the newest version, as the replicas report them (each knows the
/// nodes connected to it): that version.
async fn converged(admins: &mut [archway_e2e::Admin], ids: &[String]) -> anyhow::Result<u64> {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let mut newest = 0;
        let mut applied: BTreeMap<String, u64> = BTreeMap::new();
        for admin in admins.iter_mut() {
            let (version, statuses) = admin.fleet_status().await?;
            newest = newest.max(version);
            for node in statuses.into_iter().filter(|n| n.connected) {
                applied.insert(node.node_id, node.applied_version);
            }
        }
        if ids.iter().all(|id| applied.get(id) == Some(&newest)) {
            return Ok(newest);
        }
        anyhow::ensure!(
            std::time::Instant::now() < deadline,
            "nodes {ids:?} not on version {newest}: {applied:?}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_ha_compose_topology_runs_from_its_own_commands_and_environment() -> anyhow::Result<()>
{
    // compose.ha.yaml as written, on loopback: its etcd members from their
    // commands, its control planes and nodes from their environment, with
    // only addresses, ports and folders moved (every HOST:PORT to a free
    // loopback port, the same one wherever the file names it). Then the
    // nodes, which list every replica, converge, and a write through one
    // replica reaches them all.
    if etcd_help().is_none() {
        return Ok(());
    }
    let (_, compose) = compose_files()
        .into_iter()
        .find(|(f, _)| f == "compose.ha.yaml")
        .unwrap();
    let dir = tempfile::tempdir()?;
    let members = compose_etcd_members()
        .into_iter()
        .map(|(name, args)| (name.clone(), (name, args)))
        .collect();
    let (etcd, moved) = start_etcd(&members, &dir.path().join("etcd"))?;
    wait_healthy(&etcd).await?;
    let values: BTreeMap<&str, String> = BTreeMap::from([
        ("ARCHWAY_MASTER_KEY", "5a".repeat(32)),
        (
            "ARCHWAY_ADMIN_TOKEN",
            archway_e2e::TEST_ADMIN_TOKEN.to_owned(),
        ),
        ("ARCHWAY_NODE_TOKEN", TEST_NODE_TOKEN.to_owned()),
    ]);
    let environment = |service: &Value| -> BTreeMap<String, String> {
        service["environment"]
            .as_object()
            .unwrap()
            .iter()
            .map(|(k, v)| (k.clone(), interpolate(v.as_str().unwrap(), &values)))
            .collect()
    };
    let spawn = |binary: &str, env: &BTreeMap<String, String>, lines: usize| {
        let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        Process::spawn_with_env(binary, &[], lines, &env)
    };
    let services = compose["services"].as_object().unwrap();

    let mut replicas = Vec::new();
    let mut urls = BTreeMap::new();
    for (name, service) in services {
        if service["command"][0] != "archway-control-plane" {
            continue;
        }
        let mut env = environment(service);
        let store = env["ARCHWAY_STORE"].clone();
        let (hosts, prefix) = store
            .trim_start_matches("etcd://")
            .split_once('/')
            .map_or((store.trim_start_matches("etcd://"), None), |(h, p)| {
                (h, Some(p))
            });
        let hosts: Vec<&str> = hosts
            .split(',')
            .map(|h| {
                moved
                    .get(h)
                    .unwrap_or_else(|| panic!("{h} is an etcd member"))
                    .as_str()
            })
            .collect();
        let store = format!(
            "etcd://{}{}",
            hosts.join(","),
            prefix.map(|p| format!("/{p}")).unwrap_or_default()
        );
        env.insert("ARCHWAY_STORE".into(), store);
        env.insert("ARCHWAY_LISTEN".into(), "127.0.0.1:0".into());
        env.insert(
            "ARCHWAY_DATA_DIR".into(),
            dir.path().join(name).display().to_string(),
        );
        let replica = spawn("archway-control-plane", &env, 1)?;
        let own_port = port_of(&environment(service)["ARCHWAY_LISTEN"]);
        urls.insert(format!("http://{name}:{own_port}"), replica.url());
        replicas.push(replica);
    }
    assert_eq!(replicas.len(), 3);

    let node_service = &services["node"];
    let mut nodes = Vec::new();
    let mut ids = Vec::new();
    for i in 0..node_service["deploy"]["replicas"].as_u64().unwrap() {
        let mut env = environment(node_service);
        let control_planes: Vec<&str> = env["ARCHWAY_CONTROL_PLANE"]
            .split(',')
            .map(|u| {
                urls.get(u)
                    .unwrap_or_else(|| panic!("{u} is a replica"))
                    .as_str()
            })
            .collect();
        env.insert("ARCHWAY_CONTROL_PLANE".into(), control_planes.join(","));
        env.insert("ARCHWAY_LISTEN".into(), "127.0.0.1:0".into());
        env.insert("ARCHWAY_ADMIN_LISTEN".into(), "127.0.0.1:0".into());
        let state = dir.path().join(format!("node-{i}"));
        env.insert("ARCHWAY_STATE_DIR".into(), state.display().to_string());
        // Compose leaves the id to each container (kept in its state);
        // named here to be waited for.
        let id = format!("node-{i}");
        env.insert("ARCHWAY_NODE_ID".into(), id.clone());
        nodes.push(spawn("archway-data-plane", &env, 2)?);
        ids.push(id);
    }

    let mut admins = Vec::new();
    for replica in &replicas {
        admins.push(archway_e2e::Admin::connect(&replica.url()).await?);
    }
    let before = converged(&mut admins, &ids).await?;
    admins[0]
        .create_api("compose-ha", archway_proto::v1::ApiProtocol::Rest)
        .await?;
    let after = converged(&mut admins, &ids).await?;
    assert!(
        after > before,
        "the write made a new version: {before} -> {after}"
    );
    Ok(())
}
