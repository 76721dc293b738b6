#!/usr/bin/env python3
"""Writes tests/vectors/framing.toml (python3 scripts/framing-table.py > tests/vectors/framing.toml): one row per framing cell, each with the verdict an RFC
sentence sets (not what the engine does)."""
import json
import sys

def s(text):
    return json.dumps(text, ensure_ascii=False)

# --- RFC sentences, quoted --------------------------------------------------------------
TUNNEL = ('RFC 9110 §9.3.6: "The CONNECT method requests that the recipient establish a tunnel '
          'to the destination origin server identified by the request target and, if successful, '
          'thereafter restrict its behavior to blind forwarding of data, in both directions, until '
          'the tunnel is closed." A tunnel, not a request for this origin: rule 0, before any '
          'framing rule')
TUNNEL_H23_SCHEME = (TUNNEL + ' (the :scheme it carries makes it malformed by RFC 9113 §8.5 / '
                     'RFC 9114 §4.4, "The :scheme and :path pseudo-header fields are omitted", '
                     'which is for the tunnel\'s handler to answer)')
H1_NO_PROTOCOL = ('RFC 9110 §9.3.6: "The CONNECT method requests that the recipient establish a '
                  'tunnel to the destination origin server identified by the request target". '
                  'Extended CONNECT exists only where :protocol can be sent (RFC 8441 §4: "A new '
                  'pseudo-header field :protocol MAY be included on request HEADERS indicating the '
                  'desired protocol to be spoken on the tunnel created by CONNECT"; RFC 9220 §3 for '
                  'HTTP/3); HTTP/1.x has no pseudo-header fields, so an HTTP/1.x CONNECT is always '
                  'the tunnel: rule 0')
H1_HOST_400 = ('RFC 9112 §3.2: "A server MUST respond with a 400 (Bad Request) status code to any '
               'HTTP/1.1 request message that lacks a Host header field and to any request message '
               'that contains more than one Host header field line or a Host header field with an '
               'invalid field value."')
H1_HOST_FROM = ('RFC 9112 §3.3: "Otherwise, the target URI\'s authority component is the field '
                'value of the Host header field."')
H1_ASTERISK_FROM = ('RFC 9112 §3.3: "Otherwise, the target URI\'s authority component is the field '
                    'value of the Host header field." (asterisk-form: RFC 9112 §3.2.4 "is only '
                    'used for a server-wide OPTIONS request", the ordinary method here)')
H1_ABSOLUTE = ('RFC 9112 §3.2.2: "When an origin server receives a request with an absolute-form of '
               'request-target, the origin server MUST ignore the received Host header field (if '
               'any) and instead use the host information of the request-target."')
H10_ABSOLUTE_NO_HOST = (H1_ABSOLUTE + ' HTTP/1.0 needs no Host: RFC 9112 §3.2\'s 400 is for an '
                        '"HTTP/1.1 request message that lacks a Host header field"')
H10_EMPTY_AUTHORITY = ('RFC 9112 §3.3: "If there is no Host header field or if its field value is '
                       'empty or invalid, the target URI\'s authority component is empty." and "If '
                       'the target URI\'s authority component is empty and its URI scheme requires a '
                       'non-empty authority (as is the case for "http" and "https"), the server can '
                       'reject the request or determine whether a configured default applies" '
                       '(knob http10_default_vhost off, the default: reject)')
H1_AUTHORITY_FORM = ('RFC 9112 §3.2.3: "The "authority-form" of request-target is only used for '
                     'CONNECT requests"; RFC 9112 §3.2: "Recipients of an invalid request-line '
                     'SHOULD respond with either a 400 (Bad Request) error or a 301 (Moved '
                     'Permanently) redirect"')

H2_NO_SCHEME = ('RFC 9113 §8.3.1: "All HTTP/2 requests MUST include exactly one valid value for the '
                '":method", ":scheme", and ":path" pseudo-header fields, unless they are CONNECT '
                'requests (Section 8.5).  An HTTP request that omits mandatory pseudo-header fields '
                'is malformed (Section 8.1.1)."')
H3_NO_SCHEME = ('RFC 9114 §4.3.1: "All HTTP/3 requests MUST include exactly one value for the '
                ':method, :scheme, and :path pseudo-header fields, unless the request is a CONNECT '
                'request" and "An HTTP request that omits mandatory pseudo-header fields or contains '
                'invalid values for those pseudo-header fields is malformed."')
EXT_NO_SCHEME_H2 = ('RFC 8441 §4: "On requests that contain the :protocol pseudo-header field, the '
                    ':scheme and :path pseudo-header fields of the target URI (see Section 5) MUST '
                    'also be included."')
EXT_NO_SCHEME_H3 = ('RFC 9220 §3: "The semantics of the pseudo-header fields and setting are '
                    'identical to those in HTTP/2 as defined in [RFC8441]."; RFC 8441 §4: "On '
                    'requests that contain the :protocol pseudo-header field, the :scheme and :path '
                    'pseudo-header fields of the target URI (see Section 5) MUST also be included."')
H2_TWO_AUTHORITY = ('RFC 9113 §8.3: "The same pseudo-header field name MUST NOT appear more than '
                    'once in a field block.  A field block for an HTTP request or response that '
                    'contains a repeated pseudo-header field name MUST be treated as malformed '
                    '(Section 8.1.1)."')
H3_TWO_AUTHORITY = ('RFC 9114 §4.3: "Endpoints MUST treat a request or response that contains '
                    'undefined or invalid pseudo-header fields as malformed." (§4.3.1: ":authority: '
                    'Contains the authority portion of the target URI": one target, one authority)')
TWO_HOST_H23 = ('RFC 9110 §5.3: "a sender MUST NOT generate multiple field lines with the same name '
                'in a message (whether in the headers or trailers) or append a field line when a '
                'field line of the same name already exists in the message, unless that field\'s '
                'definition allows multiple field line values to be recombined as a comma-separated '
                'list"; Host\'s does not (RFC 9110 §7.2: "Host = uri-host [ ":" port ]")')
H2_NEITHER = ('RFC 9110 §7.2: "A user agent MUST generate a Host header field in a request unless it '
              'sends that information as an ":authority" pseudo-header field."; without either the '
              'https target URI has an empty host, and RFC 9110 §4.2.2: "A recipient that processes '
              'such a URI reference MUST reject it as invalid."')
H3_NEITHER = ('RFC 9114 §4.3.1: "If the :scheme pseudo-header field identifies a scheme that has a '
              'mandatory authority component (including "http" and "https"), the request MUST '
              'contain either an :authority pseudo-header field or a Host header field."')
H2_HOST_ONLY = ('RFC 9110 §7.2: "A user agent MUST generate a Host header field in a request unless '
                'it sends that information as an ":authority" pseudo-header field."; RFC 9113 '
                '§8.3.1 forbids using it only when :authority is there: "The recipient of a HTTP/2 '
                'request MUST NOT use the Host header field to determine the target URI if '
                '":authority" is present."')
H3_HOST_ONLY = H3_NEITHER
EXT_ORIGIN = ('; extended CONNECT is an ordinary origin request here, RFC 8441 §4: "On requests '
              'bearing the :protocol pseudo-header field, the :authority pseudo-header field is '
              'interpreted according to Section 8.1.2.3 of [RFC7540] instead of Section 8.3 of that '
              'document." (RFC 9220 §3 for HTTP/3)')
H2_AUTHORITY = ('RFC 9113 §8.3.1: "The ":authority" pseudo-header field conveys the authority '
                'portion (Section 3.2 of [RFC3986]) of the target URI (Section 7.1 of [HTTP])."')
H3_AUTHORITY = ('RFC 9114 §4.3.1: ":authority:  Contains the authority portion of the target URI '
                '(Section 3.2 of [URI])."')
H2_SAME_HOST = ('RFC 9113 §8.3.1: "Clients MUST NOT generate a request with a Host header field '
                'that differs from the ":authority" pseudo-header field."; this one does not')
H3_SAME_HOST = ('RFC 9114 §4.3.1: "If both fields are present, they MUST contain the same value."; '
                'they do')
H2_INVALID_HOST_ONLY = ('RFC 9110 §4.2.4: "Before making use of an "http" or "https" URI reference '
                        'received from an untrusted source, a recipient SHOULD parse for userinfo '
                        'and treat its presence as an error"; the Host value "user@b.example.test" '
                        'is not "Host = uri-host [ ":" port ]" (RFC 9110 §7.2)')
H2_HOST_DIFFERS = ('RFC 9113 §8.3.1: "A server SHOULD treat a request as malformed if it contains a '
                   'Host header field that identifies an entity that differs from the entity in the '
                   '":authority" pseudo-header field." (knob strict_host_consistency on, the '
                   'default)')
H3_HOST_DIFFERS = H3_SAME_HOST.replace('; they do', '; they do not')

# --- the server and the cells ------------------------------------------------------------
VALID = "b.example.test"
INVALID = "user@b.example.test"
HOSTS = {"none": [], "valid": [VALID], "invalid": [INVALID], "two": [VALID, VALID]}
AUTHORITIES = {"none": [], "one": [VALID], "two": [VALID, VALID]}
METHODS = {"ordinary": None, "CONNECT": "connect", "extended CONNECT": "extended-connect"}
H1_FORMS = ["origin-form", "absolute-form", "authority-form", "asterisk-form"]
H23_FORMS = ["origin-form with :scheme", "origin-form without :scheme"]
VERSIONS = {"HTTP/1.0": "1.0", "HTTP/1.1": "1.1", "HTTP/2": "2", "HTTP/3": "3"}
CLEAR = '{ listener = "clear" }'
TLS = '{ listener = "tls", sni = "a.example.test", certificate = "site", policy = "public" }'

HEADER = '''# Framing table: every cell of
#   version (1.0, 1.1, 2, 3)
#   x target form (HTTP/1.x: origin, absolute, authority, asterisk; HTTP/2 and HTTP/3 have only
#     origin-form in `Request::target`, so :scheme present or absent instead)
#   x Host lines (none, one valid, one invalid, two)
#   x :authority (none, one, two; HTTP/2 and HTTP/3 only, none for HTTP/1.x)
#   x method (ordinary, CONNECT, extended CONNECT)
# with the verdict the RFCs set and, in `source`, the sentence that sets it (quoted, with its
# section). The verdicts are the RFCs', not the engine's: `tests/vectors.rs` (module `framing`)
# holds the engine AND the model to them, each on its own, so both being wrong together fails.
#
# A row's name is its cell, "version; form; Host ...; :authority ...; method", and the harness
# checks every cell is there; rows after the grid add a qualifier after a fifth "; ".
#
# The server is fixed: a cleartext listener on 80 and a TLS one on 443, two virtual hosts a and b
# on both, one certificate covering both. HTTP/1.0 rows use the cleartext listener, the others a
# TLS connection whose handshake named a.example.test, so a request served as b shows that its
# authority, not the connection's, was used. Values: a valid Host or :authority is
# "b.example.test" (with ":80" / ":443" as an authority-form target, "http://" / "https://" as an
# absolute-form one); the invalid Host is "user@b.example.test" (userinfo: RFC 9110 §4.2.4, and
# not "uri-host [ ":" port ]"); two lines repeat the valid value, so only their count is at fault.
# Knobs are the defaults (strict_host_consistency on, http10_default_vhost off).

[server]
policies = ["public"]

[[server.certificates]]
id = "site"
sans = ["a.example.test", "b.example.test"]

[[server.vhosts]]
name = "a"
names = ["a.example.test"]
https = [443]
http = [80]
policy = "public"
[[server.vhosts]]
name = "b"
names = ["b.example.test"]
https = [443]
http = [80]
policy = "public"

[[server.listeners]]
name = "clear"
tls = false
port = 80
[[server.listeners]]
name = "tls"
tls = true
port = 443
default_tls_vhost = "a"
'''


CONNECT_FORM = ('RFC 9112 §3.2.3: "The "authority-form" of request-target is only used for CONNECT '
                'requests" and RFC 9110 §9.3.6: "the request-target consists of only the host name '
                'and port number of the tunnel destination"; RFC 9112 §3.2: "Recipients of an '
                'invalid request-line SHOULD respond with either a 400 (Bad Request) error or a 301 '
                '(Moved Permanently) redirect"')
CONNECT_H23 = ('RFC 9113 §8.5 (RFC 9114 §4.4 alike): "The :method pseudo-header field is set to '
               'CONNECT. The :scheme and :path pseudo-header fields MUST be omitted. The '
               ':authority pseudo-header field contains the host and port to connect to"; a '
               'request without it, with it twice, or with :scheme is malformed (RFC 9113 §8.1.1)')


def verdict_h1(version, form, host, method):
    if method in ("CONNECT", "extended CONNECT"):
        # A tunnel request is framed like any request first (RFC 9112 §3.2's MUST is for "any
        # request message"), then handed on as a tunnel.
        if host in ("invalid", "two") or (host == "none" and version == "1.1"):
            return "400", H1_HOST_400
        if form != "authority-form":
            return "400", CONNECT_FORM
        return "not-origin", (TUNNEL if method == "CONNECT" else H1_NO_PROTOCOL)
    if host in ("invalid", "two"):
        return "400", H1_HOST_400
    if host == "none" and version == "1.1":
        return "400", H1_HOST_400
    if form == "authority-form":
        return "400", H1_AUTHORITY_FORM
    if form == "absolute-form":
        return "serve:b", (H10_ABSOLUTE_NO_HOST if host == "none" else H1_ABSOLUTE)
    # origin-form, asterisk-form
    if host == "none":
        return "400", H10_EMPTY_AUTHORITY
    return "serve:b", (H1_ASTERISK_FROM if form == "asterisk-form" else H1_HOST_FROM)


def verdict_h23(version, form, host, authority, method):
    h3 = version == "3"
    if method == "CONNECT":
        if form.endswith("with :scheme") or authority != "one":
            return "400", CONNECT_H23
        if host == "two":
            return "400", TWO_HOST_H23
        return "not-origin", TUNNEL
    ext = method == "extended CONNECT"
    suffix = EXT_ORIGIN if ext else ""
    if form.endswith("without :scheme"):
        if ext:
            return "400", EXT_NO_SCHEME_H3 if h3 else EXT_NO_SCHEME_H2
        return "400", H3_NO_SCHEME if h3 else H2_NO_SCHEME
    if authority == "two":
        return "400", (H3_TWO_AUTHORITY if h3 else H2_TWO_AUTHORITY) + suffix
    if host == "two":
        return "400", TWO_HOST_H23 + suffix
    if authority == "none":
        if host == "none":
            return "400", (H3_NEITHER if h3 else H2_NEITHER) + suffix
        if host == "invalid":
            return "400", H2_INVALID_HOST_ONLY + suffix
        return "serve:b", (H3_HOST_ONLY if h3 else H2_HOST_ONLY) + suffix
    # one :authority
    if host == "none":
        return "serve:b", (H3_AUTHORITY if h3 else H2_AUTHORITY) + suffix
    if host == "invalid":
        return "400", (H3_HOST_DIFFERS if h3 else H2_HOST_DIFFERS) + suffix
    return "serve:b", (H3_SAME_HOST if h3 else H2_SAME_HOST) + suffix


def request(version, form, host, authority, method):
    parts = [f'version = "{version}"']
    m = METHODS[method]
    if m:
        parts.append(f'method = "{m}"')
    if version in ("2", "3"):
        if form.endswith("with :scheme"):
            parts.append('scheme = "https"')
        if AUTHORITIES[authority]:
            parts.append("authority = " + s(AUTHORITIES[authority]))
    else:
        clear = version == "1.0"
        if form == "absolute-form":
            parts.append('target = "absolute"')
            parts.append('target_scheme = "%s"' % ("http" if clear else "https"))
            parts.append(f'target_authority = "{VALID}"')
        elif form == "authority-form":
            parts.append('target = "authority"')
            parts.append('target_authority = "%s:%d"' % (VALID, 80 if clear else 443))
        elif form == "asterisk-form":
            parts.append('target = "asterisk"')
    if HOSTS[host]:
        parts.append("host = " + s(HOSTS[host]))
    return "{ " + ", ".join(parts) + " }"


def row(out, name, conn, req, expect, source):
    out.append("[[case]]")
    out.append("name = " + s(name))
    out.append("conn = " + conn)
    out.append("request = " + req)
    out.append("expect = " + s(expect))
    out.append("source = " + s(source))


def main():
    out = [HEADER]
    cells = 0
    for vname, version in VERSIONS.items():
        h1 = version in ("1.0", "1.1")
        forms = H1_FORMS if h1 else H23_FORMS
        auths = ["none"] if h1 else list(AUTHORITIES)
        out.append(f"# --- {vname}")
        for form in forms:
            for host in HOSTS:
                for authority in auths:
                    for method in METHODS:
                        if h1:
                            expect, source = verdict_h1(version, form, host, method)
                        else:
                            expect, source = verdict_h23(version, form, host, authority, method)
                        name = f"{vname}; {form}; Host {host}; :authority {authority}; {method}"
                        conn = CLEAR if version == "1.0" else TLS
                        row(out, name, conn, request(version, form, host, authority, method),
                            expect, source)
                        cells += 1
    out.append("# --- beyond the grid: a valid Host that is not the :authority's own bytes")
    extras = [
        ("HTTP/2", "2", "ordinary", ["a.example.test"], "400", H2_HOST_DIFFERS,
         "Host names another authority"),
        ("HTTP/2", "2", "extended CONNECT", ["a.example.test"], "400",
         H2_HOST_DIFFERS + EXT_ORIGIN, "Host names another authority"),
        ("HTTP/2", "2", "ordinary", ["B.Example.TEST:443"], "serve:b",
         'RFC 9113 §8.3.1: "The values of fields need to be normalized to compare them (see '
         'Section 6.2 of [RFC3986])."; RFC 9110 §4.2.3: "The scheme and host are '
         'case-insensitive" and "If the port is equal to the default port for a scheme, the '
         'normal form is to omit the port subcomponent."',
         "Host names the same authority in capitals with the default port"),
        ("HTTP/3", "3", "ordinary", ["a.example.test"], "400", H3_HOST_DIFFERS,
         "Host names another authority"),
        ("HTTP/3", "3", "ordinary", ["B.example.test"], "400", H3_HOST_DIFFERS,
         "Host differs from :authority only in case"),
    ]
    for vname, version, method, host, expect, source, what in extras:
        name = (f"{vname}; origin-form with :scheme; Host valid; :authority one; {method}; "
                f"{what}")
        m = METHODS[method]
        req = (f'{{ version = "{version}", ' + (f'method = "{m}", ' if m else "")
               + f'scheme = "https", authority = {s([VALID])}, host = {s(host)} }}')
        row(out, name, TLS, req, expect, source)
    sys.stdout.write("\n".join(out) + "\n")
    sys.stderr.write(f"{cells} cells, {cells + len(extras)} rows\n")


main()
