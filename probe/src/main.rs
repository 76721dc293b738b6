//! `misdirect-probe`: sends every request shape a configuration implies to a live HTTPS
//! server and checks each answer against the crate's own decision (see the `misdirect_probe` library).
//!
//! ```text
//! misdirect-probe --config server.toml --connect 127.0.0.1:8443 [--listener NAME]
//!     [--insecure-ca ca.pem] [--client-cert cert.pem --client-key key.pem]
//!     [--h3 PORT|alt-svc [--h3-listener NAME]]
//!     [--rate N] [--max-requests N] [--only GROUP,...] [--json] [--junit FILE]
//! ```
//!
//! Exit status: 0 when every scenario passed (or was skipped); 2 when the run could not start
//! (arguments, configuration, no handshake); otherwise odd: 1, plus 4 when a request was served
//! where 421 or 400 is due (security), 8 when one was refused where the crate serves
//! (availability), 16 for any other mismatch.
//!
//! Each discovery handshake and each scenario ends within `DEADLINE` (5 s), whatever the
//! server sends or holds back, so a run's length is bounded by its scenario count.

use std::net::{SocketAddr, ToSocketAddrs};
use std::path::PathBuf;
use std::process::ExitCode;

use misdirect_probe::{
    DEADLINE, Group, H3Endpoint, MAX_RATE, MAX_REQUESTS, MAX_SITES, Options, run,
};

fn usage() -> String {
    let d = DEADLINE.as_secs();
    let most = (2 * (MAX_SITES + 1) + 1 + MAX_REQUESTS) as u64 * d;
    let groups = Group::ALL.map(Group::name).join(", ");
    format!(
        "usage: misdirect-probe --config FILE --connect HOST:PORT [--listener NAME] \
[--insecure-ca CA.pem] [--client-cert CERT.pem --client-key KEY.pem] \
[--h3 PORT|alt-svc [--h3-listener NAME]] [--rate N] [--max-requests N] [--only GROUP,...] \
[--json] [--junit FILE]

  --config        the crate's TOML configuration: what the server is meant to serve
  --connect       the only address connected to (resolved once)
  --listener      the configuration's TLS listener the address stands for (default: the one
                  on the address's port, else the only one)
  --insecure-ca   check the server's chains against this CA, not its names (default: accept
                  and record any certificate)
  --client-cert   a client certificate (and --client-key) to offer when a server asks
  --h3            also send the HTTP/2 scenarios over HTTP/3 (QUIC) to this UDP port of the
                  address, or to the h3 port the server's alt-svc advertises (alt-svc)
  --h3-listener   the configuration's TLS listener the HTTP/3 endpoint stands for (default:
                  another TLS listener on that port, else --listener's)
  --rate          requests and connections per second, at most {MAX_RATE} (default {MAX_RATE})
  --max-requests  at most {MAX_REQUESTS} (default {MAX_REQUESTS})
  --only          only these groups ({groups})
  --json          one JSON document instead of lines
  --junit         also write a JUnit XML report to FILE (a suite per group, failures typed
                  security, availability or other)

Exit status: 0 every scenario passed or was skipped; 2 the run could not start; otherwise
1 + 4 (served where 421 or 400 is due: security) + 8 (refused where the crate serves:
availability) + 16 (any other mismatch), for the classes that occurred.

Whatever the server sends or holds back, each TLS handshake of the discovery (one per name
and one without SNI, over TCP and again over QUIC with --h3) and each scenario (its
connection when it needs a new one, and its answer) ends within {d} s. A run of S scenarios
over N names ends within (N + 1 + S) x {d} s, with --h3 (2 x (N + 1) + 1 + S) x {d} s (the
QUIC handshakes and the alt-svc lookup; at most {most} s: {MAX_SITES} names, {MAX_REQUESTS}
scenarios), plus its pacing by --rate: at most (2 x (N + 1) + 1 + 2 x S) / rate s."
    )
}

struct Args {
    options: Options,
    json: bool,
    junit: Option<PathBuf>,
}

fn parse() -> Result<Args, String> {
    let mut config = None;
    let mut connect: Option<SocketAddr> = None;
    let mut listener = None;
    let mut ca = None;
    let mut cert = None;
    let mut key = None;
    let mut rate = MAX_RATE;
    let mut max = MAX_REQUESTS;
    let mut json = false;
    let mut junit = None;
    let mut only = Vec::new();
    let mut h3 = None;
    let mut h3_listener = None;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = || args.next().ok_or_else(|| format!("{arg} needs a value"));
        match arg.as_str() {
            "--config" => config = Some(PathBuf::from(value()?)),
            "--connect" => {
                let text = value()?;
                connect = Some(
                    text.to_socket_addrs()
                        .map_err(|e| format!("--connect {text}: {e}"))?
                        .next()
                        .ok_or_else(|| format!("--connect {text}: no address"))?,
                );
            }
            "--listener" => listener = Some(value()?),
            "--insecure-ca" => ca = Some(PathBuf::from(value()?)),
            "--client-cert" => cert = Some(PathBuf::from(value()?)),
            "--client-key" => key = Some(PathBuf::from(value()?)),
            "--rate" => {
                rate = value()?
                    .parse()
                    .ok()
                    .filter(|r| (1..=MAX_RATE).contains(r))
                    .ok_or(format!("--rate takes 1 to {MAX_RATE}"))?;
            }
            "--max-requests" => {
                max = value()?
                    .parse()
                    .ok()
                    .filter(|m| (1..=MAX_REQUESTS).contains(m))
                    .ok_or(format!("--max-requests takes 1 to {MAX_REQUESTS}"))?;
            }
            "--h3" => {
                let text = value()?;
                h3 = Some(if text == "alt-svc" {
                    H3Endpoint::AltSvc
                } else {
                    H3Endpoint::Port(
                        text.parse()
                            .ok()
                            .filter(|p| *p != 0)
                            .ok_or(format!("--h3 takes a UDP port or alt-svc, not {text:?}"))?,
                    )
                });
            }
            "--h3-listener" => h3_listener = Some(value()?),
            "--json" => json = true,
            "--junit" => junit = Some(PathBuf::from(value()?)),
            "--only" => {
                for name in value()?.split(',') {
                    only.push(Group::from_name(name.trim()).ok_or_else(|| {
                        format!(
                            "--only: no group {name:?} (groups: {})",
                            Group::ALL.map(Group::name).join(", ")
                        )
                    })?);
                }
            }
            "-h" | "--help" => {
                println!("{}", usage());
                std::process::exit(0);
            }
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    let config = config.ok_or("--config is required")?;
    let connect = connect.ok_or("--connect is required")?;
    let client_cert = match (cert, key) {
        (Some(cert), Some(key)) => Some((cert, key)),
        (None, None) => None,
        _ => return Err("--client-cert and --client-key go together".into()),
    };
    let mut options = Options::new(&config, connect);
    options.listener = listener;
    options.ca = ca;
    options.client_cert = client_cert;
    options.rate = rate;
    options.max_requests = max;
    options.only = only;
    if h3_listener.is_some() && h3.is_none() {
        return Err("--h3-listener needs --h3".into());
    }
    options.h3 = h3;
    options.h3_listener = h3_listener;
    Ok(Args {
        options,
        json,
        junit,
    })
}

fn main() -> ExitCode {
    let args = match parse() {
        Ok(args) => args,
        Err(e) => {
            eprintln!("misdirect-probe: {e}\n{}", usage());
            return ExitCode::from(2);
        }
    };
    match run(&args.options) {
        Ok(report) => {
            if let Some(path) = &args.junit {
                if let Err(e) = std::fs::write(path, report.junit()) {
                    eprintln!("misdirect-probe: --junit {}: {e}", path.display());
                    return ExitCode::from(2);
                }
            }
            if args.json {
                println!("{}", report.json());
            } else {
                print!("{}", report.text());
            }
            ExitCode::from(u8::try_from(report.exit_code()).unwrap_or(1))
        }
        Err(e) => {
            eprintln!("misdirect-probe: {e}");
            ExitCode::from(2)
        }
    }
}
