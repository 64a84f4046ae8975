//! TLS for clients, end to end against the real `zkserver` process:
//! a throwaway CA, server and client certificates (rcgen) in a temp dir;
//! the ZooKeeper handshake over rustls on `secureClientPort`; `x509` ACLs
//! granted to one certificate's subject and denied to another's; a client
//! without a certificate refused (`ssl.clientAuth=need`); four-letter words
//! over TLS; `client.portUnification`; certificate reload without restart;
//! then kazoo (`use_ssl`) and zkCli.sh 3.8.0 (Netty, PEM stores) against our
//! secure port, and zkCli.sh against the reference's secure port with the
//! same certificates, compared line by line.

use bytes::Bytes;
use jute::data::{perms, Acl};
use jute::proto::{AuthPacket, CreateRequest, GetDataRequest, GetDataResponse, WhoAmIResponse};
use jute::{ErrorCode, OpCode, Record};
use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    KeyPair, KeyUsagePurpose, SanType, SerialNumber,
};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use zk_tests::raw_client::{CallResult, ConnectResult, RawClient};
use zk_tests::servers::{self, OurProcess};

/// The DN rcgen writes for `leaf(.., &[("O", "zk-tests"), ("CN", "alice")])`,
/// as Java prints it (most specific first).
const ALICE_DN: &str = "CN=alice,O=zk-tests";
const ADMIN_DN: &str = "CN=admin";

struct Ca {
    cert: rcgen::Certificate,
    key: KeyPair,
}

/// A certificate and key, as PEM and DER.
struct Leaf {
    cert_pem: String,
    key_pem: String,
    cert_der: CertificateDer<'static>,
    key_der: Vec<u8>,
}

impl Leaf {
    /// ZooKeeper's PEM key store: the private key and the chain in one file.
    fn key_store(&self) -> String {
        format!("{}{}", self.key_pem, self.cert_pem)
    }
}

fn ca() -> Ca {
    let mut p = CertificateParams::new(Vec::<String>::new()).unwrap();
    p.distinguished_name = DistinguishedName::new();
    p.distinguished_name.push(DnType::CommonName, "zk-tests CA");
    p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    p.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    let key = KeyPair::generate().unwrap();
    let cert = p.self_signed(&key).unwrap();
    Ca { cert, key }
}

/// A certificate for both server and client use, SAN 127.0.0.1/localhost.
fn leaf(ca: &Ca, dn: &[(&str, &str)], serial: u64) -> Leaf {
    let mut p = CertificateParams::new(vec!["localhost".to_string()]).unwrap();
    p.subject_alt_names
        .push(SanType::IpAddress(IpAddr::V4(Ipv4Addr::LOCALHOST)));
    p.distinguished_name = DistinguishedName::new();
    for (k, v) in dn {
        let t = match *k {
            "CN" => DnType::CommonName,
            "O" => DnType::OrganizationName,
            other => panic!("no DN type {other}"),
        };
        p.distinguished_name.push(t, *v);
    }
    p.serial_number = Some(SerialNumber::from(serial));
    p.extended_key_usages = vec![
        ExtendedKeyUsagePurpose::ServerAuth,
        ExtendedKeyUsagePurpose::ClientAuth,
    ];
    p.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    let key = KeyPair::generate().unwrap();
    let cert = p.signed_by(&key, &ca.cert, &ca.key).unwrap();
    Leaf {
        cert_pem: cert.pem(),
        key_pem: key.serialize_pem(),
        cert_der: cert.der().clone(),
        key_der: key.serialize_der(),
    }
}

/// The files a test run uses.
struct Pki {
    dir: PathBuf,
    ca: Ca,
    ca_pem: PathBuf,
    server_store: PathBuf,
    alice: Leaf,
    bob: Leaf,
    admin: Leaf,
}

impl Pki {
    fn new(dir: &Path) -> Pki {
        let ca = ca();
        let ca_pem = dir.join("ca.pem");
        std::fs::write(&ca_pem, ca.cert.pem()).unwrap();
        let server = leaf(&ca, &[("CN", "server-1")], 1);
        let server_store = dir.join("server.pem");
        std::fs::write(&server_store, server.key_store()).unwrap();
        let alice = leaf(&ca, &[("O", "zk-tests"), ("CN", "alice")], 10);
        let bob = leaf(&ca, &[("O", "zk-tests"), ("CN", "bob")], 11);
        let admin = leaf(&ca, &[("CN", "admin")], 12);
        for (name, l) in [("alice", &alice), ("bob", &bob), ("admin", &admin)] {
            std::fs::write(dir.join(format!("{name}.crt")), &l.cert_pem).unwrap();
            std::fs::write(dir.join(format!("{name}.key")), &l.key_pem).unwrap();
            std::fs::write(dir.join(format!("{name}.pem")), l.key_store()).unwrap();
        }
        Pki {
            dir: dir.to_path_buf(),
            ca,
            ca_pem,
            server_store,
            alice,
            bob,
            admin,
        }
    }

    fn connector(&self, client: Option<&Leaf>) -> TlsConnector {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut roots = rustls::RootCertStore::empty();
        roots.add(self.ca.cert.der().clone()).unwrap();
        let builder = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(roots);
        let config = match client {
            Some(l) => builder
                .with_client_auth_cert(
                    vec![l.cert_der.clone()],
                    PrivateKeyDer::try_from(l.key_der.clone()).unwrap(),
                )
                .unwrap(),
            None => builder.with_no_client_auth(),
        };
        TlsConnector::from(Arc::new(config))
    }
}

type Tls = tokio_rustls::client::TlsStream<TcpStream>;

async fn tls_connect(pki: &Pki, addr: SocketAddr, client: Option<&Leaf>) -> std::io::Result<Tls> {
    let tcp = TcpStream::connect(addr).await?;
    let name = ServerName::IpAddress(addr.ip().into());
    let connect = pki.connector(client).connect(name, tcp);
    tokio::time::timeout(Duration::from_secs(10), connect)
        .await
        .map_err(|_| std::io::Error::other("TLS handshake timed out"))?
}

/// A session over TLS (panics if the handshake or the session fails).
async fn session(pki: &Pki, addr: SocketAddr, client: Option<&Leaf>) -> RawClient {
    let tls = tls_connect(pki, addr, client).await.expect("TLS handshake");
    let req = RawClient::new_session_request(30_000, None);
    let (c, res) = RawClient::connect_over(Box::new(tls), &req).await.unwrap();
    assert!(
        matches!(res, ConnectResult::Connected(ref r) if r.time_out > 0),
        "{res:?}"
    );
    c
}

async fn create(c: &mut RawClient, path: &str, data: &str, acl: Vec<Acl>) -> i32 {
    let req = CreateRequest {
        path: path.into(),
        data: Some(Bytes::from(data.to_string())),
        acl,
        flags: 0,
    };
    c.call(OpCode::Create, &jute::to_bytes(&req))
        .await
        .header()
        .expect("create reply")
        .err
}

/// getData: Ok(data) or Err(error code).
async fn get(c: &mut RawClient, path: &str) -> Result<String, i32> {
    let req = GetDataRequest {
        path: path.into(),
        watch: false,
    };
    match c.call(OpCode::GetData, &jute::to_bytes(&req)).await {
        CallResult::Reply { header, mut body } if header.err == 0 => {
            let r = GetDataResponse::read(&mut body).unwrap();
            Ok(String::from_utf8_lossy(r.data.as_deref().unwrap_or(&[])).into_owned())
        }
        CallResult::Reply { header, .. } => Err(header.err),
        other => panic!("getData {path}: {other:?}"),
    }
}

async fn who_am_i(c: &mut RawClient) -> Vec<(String, String)> {
    match c.call(OpCode::WhoAmI, &[]).await {
        CallResult::Reply { header, mut body } if header.err == 0 => {
            let r = WhoAmIResponse::read(&mut body).unwrap();
            r.client_info
                .into_iter()
                .map(|i| (i.auth_scheme, i.user))
                .collect()
        }
        other => panic!("whoAmI: {other:?}"),
    }
}

/// A four-letter word over TLS.
async fn four_letter_tls(pki: &Pki, addr: SocketAddr, client: &Leaf, word: &str) -> String {
    let mut tls = tls_connect(pki, addr, Some(client)).await.unwrap();
    tls.write_all(word.as_bytes()).await.unwrap();
    tls.flush().await.unwrap();
    let mut out = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(5), tls.read_to_end(&mut out)).await;
    String::from_utf8_lossy(&out).into_owned()
}

/// The subject of the certificate the server presents on a new handshake.
async fn server_subject(pki: &Pki, addr: SocketAddr) -> Option<String> {
    let tls = tls_connect(pki, addr, Some(&pki.alice)).await.ok()?;
    let cert = tls.get_ref().1.peer_certificates()?.first()?.clone();
    zk_server::net::tls_subject::subject_rfc2253(&cert)
}

fn server_cfg(pki: &Pki, data: &Path, secure_port: u16) -> String {
    format!(
        "tickTime=2000\ndataDir={}\nmaxClientCnxns=0\n4lw.commands.whitelist=*\n\
         admin.enableServer=false\nsecureClientPort={secure_port}\n\
         secureClientPortAddress=127.0.0.1\n\
         ssl.keyStore.location={}\nssl.keyStore.type=PEM\n\
         ssl.trustStore.location={}\nssl.trustStore.type=PEM\n\
         client.certReload=true\nclient.portUnification=true\n\
         X509AuthenticationProvider.superUser={ADMIN_DN}\n",
        data.display(),
        pki.server_store.display(),
        pki.ca_pem.display()
    )
}

fn temp_root(tag: &str) -> PathBuf {
    let dir = servers::fresh_dir(tag);
    std::fs::create_dir_all(dir.join("pki")).unwrap();
    dir
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_sessions_x509_acls_four_letter_words_and_reload() {
    let root = temp_root("tls");
    let pki = Pki::new(&root.join("pki"));
    let secure_port = servers::free_port();
    let cfg = server_cfg(&pki, &root.join("data"), secure_port);
    let server = OurProcess::start(&root, "tls", &cfg, "info");
    let secure: SocketAddr = ([127, 0, 0, 1], secure_port).into();

    // The handshake and a create over TLS; the node is alice's alone.
    let mut alice = session(&pki, secure, Some(&pki.alice)).await;
    let mut ids = who_am_i(&mut alice).await;
    ids.sort();
    assert_eq!(
        ids,
        vec![
            ("ip".to_string(), "127.0.0.1".to_string()),
            ("x509".to_string(), ALICE_DN.to_string())
        ]
    );
    assert_eq!(
        create(&mut alice, "/open", "o", Acl::open_unsafe()).await,
        0
    );
    let only_alice = vec![Acl::new(perms::ALL, "x509", ALICE_DN)];
    assert_eq!(create(&mut alice, "/alice", "secret", only_alice).await, 0);
    assert_eq!(get(&mut alice, "/alice").await, Ok("secret".to_string()));
    // `auth` expands to the certificate's id.
    let auth_acl = vec![Acl::new(perms::ALL, "auth", "")];
    assert_eq!(create(&mut alice, "/alice-auth", "a", auth_acl).await, 0);

    // `addauth x509` on a connection with a certificate succeeds (ZooKeeper's
    // provider re-reads the certificate); without one it fails.
    let x509_auth = jute::to_bytes(&AuthPacket {
        type_: 0,
        scheme: "x509".into(),
        auth: Some(Bytes::new()),
    });
    let r = alice
        .call_xid(jute::proto::xid::AUTH, OpCode::Auth.code(), &x509_auth)
        .await;
    assert_eq!(r.header().map(|h| h.err), Some(0), "{r:?}");
    assert_eq!(get(&mut alice, "/alice").await, Ok("secret".to_string()));

    // Another certificate's subject is denied; so is a plain connection.
    let mut bob = session(&pki, secure, Some(&pki.bob)).await;
    assert_eq!(get(&mut bob, "/alice").await, Err(ErrorCode::NoAuth as i32));
    assert_eq!(
        get(&mut bob, "/alice-auth").await,
        Err(ErrorCode::NoAuth as i32)
    );
    assert_eq!(get(&mut bob, "/open").await, Ok("o".to_string()));
    let req = RawClient::new_session_request(30_000, None);
    let (mut plain, res) = RawClient::connect(server.addr, &req).await.unwrap();
    assert!(matches!(res, ConnectResult::Connected(_)), "{res:?}");
    assert_eq!(
        get(&mut plain, "/alice").await,
        Err(ErrorCode::NoAuth as i32)
    );
    let r = plain
        .call_xid(jute::proto::xid::AUTH, OpCode::Auth.code(), &x509_auth)
        .await;
    assert_eq!(
        r.header().map(|h| h.err),
        Some(ErrorCode::AuthFailed as i32),
        "{r:?}"
    );

    // X509AuthenticationProvider.superUser reads everything.
    let mut admin = session(&pki, secure, Some(&pki.admin)).await;
    assert_eq!(get(&mut admin, "/alice").await, Ok("secret".to_string()));
    let admin_ids = who_am_i(&mut admin).await;
    // whoAmI shows the super id with no user name, as the reference does.
    assert!(
        admin_ids.contains(&("super".to_string(), String::new())),
        "{admin_ids:?}"
    );
    assert!(
        admin_ids.contains(&("x509".to_string(), ADMIN_DN.to_string())),
        "{admin_ids:?}"
    );

    // ssl.clientAuth=need: no certificate, no session.
    match tls_connect(&pki, secure, None).await {
        Err(_) => {}
        Ok(tls) => {
            let (c, res) = RawClient::connect_over(Box::new(tls), &req).await.unwrap();
            assert!(
                !matches!(res, ConnectResult::Connected(_)),
                "a client without a certificate got a session: {res:?}"
            );
            drop(c);
        }
    }

    // Four-letter words over TLS, on the secure port and on the unified plain port.
    assert_eq!(
        four_letter_tls(&pki, secure, &pki.alice, "ruok").await,
        "imok"
    );
    let srvr = four_letter_tls(&pki, server.addr, &pki.alice, "srvr").await;
    assert!(srvr.contains("Mode: standalone"), "{srvr}");
    // client.portUnification: a TLS session on the plain port gets its x509 id too.
    let mut unified = session(&pki, server.addr, Some(&pki.alice)).await;
    assert_eq!(get(&mut unified, "/alice").await, Ok("secret".to_string()));
    // ... and plaintext still works there.
    assert_eq!(servers::four_letter(server.addr, "ruok"), "imok");

    // Certificate reload: a new server certificate, atomically renamed in.
    assert_eq!(
        server_subject(&pki, secure).await.as_deref(),
        Some("CN=server-1")
    );
    let next = leaf(&pki.ca, &[("CN", "server-2")], 2);
    let tmp = pki.dir.join("server.pem.new");
    std::fs::write(&tmp, next.key_store()).unwrap();
    std::fs::rename(&tmp, &pki.server_store).unwrap();
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        if server_subject(&pki, secure).await.as_deref() == Some("CN=server-2") {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the new certificate was not picked up:\n{}",
            server.log_text()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // Same process: it started once, and its sessions survived.
    assert_eq!(
        server.log_text().matches("ready: serving clients").count(),
        1
    );
    // Connections made before the reload keep working.
    assert_eq!(get(&mut alice, "/alice").await, Ok("secret".to_string()));
    assert_eq!(get(&mut bob, "/alice").await, Err(ErrorCode::NoAuth as i32));
    // A broken file is refused and the last good certificate stays.
    std::fs::write(&tmp, "-----BEGIN PRIVATE KEY-----\nnot base64\n").unwrap();
    std::fs::rename(&tmp, &pki.server_store).unwrap();
    let deadline = Instant::now() + Duration::from_secs(15);
    while !server.log_text().contains("client TLS reload failed") {
        assert!(
            Instant::now() < deadline,
            "no reload error logged:\n{}",
            server.log_text()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(
        server_subject(&pki, secure).await.as_deref(),
        Some("CN=server-2")
    );
    let mut late = session(&pki, secure, Some(&pki.alice)).await;
    assert_eq!(get(&mut late, "/alice").await, Ok("secret".to_string()));
    drop(server);
    let _ = std::fs::remove_dir_all(&root);
}

/// The Python that has kazoo: `KAZOO_PYTHON`, else `<repo>/.venv/bin/python`.
fn kazoo_python() -> PathBuf {
    std::env::var_os("KAZOO_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../.venv/bin/python"))
}

const KAZOO_SCRIPT: &str = r#"
import sys
from kazoo.client import KazooClient
from kazoo.security import make_acl
hosts, ca, cert, key, dn = sys.argv[1:6]
zk = KazooClient(hosts=hosts, use_ssl=True, verify_certs=True, ca=ca, certfile=cert, keyfile=key, timeout=10)
zk.start(timeout=15)
zk.create("/kazoo-tls", b"over tls", acl=[make_acl("x509", dn, all=True)])
data, stat = zk.get("/kazoo-tls")
acls, _ = zk.get_acls("/kazoo-tls")
print("data", data.decode())
print("acl", acls[0].id.scheme, acls[0].id.id, acls[0].perms)
zk.stop()
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kazoo_over_tls() {
    let py = kazoo_python();
    assert!(
        py.exists(),
        "{} missing: run scripts/install-test-deps.sh (or set KAZOO_PYTHON)",
        py.display()
    );
    let root = temp_root("tls-kazoo");
    let pki = Pki::new(&root.join("pki"));
    let secure_port = servers::free_port();
    let cfg = server_cfg(&pki, &root.join("data"), secure_port);
    let server = OurProcess::start(&root, "tls", &cfg, "info");
    let dir = &pki.dir;
    let out = tokio::task::spawn_blocking({
        let args: Vec<String> = vec![
            "-c".into(),
            KAZOO_SCRIPT.into(),
            format!("127.0.0.1:{secure_port}"),
            pki.ca_pem.display().to_string(),
            dir.join("alice.crt").display().to_string(),
            dir.join("alice.key").display().to_string(),
            ALICE_DN.into(),
        ];
        move || {
            Command::new(py)
                .args(args)
                .env_remove("CI")
                .env_remove("ZOOKEEPER_VERSION")
                .output()
                .expect("run python")
        }
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "kazoo failed: {stdout}\n{}\nserver log:\n{}",
        String::from_utf8_lossy(&out.stderr),
        server.log_text()
    );
    assert_eq!(
        stdout.lines().collect::<Vec<_>>(),
        vec![
            "data over tls".to_string(),
            format!("acl x509 {ALICE_DN} 31")
        ]
    );
    // kazoo's session really was alice's: bob is refused the node.
    let mut bob = session(&pki, ([127, 0, 0, 1], secure_port).into(), Some(&pki.bob)).await;
    assert_eq!(
        get(&mut bob, "/kazoo-tls").await,
        Err(ErrorCode::NoAuth as i32)
    );
    drop(server);
    let _ = std::fs::remove_dir_all(&root);
}

/// The classpath zkCli.sh and the reference need for Netty TLS: Debian's
/// zookeeper.jar manifest leaves out netty-codec, netty-resolver and
/// netty-transport-native-unix-common.
fn netty_classpath() -> String {
    let jars = servers::reference_jar_dir();
    [
        "zookeeper.jar",
        "netty-codec.jar",
        "netty-resolver.jar",
        "netty-transport-native-unix-common.jar",
        "slf4j-log4j12.jar",
        "log4j-1.2.jar",
    ]
    .iter()
    .map(|j| jars.join(j).display().to_string())
    .collect::<Vec<_>>()
    .join(":")
}

/// zkCli.sh 3.8.0 through a secure port with `client` (a PEM key store),
/// commands on stdin; the lines its commands printed.
fn zkcli_tls(pki: &Pki, secure: SocketAddr, client: &str, commands: &str) -> Vec<String> {
    let flags = format!(
        "-cp /etc/zookeeper/conf:{} \
         -Dzookeeper.clientCnxnSocket=org.apache.zookeeper.ClientCnxnSocketNetty \
         -Dzookeeper.client.secure=true \
         -Dzookeeper.ssl.keyStore.location={} -Dzookeeper.ssl.keyStore.type=PEM \
         -Dzookeeper.ssl.trustStore.location={} -Dzookeeper.ssl.trustStore.type=PEM",
        netty_classpath(),
        pki.dir.join(format!("{client}.pem")).display(),
        pki.ca_pem.display()
    );
    let zkcli =
        std::env::var("ZKCLI").unwrap_or_else(|_| "/usr/share/zookeeper/bin/zkCli.sh".into());
    // Errors go to stderr: merge it in order, through the shell.
    let mut child = Command::new("bash")
        .args([
            "-c",
            "exec timeout 60 \"$0\" -server \"$1\" 2>&1",
            &zkcli,
            &secure.to_string(),
        ])
        .env("CLIENT_JVMFLAGS", flags)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("run zkCli.sh");
    // Commands typed before the session is up fail with ConnectionLoss (the
    // reference's TLS handshake takes a moment): wait for SyncConnected.
    let mut text = String::new();
    {
        use std::io::{BufRead, Write};
        let mut stdout = std::io::BufReader::new(child.stdout.take().unwrap());
        let mut line = String::new();
        while stdout.read_line(&mut line).unwrap_or(0) > 0 {
            let connected = line.contains("state:SyncConnected");
            text.push_str(&line);
            line.clear();
            if connected {
                break;
            }
        }
        let mut stdin = child.stdin.take().unwrap();
        let _ = stdin.write_all(commands.as_bytes());
        drop(stdin);
        let _ = std::io::Read::read_to_string(&mut stdout, &mut text);
    }
    let _ = child.wait();
    if std::env::var_os("ZK_TLS_DEBUG").is_some() {
        eprintln!("zkCli.sh on {secure}:\n{text}");
    }
    // Keep what the commands printed: drop the banner, prompts' echo and
    // connection-state chatter, which carry times and ports.
    text.lines()
        .map(|l| match l.rfind("] ") {
            Some(i) if l.starts_with("[zk: ") => l[i + 2..].to_string(),
            _ => l.to_string(),
        })
        .filter(|l| {
            !l.is_empty()
                && !l.starts_with("SLF4J")
                && !l.starts_with("log4j:")
                && !l.starts_with("Connecting to")
                && !l.starts_with("Welcome to")
                && !l.starts_with("JLine")
                && !l.starts_with("WATCHER")
                && !l.starts_with("WatchedEvent")
                && !commands.lines().any(|c| c.trim() == l.trim())
        })
        .collect()
}

/// Starts Apache ZooKeeper 3.8.0 with Netty and a secure port; killed on drop.
struct Reference {
    child: Child,
    secure: SocketAddr,
}

impl Drop for Reference {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_reference(pki: &Pki, root: &Path) -> Reference {
    let port = servers::free_port();
    let secure_port = servers::free_port();
    let cfg = root.join("ref.cfg");
    std::fs::write(
        &cfg,
        format!(
            "clientPort={port}\nclientPortAddress=127.0.0.1\n{}\
             serverCnxnFactory=org.apache.zookeeper.server.NettyServerCnxnFactory\n\
             authProvider.x509=org.apache.zookeeper.server.auth.X509AuthenticationProvider\n",
            server_cfg(pki, &root.join("ref-data"), secure_port)
                .replace("client.portUnification=true\n", "")
        ),
    )
    .unwrap();
    let log = std::fs::File::create(root.join("ref.log")).unwrap();
    let child = Command::new("java")
        .args([
            "-Xmx256m",
            "-XX:+UseSerialGC",
            "-XX:TieredStopAtLevel=1",
            "-cp",
        ])
        .arg(netty_classpath())
        .arg("org.apache.zookeeper.server.ZooKeeperServerMain")
        .arg(&cfg)
        .stdin(Stdio::null())
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .spawn()
        .expect("start the reference");
    let r = Reference {
        child,
        secure: ([127, 0, 0, 1], secure_port).into(),
    };
    let plain: SocketAddr = ([127, 0, 0, 1], port).into();
    let deadline = Instant::now() + Duration::from_secs(60);
    while !servers::four_letter(plain, "srvr").contains("Mode:") {
        assert!(
            Instant::now() < deadline,
            "the reference did not start:\n{}",
            std::fs::read_to_string(root.join("ref.log")).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    r
}

#[test]
fn zkcli_over_tls_matches_the_reference() {
    if let Some(why) = servers::reference_missing() {
        panic!("this test needs zkCli.sh and the reference server: {why}");
    }
    let root = temp_root("tls-zkcli");
    let pki = Pki::new(&root.join("pki"));
    let secure_port = servers::free_port();
    let cfg = server_cfg(&pki, &root.join("data"), secure_port);
    let server = OurProcess::start(&root, "tls", &cfg, "info");
    let ours: SocketAddr = ([127, 0, 0, 1], secure_port).into();
    let reference = start_reference(&pki, &root);

    // zkCli splits an ACL on commas, so its DN is admin's single CN.
    let commands = format!(
        "create /zkcli-tls hello x509:{ADMIN_DN}:cdrwa\nget /zkcli-tls\ngetAcl /zkcli-tls\n\
         whoami\ncreate /zkcli-tls/child c\nls /zkcli-tls\nquit\n"
    );
    let ours_out = zkcli_tls(&pki, ours, "admin", &commands);
    let ref_out = zkcli_tls(&pki, reference.secure, "admin", &commands);
    assert!(
        ref_out.iter().any(|l| l == "hello"),
        "the reference run did not work (setup problem): {ref_out:#?}\n{}",
        std::fs::read_to_string(root.join("ref.log")).unwrap_or_default()
    );
    assert_eq!(
        ours_out, ref_out,
        "zkCli.sh over TLS: ours vs the reference"
    );
    assert!(
        ours_out.contains(&format!("x509: {ADMIN_DN}")),
        "{ours_out:#?}"
    );
    drop(reference);
    drop(server);
    let _ = std::fs::remove_dir_all(&root);
}
