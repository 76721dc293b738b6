//! The decision (SPEC §4-§5): a connection's and a request's facts in ([`crate::decision::facts`]), the
//! rules in order, a [`Verdict`] out ([`crate::decision::verdict`]). The fast path that parses most
//! request hosts is in [`crate::decision::fast_path`].

use crate::decision::facts::{
    Connection, ConnectionFacts, FactsError, Method, Request, Sni, Target, TlsState, Version,
};
use crate::decision::server::{Scheme, Server, SniPolicy, UnknownHost};
use crate::decision::verdict::{Cause, HostField, Reason, Rule, Status, Verdict};
use crate::parse::authority::{AuthorityView, Exact, HostView, Scratch, parse_view};
use crate::parse::host::DnsName;

/// Where rule 1 leaves a request (its authority, if any, is in the caller's slot).
enum Framed {
    /// An origin request with its scheme (`None`: neither http nor https).
    Origin(Option<Scheme>),
    /// HTTP/1.0 without `Host`, served from the listener's default (knob).
    Http10Default,
}

impl<T> Server<T> {
    /// Checks connection facts against this server and canonicalizes the SNI, once per
    /// connection.
    ///
    /// # Errors
    /// A [`FactsError`] when an id is not this server's or the transport does not match.
    pub fn connection(&self, facts: &ConnectionFacts<'_>) -> Result<Connection, FactsError> {
        let listener = facts.listener.0;
        let local = self
            .own(listener, facts.listener.1)
            .and_then(|index| self.listeners.get(index))
            .ok_or(FactsError::UnknownListener)?;
        let (handshake, gateway_port) = match &facts.gateway {
            Some(gateway) => (gateway.tls.as_ref(), Some(gateway.port)),
            None => {
                if local.tls != facts.tls.is_some() {
                    return Err(FactsError::TlsMismatch);
                }
                (facts.tls.as_ref(), None)
            }
        };
        let tls = match handshake {
            None => None,
            Some(h) => {
                if self.own(h.certificate.0, h.certificate.1).is_none() {
                    return Err(FactsError::UnknownCertificate);
                }
                if h.policy.is_some_and(|p| self.own(p.0, p.1).is_none()) {
                    return Err(FactsError::UnknownPolicy);
                }
                let sni = Sni::parse(h.sni);
                let port = match gateway_port {
                    Some(port) => port,
                    None => self.config.listeners[listener as usize].effective_origin_ports()[0],
                };
                let sni_vhost = sni.name().map(|name| {
                    let found = self
                        .route(Scheme::Https, port)
                        .and_then(|r| r.lookup_name(name));
                    (port, found.map(|hit| *hit.value))
                });
                // SPEC §4: a handshake whose policy the TLS layer did not record gets the one
                // the TLS layer applies, that of the virtual host its SNI selects on this
                // first origin port ([`Server::sni_policy`]), whatever port a request names.
                // Looking it up on the request's port instead would let a request pick the
                // policy it is checked against (an mTLS site on another port, same name).
                let assumed = sni_vhost
                    .and_then(|(_, found)| found)
                    .or(self.listeners[listener as usize].default_tls_vhost)
                    .map(|v| self.vhost_policy[v as usize]);
                Some(TlsState {
                    sni,
                    certificate: h.certificate.0,
                    policy: h.policy.map(|p| p.0).or(assumed),
                    sni_vhost,
                })
            }
        };
        Ok(Connection {
            build: self.build,
            listener,
            gateway_port,
            tls,
        })
    }

    /// Decides a request on a connection under SPEC §5: the first rule that fires wins.
    /// Allocation-free for ASCII authorities.
    ///
    /// The verdict borrows the server, the connection and the request's bytes: a refusal's
    /// [`Reason`] keeps the host field it names and canonicalizes it only when asked
    /// ([`Reason::host`], its `Display`), so a refusal copies no host. Keep the request's
    /// fields alive as long as the verdict (since 0.2).
    ///
    /// ```
    /// use misdirect::*;
    /// let mut config = Config::default();
    /// config.policies = vec!["public".into()];
    /// config.certificates = vec![CertificateConfig::new("edge", &["*.example.com"])];
    /// config.vhosts = vec![
    ///     VhostConfig::new("a", &["a.example.com"], "public", "site a"),
    ///     VhostConfig::new("b", &["b.example.com"], "public", "site b"),
    /// ];
    /// config.listeners = vec![ListenerConfig::new("tls", true, 443)];
    /// let server = Server::build(config).unwrap();
    ///
    /// let conn = server.connection(&ConnectionFacts {
    ///     listener: server.listener_id("tls").unwrap(),
    ///     tls: Some(Handshake {
    ///         sni: Some(b"a.example.com"),
    ///         certificate: server.certificate_id("edge").unwrap(),
    ///         policy: server.policy_id("public"),
    ///     }),
    ///     gateway: None,
    /// }).unwrap();
    /// // An HTTP/2 request for b, coalesced onto a's connection: same certificate, same policy.
    /// let request = Request {
    ///     version: Version::Http2,
    ///     method: Method::Other,
    ///     scheme: Some(b"https"),
    ///     authorities: &[b"B.example.com"],
    ///     hosts: &[],
    ///     target: Target::Origin,
    /// };
    /// assert_eq!(server.decide(&conn, &request), Verdict::Serve(&"site b"));
    ///
    /// let elsewhere = Request { authorities: &[b"C.Example.ORG."], ..request };
    /// let verdict = server.decide(&conn, &elsewhere);
    /// assert_eq!(verdict.status(), Some(421));
    /// let reason = verdict.reason().unwrap();
    /// assert_eq!(reason.rule, Rule::Certificate);
    /// // The reason borrows the request's field and shows it canonical, never as sent.
    /// assert_eq!(reason.host().unwrap().to_string(), "c.example.org");
    /// assert!(!format!("{reason:?} {reason}").contains("C.Example"));
    /// ```
    pub fn decide<'s>(
        &'s self,
        connection: &'s Connection,
        request: &Request<'s>,
    ) -> Verdict<'s, T> {
        let mut scratch = [Scratch::new(), Scratch::new()];
        let mut authority = None;
        let mut trail = Trail::default();
        match self.walk(
            connection,
            request,
            &mut authority,
            &mut scratch,
            &mut trail,
        ) {
            Ok(vhost) => Verdict::Serve(&self.config.vhosts[vhost as usize].value),
            Err(fail) => self.refuse(connection, request, &trail, fail),
        }
    }

    /// The verdict for a rule that fired, its reason written straight into it.
    #[cold]
    #[inline(never)]
    fn refuse<'s>(
        &'s self,
        conn: &'s Connection,
        request: &Request<'_>,
        trail: &Trail<'s>,
        fail: Fail,
    ) -> Verdict<'s, T> {
        let fail = self.settle(request, fail);
        let status = fail.0;
        let reason = self.explain(conn, trail, fail);
        match status {
            Status::Misdirected => Verdict::Misdirected(reason),
            Status::BadRequest => Verdict::BadRequest(reason),
            Status::NotFound => Verdict::NotFound(reason),
            Status::NotOrigin => Verdict::NotOrigin(reason),
        }
    }

    /// Like [`Server::decide`], but says which virtual host (by position in
    /// [`Config::vhosts`](crate::Config)) would serve the request.
    ///
    /// # Errors
    /// The [`Reason`] for every verdict but `Serve`.
    // A `Reason` is 160 bytes; boxing it would allocate on every refusal.
    #[allow(clippy::result_large_err)]
    pub fn choose<'s>(
        &'s self,
        conn: &'s Connection,
        request: &Request<'s>,
    ) -> Result<u32, Reason<'s>> {
        // The walk records what it learns in a small trail; the reason is only written out when
        // a rule fires, so serving pays for none of it.
        let mut scratch = [Scratch::new(), Scratch::new()];
        let mut authority = None;
        let mut trail = Trail::default();
        match self.walk(conn, request, &mut authority, &mut scratch, &mut trail) {
            Ok(vhost) => Ok(vhost),
            Err(fail) => Err(self.explain(conn, &trail, self.settle(request, fail))),
        }
    }

    fn walk<'x, 'r: 'x>(
        &'x self,
        conn: &Connection,
        request: &Request<'r>,
        authority_slot: &mut Option<AuthorityView<'x>>,
        scratch: &'x mut [Scratch; 2],
        trail: &mut Trail<'r>,
    ) -> Result<u32, Fail> {
        let misdirected = |rule, cause| Fail(Status::Misdirected, rule, cause);
        // SPEC §4, identity across a reload: facts checked by another build name its
        // listeners, certificates and policies by its positions. Never read them; 421 makes the
        // client retry on a new connection, which binds to this build.
        if conn.build != self.build {
            return Err(misdirected(Rule::Connection, Cause::ForeignConnection));
        }
        // Rule 0: CONNECT names a tunnel target (RFC 9110 §9.3.6), never 421.
        // HTTP/1.x has no `:protocol` (RFC 8441 §4 and RFC 9220 §3 define extended CONNECT
        // for HTTP/2 and HTTP/3 only), so every HTTP/1.x CONNECT is a tunnel.
        let tunnel = request.method == Method::Connect
            || (request.method == Method::ExtendedConnect && request.version.is_h1());
        if tunnel {
            // A tunnel request is still a request: its own framing faults are a 400 before it
            // is handed on (RFC 9112 §3.2's MUST covers "any request message"). That check is
            // made off the walk, where the verdict is written (`Server::tunnel`): a call from
            // here cost every served request some 65 instructions (the instruction gate).
            return Err(Fail(Status::NotOrigin, Rule::NotOrigin, Cause::Connect));
        }
        // Rule 1: framing.
        let framed = self
            .frame(conn, request, authority_slot, scratch, &mut trail.field)
            .map_err(|cause| Fail(Status::BadRequest, Rule::Framing, cause))?;
        let scheme = match framed {
            Framed::Http10Default => return self.http10_default(conn, trail),
            Framed::Origin(scheme) => {
                trail.scheme = scheme;
                scheme
            }
        };
        // Rule 2: scheme (RFC 9110 §7.4, §4.2.2, §15.5.20).
        let Some(scheme) = scheme else {
            return Err(misdirected(Rule::Scheme, Cause::UnsupportedScheme));
        };
        match scheme {
            Scheme::Https if !conn.is_secure() => {
                return Err(misdirected(Rule::Scheme, Cause::HttpsOnCleartext));
            }
            Scheme::Http if conn.is_secure() && !self.config.knobs.opportunistic_http => {
                return Err(misdirected(Rule::Scheme, Cause::HttpOnTls));
            }
            _ => {}
        }
        let Some(authority) = &*authority_slot else {
            // Framing lets an authority-less request through only for other schemes.
            return Err(misdirected(Rule::Scheme, Cause::UnsupportedScheme));
        };
        let host = &authority.host;
        // Rule 3: port (RFC 9110 §4.3.1, §7.4).
        let port = authority.effective_port(scheme.default_port());
        trail.port = Some(port);
        // `contains` calls out to a generic slice search (21 instructions under callgrind for a
        // one-port listener); the loop inlines.
        #[allow(clippy::manual_contains)]
        if !self.origin_ports(conn).iter().any(|&p| p == port) {
            return Err(misdirected(Rule::Port, Cause::PortNotServed));
        }
        let tls = conn
            .tls
            .as_ref()
            .filter(|_| self.config.knobs.sni != SniPolicy::Insecure);
        // Rule 5's lookup comes first because it also answers rule 4 for names whose coverage
        // was settled at build time; the verdict is the same as checking rule 4 first.
        let entry = self.route_entry(scheme, port);
        let route = entry.map(|r| &r.index);
        let hit = route.and_then(|index| match authority.exact {
            Exact::Found(position) => index.hit_at(position),
            // The fast path probed these very bytes: only the wildcard is left to try.
            Exact::Absent => index.lookup_wildcard(host),
            // The fast path probed both: nothing covers them.
            Exact::AbsentBoth => None,
            Exact::Unknown => index.lookup_view(host),
        });
        // Rule 4: certificate coverage (RFC 9110 §7.4, RFC 9525 §6.3).
        if let Some(tls) = tls {
            let settled = match (entry, hit) {
                (Some(entry), Some(hit)) => entry
                    .covered
                    .get(hit.position)
                    .and_then(|bits| bits.checked_shr(tls.certificate))
                    .is_some_and(|bits| bits & 1 == 1),
                _ => false,
            };
            if !settled
                && self.certificates[tls.certificate as usize]
                    .lookup_view(host)
                    .is_none()
            {
                return Err(misdirected(Rule::Certificate, Cause::NotCovered));
            }
        }
        // Rule 5: virtual host, exact before wildcard.
        let found = hit.map(|hit| *hit.value);
        // The listener's fallback (its own, else the knob's) when it serves this scheme and
        // port; else the knob.
        let fallback = self.listeners[conn.listener as usize]
            .fallback
            .filter(|&f| self.config.vhosts[f as usize].ports(scheme).contains(&port));
        let vhost = match (found, fallback, &self.config.knobs.unknown_host) {
            (Some(vhost), _, _) | (None, Some(vhost), _) => vhost,
            (None, None, UnknownHost::NotFound) => {
                return Err(Fail(
                    Status::NotFound,
                    Rule::VirtualHost,
                    Cause::UnknownHost,
                ));
            }
            (None, None, _) => return Err(misdirected(Rule::VirtualHost, Cause::UnknownHost)),
        };
        trail.vhost = Some(vhost);
        // Rule 6: SNI policy.
        let Some(tls) = tls else { return Ok(vhost) };
        let sni_vhost = match tls.sni_vhost {
            Some((cached, found)) if cached == port && scheme == Scheme::Https => found,
            _ => tls
                .sni
                .name()
                .and_then(|name| route?.lookup_name(name))
                .map(|hit| *hit.value),
        }
        .or(self.listeners[conn.listener as usize].default_tls_vhost);
        self.check_sni(tls, Some(host), vhost, sni_vhost, trail)
    }

    /// Rule 0's verdict, settled where a refusal is written: a tunnel request with a framing
    /// fault is a 400, else not an origin request. Other failures pass unchanged, without a
    /// call.
    #[inline(always)]
    fn settle(&self, request: &Request<'_>, fail: Fail) -> Fail {
        if fail.2 == Cause::Connect {
            self.settle_tunnel(request, fail)
        } else {
            fail
        }
    }

    /// [`Server::settle`] for a tunnel request.
    #[cold]
    #[inline(never)]
    fn settle_tunnel(&self, request: &Request<'_>, fail: Fail) -> Fail {
        match self.frame_tunnel(request, &mut Scratch::new()) {
            Ok(()) => fail,
            Err(cause) => Fail(Status::BadRequest, Rule::Framing, cause),
        }
    }

    /// Rule 0's framing: what makes a CONNECT malformed before it is handed on as a tunnel.
    /// HTTP/1.x: `Host` as for any request (RFC 9112 §3.2: none on HTTP/1.1, more than one, or
    /// an invalid one is a 400) and an authority-form target (RFC 9112 §3.2.3, RFC 9110
    /// §9.3.6). HTTP/2 and HTTP/3: exactly one `:authority`, the tunnel's host and port, and no
    /// `:scheme` (RFC 9113 §8.5, RFC 9114 §4.4), and at most one `Host` (RFC 9110 §5.3).
    fn frame_tunnel(&self, request: &Request<'_>, scratch: &mut Scratch) -> Result<(), Cause> {
        if request.hosts.len() > 1 {
            return Err(Cause::DuplicateHost);
        }
        if request.version.is_h1() {
            match request.hosts.first() {
                Some(bytes) => {
                    parse_view(bytes, self.config.knobs.wire_unicode, scratch)
                        .map_err(Cause::InvalidHost)?;
                }
                None if request.version == Version::Http11 => return Err(Cause::MissingHost),
                None => {}
            }
            return match request.target {
                Target::Authority(_) => Ok(()),
                _ => Err(Cause::ConnectTarget),
            };
        }
        if request.scheme.is_some() {
            return Err(Cause::ConnectTarget);
        }
        match request.authorities.len() {
            0 => Err(Cause::MissingAuthority),
            1 => Ok(()),
            _ => Err(Cause::DuplicateAuthority),
        }
    }

    /// Rule 6 for a chosen virtual host.
    fn check_sni(
        &self,
        tls: &TlsState,
        host: Option<&HostView<'_>>,
        vhost: u32,
        sni_vhost: Option<u32>,
        trail: &mut Trail<'_>,
    ) -> Result<u32, Fail> {
        trail.sni_vhost = sni_vhost;
        // The handshake's policy, recorded or assumed once per connection (SPEC §4).
        let handshake_policy = tls.policy;
        trail.handshake_policy = handshake_policy;
        // Strict and SameVhost are stricter than Compatible, never looser: the handshake's
        // policy must be the virtual host's under them too. Without it a request could reach
        // an mTLS virtual host over a handshake that asked for no client certificate, by naming
        // a port where the SNI's name belongs to it, or through a fallback.
        let policy_differs = handshake_policy != Some(self.vhost_policy[vhost as usize]);
        let cause = match self.config.knobs.sni {
            SniPolicy::Strict | SniPolicy::SameVhost if policy_differs => {
                Some(Cause::PolicyMismatch)
            }
            SniPolicy::Strict => {
                let passes = match host {
                    // An IP host passes only when there is no (DNS) SNI to compare.
                    Some(HostView::Ipv4(_) | HostView::Ipv6(_)) => tls.sni.name().is_none(),
                    Some(HostView::Name(name)) => {
                        tls.sni.name().map(DnsName::as_bytes) == Some(*name)
                    }
                    None => false,
                };
                (!passes).then_some(Cause::SniMismatch)
            }
            SniPolicy::SameVhost => (sni_vhost != Some(vhost)).then_some(Cause::SniVhostDiffers),
            SniPolicy::Compatible => policy_differs.then_some(Cause::PolicyMismatch),
            SniPolicy::CertCovered | SniPolicy::Insecure => None,
        };
        match cause {
            None => Ok(vhost),
            Some(cause) => Err(Fail(Status::Misdirected, Rule::Sni, cause)),
        }
    }

    /// HTTP/1.0 without `Host`, knob `http10_default_vhost`: only rules 2 and 6 apply.
    fn http10_default(&self, conn: &Connection, trail: &mut Trail<'_>) -> Result<u32, Fail> {
        let scheme = conn.scheme();
        trail.scheme = Some(scheme);
        // Rule 2 holds by construction: the scheme is the connection's own.
        let Some(vhost) = self.listeners[conn.listener as usize].default_vhost else {
            return Err(Fail(
                Status::BadRequest,
                Rule::Framing,
                Cause::NoDefaultVhost,
            ));
        };
        trail.vhost = Some(vhost);
        let Some(tls) = conn
            .tls
            .as_ref()
            .filter(|_| self.config.knobs.sni != SniPolicy::Insecure)
        else {
            return Ok(vhost);
        };
        // Candidates: the virtual hosts serving the scheme on any origin port, in port order.
        let sni_vhost = tls
            .sni
            .name()
            .and_then(|name| {
                self.origin_ports(conn).iter().find_map(|&port| {
                    self.route(scheme, port)?
                        .lookup_name(name)
                        .map(|hit| *hit.value)
                })
            })
            .or(self.listeners[conn.listener as usize].default_tls_vhost);
        self.check_sni(tls, None, vhost, sni_vhost, trail)
    }

    /// Rule 1 (RFC 9110 §7.2, RFC 9112 §3.2, RFC 9113 §8.3.1, RFC 9114 §4.3.1). The target
    /// authority is written to `slot` (no copies of it through return values), and the request
    /// field it was parsed from to `field` once it parsed; the scheme, or the HTTP/1.0 default
    /// path, is returned.
    fn frame<'x, 'r: 'x>(
        &'x self,
        conn: &Connection,
        request: &Request<'r>,
        slot: &mut Option<AuthorityView<'x>>,
        [first, second]: &'x mut [Scratch; 2],
        field: &mut Option<&'r [u8]>,
    ) -> Result<Framed, Cause> {
        let unicode = self.config.knobs.wire_unicode;
        // The request's authority goes to `first`'s room, a `Host` to compare with it to
        // `second`'s; a `Host` that is the authority also uses `second`.
        let strict = self.config.knobs.strict_host_consistency;
        if request.hosts.len() > 1 {
            return Err(Cause::DuplicateHost);
        }
        if request.version.is_h1() {
            return match request.target {
                Target::Absolute { scheme, authority } => {
                    // RFC 9112 §3.2: "A server MUST respond with a 400 (Bad Request) status
                    // code to any HTTP/1.1 request message that lacks a Host header field",
                    // absolute-form included (§3.2.2 only says which of the two wins).
                    if request.version == Version::Http11 && request.hosts.is_empty() {
                        return Err(Cause::MissingHost);
                    }
                    let scheme = Scheme::parse(scheme);
                    let target = slot.insert(
                        self.parse_field(authority, scheme, first)
                            .map_err(Cause::InvalidTarget)?,
                    );
                    *field = Some(authority);
                    if let Some(bytes) = request.hosts.first() {
                        let host =
                            parse_view(bytes, unicode, second).map_err(Cause::InvalidHost)?;
                        // RFC 9112 §3.2.2 says ignore Host; by policy a differing one is the
                        // "Host of Troubles" split (SPEC §5 rule 1).
                        if strict && !same_authority(&host, target, scheme) {
                            return Err(Cause::HostMismatch);
                        }
                    }
                    Ok(Framed::Origin(scheme))
                }
                Target::Authority(_) => {
                    // A Host that does not parse is reported as such first.
                    if let Some(bytes) = request.hosts.first() {
                        parse_view(bytes, unicode, second).map_err(Cause::InvalidHost)?;
                    }
                    Err(Cause::AuthorityFormWithoutConnect)
                }
                Target::Origin | Target::Asterisk => match request.hosts.first() {
                    Some(bytes) => {
                        *slot = Some(
                            self.parse_field(bytes, Some(conn.scheme()), second)
                                .map_err(Cause::InvalidHost)?,
                        );
                        *field = Some(bytes);
                        Ok(Framed::Origin(Some(conn.scheme())))
                    }
                    None if request.version == Version::Http10
                        && self.config.knobs.http10_default_vhost =>
                    {
                        Ok(Framed::Http10Default)
                    }
                    None if request.version == Version::Http11 => Err(Cause::MissingHost),
                    None => Err(Cause::MissingAuthority),
                },
            };
        }
        // HTTP/2 and HTTP/3.
        let Some(raw_scheme) = request.scheme else {
            return Err(Cause::MissingScheme);
        };
        let scheme = Scheme::parse(raw_scheme);
        if request.authorities.len() > 1 {
            return Err(Cause::DuplicateAuthority);
        }
        if let Some(bytes) = request.authorities.first() {
            *slot = Some(
                self.parse_field(bytes, scheme, first)
                    .map_err(Cause::InvalidAuthority)?,
            );
            *field = Some(bytes);
        }
        // RFC 9113 §8.3.1: with :authority present, HTTP/2 "MUST NOT use" Host; it is checked
        // only under strict_host_consistency. HTTP/3 always checks it (RFC 9114 §4.3.1).
        let host_counts = slot.is_none() || request.version == Version::Http3 || strict;
        if let Some(bytes) = request.hosts.first().filter(|_| host_counts) {
            let host = parse_view(bytes, unicode, second).map_err(Cause::InvalidHost)?;
            match slot {
                None => {
                    *field = Some(bytes);
                    *slot = Some(host);
                }
                Some(_) if request.version == Version::Http3 => {
                    if request.authorities.first() != request.hosts.first() {
                        return Err(Cause::Http3HostMismatch);
                    }
                }
                Some(authority) => {
                    if !same_authority(&host, authority, scheme) {
                        return Err(Cause::HostMismatch);
                    }
                }
            }
        }
        if slot.is_none() && scheme.is_some() {
            return Err(Cause::MissingAuthority);
        }
        Ok(Framed::Origin(scheme))
    }

    fn origin_ports<'c>(&'c self, conn: &'c Connection) -> &'c [u16] {
        match &conn.gateway_port {
            Some(port) => core::slice::from_ref(port),
            None => self.config.listeners[conn.listener as usize].effective_origin_ports(),
        }
    }

    /// Writes out the reason for a rule that fired: cold, off the serving path.
    #[inline(always)]
    fn explain<'s>(
        &'s self,
        conn: &'s Connection,
        trail: &Trail<'s>,
        Fail(status, rule, cause): Fail,
    ) -> Reason<'s> {
        if conn.build != self.build {
            // Nothing of another build's connection can be named here.
            return Reason::bare(status, rule, cause);
        }
        let policy = |p: u32| self.config.policies[p as usize].as_str();
        let vhost_name = |v: u32| self.config.vhosts[v as usize].name.as_str();
        let tls = conn.tls.as_ref();
        Reason {
            status,
            rule,
            cause,
            listener: self.config.listeners[conn.listener as usize].name.as_str(),
            scheme: trail.scheme,
            host: trail.field.map(|bytes| HostField {
                bytes,
                unicode: self.config.knobs.wire_unicode,
            }),
            port: trail.port,
            sni: tls.map(|t| &t.sni),
            certificate: tls.map(|t| self.config.certificates[t.certificate as usize].id.as_str()),
            handshake_policy: trail
                .handshake_policy
                .or_else(|| tls.and_then(|t| t.policy))
                .map(policy),
            vhost: trail.vhost.map(vhost_name),
            vhost_policy: trail.vhost.map(|v| policy(self.vhost_policy[v as usize])),
            sni_vhost: trail.sni_vhost.map(vhost_name),
        }
    }

    /// The origins (`https://host[:port]`) of every exact name that would be served on this
    /// connection, for an RFC 8336 ORIGIN frame. Empty on cleartext connections (ORIGIN is for
    /// TLS). Every listed origin gets `Serve`, because each is checked with [`Server::decide`].
    #[must_use]
    pub fn origins(&self, conn: &Connection) -> Vec<String> {
        let mut origins = Vec::new();
        if !conn.is_secure() || conn.build != self.build {
            return origins;
        }
        for &port in self.origin_ports(conn) {
            let Some(index) = self.route(Scheme::Https, port) else {
                continue;
            };
            for (_, name) in index.exact_names() {
                let authority = format!("{name}:{port}");
                let request = Request {
                    version: Version::Http2,
                    method: Method::Other,
                    scheme: Some(b"https"),
                    authorities: &[authority.as_bytes()],
                    hosts: &[],
                    target: Target::Origin,
                };
                if matches!(self.decide(conn, &request), Verdict::Serve(_)) {
                    origins.push(if port == 443 {
                        format!("https://{name}")
                    } else {
                        format!("https://{name}:{port}")
                    });
                }
            }
        }
        origins
    }
}

/// What the walk has learned so far, for the reason if a rule fires.
#[derive(Default)]
struct Trail<'r> {
    /// The request field the authority was parsed from, set with the authority.
    field: Option<&'r [u8]>,
    scheme: Option<Scheme>,
    port: Option<u16>,
    vhost: Option<u32>,
    sni_vhost: Option<u32>,
    handshake_policy: Option<u32>,
}

/// A rule that fired: the verdict class, the rule, the cause.
struct Fail(Status, Rule, Cause);

/// Same canonical authority: same host and same effective port (explicit ports when the scheme
/// has no default).
fn same_authority(a: &AuthorityView<'_>, b: &AuthorityView<'_>, scheme: Option<Scheme>) -> bool {
    let default = scheme.map(Scheme::default_port);
    a.host == b.host && a.port.or(default) == b.port.or(default)
}
