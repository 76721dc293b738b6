//! misdirect's own engine behind the kit's three signatures: what a correct adapter looks
//! like, and a template for one around a server of your own. The kit's tests hold these to
//! the model (they pass every check), and its mutation suite plants bugs in copies of them.

use misdirect::{Authority, AuthorityError, Host, NamePattern, Request, Server, Verdict};

use crate::{Answer, Case};

/// The wire authority parser: `Authority::parse`, giving the canonical host text and the
/// explicit port.
///
/// # Errors
/// The engine's [`AuthorityError`].
pub fn parse_authority(bytes: &[u8]) -> Result<(String, Option<u16>), AuthorityError> {
    let authority = Authority::parse(bytes)?;
    Ok((authority.host().to_string(), authority.port()))
}

/// The name matcher: `pattern` read as a certificate's dNSName (`NamePattern::parse_san`),
/// `host` as a wire host (`Host::parse`); a malformed pattern or host matches nothing.
#[must_use]
pub fn name_matches(pattern: &str, host: &str) -> bool {
    match (
        NamePattern::parse_san(pattern.as_bytes()),
        Host::parse(host.as_bytes()),
    ) {
        (Ok(pattern), Ok(host)) => pattern.matches(&host),
        _ => false,
    }
}

/// The whole decision: a server built from the case's configuration, the connection from its
/// facts, `Server::decide` on its request. A configuration that does not build is a 500, facts
/// the server refuses a 421 (neither happens with the kit's cases).
#[must_use]
pub fn decide(case: &Case) -> Answer {
    let Ok(server) = Server::build(case.config().clone()) else {
        return Answer::refuse(500);
    };
    decide_on(&server, case)
}

/// [`decide`] on a server already built from the case's configuration (or one with the same
/// names), for an adapter that builds once per configuration.
#[must_use]
pub fn decide_on(server: &Server<String>, case: &Case) -> Answer {
    decide_request(server, case, &case.request())
}

/// [`decide_on`] with another request on the case's connection (a reading of the case's own,
/// as [`Case::rewritten`] makes).
#[must_use]
pub fn decide_request(server: &Server<String>, case: &Case, request: &Request<'_>) -> Answer {
    let Ok(connection) = server.connection(&case.facts(server)) else {
        return Answer::refuse(421);
    };
    match server.decide(&connection, request) {
        Verdict::Serve(name) => Answer::serve(name),
        verdict => Answer::refuse(verdict.status().unwrap_or(501)),
    }
}
