//! The ASCII hot path allocates nothing: `Authority::parse`, `Host::parse` and index lookups
//! are counted under a global allocator that counts this thread's allocations.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use misdirect::{Authority, Host, NameIndex, NamePattern};

struct Counting;

thread_local! {
    static ALLOCATIONS: Cell<usize> = const { Cell::new(0) };
}

// SAFETY: this only forwards to `System` and counts; `unsafe` is what the trait requires.
#[allow(unsafe_code)]
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.with(|n| n.set(n.get() + 1));
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCATIONS.with(|n| n.set(n.get() + 1));
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn allocations_during(f: impl FnOnce()) -> usize {
    let before = ALLOCATIONS.with(Cell::get);
    f();
    ALLOCATIONS.with(Cell::get) - before
}

const ASCII_INPUTS: &[&[u8]] = &[
    b"api.example.com:443",
    b"API.Example.COM.",
    b"www.example.com:0443",
    b"192.0.2.1:8080",
    b"[2001:db8::1]:443",
    b"[::ffff:1.2.3.4]",
    b"r1---sn-abc.example.com",
    b"_dmarc.example.com",
    b"XN--BCHER-KVA.example:443",
    b"xn--tst-bma.example.org",
    b"xn--abc.example",
    // Refusals allocate nothing either.
    b"user@example.com",
    b"example.com:0",
    b"a..b",
    b"0x7f.1",
    b"[::1%25eth0]",
    b"exa mple.com",
    b"\0",
    b"\xff\xfe",
];

#[test]
fn authority_parse_ascii_path_does_not_allocate() {
    for input in ASCII_INPUTS {
        let n = allocations_during(|| {
            std::hint::black_box(Authority::parse(std::hint::black_box(input))).ok();
        });
        assert_eq!(
            n,
            0,
            "{:?} allocated {n} times",
            String::from_utf8_lossy(input)
        );
    }
    // Over-long input is refused before any work.
    let long = vec![b'a'; 64 * 1024];
    assert_eq!(
        allocations_during(|| assert!(Authority::parse(&long).is_err())),
        0
    );
}

#[test]
fn index_lookup_does_not_allocate() {
    let patterns = [
        "*.example.com",
        "api.example.com",
        "example.org",
        "192.0.2.1",
        "2001:db8::1",
    ];
    let index = NameIndex::build(
        patterns
            .iter()
            .enumerate()
            .map(|(i, p)| (NamePattern::parse(p).unwrap(), i)),
    )
    .unwrap();
    let hosts: Vec<Host> = [
        &b"api.example.com"[..],
        b"www.example.com",
        b"a.b.example.com",
        b"example.com",
        b"example.org",
        b"192.0.2.1",
        b"[2001:db8::1]",
        b"nowhere.test",
    ]
    .iter()
    .map(|h| Host::parse(h).unwrap())
    .collect();
    for host in &hosts {
        let n = allocations_during(|| {
            std::hint::black_box(index.lookup(std::hint::black_box(host)));
            std::hint::black_box(index.lookup_all(std::hint::black_box(host)));
        });
        assert_eq!(n, 0, "lookup of {host} allocated {n} times");
    }
}

#[test]
fn allocation_counter_sees_allocations() {
    // The test above would pass vacuously if the counter were broken.
    assert!(allocations_during(|| drop(std::hint::black_box(vec![1u8; 32]))) > 0);
}

fn edge_server() -> misdirect::Server<&'static str> {
    use misdirect::{CertificateConfig, Config, ListenerConfig, VhostConfig};
    let mut ip = VhostConfig::new("ip", &["192.0.2.1", "2001:db8::1"], "public", "ip");
    ip.http_ports = vec![80];
    let mut tls = ListenerConfig::new("tls", true, 443);
    tls.default_tls_vhost = Some("api".into());
    let config = Config {
        policies: vec!["public".into(), "mtls".into()],
        certificates: vec![CertificateConfig::new(
            "edge",
            &["*.example.com", "example.com", "192.0.2.1", "2001:db8::1"],
        )],
        vhosts: vec![
            VhostConfig::new("api", &["api.example.com"], "public", "api"),
            VhostConfig::new("star", &["*.example.com"], "public", "star"),
            VhostConfig::new("secure", &["secure.example.com"], "mtls", "secure"),
            ip,
        ],
        listeners: vec![tls],
        ..Config::default()
    };
    misdirect::Server::build(config).unwrap()
}

#[test]
fn decide_does_not_allocate_on_ascii_requests() {
    use misdirect::{ConnectionFacts, Handshake, Method, Request, Target, Version};
    let server = edge_server();
    let facts = ConnectionFacts {
        listener: server.listener_id("tls").unwrap(),
        tls: Some(Handshake {
            sni: Some(b"API.example.com."),
            certificate: server.certificate_id("edge").unwrap(),
            policy: server.policy_id("public"),
        }),
        gateway: None,
    };
    let conn = server.connection(&facts).unwrap();
    let authorities: &[&[u8]] = &[
        b"api.example.com:443",
        b"WWW.Example.com.",
        b"xn--bcher-kva.example.com",
        b"[2001:db8::1]",
        b"secure.example.com",   // 421 by policy
        b"a.b.example.com",      // 421 not covered
        b"api.example.com:8443", // 421 port
        b"user@api.example.com", // 400
    ];
    for authority in authorities {
        let slot = [*authority];
        let request = Request {
            version: Version::Http2,
            method: Method::Other,
            scheme: Some(b"https"),
            authorities: &slot,
            hosts: &[],
            target: Target::Origin,
        };
        let mut status = None;
        let n = allocations_during(|| {
            let verdict =
                server.decide(std::hint::black_box(&conn), std::hint::black_box(&request));
            status = verdict.status();
            std::hint::black_box(verdict);
        });
        assert_eq!(
            n,
            0,
            "{:?} (status {status:?}) allocated {n} times",
            String::from_utf8_lossy(authority)
        );
    }
    // And the connection's facts are canonicalized without allocating either.
    assert_eq!(
        allocations_during(|| {
            std::hint::black_box(server.connection(&facts)).ok();
        }),
        0
    );
}

/// Request facts from an `http::Request` (HTTP/1.1 Host, absolute-form, HTTP/2 `:authority`
/// or Host) are borrowed: reading them and deciding allocates nothing.
#[cfg(feature = "http")]
#[test]
fn http_request_facts_do_not_allocate() {
    use misdirect::{ConnectionFacts, Handshake, HttpRequest};
    let server = edge_server();
    let conn = server
        .connection(&ConnectionFacts {
            listener: server.listener_id("tls").unwrap(),
            tls: Some(Handshake {
                sni: Some(b"api.example.com"),
                certificate: server.certificate_id("edge").unwrap(),
                policy: server.policy_id("public"),
            }),
            gateway: None,
        })
        .unwrap();
    let requests = [
        http::Request::builder()
            .version(http::Version::HTTP_2)
            .uri("https://api.example.com/x")
            .body(())
            .unwrap(),
        http::Request::builder()
            .uri("/x")
            .header("host", "WWW.example.com")
            .body(())
            .unwrap(),
        http::Request::builder()
            .uri("https://api.example.com:443/x")
            .header("host", "api.example.com")
            .body(())
            .unwrap(),
        http::Request::builder()
            .uri("/x")
            .header("host", "a.example.com")
            .header("host", "b.example.com")
            .body(())
            .unwrap(),
        // HTTP/2 with Host and no :authority, as h2 delivers it (no scheme in the URI): the
        // connection's scheme stands in without a copy.
        http::Request::builder()
            .version(http::Version::HTTP_2)
            .uri("/x")
            .header("host", "api.example.com")
            .body(())
            .unwrap(),
    ];
    for request in &requests {
        let mut status = None;
        let n = allocations_during(|| {
            let facts = HttpRequest::new(std::hint::black_box(request), &conn);
            let verdict = server.decide(&conn, &facts.request());
            status = verdict.status();
            std::hint::black_box(verdict);
        });
        assert_eq!(n, 0, "{request:?} (status {status:?}) allocated {n} times");
    }
}
