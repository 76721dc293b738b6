//! A real browser against the example server (examples/server.rs, included here): headless
//! Chromium loads `https://a.example.test:PORT/page.html`, whose images come from
//!
//! - `b.example.test`: a's certificate and policy. Chromium coalesces it onto a's HTTP/2
//!   connection, where it is served.
//! - `legacy.example.test`: a's certificate (`*.example.test`), another policy (`legacy`, its own
//!   policy). Chromium coalesces it too; the server answers 421 (rule 6); Chromium retries once on
//!   a new connection with SNI `legacy.example.test`, whose handshake the acceptor runs under
//!   `legacy`, and is served.
//! - `nowhere.example.test`: covered by the certificate, no virtual host: 421 on every
//!   connection. Chromium retries once only, so the image fails: the negative control.
//!
//! The page's script writes each image's outcome into the DOM, which `--dump-dom` prints after
//! the load event. The server's request log says which connection (and SNI) answered what.
//!
//! Chromium trusts the example CA through an NSS database in a scratch `HOME` (with
//! `--ignore-certificate-errors` it would not coalesce at all). QUIC is off (`--disable-quic`):
//! the TCP answers advertise HTTP/3 with `alt-svc`, and a QUIC attempt racing the TCP
//! connections would make the run depend on timing. This test needs `chromium` and `certutil`
//! (Debian: `apt-get install chromium libnss3-tools`; `.ci/run` installs them) and fails
//! without them.

#[path = "../examples/server.rs"]
mod server;

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use server::{Options, Running};

/// The browser binaries tried, in order.
const BROWSERS: [&str; 3] = ["chromium", "chromium-browser", "google-chrome"];

fn find(program: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(program))
        .find(|candidate| candidate.is_file())
}

fn browser() -> PathBuf {
    BROWSERS
        .iter()
        .find_map(|name| find(name))
        .unwrap_or_else(|| {
            panic!(
                "no Chromium found (tried {BROWSERS:?} on PATH): install it, e.g. \
             `apt-get install chromium libnss3-tools` (.ci/run does)"
            )
        })
}

fn certutil() -> PathBuf {
    find("certutil").unwrap_or_else(|| {
        panic!(
            "certutil not found on PATH: install it, e.g. `apt-get install libnss3-tools` \
             (.ci/run does)"
        )
    })
}

/// Runs a command to completion within `limit`, killing it past that.
async fn run(command: &mut tokio::process::Command, limit: Duration) -> std::process::Output {
    let child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap_or_else(|e| panic!("{command:?}: {e}"));
    tokio::time::timeout(limit, child.wait_with_output())
        .await
        .unwrap_or_else(|_| panic!("{command:?} did not finish within {limit:?}"))
        .expect("the command's output")
}

/// A scratch `HOME` whose NSS database trusts the example CA.
async fn trusting_home(running: &Running, scratch: &Path) -> PathBuf {
    let home = scratch.join("home");
    let db = home.join(".pki/nssdb");
    std::fs::create_dir_all(&db).unwrap();
    let db = format!("sql:{}", db.display());
    let certutil = certutil();
    let output = run(
        tokio::process::Command::new(&certutil)
            .env("HOME", &home)
            .args(["-N", "--empty-password", "-d", &db]),
        Duration::from_secs(30),
    )
    .await;
    assert!(output.status.success(), "certutil -N: {output:?}");
    let output = run(
        tokio::process::Command::new(&certutil)
            .env("HOME", &home)
            .args([
                "-A",
                "-t",
                "C,,",
                "-n",
                "misdirect-example-ca",
                "-d",
                &db,
                "-i",
            ])
            .arg(running.dir.join("ca.pem")),
        Duration::from_secs(30),
    )
    .await;
    assert!(output.status.success(), "certutil -A: {output:?}");
    home
}

/// What one run of the browser left: the DOM after the load event, and the net-log's text.
struct Run {
    dom: String,
    net_log: String,
    took: Duration,
}

async fn load(url: &str, home: &Path, scratch: &Path) -> Run {
    let net_log = scratch.join("net-log.json");
    let started = Instant::now();
    let output = run(
        tokio::process::Command::new(browser())
            .env("HOME", home)
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--disable-quic",
                "--host-resolver-rules=MAP *.example.test 127.0.0.1",
                "--net-log-capture-mode=Everything",
                "--virtual-time-budget=5000",
            ])
            .arg(format!(
                "--user-data-dir={}",
                scratch.join("profile").display()
            ))
            .arg(format!("--log-net-log={}", net_log.display()))
            .args(["--dump-dom", url]),
        Duration::from_secs(90),
    )
    .await;
    let took = started.elapsed();
    let dom = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success() && dom.contains("</html>"),
        "chromium failed: {output:?}"
    );
    let net_log = std::fs::read_to_string(&net_log).expect("the net-log");
    Run { dom, net_log, took }
}

/// The text the page's script wrote into the element with this id.
fn outcome<'a>(dom: &'a str, id: &str) -> &'a str {
    let start = format!("<span id=\"{id}\">");
    let from = dom
        .find(&start)
        .unwrap_or_else(|| panic!("no #{id} in the DOM:\n{dom}"))
        + start.len();
    let to = dom[from..].find('<').expect("the span closes") + from;
    &dom[from..to]
}

/// The numeric type of a net-log event, from the log's constants.
fn event_type(net_log: &str, name: &str) -> String {
    let key = format!("\"{name}\":");
    let from = net_log
        .find(&key)
        .unwrap_or_else(|| panic!("no {name} in the net-log's constants"))
        + key.len();
    net_log[from..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chromium_coalesces_gets_421_and_retries_on_a_connection_of_the_right_policy() {
    let started = Instant::now();
    let scratch = std::env::temp_dir().join(format!("misdirect-browser-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&scratch);
    std::fs::create_dir_all(&scratch).unwrap();
    let running = server::start(Options {
        port: 0,
        out: Some(scratch.join("certs")),
        quiet: true,
        ..Options::default()
    })
    .await
    .expect("the example server starts");
    let port = running.addr.port();
    let home = trusting_home(&running, &scratch).await;
    let run = load(
        &format!("https://a.example.test:{port}/page.html"),
        &home,
        &scratch,
    )
    .await;
    let log = running.log.entries();
    let described: Vec<String> = log.iter().map(ToString::to_string).collect();
    let context = format!("DOM:\n{}\nserver log:\n{}", run.dom, described.join("\n"));

    // The page saw every image answer: a, b and legacy loaded, nowhere failed.
    assert_eq!(outcome(&run.dom, "status"), "done", "{context}");
    assert_eq!(outcome(&run.dom, "a"), "loaded", "{context}");
    assert_eq!(outcome(&run.dom, "b"), "loaded", "{context}");
    assert_eq!(outcome(&run.dom, "legacy"), "loaded", "{context}");
    assert_eq!(outcome(&run.dom, "nowhere"), "failed", "{context}");

    // The page came on a connection made for a.
    let page = log
        .iter()
        .find(|e| e.path == "/page.html")
        .unwrap_or_else(|| panic!("the page was not requested\n{context}"));
    assert_eq!(
        (page.sni.as_str(), page.policy.as_str(), page.status),
        ("a.example.test", "public", 200),
        "{context}"
    );
    let answers = |path: &str| -> Vec<_> { log.iter().filter(|e| e.path == path).collect() };

    // b: coalesced onto a's connection and served there.
    let b = answers("/pixel.gif?img=b");
    assert!(
        b.iter().any(|e| e.connection == page.connection
            && e.authority == format!("b.example.test:{port}")
            && e.status == 200),
        "b was not served on a's connection\n{context}"
    );

    // legacy: 421 on a's connection, then 200 on a second connection made for legacy under
    // its own policy.
    let legacy = answers("/pixel.gif?img=legacy");
    let refused = legacy
        .iter()
        .position(|e| e.connection == page.connection && e.status == 421)
        .unwrap_or_else(|| panic!("no 421 for legacy on a's connection\n{context}"));
    let served = legacy
        .iter()
        .position(|e| e.status == 200)
        .unwrap_or_else(|| panic!("legacy was never served\n{context}"));
    assert!(refused < served, "the 200 came before the 421\n{context}");
    let served = legacy[served];
    assert_ne!(served.connection, page.connection, "{context}");
    assert_eq!(
        (served.sni.as_str(), served.policy.as_str()),
        ("legacy.example.test", "legacy"),
        "{context}"
    );
    assert_eq!(legacy.len(), 2, "one 421, one 200\n{context}");

    // nowhere: 421 on a's connection, 421 again on its own; no third try.
    let nowhere = answers("/pixel.gif?img=nowhere");
    let statuses: Vec<(bool, &str, u16)> = nowhere
        .iter()
        .map(|e| (e.connection == page.connection, e.sni.as_str(), e.status))
        .collect();
    assert_eq!(
        statuses,
        [
            (true, "a.example.test", 421),
            (false, "nowhere.example.test", 421)
        ],
        "{context}"
    );

    // The browser's own account: a 421 received, then a restart for a misdirected request,
    // once per refused image.
    // One event a line; an event's own type closes its line (a source's type does not).
    let restart = event_type(&run.net_log, "HTTP_TRANSACTION_RESTART_MISDIRECTED_REQUEST");
    let restart = format!("\"type\":{restart}}}");
    let lines: Vec<&str> = run.net_log.lines().collect();
    let restarts: Vec<usize> = (0..lines.len())
        .filter(|&i| {
            lines[i]
                .trim_end()
                .trim_end_matches(',')
                .ends_with(&restart)
        })
        .collect();
    let received_421: Vec<usize> = (0..lines.len())
        .filter(|&i| lines[i].contains(":status: 421"))
        .collect();
    assert_eq!(restarts.len(), 2, "one restart each for legacy and nowhere");
    assert!(
        received_421.len() >= 3,
        "421 received for legacy and nowhere on a's connection, and nowhere on its own"
    );
    assert!(received_421[0] < restarts[0], "a restart before any 421");

    eprintln!(
        "browser run: chromium {:?}, whole test {:?}\n{}",
        run.took,
        started.elapsed(),
        described.join("\n")
    );
    let _ = std::fs::remove_dir_all(&scratch);
}
