//! `misdirect_decide` allocates nothing for ASCII requests (the crate's documentation says so,
//! and nginx calls it on every request): served, 421 and 400, with a 512-byte reason buffer,
//! counted by a global allocator. What a non-ASCII authority costs is recorded as observed.
//!
//! The counter is per thread, so the test harness's other threads do not disturb it.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use misdirect_ffi::*;

/// The system allocator, counting the allocations (and reallocations) of each thread.
struct Counting;

thread_local! {
    // A const-initialized `Cell` of an integer: no lazy initialization and no destructor, so
    // reading it from inside the allocator never allocates (or recurses).
    static ALLOCATIONS: Cell<u64> = const { Cell::new(0) };
}

fn count() {
    // `try_with`: a thread being torn down may still allocate.
    let _ = ALLOCATIONS.try_with(|n| n.set(n.get() + 1));
}

// SAFETY: every call is passed on to `System`, which upholds `GlobalAlloc`'s contract.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count();
        // SAFETY: the caller's promise, passed on.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        count();
        // SAFETY: as above.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count();
        // SAFETY: as above.
        unsafe { System.realloc(ptr, layout, new_size) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: as above.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn allocations() -> u64 {
    ALLOCATIONS.with(Cell::get)
}

const CONFIG: &str = r#"
[[policies]]
name = "public"
client_auth = "none"

[[policies]]
name = "mtls"
client_auth = "required"
client_cas = ["ca.pem"]

[[listeners]]
name = "tls"
tls = true
port = 8443

[[certificates]]
id = "wild"
sans = ["example.test", "*.example.test"]

[[certificates]]
id = "other"
sans = ["other.test"]

[[vhosts]]
name = "a"
names = ["a.example.test", "xn--bcher-kva.example.test"]
https_ports = [8443]
policy = "public"

[[vhosts]]
name = "admin"
names = ["admin.example.test"]
https_ports = [8443]
policy = "mtls"

[[vhosts]]
name = "o"
names = ["other.test"]
https_ports = [8443]
policy = "public"
"#;

const ABSENT: misdirect_str = misdirect_str {
    data: core::ptr::null(),
    len: 0,
};

fn s(text: &[u8]) -> misdirect_str {
    misdirect_str {
        data: text.as_ptr(),
        len: text.len(),
    }
}

/// A server from TOML text, freed on drop.
struct Server(*mut misdirect_server);

impl Server {
    fn new(toml: &str) -> Server {
        let mut server = core::ptr::null_mut();
        let mut error = [0u8; 512];
        let mut error_len = 0;
        // SAFETY: valid strings, a writable out-pointer and buffer.
        let result = unsafe {
            misdirect_server_from_toml(
                s(toml.as_bytes()),
                ABSENT,
                &mut server,
                error.as_mut_ptr(),
                error.len(),
                &mut error_len,
            )
        };
        assert_eq!(
            result,
            misdirect_result::MISDIRECT_RESULT_OK,
            "{}",
            String::from_utf8_lossy(&error[..error_len.min(error.len() - 1)])
        );
        Server(server)
    }

    /// A TLS connection on "tls" with SNI a.example.test, certificate "wild", policy "public".
    fn connection(&self) -> Connection {
        let facts = misdirect_facts {
            listener: s(b"tls"),
            tls: 1,
            sni: s(b"a.example.test"),
            certificate: s(b"wild"),
            policy: s(b"public"),
        };
        let mut connection = core::ptr::null_mut();
        // SAFETY: a live server, readable facts, a writable out-pointer.
        let result = unsafe { misdirect_connection_new(self.0, &facts, &mut connection) };
        assert_eq!(result, misdirect_result::MISDIRECT_RESULT_OK);
        Connection(connection)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        // SAFETY: made by misdirect_server_from_toml, its connections dropped before.
        unsafe { misdirect_server_free(self.0) };
    }
}

/// A connection, freed on drop.
struct Connection(*mut misdirect_connection);

impl Drop for Connection {
    fn drop(&mut self) {
        // SAFETY: made by misdirect_connection_new, not used again.
        unsafe { misdirect_connection_free(self.0) };
    }
}

/// What one call of `misdirect_decide` gave, and how many allocations it made.
struct Decided {
    decision: misdirect_decision,
    reason: String,
    allocations: u64,
}

/// Decides an HTTP/2 request (`:authority` given) or an HTTP/1.1 one (`Host` lines given),
/// counting the allocations of the call alone, with a 512-byte reason buffer.
fn decide(server: &Server, connection: &Connection, version: u32, values: &[&[u8]]) -> Decided {
    let values: Vec<misdirect_str> = values.iter().map(|v| s(v)).collect();
    let mut request = misdirect_request {
        version,
        method: MISDIRECT_METHOD_OTHER,
        scheme: ABSENT,
        authorities: core::ptr::null(),
        authorities_len: 0,
        hosts: core::ptr::null(),
        hosts_len: 0,
        target: MISDIRECT_TARGET_ORIGIN,
        target_scheme: ABSENT,
        target_authority: ABSENT,
    };
    if version == MISDIRECT_HTTP_2 {
        request.scheme = s(b"https");
        request.authorities = values.as_ptr();
        request.authorities_len = values.len();
    } else {
        request.hosts = values.as_ptr();
        request.hosts_len = values.len();
    }
    let mut reason = [0u8; 512];
    let mut out = core::mem::MaybeUninit::<misdirect_decision>::uninit();
    let before = allocations();
    // SAFETY: a live server and connection made on it, a readable request whose arrays and
    // strings outlive the call, a writable decision and reason buffer.
    let result = unsafe {
        misdirect_decide(
            server.0,
            connection.0,
            &request,
            out.as_mut_ptr(),
            reason.as_mut_ptr(),
            reason.len(),
        )
    };
    let allocations = allocations() - before;
    assert_eq!(result, misdirect_result::MISDIRECT_RESULT_OK);
    // SAFETY: written on success.
    let decision = unsafe { out.assume_init() };
    let end = reason.iter().position(|&b| b == 0).unwrap_or(reason.len());
    assert_eq!(
        end, decision.reason_len,
        "the reason line fits in 512 bytes"
    );
    Decided {
        decision,
        reason: String::from_utf8_lossy(&reason[..end]).into_owned(),
        allocations,
    }
}

fn vhost(d: &misdirect_decision) -> &str {
    assert!(!d.vhost.data.is_null());
    // SAFETY: a name borrowed from the live server.
    let bytes = unsafe { core::slice::from_raw_parts(d.vhost.data, d.vhost.len) };
    core::str::from_utf8(bytes).unwrap()
}

#[test]
fn the_counter_counts() {
    let before = allocations();
    let v = std::hint::black_box(vec![1u8, 2, 3]);
    assert!(allocations() > before);
    drop(v);
}

#[test]
fn ascii_requests_allocate_nothing() {
    let server = Server::new(CONFIG);
    let connection = server.connection();
    use misdirect_verdict::{
        MISDIRECT_VERDICT_BAD_REQUEST as BAD, MISDIRECT_VERDICT_MISDIRECTED as MISDIRECTED,
        MISDIRECT_VERDICT_SERVE as SERVE,
    };
    const H1: u32 = MISDIRECT_HTTP_1_1;
    const H2: u32 = MISDIRECT_HTTP_2;
    // (version, values, verdict, rule), the first call included: nothing is initialized
    // lazily on the way.
    let cases: &[(u32, &[&[u8]], misdirect_verdict, u8)] = &[
        (H2, &[b"a.example.test:8443"], SERVE, 255),
        (H1, &[b"A.Example.Test.:8443"], SERVE, 255),
        (H2, &[b"xn--bcher-kva.example.test:8443"], SERVE, 255),
        // 421: another policy (6), not covered (4), another port (3), no virtual host (5).
        (H2, &[b"admin.example.test:8443"], MISDIRECTED, 6),
        (H2, &[b"other.test:8443"], MISDIRECTED, 4),
        (H1, &[b"a.example.test:9443"], MISDIRECTED, 3),
        (H2, &[b"nothing.example.test:8443"], MISDIRECTED, 5),
        (H2, &[b"[2001:db8::1]:8443"], MISDIRECTED, 4),
        // 400: userinfo, two Host lines, none, a NUL byte.
        (H1, &[b"user@a.example.test:8443"], BAD, 1),
        (H1, &[b"a.example.test", b"a.example.test"], BAD, 1),
        (H1, &[], BAD, 1),
        (H1, &[b"a.example.test\0x"], BAD, 1),
    ];
    for round in 0..3 {
        for &(version, values, verdict, rule) in cases {
            let d = decide(&server, &connection, version, values);
            let what = format!("{values:?} (round {round}): {}", d.reason);
            assert_eq!(d.decision.verdict, verdict, "{what}");
            assert_eq!(d.decision.rule, rule, "{what}");
            assert_eq!(d.allocations, 0, "{what}: {} allocations", d.allocations);
            if verdict == SERVE {
                assert!(d.reason.is_empty());
            } else {
                assert!(d.reason.len() > 10, "{what}");
            }
        }
    }
    let served = decide(
        &server,
        &connection,
        MISDIRECT_HTTP_2,
        &[b"a.example.test:8443"],
    );
    assert_eq!(vhost(&served.decision), "a");
    let coalesced = decide(
        &server,
        &connection,
        MISDIRECT_HTTP_2,
        &[b"admin.example.test:8443"],
    );
    assert!(coalesced.reason.contains("admin"), "{}", coalesced.reason);
}

/// Raw UTF-8 in an authority, as observed: under the default `wire_unicode = "reject"` it is
/// a 400 found without allocating; under `"convert"` UTS #46 (the idna crate) maps it to its
/// A-label, and that allocates.
#[test]
fn non_ascii_authorities_as_observed() {
    let bucher = "bücher.example.test:8443".as_bytes();

    let server = Server::new(CONFIG);
    let connection = server.connection();
    for _ in 0..2 {
        let d = decide(&server, &connection, MISDIRECT_HTTP_2, &[bucher]);
        assert_eq!(
            d.decision.verdict,
            misdirect_verdict::MISDIRECT_VERDICT_BAD_REQUEST
        );
        assert!(d.reason.contains("non-ASCII"), "{}", d.reason);
        assert_eq!(d.allocations, 0, "reject: {} allocations", d.allocations);
        // Not UTF-8 at all: the same 400, no allocation.
        let d = decide(
            &server,
            &connection,
            MISDIRECT_HTTP_2,
            &[b"b\xff\xfe.example.test"],
        );
        assert_eq!(
            d.decision.verdict,
            misdirect_verdict::MISDIRECT_VERDICT_BAD_REQUEST
        );
        assert_eq!(d.allocations, 0, "not UTF-8: {} allocations", d.allocations);
    }
    drop(connection);
    drop(server);

    let server = Server::new(&format!("[knobs]\nwire_unicode = \"convert\"\n{CONFIG}"));
    let connection = server.connection();
    for _ in 0..2 {
        let d = decide(&server, &connection, MISDIRECT_HTTP_2, &[bucher]);
        assert_eq!(
            d.decision.verdict,
            misdirect_verdict::MISDIRECT_VERDICT_SERVE,
            "{}",
            d.reason
        );
        assert_eq!(vhost(&d.decision), "a");
        assert!(
            d.allocations > 0,
            "convert: observed to allocate, now {}",
            d.allocations
        );
        // ASCII stays allocation-free under the knob.
        let d = decide(
            &server,
            &connection,
            MISDIRECT_HTTP_2,
            &[b"a.example.test:8443"],
        );
        assert_eq!(d.allocations, 0);
    }
}

#[test]
fn servers_and_connections_may_be_shared_by_threads() {
    fn shared<T: Send + Sync>() {}
    shared::<misdirect_server>();
    shared::<misdirect_connection>();
}
