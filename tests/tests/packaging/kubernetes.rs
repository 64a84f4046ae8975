//! `deploy/kubernetes/`: the manifests listed in `kustomization.yaml`,
//! parsed by PyYAML (python3-yaml, installed by scripts/install-test-deps.sh)
//! and checked as a whole: names, selectors, ports, probes, ZOO_SERVERS,
//! volumes, and the image's entrypoint contract.

use super::dockerfile::{env as dockerfile_env, json_array, stages};
use super::{deploy, read, ZooDirs};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

const YAML_TO_JSON: &str = r#"
import json, sys, yaml
docs = []
for path in sys.argv[1:]:
    with open(path) as f:
        docs += [d for d in yaml.safe_load_all(f) if d is not None]
print(json.dumps(docs))
"#;

/// A python3 that has PyYAML: `python3` on PATH, else the system one.
fn python_with_yaml() -> String {
    for py in ["python3", "/usr/bin/python3"] {
        let ok = Command::new(py)
            .args(["-c", "import yaml"])
            .output()
            .is_ok_and(|o| o.status.success());
        if ok {
            return py.to_string();
        }
    }
    panic!("no python3 with PyYAML: run scripts/install-test-deps.sh (python3-yaml)");
}

/// Every YAML document of `files`, as JSON values.
fn load_yaml(files: &[PathBuf]) -> Vec<Value> {
    let out = Command::new(python_with_yaml())
        .arg("-c")
        .arg(YAML_TO_JSON)
        .args(files)
        .output()
        .expect("run python3");
    assert!(
        out.status.success(),
        "YAML does not parse: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    match serde_json::from_slice(&out.stdout).expect("JSON from python") {
        Value::Array(docs) => docs,
        other => panic!("not a list: {other}"),
    }
}

fn s<'a>(v: &'a Value, path: &str) -> &'a str {
    at(v, path)
        .as_str()
        .unwrap_or_else(|| panic!("{path} is not a string"))
}

/// `v` at a dotted path ("spec.template.metadata.labels"); `[n]` indexes.
fn at<'a>(v: &'a Value, path: &str) -> &'a Value {
    let mut cur = v;
    for part in path.split('.') {
        cur = match part.strip_prefix('[').and_then(|p| p.strip_suffix(']')) {
            Some(i) => &cur[i.parse::<usize>().unwrap()],
            None => &cur[part],
        };
        assert!(!cur.is_null(), "{path}: {part} missing");
    }
    cur
}

fn labels(v: &Value) -> BTreeMap<String, String> {
    v.as_object()
        .expect("a map of labels")
        .iter()
        .map(|(k, v)| (k.clone(), v.as_str().expect("label value").to_string()))
        .collect()
}

/// A selector selects the pods: non-empty, and each pair is a pod label.
fn assert_selects(what: &str, selector: &Value, pod: &BTreeMap<String, String>) {
    let sel = labels(selector);
    assert!(!sel.is_empty(), "{what}: empty selector");
    for (k, v) in &sel {
        assert_eq!(
            pod.get(k),
            Some(v),
            "{what} selects {k}={v}; pod labels {pod:?}"
        );
    }
}

fn find<'a>(docs: &'a [Value], kind: &str, name: &str) -> &'a Value {
    let hits: Vec<_> = docs
        .iter()
        .filter(|d| d["kind"] == kind && d["metadata"]["name"] == name)
        .collect();
    assert_eq!(hits.len(), 1, "one {kind} {name}");
    hits[0]
}

fn resources(dir: &Path) -> Vec<PathBuf> {
    let kust = &load_yaml(&[dir.join("kustomization.yaml")])[0];
    at(kust, "resources")
        .as_array()
        .unwrap()
        .iter()
        .map(|r| dir.join(r.as_str().unwrap()))
        .collect()
}

/// The container's port number for a probe's or service's port (a name
/// or a number).
fn container_port(container: &Value, port: &Value) -> i64 {
    let ports = at(container, "ports").as_array().unwrap();
    match port {
        Value::Number(n) => {
            let n = n.as_i64().unwrap();
            assert!(
                ports.iter().any(|p| p["containerPort"] == n),
                "port {n} not declared by the container"
            );
            n
        }
        Value::String(name) => ports
            .iter()
            .find(|p| p["name"] == name.as_str())
            .unwrap_or_else(|| panic!("no container port named {name}"))["containerPort"]
            .as_i64()
            .unwrap(),
        other => panic!("bad port {other}"),
    }
}

fn env_map(container: &Value) -> Vec<(String, Value)> {
    at(container, "env")
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (s(e, "name").to_string(), e.clone()))
        .collect()
}

#[test]
fn manifests_hang_together() {
    let dir = deploy("kubernetes");
    let files = resources(&dir);
    for want in [
        "services.yaml",
        "statefulset.yaml",
        "poddisruptionbudget.yaml",
    ] {
        assert!(
            files.contains(&dir.join(want)),
            "kustomization lists {want}"
        );
    }
    let docs = load_yaml(&files);
    let mut kinds: Vec<_> = docs.iter().map(|d| s(d, "kind").to_string()).collect();
    kinds.sort();
    assert_eq!(
        kinds,
        ["PodDisruptionBudget", "Service", "Service", "StatefulSet"]
    );

    let sts = docs.iter().find(|d| d["kind"] == "StatefulSet").unwrap();
    let sts_name = s(sts, "metadata.name");
    let replicas = at(sts, "spec.replicas").as_i64().unwrap();
    assert_eq!(replicas, 3);
    assert_eq!(s(sts, "spec.podManagementPolicy"), "Parallel");

    // The headless service named by serviceName.
    let hs_name = s(sts, "spec.serviceName");
    assert_eq!(hs_name, "zk-hs");
    let hs = find(&docs, "Service", hs_name);
    assert_eq!(s(hs, "spec.clusterIP"), "None");
    assert_eq!(at(hs, "spec.publishNotReadyAddresses"), &Value::Bool(true));
    let cs = find(&docs, "Service", "zk-cs");
    assert!(
        cs["spec"]["clusterIP"].is_null(),
        "zk-cs is a normal service"
    );

    // Selectors match the pod labels everywhere.
    let pod = labels(at(sts, "spec.template.metadata.labels"));
    assert_selects("StatefulSet", at(sts, "spec.selector.matchLabels"), &pod);
    assert_selects("zk-hs", at(hs, "spec.selector"), &pod);
    assert_selects("zk-cs", at(cs, "spec.selector"), &pod);
    let pdb = docs
        .iter()
        .find(|d| d["kind"] == "PodDisruptionBudget")
        .unwrap();
    assert_selects("PDB", at(pdb, "spec.selector.matchLabels"), &pod);
    assert_eq!(at(pdb, "spec.maxUnavailable").as_i64(), Some(1));
    let anti = at(
        sts,
        "spec.template.spec.affinity.podAntiAffinity.requiredDuringSchedulingIgnoredDuringExecution.[0]",
    );
    assert_eq!(s(anti, "topologyKey"), "kubernetes.io/hostname");
    assert_selects("anti-affinity", at(anti, "labelSelector.matchLabels"), &pod);

    let pod_spec = at(sts, "spec.template.spec");
    let containers = at(pod_spec, "containers").as_array().unwrap();
    assert_eq!(containers.len(), 1);
    let c = &containers[0];

    // Service ports land on the container's ports of the same number.
    let mut service_ports = BTreeMap::new();
    for svc in [hs, cs] {
        for p in at(svc, "spec.ports").as_array().unwrap() {
            let port = p["port"].as_i64().unwrap();
            assert_eq!(container_port(c, &p["targetPort"]), port, "{p}");
            service_ports.insert(s(p, "name").to_string(), port);
        }
    }
    let expected: BTreeMap<String, i64> = [
        ("client", 2181),
        ("server", 2888),
        ("leader-election", 3888),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), *v))
    .collect();
    assert_eq!(service_ports, expected);

    // Probes: /ready and /live on the admin port, the one zoo.cfg sets.
    let admin = container_port(c, &Value::String("admin".into()));
    assert_eq!(admin, 8080);
    for (probe, path) in [("readinessProbe", "/ready"), ("livenessProbe", "/live")] {
        let get = at(c, &format!("{probe}.httpGet"));
        assert_eq!(s(get, "path"), path, "{probe}");
        assert_eq!(container_port(c, &get["port"]), admin, "{probe} port");
    }

    // The image's entrypoint contract (Dockerfile ENTRYPOINT and CMD).
    let runtime = stages(&read(&deploy("docker/Dockerfile"))).pop().unwrap();
    let entry = runtime.iter().find(|i| i.keyword == "ENTRYPOINT").unwrap();
    let cmd = runtime.iter().find(|i| i.keyword == "CMD").unwrap();
    let strings = |v: &Value| -> Vec<String> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(strings(at(c, "command")), json_array(&entry.args));
    assert_eq!(strings(at(c, "args")), json_array(&cmd.args));

    // Environment: POD_NAMESPACE first, then ZOO_SERVERS naming every pod.
    let env = env_map(c);
    let ns_at = env
        .iter()
        .position(|(k, _)| k == "POD_NAMESPACE")
        .expect("POD_NAMESPACE");
    assert_eq!(
        s(&env[ns_at].1, "valueFrom.fieldRef.fieldPath"),
        "metadata.namespace"
    );
    let value = |k: &str| -> String {
        let (i, (_, e)) = env
            .iter()
            .enumerate()
            .find(|(_, (n, _))| n == k)
            .unwrap_or_else(|| panic!("env {k}"));
        let v = s(e, "value").to_string();
        if v.contains("$(POD_NAMESPACE)") {
            assert!(ns_at < i, "POD_NAMESPACE is defined before {k} uses it");
        }
        v
    };
    assert!(
        env.iter().all(|(k, _)| k != "ZOO_MY_ID"),
        "myid comes from the pod ordinal"
    );
    let zoo_servers = value("ZOO_SERVERS");
    let entries: Vec<&str> = zoo_servers.split_whitespace().collect();
    assert_eq!(entries.len() as i64, replicas, "{zoo_servers}");
    let quorum = container_port(c, &Value::String("server".into()));
    let election = container_port(c, &Value::String("leader-election".into()));
    let client = container_port(c, &Value::String("client".into()));
    for (i, entry) in entries.iter().enumerate() {
        assert_eq!(
            *entry,
            format!(
                "server.{}={sts_name}-{i}.{hs_name}.$(POD_NAMESPACE).svc.cluster.local:{quorum}:{election};{client}",
                i + 1
            )
        );
    }
    assert_eq!(value("ZOO_STANDALONE_ENABLED"), "false");
    assert!(value("ZOO_CFG_EXTRA")
        .split_whitespace()
        .any(|kv| kv == format!("admin.serverPort={admin}")));

    // Volumes: every mount is a claim template or a pod volume, every claim
    // template is mounted, and the ZOO_* directories are the mounts.
    let templates: Vec<String> = at(sts, "spec.volumeClaimTemplates")
        .as_array()
        .unwrap()
        .iter()
        .map(|t| s(t, "metadata.name").to_string())
        .collect();
    assert_eq!(templates, ["data", "datalog"]);
    let pod_volumes: Vec<&str> = pod_spec["volumes"]
        .as_array()
        .map(|v| v.iter().map(|x| s(x, "name")).collect())
        .unwrap_or_default();
    let mounts: BTreeMap<String, String> = at(c, "volumeMounts")
        .as_array()
        .unwrap()
        .iter()
        .map(|m| (s(m, "name").to_string(), s(m, "mountPath").to_string()))
        .collect();
    for name in mounts.keys() {
        assert!(
            templates.contains(name) || pod_volumes.contains(&name.as_str()),
            "mount {name} has no volume"
        );
    }
    for t in &templates {
        assert!(mounts.contains_key(t), "claim template {t} is mounted");
    }
    for (var, mount) in [
        ("ZOO_DATA_DIR", "data"),
        ("ZOO_DATA_LOG_DIR", "datalog"),
        ("ZOO_CONF_DIR", "conf"),
        ("ZOO_LOG_DIR", "logs"),
    ] {
        assert_eq!(value(var), mounts[mount], "{var} is the {mount} mount");
    }
    // A read-only root file system leaves only the mounts writable.
    assert_eq!(
        at(c, "securityContext.readOnlyRootFilesystem"),
        &Value::Bool(true)
    );

    // Runs as the image's zookeeper user (uid/gid 1000 in the Dockerfile).
    let docker_env = dockerfile_env(&runtime);
    assert_eq!(docker_env["ZOO_USER"], "zookeeper");
    let sc = at(pod_spec, "securityContext");
    assert_eq!(sc["runAsUser"].as_i64(), Some(1000));
    assert_eq!(sc["fsGroup"].as_i64(), Some(1000));
    assert!(at(c, "resources.requests").is_object());
    assert!(at(c, "resources.limits").is_object());
}

/// Each pod's environment through the real entrypoint, as the kubelet would
/// hand it over in namespace `prod`: pod zk-N gets myid N+1 and the full
/// server list.
#[test]
fn each_pod_gets_its_own_myid_from_the_manifest_environment() {
    let docs = load_yaml(&[deploy("kubernetes/statefulset.yaml")]);
    let c = at(&docs[0], "spec.template.spec.containers.[0]");
    let env: Vec<(String, String)> = env_map(c)
        .into_iter()
        .filter_map(|(k, e)| {
            e["value"]
                .as_str()
                .map(|v| (k, v.replace("$(POD_NAMESPACE)", "prod")))
        })
        .collect();
    let replicas = at(&docs[0], "spec.replicas").as_i64().unwrap();
    for ordinal in 0..replicas {
        let d = ZooDirs::new("k8s-pod");
        let host = format!("zk-{ordinal}");
        // The directories are the test's own, not the manifest's /data...
        let mut vars: Vec<(&str, &str)> = env
            .iter()
            .filter(|(k, _)| !k.ends_with("_DIR"))
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        vars.push(("HOSTNAME", &host));
        d.run_ok(&vars, &["true"]);
        assert_eq!(d.myid(), format!("{}\n", ordinal + 1), "{host}");
        let cfg = d.zoo_cfg();
        let server_lines: Vec<&str> = cfg.lines().filter(|l| l.starts_with("server.")).collect();
        assert_eq!(server_lines.len() as i64, replicas, "{cfg}");
        assert!(
            cfg.contains(&format!(
                "server.{}=zk-{ordinal}.zk-hs.prod.svc.cluster.local:2888:3888;2181\n",
                ordinal + 1
            )),
            "{cfg}"
        );
        for line in [
            "standaloneEnabled=false",
            "clientPort=2181",
            "quorumListenOnAllIPs=true",
            "admin.serverPort=8080",
            "admin.enableServer=true",
        ] {
            assert!(cfg.lines().any(|l| l == line), "{line} in\n{cfg}");
        }
    }
}

/// `kubectl kustomize` (offline) builds the same objects, when kubectl is
/// installed.
#[test]
fn kustomize_builds_the_listed_resources() {
    let dir = deploy("kubernetes");
    let Ok(out) = Command::new("kubectl").arg("kustomize").arg(&dir).output() else {
        println!("skipped: kubectl is not installed");
        return;
    };
    assert!(
        out.status.success(),
        "kubectl kustomize: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let d = ZooDirs::new("kustomize");
    std::fs::create_dir_all(&d.root).unwrap();
    let built = d.root.join("built.yaml");
    std::fs::write(&built, &out.stdout).unwrap();
    let names = |docs: Vec<Value>| {
        let mut v: Vec<(String, String)> = docs
            .iter()
            .map(|d| (s(d, "kind").to_string(), s(d, "metadata.name").to_string()))
            .collect();
        v.sort();
        v
    };
    assert_eq!(
        names(load_yaml(&[built])),
        names(load_yaml(&resources(&dir)))
    );
}
