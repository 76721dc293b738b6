//! # misdirect's C ABI
//!
//! The decision of [`misdirect`] for servers written in C (nginx first): build a server from
//! the crate's TOML configuration, make a connection from what the handshake established, and
//! decide each request into a verdict, a status, the rule of SPEC §5 that fired, the served
//! virtual host's name and a reason line. The header, `include/misdirect.h`, is generated from
//! this file by cbindgen and committed; `bash ffi/check.sh` regenerates it, fails when it
//! differs, and runs the C tests under valgrind.
//!
//! ## Conventions (as in rustls-ffi)
//!
//! - Every function that can fail returns a [`misdirect_result`]; [`misdirect_result_text`]
//!   names it. No panic crosses the boundary: one caught is [`misdirect_result::MISDIRECT_RESULT_PANIC`]
//!   (the library is built with `panic = "unwind"`, the default).
//! - Strings and byte strings are borrowed as [`misdirect_str`] (pointer and length, no NUL
//!   needed). `data == NULL` means absent (no SNI, no `:scheme`); `data == NULL` with a
//!   nonzero `len` is [`misdirect_result::MISDIRECT_RESULT_NULL_ARGUMENT`], as is every NULL
//!   pointer argument.
//! - Names (listeners, certificates, policies, virtual hosts) must be UTF-8; request bytes may
//!   be anything (non-UTF-8, NUL, 64 KiB): they are judged, and a malformed one is a 400
//!   verdict, not an error.
//! - What the library gives back borrows from the server ([`misdirect_str`] of a name) and
//!   lives as long as it. Messages and reason lines are written into the caller's buffer as
//!   `snprintf` does: at most `cap - 1` bytes and a NUL, and the full length is returned.
//! - A constructor's `*out` (a server, a connection) is set to NULL before anything else, so
//!   it is NULL after any failure; every other out-parameter (a name, a policy, a decision)
//!   is written on success only and left as it was on failure.
//! - A [`misdirect_server`] is immutable once built and may be shared by threads; a
//!   [`misdirect_connection`] too. [`misdirect_decide`] allocates nothing for ASCII input.
//!
//! ## Versioning
//!
//! [`MISDIRECT_ABI_VERSION`] is 1. It changes when a function's signature, a struct's layout or
//! a constant's meaning changes; functions and constants may be added without a change.
//! [`misdirect_abi_version`] says which one the linked library has.
#![allow(non_camel_case_types)]

use core::fmt::{self, Write as _};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};

use misdirect::{
    Authority, ClientAuthMode, Config, ConnectionFacts, FactsError, Handshake, Method, NameIndex,
    NamePattern, Request, San, Scheme, Server, Site, Target, TlsVersion, Verdict, Version,
    VhostConfig, certificate_sans,
};

/// The version of this ABI (see the crate's documentation): 1.
pub const MISDIRECT_ABI_VERSION: u32 = 1;

/// HTTP/1.0 ([`misdirect_request::version`]).
pub const MISDIRECT_HTTP_1_0: u32 = 0;
/// HTTP/1.1.
pub const MISDIRECT_HTTP_1_1: u32 = 1;
/// HTTP/2.
pub const MISDIRECT_HTTP_2: u32 = 2;
/// HTTP/3.
pub const MISDIRECT_HTTP_3: u32 = 3;

/// Any method but CONNECT ([`misdirect_request::method`]).
pub const MISDIRECT_METHOD_OTHER: u32 = 0;
/// CONNECT without `:protocol`: a tunnel, not an origin request.
pub const MISDIRECT_METHOD_CONNECT: u32 = 1;
/// CONNECT with `:protocol` (RFC 8441, RFC 9220), HTTP/2 and HTTP/3 only.
pub const MISDIRECT_METHOD_EXTENDED_CONNECT: u32 = 2;

/// `/path` ([`misdirect_request::target`]); also for HTTP/2 and HTTP/3.
pub const MISDIRECT_TARGET_ORIGIN: u32 = 0;
/// `scheme://authority/path`: `target_scheme` and `target_authority` hold its parts.
pub const MISDIRECT_TARGET_ABSOLUTE: u32 = 1;
/// `host:port` (CONNECT): `target_authority` holds it.
pub const MISDIRECT_TARGET_AUTHORITY: u32 = 2;
/// `*` (a server-wide OPTIONS).
pub const MISDIRECT_TARGET_ASTERISK: u32 = 3;

/// No client certificate is asked for ([`misdirect_policy::client_auth`]).
pub const MISDIRECT_CLIENT_AUTH_NONE: u32 = 0;
/// One is asked for and may be missing; one sent must verify.
pub const MISDIRECT_CLIENT_AUTH_OPTIONAL: u32 = 1;
/// One that verifies is required: the handshake fails without it.
pub const MISDIRECT_CLIENT_AUTH_REQUIRED: u32 = 2;
/// The policy has no `[[policies]]` table: a bare name, which demands nothing checkable.
pub const MISDIRECT_CLIENT_AUTH_UNDECLARED: u32 = 3;

/// TLS 1.2, a bit of [`misdirect_policy::versions`].
pub const MISDIRECT_TLS_1_2: u32 = 1;
/// TLS 1.3, a bit of [`misdirect_policy::versions`].
pub const MISDIRECT_TLS_1_3: u32 = 2;

/// At most this many `:authority` and `Host` values of a request are read: any count past
/// one is already a 400 (rule 1), whatever the values.
pub const MISDIRECT_MAX_FIELDS: usize = 8;

/// The longest configuration text accepted (16 MiB).
pub const MISDIRECT_MAX_CONFIG_LEN: usize = 16 << 20;

/// What a function did.
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum misdirect_result {
    /// It did what it says.
    MISDIRECT_RESULT_OK = 0,
    /// A pointer argument was NULL, or a [`misdirect_str`] had `data == NULL` and a nonzero
    /// `len`.
    MISDIRECT_RESULT_NULL_ARGUMENT = 1,
    /// A name or a configuration was not UTF-8.
    MISDIRECT_RESULT_NOT_UTF8 = 2,
    /// An input was longer than the function accepts.
    MISDIRECT_RESULT_TOO_LONG = 3,
    /// The configuration does not build: the message says where and why.
    MISDIRECT_RESULT_CONFIG = 4,
    /// No listener of the server has this name (or this transport and port).
    MISDIRECT_RESULT_UNKNOWN_LISTENER = 5,
    /// No certificate of the server has this name (or these SANs).
    MISDIRECT_RESULT_UNKNOWN_CERTIFICATE = 6,
    /// No TLS policy of the server has this name.
    MISDIRECT_RESULT_UNKNOWN_POLICY = 7,
    /// Handshake facts on a cleartext listener, or none on a TLS one.
    MISDIRECT_RESULT_TLS_MISMATCH = 8,
    /// A constant out of range (a version, a method, a target form, a flag other than 0 or 1).
    MISDIRECT_RESULT_INVALID_ARGUMENT = 9,
    /// Nothing answers the question (no virtual host for this SNI and no default).
    MISDIRECT_RESULT_NOT_FOUND = 10,
    /// The certificate's DER could not be read.
    MISDIRECT_RESULT_BAD_CERTIFICATE = 11,
    /// The library panicked; nothing was changed. A bug: please report it.
    MISDIRECT_RESULT_PANIC = 12,
}

use misdirect_result as R;

/// What to do with a request ([`misdirect_decision::verdict`]).
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum misdirect_verdict {
    /// Serve it with [`misdirect_decision::vhost`].
    MISDIRECT_VERDICT_SERVE = 0,
    /// Answer 421 Misdirected Request.
    MISDIRECT_VERDICT_MISDIRECTED = 1,
    /// Answer 400 (HTTP/2, HTTP/3: the request is malformed; send 400 or reset the stream).
    MISDIRECT_VERDICT_BAD_REQUEST = 2,
    /// Answer 404 (knob `unknown_host = "not-found"`).
    MISDIRECT_VERDICT_NOT_FOUND = 3,
    /// CONNECT: not an origin request; answer it as the server answers tunnels.
    MISDIRECT_VERDICT_NOT_ORIGIN = 4,
}

/// A borrowed string or byte string: `len` bytes at `data`, no NUL needed. `data == NULL`
/// (with `len == 0`) means absent.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct misdirect_str {
    /// The first byte, or NULL for absent.
    pub data: *const u8,
    /// The number of bytes.
    pub len: usize,
}

impl misdirect_str {
    const ABSENT: misdirect_str = misdirect_str {
        data: core::ptr::null(),
        len: 0,
    };

    fn of(s: &str) -> misdirect_str {
        misdirect_str {
            data: s.as_ptr(),
            len: s.len(),
        }
    }

    /// The bytes, `None` when absent.
    ///
    /// # Safety
    /// `data` points to `len` readable bytes that outlive `'a`, or is NULL.
    unsafe fn bytes<'a>(self) -> Result<Option<&'a [u8]>, misdirect_result> {
        if self.data.is_null() {
            return if self.len == 0 {
                Ok(None)
            } else {
                Err(R::MISDIRECT_RESULT_NULL_ARGUMENT)
            };
        }
        // No object is longer than isize::MAX bytes: a longer `len` is a caller's bug (a
        // difference of pointers into two buffers), refused before a slice is made of it.
        if self.len > isize::MAX as usize {
            return Err(R::MISDIRECT_RESULT_TOO_LONG);
        }
        // SAFETY: the caller's promise, as the header documents it.
        Ok(Some(unsafe {
            core::slice::from_raw_parts(self.data, self.len)
        }))
    }

    /// The text, which must be present and UTF-8.
    ///
    /// # Safety
    /// As [`misdirect_str::bytes`].
    unsafe fn name<'a>(self) -> Result<&'a str, misdirect_result> {
        // SAFETY: passed on.
        match unsafe { self.bytes() }? {
            None => Err(R::MISDIRECT_RESULT_NULL_ARGUMENT),
            Some(bytes) => core::str::from_utf8(bytes).map_err(|_| R::MISDIRECT_RESULT_NOT_UTF8),
        }
    }
}

/// A built server: its configuration compiled for decisions. Immutable; share it by threads.
/// Made by [`misdirect_server_from_toml`] or [`misdirect_server_from_file`], freed by
/// [`misdirect_server_free`].
pub struct misdirect_server {
    /// Each virtual host's value is its own name: what a `Serve` verdict gives back.
    server: Server<String>,
    /// Each declared policy: name, client authentication, versions.
    declarations: Vec<(String, u32, u32)>,
}

/// A connection's facts, checked against a server once. Made by
/// [`misdirect_connection_new`], freed by [`misdirect_connection_free`]; immutable.
pub struct misdirect_connection {
    connection: misdirect::Connection,
}

/// What the handshake and the socket established, for [`misdirect_connection_new`].
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct misdirect_facts {
    /// The listener's name, as the configuration's `[[listeners]]` gives it
    /// ([`misdirect_server_listener_for`] finds it from the transport and local port).
    pub listener: misdirect_str,
    /// 1 for a TLS connection, 0 for cleartext.
    pub tls: u8,
    /// The SNI as the ClientHello carried it, raw; absent when there was none.
    pub sni: misdirect_str,
    /// TLS only: the name of the certificate the handshake presented
    /// ([`misdirect_server_certificate_for_der`] finds it from the certificate itself).
    pub certificate: misdirect_str,
    /// TLS only: the name of the TLS policy the handshake was made under; absent when the
    /// handshake was made under none of the server's policies.
    pub policy: misdirect_str,
}

/// A request's facts, borrowed from it, for [`misdirect_decide`].
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct misdirect_request {
    /// `MISDIRECT_HTTP_1_0`, `MISDIRECT_HTTP_1_1`, `MISDIRECT_HTTP_2` or `MISDIRECT_HTTP_3`.
    pub version: u32,
    /// `MISDIRECT_METHOD_OTHER`, `MISDIRECT_METHOD_CONNECT` or
    /// `MISDIRECT_METHOD_EXTENDED_CONNECT`.
    pub method: u32,
    /// `:scheme` (HTTP/2, HTTP/3), raw; absent when the request had none. Ignored for
    /// HTTP/1.x.
    pub scheme: misdirect_str,
    /// Every `:authority` value, raw, in order (`authorities_len` of them; NULL when 0).
    pub authorities: *const misdirect_str,
    /// How many `:authority` values.
    pub authorities_len: usize,
    /// Every `Host` field line's value, raw, in order (NULL when 0).
    pub hosts: *const misdirect_str,
    /// How many `Host` lines.
    pub hosts_len: usize,
    /// The HTTP/1.x request-target's form: `MISDIRECT_TARGET_ORIGIN` (and for HTTP/2, HTTP/3),
    /// `_ABSOLUTE`, `_AUTHORITY` or `_ASTERISK`.
    pub target: u32,
    /// The absolute-form target's scheme as written.
    pub target_scheme: misdirect_str,
    /// The absolute-form or authority-form target's authority as written.
    pub target_authority: misdirect_str,
}

/// What [`misdirect_decide`] decided.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct misdirect_decision {
    /// What to do.
    pub verdict: misdirect_verdict,
    /// The status to answer with: 421, 400 or 404; 0 to serve and for CONNECT.
    pub status: u16,
    /// The rule of SPEC §5 that fired (0 to 7); 255 when served.
    pub rule: u8,
    /// The served virtual host's name (borrowed from the server); absent unless served.
    pub vhost: misdirect_str,
    /// A fixed sentence a response body may carry (naming no host, certificate or policy);
    /// static; absent when served.
    pub summary: misdirect_str,
    /// The full length of the reason line (the log line for an operator), as `snprintf`
    /// returns it: 0 when served.
    pub reason_len: usize,
}

/// Runs `f`, turning a panic into [`misdirect_result::MISDIRECT_RESULT_PANIC`]: every
/// function of the ABI is inside one.
fn boundary(f: impl FnOnce() -> Result<(), misdirect_result>) -> misdirect_result {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(Ok(())) => R::MISDIRECT_RESULT_OK,
        Ok(Err(e)) => e,
        Err(_) => R::MISDIRECT_RESULT_PANIC,
    }
}

/// Writes into a caller's buffer as `snprintf` does, counting what did not fit.
struct Snprintf<'a> {
    buf: &'a mut [u8],
    written: usize,
    total: usize,
}

impl<'a> Snprintf<'a> {
    /// # Safety
    /// `buf` points to `cap` writable bytes, or `cap` is 0.
    unsafe fn new(buf: *mut u8, cap: usize) -> Snprintf<'a> {
        let buf: &mut [u8] = if buf.is_null() || cap == 0 {
            &mut []
        } else {
            // SAFETY: the caller's promise.
            unsafe { core::slice::from_raw_parts_mut(buf, cap) }
        };
        Snprintf {
            buf,
            written: 0,
            total: 0,
        }
    }

    /// NUL-terminates and returns the full length.
    fn finish(self) -> usize {
        if let Some(last) = self.buf.len().checked_sub(1) {
            self.buf[self.written.min(last)] = 0;
        }
        self.total
    }
}

impl fmt::Write for Snprintf<'_> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let room = self
            .buf
            .len()
            .saturating_sub(1)
            .saturating_sub(self.written);
        let n = room.min(s.len());
        self.buf[self.written..self.written + n].copy_from_slice(&s.as_bytes()[..n]);
        self.written += n;
        self.total += s.len();
        Ok(())
    }
}

/// Writes `message` into an error buffer, if one was given.
///
/// # Safety
/// As [`Snprintf::new`]; `len` is NULL or writable.
unsafe fn report(buf: *mut u8, cap: usize, len: *mut usize, message: impl fmt::Display) {
    // SAFETY: passed on.
    let mut out = unsafe { Snprintf::new(buf, cap) };
    let _ = write!(out, "{message}");
    let total = out.finish();
    if !len.is_null() {
        // SAFETY: the caller's promise.
        unsafe { *len = total };
    }
}

/// Writes `value` through `out`, which must not be NULL.
///
/// # Safety
/// `out` is NULL or writable.
unsafe fn put<T>(out: *mut T, value: T) -> Result<(), misdirect_result> {
    if out.is_null() {
        return Err(R::MISDIRECT_RESULT_NULL_ARGUMENT);
    }
    // SAFETY: not NULL, and the caller's promise.
    unsafe { out.write(value) };
    Ok(())
}

/// The ABI version of the linked library: [`MISDIRECT_ABI_VERSION`] of its build.
#[unsafe(no_mangle)]
pub extern "C" fn misdirect_abi_version() -> u32 {
    MISDIRECT_ABI_VERSION
}

/// A static, NUL-terminated sentence naming a result code (any value, known or not).
#[unsafe(no_mangle)]
pub extern "C" fn misdirect_result_text(result: u32) -> *const core::ffi::c_char {
    result_text(result).as_ptr()
}

/// The sentence of [`misdirect_result_text`].
fn result_text(result: u32) -> &'static core::ffi::CStr {
    match result {
        0 => c"ok",
        1 => c"a NULL argument",
        2 => c"not UTF-8",
        3 => c"too long",
        4 => c"the configuration does not build",
        5 => c"no such listener",
        6 => c"no such certificate",
        7 => c"no such TLS policy",
        8 => c"the handshake facts do not fit the listener's transport",
        9 => c"a constant out of range",
        10 => c"nothing answers",
        11 => c"the certificate's DER could not be read",
        12 => c"the library panicked (a bug)",
        _ => c"an unknown result code",
    }
}

/// Gives a constructor's failure that wrote no message of its own (a NULL argument, a panic)
/// its result's sentence as the message, so that `error` and `*error_len` always describe a
/// failure, as the constructors' documentation says.
///
/// # Safety
/// As [`report`].
unsafe fn explain(
    result: misdirect_result,
    error: *mut u8,
    error_cap: usize,
    error_len: *mut usize,
) -> misdirect_result {
    if matches!(
        result,
        R::MISDIRECT_RESULT_NULL_ARGUMENT | R::MISDIRECT_RESULT_PANIC
    ) {
        let text = result_text(result as u32).to_str().unwrap_or("");
        // SAFETY: passed on.
        unsafe { report(error, error_cap, error_len, text) };
    }
    result
}

/// Builds a server from a configuration's TOML text (the crate's format: docs/embedding.md).
/// Certificate files it names are read relative to `base_dir` (absent: the working
/// directory). On success `*out` is the server, to free with [`misdirect_server_free`]; on
/// failure `*out` is NULL and, when `error` is given, the message (line and column, or the
/// entry) is written there as `snprintf` writes, its full length in `*error_len` (every
/// failure has one: a NULL argument's is [`misdirect_result_text`]'s sentence); on success
/// the message is empty.
///
/// # Safety
/// `toml` and `base_dir` are valid [`misdirect_str`]s; `out` is writable; `error` has
/// `error_cap` writable bytes or is NULL; `error_len` is writable or NULL.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn misdirect_server_from_toml(
    toml: misdirect_str,
    base_dir: misdirect_str,
    out: *mut *mut misdirect_server,
    error: *mut u8,
    error_cap: usize,
    error_len: *mut usize,
) -> misdirect_result {
    let result = boundary(|| {
        // SAFETY: the caller's promises, passed on.
        unsafe {
            put(out, core::ptr::null_mut())?;
            let text = match toml.bytes()? {
                None => return Err(R::MISDIRECT_RESULT_NULL_ARGUMENT),
                Some(bytes) if bytes.len() > MISDIRECT_MAX_CONFIG_LEN => {
                    report(
                        error,
                        error_cap,
                        error_len,
                        "the configuration is over 16 MiB",
                    );
                    return Err(R::MISDIRECT_RESULT_TOO_LONG);
                }
                Some(bytes) => match core::str::from_utf8(bytes) {
                    Ok(text) => text,
                    Err(e) => {
                        report(
                            error,
                            error_cap,
                            error_len,
                            format_args!(
                                "the configuration is not UTF-8 (byte {})",
                                e.valid_up_to()
                            ),
                        );
                        return Err(R::MISDIRECT_RESULT_NOT_UTF8);
                    }
                },
            };
            let base = match base_dir.bytes()? {
                None => PathBuf::from("."),
                Some(bytes) => path_of(bytes).inspect_err(|_| {
                    report(
                        error,
                        error_cap,
                        error_len,
                        "the base directory is not UTF-8",
                    );
                })?,
            };
            let built = Site::<String>::from_toml(text, &base)
                .map_err(|e| e.to_string())
                .and_then(build);
            finish(built, out, error, error_cap, error_len)
        }
    });
    // SAFETY: the caller's promises about the error buffer.
    unsafe { explain(result, error, error_cap, error_len) }
}

/// Builds a server from a configuration file (certificate files relative to its
/// directory), as [`misdirect_server_from_toml`] does; the message names the file.
///
/// # Safety
/// As [`misdirect_server_from_toml`].
#[unsafe(no_mangle)]
pub unsafe extern "C" fn misdirect_server_from_file(
    path: misdirect_str,
    out: *mut *mut misdirect_server,
    error: *mut u8,
    error_cap: usize,
    error_len: *mut usize,
) -> misdirect_result {
    let result = boundary(|| {
        // SAFETY: the caller's promises, passed on.
        unsafe {
            put(out, core::ptr::null_mut())?;
            let path = match path.bytes()? {
                None => return Err(R::MISDIRECT_RESULT_NULL_ARGUMENT),
                Some(bytes) => path_of(bytes).inspect_err(|_| {
                    report(error, error_cap, error_len, "the path is not UTF-8");
                })?,
            };
            let built = Site::<String>::from_toml_file(&path)
                .map_err(|e| e.to_string())
                .and_then(build);
            finish(built, out, error, error_cap, error_len)
        }
    });
    // SAFETY: the caller's promises about the error buffer.
    unsafe { explain(result, error, error_cap, error_len) }
}

/// A path from bytes (any bytes on Unix, UTF-8 elsewhere).
fn path_of(bytes: &[u8]) -> Result<PathBuf, misdirect_result> {
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStrExt;
        Ok(Path::new(std::ffi::OsStr::from_bytes(bytes)).to_path_buf())
    }
    #[cfg(not(unix))]
    {
        core::str::from_utf8(bytes)
            .map(PathBuf::from)
            .map_err(|_| R::MISDIRECT_RESULT_NOT_UTF8)
    }
}

/// Compiles a configuration: each virtual host's value becomes its name.
fn build(site: Site<String>) -> Result<misdirect_server, String> {
    let declarations = site
        .tls
        .policies
        .iter()
        .map(|p| {
            let auth = match p.client_auth {
                ClientAuthMode::None => MISDIRECT_CLIENT_AUTH_NONE,
                ClientAuthMode::Optional => MISDIRECT_CLIENT_AUTH_OPTIONAL,
                _ => MISDIRECT_CLIENT_AUTH_REQUIRED,
            };
            let versions = p.versions.iter().fold(0, |bits, v| {
                bits | match v {
                    TlsVersion::Tls12 => MISDIRECT_TLS_1_2,
                    _ => MISDIRECT_TLS_1_3,
                }
            });
            (p.name.clone(), auth, versions)
        })
        .collect();
    let config = site.config;
    let config = Config {
        vhosts: config
            .vhosts
            .into_iter()
            .map(|v| VhostConfig {
                value: v.name.clone(),
                ..v
            })
            .collect(),
        ..config
    };
    let server = Server::build(config).map_err(|e| e.to_string())?;
    Ok(misdirect_server {
        server,
        declarations,
    })
}

/// Hands a built server out, or writes the message.
///
/// # Safety
/// `out` is writable; the error buffer as [`report`] needs.
unsafe fn finish(
    built: Result<misdirect_server, String>,
    out: *mut *mut misdirect_server,
    error: *mut u8,
    error_cap: usize,
    error_len: *mut usize,
) -> Result<(), misdirect_result> {
    match built {
        Ok(server) => {
            // SAFETY: the caller's promise (checked not NULL by `put` before).
            unsafe {
                report(error, error_cap, error_len, "");
                put(out, Box::into_raw(Box::new(server)))
            }
        }
        Err(message) => {
            // SAFETY: passed on.
            unsafe { report(error, error_cap, error_len, message) };
            Err(R::MISDIRECT_RESULT_CONFIG)
        }
    }
}

/// Frees a server (NULL is ignored). Connections made on it must be freed first or not used
/// again.
///
/// # Safety
/// `server` came from this library and is not used again.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn misdirect_server_free(server: *mut misdirect_server) {
    if !server.is_null() {
        // SAFETY: the caller's promise; a panic in a drop is caught, not unwound into C.
        let _ = catch_unwind(AssertUnwindSafe(|| drop(unsafe { Box::from_raw(server) })));
    }
}

/// # Safety
/// `server` is NULL or came from this library and is alive.
unsafe fn server_ref<'a>(
    server: *const misdirect_server,
) -> Result<&'a misdirect_server, misdirect_result> {
    // SAFETY: the caller's promise.
    unsafe { server.as_ref() }.ok_or(R::MISDIRECT_RESULT_NULL_ARGUMENT)
}

/// The name of the listener on this transport (`tls` 1 or 0) and local port, into `*name`
/// (borrowed from the server).
///
/// # Safety
/// `server` is alive; `name` is writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn misdirect_server_listener_for(
    server: *const misdirect_server,
    tls: u8,
    port: u16,
    name: *mut misdirect_str,
) -> misdirect_result {
    boundary(|| {
        // SAFETY: the caller's promises.
        let s = unsafe { server_ref(server) }?;
        let tls = flag(tls)?;
        let id = s
            .server
            .listener_for(tls, port)
            .ok_or(R::MISDIRECT_RESULT_UNKNOWN_LISTENER)?;
        let found = s
            .server
            .listener_name(id)
            .ok_or(R::MISDIRECT_RESULT_UNKNOWN_LISTENER)?;
        // SAFETY: the caller's promise.
        unsafe { put(name, misdirect_str::of(found)) }
    })
}

/// The name of the server's certificate whose SANs are the SANs of this end-entity
/// certificate (DER), into `*name`: identifies the certificate a handshake presented by its
/// contents, not by a name the caller keeps. The SANs compare as sets (order and repetition
/// do not matter), dNSNames ASCII case-insensitively as the decision compares them. Two
/// certificates with the same SANs decide alike; the first in the configuration is named.
/// `MISDIRECT_RESULT_BAD_CERTIFICATE` when the DER is not a certificate (or is empty),
/// `MISDIRECT_RESULT_UNKNOWN_CERTIFICATE` when no certificate of the server has its SANs.
///
/// # Safety
/// `server` is alive; `der` is valid; `name` is writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn misdirect_server_certificate_for_der(
    server: *const misdirect_server,
    der: misdirect_str,
    name: *mut misdirect_str,
) -> misdirect_result {
    boundary(|| {
        // SAFETY: the caller's promises.
        let s = unsafe { server_ref(server) }?;
        // SAFETY: as above.
        let der = unsafe { der.bytes() }?.ok_or(R::MISDIRECT_RESULT_NULL_ARGUMENT)?;
        let sans = certificate_sans(der).map_err(|_| R::MISDIRECT_RESULT_BAD_CERTIFICATE)?;
        // The same set of names: order and repetition do not matter, nor the case of a
        // dNSName (RFC 4343), as the server's own matching ignores it.
        let same = |theirs: &[San]| {
            theirs.iter().all(|t| sans.iter().any(|m| same_san(t, m)))
                && sans.iter().all(|m| theirs.iter().any(|t| same_san(t, m)))
        };
        let found = s
            .server
            .config()
            .certificates
            .iter()
            .find(|c| same(&c.sans))
            .ok_or(R::MISDIRECT_RESULT_UNKNOWN_CERTIFICATE)?;
        // SAFETY: the caller's promise.
        unsafe { put(name, misdirect_str::of(&found.id)) }
    })
}

/// Whether two SANs name the same thing: dNSNames compare ASCII case-insensitively (a
/// configuration's `sans = ["*.Example.com"]` is the certificate's `*.example.com`), iPAddresses
/// by value.
fn same_san(a: &San, b: &San) -> bool {
    match (a, b) {
        (San::Dns(a), San::Dns(b)) => a.eq_ignore_ascii_case(b),
        _ => a == b,
    }
}

/// What a TLS policy demands, as its `[[policies]]` table declares it
/// ([`misdirect_server_policy`]): what a C server checks its own TLS settings against, so
/// that a policy is what its handshakes do and not only a name.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct misdirect_policy {
    /// `MISDIRECT_CLIENT_AUTH_NONE`, `_OPTIONAL`, `_REQUIRED`, or `_UNDECLARED` for a bare
    /// name.
    pub client_auth: u32,
    /// The versions offered: bits `MISDIRECT_TLS_1_2`, `MISDIRECT_TLS_1_3` (0 when undeclared).
    pub versions: u32,
}

/// The declaration of the policy named `name`, into `*out`.
///
/// # Safety
/// `server` is alive; `name` is valid; `out` is writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn misdirect_server_policy(
    server: *const misdirect_server,
    name: misdirect_str,
    out: *mut misdirect_policy,
) -> misdirect_result {
    boundary(|| {
        // SAFETY: the caller's promises.
        let s = unsafe { server_ref(server) }?;
        // SAFETY: as above.
        let name = unsafe { name.name() }?;
        s.server
            .policy_id(name)
            .ok_or(R::MISDIRECT_RESULT_UNKNOWN_POLICY)?;
        let policy = match s.declarations.iter().find(|(n, _, _)| n == name) {
            Some(&(_, client_auth, versions)) => misdirect_policy {
                client_auth,
                versions,
            },
            None => misdirect_policy {
                client_auth: MISDIRECT_CLIENT_AUTH_UNDECLARED,
                versions: 0,
            },
        };
        // SAFETY: the caller's promise.
        unsafe { put(out, policy) }
    })
}

/// The virtual host whose names match `host` (exactly, or under a `*.` wildcard) among those
/// serving the listener's scheme on its first origin port, into `*vhost`: without the
/// listener's defaults, so a name no virtual host has is
/// [`misdirect_result::MISDIRECT_RESULT_NOT_FOUND`]. A C server maps its own virtual servers
/// onto the crate's with it, at configuration time (it compiles the names on every call).
///
/// # Safety
/// `server` is alive; `listener` and `host` are valid; `vhost` is writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn misdirect_server_vhost_for_name(
    server: *const misdirect_server,
    listener: misdirect_str,
    host: misdirect_str,
    vhost: *mut misdirect_str,
) -> misdirect_result {
    boundary(|| {
        // SAFETY: the caller's promises.
        let s = unsafe { server_ref(server) }?;
        // SAFETY: as above.
        let listener = unsafe { listener.name() }?;
        // SAFETY: as above.
        let host = unsafe { host.bytes() }?.ok_or(R::MISDIRECT_RESULT_NULL_ARGUMENT)?;
        let config = s.server.config();
        let l = config
            .listeners
            .iter()
            .find(|l| l.name == listener)
            .ok_or(R::MISDIRECT_RESULT_UNKNOWN_LISTENER)?;
        let scheme = if l.tls { Scheme::Https } else { Scheme::Http };
        let port = l.effective_origin_ports()[0];
        let patterns = config
            .vhosts
            .iter()
            .enumerate()
            .filter(|(_, v)| v.ports(scheme).contains(&port))
            .flat_map(|(i, v)| v.names.iter().map(move |n| (i, n)))
            .filter_map(|(i, n)| NamePattern::parse(n).ok().map(|p| (p, i)));
        let index = NameIndex::build(patterns).map_err(|_| R::MISDIRECT_RESULT_NOT_FOUND)?;
        let authority = Authority::parse(host).map_err(|_| R::MISDIRECT_RESULT_NOT_FOUND)?;
        let hit = index
            .lookup(authority.host())
            .ok_or(R::MISDIRECT_RESULT_NOT_FOUND)?;
        // SAFETY: the caller's promise.
        unsafe { put(vhost, misdirect_str::of(&config.vhosts[*hit.value].name)) }
    })
}

/// What a handshake with this SNI (absent: none) selects on a TLS listener: the virtual host
/// and its TLS policy (SPEC §4; the listener's `default_tls_vhost` when no virtual host is
/// named), into `*vhost` and `*policy` (either may be NULL). A C server maps its own TLS
/// contexts onto the crate's policies with it. `MISDIRECT_RESULT_NOT_FOUND` when nothing is
/// selected: an SNI no virtual host claims and no `default_tls_vhost`, or any SNI on a
/// cleartext listener.
///
/// # Safety
/// `server` is alive; `listener` and `sni` are valid; `vhost` and `policy` are NULL or
/// writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn misdirect_server_sni(
    server: *const misdirect_server,
    listener: misdirect_str,
    sni: misdirect_str,
    vhost: *mut misdirect_str,
    policy: *mut misdirect_str,
) -> misdirect_result {
    boundary(|| {
        // SAFETY: the caller's promises.
        let s = unsafe { server_ref(server) }?;
        // SAFETY: as above.
        let listener = unsafe { listener.name() }?;
        // SAFETY: as above.
        let sni = unsafe { sni.bytes() }?;
        let id = s
            .server
            .listener_id(listener)
            .ok_or(R::MISDIRECT_RESULT_UNKNOWN_LISTENER)?;
        let index = s
            .server
            .sni_vhost(id, sni)
            .ok_or(R::MISDIRECT_RESULT_NOT_FOUND)?;
        let v = &s.server.config().vhosts[index];
        if !vhost.is_null() {
            // SAFETY: not NULL, and the caller's promise.
            unsafe { put(vhost, misdirect_str::of(&v.name)) }?;
        }
        if !policy.is_null() {
            // SAFETY: as above.
            unsafe { put(policy, misdirect_str::of(&v.policy)) }?;
        }
        Ok(())
    })
}

fn flag(value: u8) -> Result<bool, misdirect_result> {
    match value {
        0 => Ok(false),
        1 => Ok(true),
        _ => Err(R::MISDIRECT_RESULT_INVALID_ARGUMENT),
    }
}

/// Checks a connection's facts against the server once: on success `*out` is the
/// connection, to pass to every [`misdirect_decide`] of the requests on it and to free with
/// [`misdirect_connection_free`].
///
/// # Safety
/// `server` is alive; `facts` is readable and its strings valid; `out` is writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn misdirect_connection_new(
    server: *const misdirect_server,
    facts: *const misdirect_facts,
    out: *mut *mut misdirect_connection,
) -> misdirect_result {
    boundary(|| {
        // SAFETY: the caller's promises.
        unsafe {
            put(out, core::ptr::null_mut())?;
            let s = server_ref(server)?;
            let f = facts.as_ref().ok_or(R::MISDIRECT_RESULT_NULL_ARGUMENT)?;
            let listener = s
                .server
                .listener_id(f.listener.name()?)
                .ok_or(R::MISDIRECT_RESULT_UNKNOWN_LISTENER)?;
            let tls = if flag(f.tls)? {
                let certificate = s
                    .server
                    .certificate_id(f.certificate.name()?)
                    .ok_or(R::MISDIRECT_RESULT_UNKNOWN_CERTIFICATE)?;
                let policy = match f.policy.bytes()? {
                    None => None,
                    Some(_) => Some(
                        s.server
                            .policy_id(f.policy.name()?)
                            .ok_or(R::MISDIRECT_RESULT_UNKNOWN_POLICY)?,
                    ),
                };
                Some(Handshake {
                    sni: f.sni.bytes()?,
                    certificate,
                    policy,
                })
            } else {
                None
            };
            let connection = s
                .server
                .connection(&ConnectionFacts {
                    listener,
                    tls,
                    gateway: None,
                })
                .map_err(|e| match e {
                    FactsError::UnknownListener => R::MISDIRECT_RESULT_UNKNOWN_LISTENER,
                    FactsError::UnknownCertificate => R::MISDIRECT_RESULT_UNKNOWN_CERTIFICATE,
                    FactsError::UnknownPolicy => R::MISDIRECT_RESULT_UNKNOWN_POLICY,
                    _ => R::MISDIRECT_RESULT_TLS_MISMATCH,
                })?;
            put(
                out,
                Box::into_raw(Box::new(misdirect_connection { connection })),
            )
        }
    })
}

/// Frees a connection (NULL is ignored).
///
/// # Safety
/// `connection` came from this library and is not used again.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn misdirect_connection_free(connection: *mut misdirect_connection) {
    if !connection.is_null() {
        // SAFETY: the caller's promise.
        let _ = catch_unwind(AssertUnwindSafe(|| {
            drop(unsafe { Box::from_raw(connection) })
        }));
    }
}

/// Reads up to [`MISDIRECT_MAX_FIELDS`] values into `slots`.
///
/// # Safety
/// `values` points to `len` readable [`misdirect_str`]s, or is NULL with `len == 0`.
unsafe fn fields(
    values: *const misdirect_str,
    len: usize,
    slots: &mut [&[u8]; MISDIRECT_MAX_FIELDS],
) -> Result<usize, misdirect_result> {
    if len == 0 {
        return Ok(0);
    }
    if values.is_null() {
        return Err(R::MISDIRECT_RESULT_NULL_ARGUMENT);
    }
    let n = len.min(MISDIRECT_MAX_FIELDS);
    for (i, slot) in slots.iter_mut().enumerate().take(n) {
        // SAFETY: i < len, the caller's promise; an absent value is an empty one.
        *slot = unsafe { (*values.add(i)).bytes() }?.unwrap_or(b"");
    }
    Ok(n)
}

/// Decides a request on a connection into `*out`; the reason line (for the log) is written
/// into `reason` as `snprintf` writes, its full length in `out->reason_len`. Allocates
/// nothing for ASCII input. A malformed request is a 400 verdict, not an error: errors are
/// for NULL pointers and constants out of range.
///
/// # Safety
/// `server` and `connection` are alive and the connection was made on this server;
/// `request` is readable and its strings and arrays valid; `out` is writable; `reason` has
/// `reason_cap` writable bytes or is NULL.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn misdirect_decide(
    server: *const misdirect_server,
    connection: *const misdirect_connection,
    request: *const misdirect_request,
    out: *mut misdirect_decision,
    reason: *mut u8,
    reason_cap: usize,
) -> misdirect_result {
    boundary(|| {
        // SAFETY: the caller's promises.
        unsafe {
            let s = server_ref(server)?;
            let c = connection
                .as_ref()
                .ok_or(R::MISDIRECT_RESULT_NULL_ARGUMENT)?;
            let q = request.as_ref().ok_or(R::MISDIRECT_RESULT_NULL_ARGUMENT)?;
            if out.is_null() {
                return Err(R::MISDIRECT_RESULT_NULL_ARGUMENT);
            }
            let version = match q.version {
                MISDIRECT_HTTP_1_0 => Version::Http10,
                MISDIRECT_HTTP_1_1 => Version::Http11,
                MISDIRECT_HTTP_2 => Version::Http2,
                MISDIRECT_HTTP_3 => Version::Http3,
                _ => return Err(R::MISDIRECT_RESULT_INVALID_ARGUMENT),
            };
            let method = match q.method {
                MISDIRECT_METHOD_OTHER => Method::Other,
                MISDIRECT_METHOD_CONNECT => Method::Connect,
                MISDIRECT_METHOD_EXTENDED_CONNECT => Method::ExtendedConnect,
                _ => return Err(R::MISDIRECT_RESULT_INVALID_ARGUMENT),
            };
            let target = match q.target {
                MISDIRECT_TARGET_ORIGIN => Target::Origin,
                MISDIRECT_TARGET_ABSOLUTE => Target::Absolute {
                    scheme: q.target_scheme.bytes()?.unwrap_or(b""),
                    authority: q.target_authority.bytes()?.unwrap_or(b""),
                },
                MISDIRECT_TARGET_AUTHORITY => {
                    Target::Authority(q.target_authority.bytes()?.unwrap_or(b""))
                }
                MISDIRECT_TARGET_ASTERISK => Target::Asterisk,
                _ => return Err(R::MISDIRECT_RESULT_INVALID_ARGUMENT),
            };
            let mut authorities: [&[u8]; MISDIRECT_MAX_FIELDS] = [b""; MISDIRECT_MAX_FIELDS];
            let mut hosts: [&[u8]; MISDIRECT_MAX_FIELDS] = [b""; MISDIRECT_MAX_FIELDS];
            let na = fields(q.authorities, q.authorities_len, &mut authorities)?;
            let nh = fields(q.hosts, q.hosts_len, &mut hosts)?;
            let request = Request {
                version,
                method,
                scheme: q.scheme.bytes()?,
                authorities: &authorities[..na],
                hosts: &hosts[..nh],
                target,
            };
            let verdict = s.server.decide(&c.connection, &request);
            let (kind, status) = match &verdict {
                Verdict::Serve(_) => (misdirect_verdict::MISDIRECT_VERDICT_SERVE, 0),
                Verdict::Misdirected(_) => (misdirect_verdict::MISDIRECT_VERDICT_MISDIRECTED, 421),
                Verdict::BadRequest(_) => (misdirect_verdict::MISDIRECT_VERDICT_BAD_REQUEST, 400),
                Verdict::NotFound(_) => (misdirect_verdict::MISDIRECT_VERDICT_NOT_FOUND, 404),
                _ => (misdirect_verdict::MISDIRECT_VERDICT_NOT_ORIGIN, 0),
            };
            let mut line = Snprintf::new(reason, reason_cap);
            let decision = match (&verdict, verdict.reason()) {
                (Verdict::Serve(name), _) => misdirect_decision {
                    verdict: kind,
                    status,
                    rule: 255,
                    vhost: misdirect_str::of(name),
                    summary: misdirect_str::ABSENT,
                    reason_len: line.finish(),
                },
                (_, Some(why)) => {
                    let _ = write!(line, "{why}");
                    misdirect_decision {
                        verdict: kind,
                        status,
                        rule: why.rule.number(),
                        vhost: misdirect_str::ABSENT,
                        summary: misdirect_str::of(why.cause.summary()),
                        reason_len: line.finish(),
                    }
                }
                (_, None) => return Err(R::MISDIRECT_RESULT_PANIC),
            };
            out.write(decision);
            Ok(())
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panic_inside_the_boundary_is_a_result_code_not_an_unwind() {
        let result = boundary(|| panic!("planted"));
        assert_eq!(result, R::MISDIRECT_RESULT_PANIC);
    }

    #[test]
    fn every_result_code_has_its_own_text() {
        let texts: Vec<_> = (0..=12)
            .map(|code| {
                // SAFETY: a static NUL-terminated string.
                unsafe { core::ffi::CStr::from_ptr(misdirect_result_text(code)) }
            })
            .collect();
        for (i, t) in texts.iter().enumerate() {
            assert!(!texts[..i].contains(t), "code {i} repeats {t:?}");
        }
        // SAFETY: as above.
        let unknown = unsafe { core::ffi::CStr::from_ptr(misdirect_result_text(13)) };
        assert_eq!(unknown, c"an unknown result code");
    }

    #[test]
    fn snprintf_truncates_terminates_and_counts() {
        let mut buf = [0xffu8; 6];
        // SAFETY: a local buffer.
        let mut w = unsafe { Snprintf::new(buf.as_mut_ptr(), buf.len()) };
        let what = "misdirected";
        let _ = write!(w, "421: {what}");
        assert_eq!(w.finish(), 16);
        assert_eq!(&buf, b"421: \0");
        // SAFETY: no buffer.
        let mut w = unsafe { Snprintf::new(core::ptr::null_mut(), 0) };
        let _ = write!(w, "abc");
        assert_eq!(w.finish(), 3);
    }
}
