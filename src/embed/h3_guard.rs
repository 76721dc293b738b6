//! HTTP/3 streams checked before h3 reads them (feature `quinn`).
//!
//! h3 0.0.8 hides two things the decision must see, and trusts a peer with one it must not:
//! - it folds a request's field section into an `http::Request` keeping the **last** value of a
//!   repeated pseudo-header, and never checks their order (its `proto/headers.rs`), so
//!   `:authority evil.invalid` then `:authority a.example` reaches the decision as one
//!   `:authority a.example`;
//! - it buffers every frame but DATA **whole** before decoding it (its `proto/frame.rs` waits for
//!   `len` octets), so one HEADERS frame announcing 2^40 octets grows the server without bound.
//!
//! [`H3Guard`] is an `h3::quic::Connection` around another (`h3_quinn::Connection`): every
//! stream h3 accepts passes through a frame reader that sees each octet before h3 does. It
//! refuses, as a stream error before h3 reads the frame's last octet:
//! - a frame other than DATA on a request stream or the control stream longer than
//!   [`MAX_FRAME`] octets (`H3_EXCESSIVE_LOAD`, RFC 9114 §8.1: "exhibiting a behavior that
//!   might be generating excessive load"). With h3's `max_field_section_size` set to
//!   [`MAX_FIELD_SECTION`], a field section of up to `MAX_FRAME` octets that decodes larger
//!   gets h3's own 431 (RFC 9114 §4.2.2);
//! - a request field section with a pseudo-header after a regular field (RFC 9114 §4.3: "MUST
//!   be treated as malformed"), a pseudo-header twice (SPEC rule 1 for `:authority`; RFC 9114
//!   §4.3.1: "exactly one value for the :method, :scheme, and :path pseudo-header fields"), a
//!   pseudo-header a request does not define (`:status`, or any other: RFC 9114 §4.3), or a
//!   pseudo-header in trailers (RFC 9114 §4.3: "MUST NOT appear in trailer sections"): stream
//!   error `H3_MESSAGE_ERROR` (RFC 9114 §4.1.2: "Malformed requests or responses that are
//!   detected MUST be treated as a stream error of type H3_MESSAGE_ERROR");
//! - a field section the guard cannot read: one that references QPACK's dynamic table (h3 0.0.8
//!   offers none, so h3 refuses it too), a static index past the table, a string running past
//!   the frame, bad Huffman code. Fail closed: what the guard cannot read, h3 must not fold.
//!
//! The guard reads names only, never keeps a value, and holds at most one frame of
//! `MAX_FRAME` octets per stream. The request's other rules (which pseudo-headers are
//! required, what `:authority` and `Host` say) stay with h3 and the decision.
//!
//! ```text
//! let h3 = h3::server::builder()
//!     .max_field_section_size(misdirect::h3_guard::MAX_FIELD_SECTION)
//!     .build(H3Guard::new(h3_quinn::Connection::new(quic)))
//!     .await?;
//! ```

use core::fmt;
use std::task::{Context, Poll, ready};

use bytes::{Buf, Bytes};
use h3::quic::{self, ConnectionErrorIncoming, StreamErrorIncoming, StreamId, WriteBuf};

/// The longest frame other than DATA that a request stream or the control stream may carry.
/// h3 buffers such a frame whole; past this the stream is refused before h3 holds it.
pub const MAX_FRAME: u64 = 32 * 1024;

/// The field section size to give h3's `max_field_section_size` (RFC 9114 §4.2.2, counted as
/// RFC 9114 §4.2.2 does: name + value + 32 octets per field). A larger section gets 431.
pub const MAX_FIELD_SECTION: u64 = 16 * 1024;

/// H3_EXCESSIVE_LOAD (RFC 9114 §8.1).
const EXCESSIVE_LOAD: u64 = 0x107;
/// H3_MESSAGE_ERROR (RFC 9114 §8.1).
const MESSAGE_ERROR: u64 = 0x10e;

/// Frame types (RFC 9114 §7.2).
const DATA: u64 = 0x0;
const HEADERS: u64 = 0x1;
/// The control stream's type (RFC 9114 §6.2.1).
const CONTROL: u64 = 0x0;

/// An `h3::quic::Connection` whose streams are checked before h3 reads them (see the module
/// docs): oversized frames and malformed request field sections are refused as stream errors.
pub struct H3Guard<C> {
    inner: C,
}

impl<C> fmt::Debug for H3Guard<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("H3Guard").finish_non_exhaustive()
    }
}

impl<C> H3Guard<C> {
    /// Wraps a QUIC connection (or its stream opener) for h3.
    pub fn new(inner: C) -> Self {
        H3Guard { inner }
    }
}

impl<B: Buf, C: quic::Connection<B>> quic::Connection<B> for H3Guard<C> {
    type RecvStream = GuardedStream<C::RecvStream>;
    type OpenStreams = H3Guard<C::OpenStreams>;

    fn poll_accept_recv(
        &mut self,
        cx: &mut Context<'_>,
    ) -> Poll<Result<Self::RecvStream, ConnectionErrorIncoming>> {
        let stream = ready!(self.inner.poll_accept_recv(cx))?;
        Poll::Ready(Ok(GuardedStream::new(stream, Role::Unidirectional, None)))
    }

    fn poll_accept_bidi(
        &mut self,
        cx: &mut Context<'_>,
    ) -> Poll<Result<Self::BidiStream, ConnectionErrorIncoming>> {
        let stream = ready!(self.inner.poll_accept_bidi(cx))?;
        // A peer's bidirectional stream is a request stream (RFC 9114 §6.1).
        let reset = |stream: &mut C::BidiStream, code: u64| {
            quic::SendStream::<B>::reset(stream, code);
        };
        Poll::Ready(Ok(GuardedStream::new(stream, Role::Request, Some(reset))))
    }

    fn opener(&self) -> Self::OpenStreams {
        H3Guard::new(self.inner.opener())
    }
}

impl<B: Buf, O: quic::OpenStreams<B>> quic::OpenStreams<B> for H3Guard<O> {
    type BidiStream = GuardedStream<O::BidiStream>;
    type SendStream = O::SendStream;

    fn poll_open_bidi(
        &mut self,
        cx: &mut Context<'_>,
    ) -> Poll<Result<Self::BidiStream, StreamErrorIncoming>> {
        // Streams this side opens carry no request to check.
        let stream = ready!(self.inner.poll_open_bidi(cx))?;
        Poll::Ready(Ok(GuardedStream::new(stream, Role::Pass, None)))
    }

    fn poll_open_send(
        &mut self,
        cx: &mut Context<'_>,
    ) -> Poll<Result<Self::SendStream, StreamErrorIncoming>> {
        self.inner.poll_open_send(cx)
    }

    fn close(&mut self, code: h3::error::Code, reason: &[u8]) {
        self.inner.close(code, reason);
    }
}

/// A stream of an [`H3Guard`]: what it receives is checked frame by frame before it is handed
/// on; what it sends passes untouched.
pub struct GuardedStream<S> {
    inner: S,
    check: FrameCheck,
    /// Resets the send half when a request is refused (bidirectional streams only).
    reset: Option<fn(&mut S, u64)>,
}

impl<S> fmt::Debug for GuardedStream<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GuardedStream")
            .field("check", &self.check)
            .finish_non_exhaustive()
    }
}

impl<S> GuardedStream<S> {
    fn new(inner: S, role: Role, reset: Option<fn(&mut S, u64)>) -> Self {
        GuardedStream {
            inner,
            check: FrameCheck::new(role),
            reset,
        }
    }
}

impl<S: quic::RecvStream> quic::RecvStream for GuardedStream<S> {
    type Buf = Bytes;

    fn poll_data(
        &mut self,
        cx: &mut Context<'_>,
    ) -> Poll<Result<Option<Bytes>, StreamErrorIncoming>> {
        if let Some(code) = self.check.failed {
            return Poll::Ready(Err(StreamErrorIncoming::StreamTerminated {
                error_code: code,
            }));
        }
        let Some(mut chunk) = ready!(self.inner.poll_data(cx))? else {
            return Poll::Ready(Ok(None));
        };
        let bytes = chunk.copy_to_bytes(chunk.remaining());
        match self.check.feed(&bytes) {
            Ok(()) => Poll::Ready(Ok(Some(bytes))),
            Err(code) => {
                // The peer learns why (RFC 9114 §4.1.2: a stream error); h3 gets the error in
                // place of the octets, so it never folds the section.
                self.inner.stop_sending(code);
                if let Some(reset) = self.reset {
                    reset(&mut self.inner, code);
                }
                Poll::Ready(Err(StreamErrorIncoming::StreamTerminated {
                    error_code: code,
                }))
            }
        }
    }

    fn stop_sending(&mut self, error_code: u64) {
        self.inner.stop_sending(error_code);
    }

    fn recv_id(&self) -> StreamId {
        self.inner.recv_id()
    }
}

impl<B: Buf, S: quic::SendStream<B>> quic::SendStream<B> for GuardedStream<S> {
    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), StreamErrorIncoming>> {
        self.inner.poll_ready(cx)
    }

    fn send_data<T: Into<WriteBuf<B>>>(&mut self, data: T) -> Result<(), StreamErrorIncoming> {
        self.inner.send_data(data)
    }

    fn poll_finish(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), StreamErrorIncoming>> {
        self.inner.poll_finish(cx)
    }

    fn reset(&mut self, reset_code: u64) {
        self.inner.reset(reset_code);
    }

    fn send_id(&self) -> StreamId {
        self.inner.send_id()
    }
}

impl<B: Buf, S: quic::BidiStream<B>> quic::BidiStream<B> for GuardedStream<S> {
    type SendStream = S::SendStream;
    type RecvStream = GuardedStream<S::RecvStream>;

    fn split(self) -> (Self::SendStream, Self::RecvStream) {
        let (send, recv) = self.inner.split();
        let recv = GuardedStream {
            inner: recv,
            check: self.check,
            reset: None,
        };
        (send, recv)
    }
}

/// What a stream is, for the checks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Role {
    /// A request stream: frames, HEADERS read.
    Request,
    /// A unidirectional stream whose type is not read yet.
    Unidirectional,
    /// The control stream: frames, lengths checked.
    Control,
    /// Anything else (QPACK streams, unknown types, streams this side opened): untouched.
    Pass,
}

/// Where the reader is in the stream.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    /// The stream type of a unidirectional stream (RFC 9114 §6.2).
    StreamType,
    /// A frame's type (RFC 9114 §7.1).
    FrameType,
    /// A frame's length.
    FrameLength(u64),
    /// A frame's payload: its type and the octets left.
    Payload(u64, u64),
    /// Nothing more is read.
    Done,
}

/// The frame reader of one stream.
#[derive(Clone, Debug)]
struct FrameCheck {
    role: Role,
    state: State,
    /// The variable-length integer being read (RFC 9000 §16), at most eight octets.
    varint: [u8; 8],
    have: usize,
    /// The payload of the HEADERS frame being read, checked once complete.
    section: Vec<u8>,
    /// HEADERS frames read whole: the first is the header section, later ones trailers.
    sections: u32,
    /// The error code of a refusal, repeated to every later read.
    failed: Option<u64>,
}

impl FrameCheck {
    fn new(role: Role) -> Self {
        let state = match role {
            Role::Request | Role::Control => State::FrameType,
            Role::Unidirectional => State::StreamType,
            Role::Pass => State::Done,
        };
        FrameCheck {
            role,
            state,
            varint: [0; 8],
            have: 0,
            section: Vec::new(),
            sections: 0,
            failed: None,
        }
    }

    /// Reads the next octets of the stream; an error is the code the stream is refused with.
    fn feed(&mut self, mut bytes: &[u8]) -> Result<(), u64> {
        let result = self.read(&mut bytes);
        if let Err(code) = result {
            self.failed = Some(code);
            self.state = State::Done;
            self.section = Vec::new();
        }
        result
    }

    fn read(&mut self, bytes: &mut &[u8]) -> Result<(), u64> {
        while !bytes.is_empty() {
            match self.state {
                State::Done => return Ok(()),
                State::StreamType => {
                    let Some(ty) = self.varint(bytes) else {
                        continue;
                    };
                    if ty == CONTROL {
                        self.role = Role::Control;
                        self.state = State::FrameType;
                    } else {
                        // QPACK's streams, push streams (refused by h3 from a client) and
                        // unknown types: h3 reads none of them into a frame buffer.
                        self.role = Role::Pass;
                        self.state = State::Done;
                    }
                }
                State::FrameType => {
                    if let Some(ty) = self.varint(bytes) {
                        self.state = State::FrameLength(ty);
                    }
                }
                State::FrameLength(ty) => {
                    if let Some(len) = self.varint(bytes) {
                        self.state = self.frame(ty, len)?;
                    }
                }
                State::Payload(ty, left) => {
                    let take = usize::try_from(left).map_or(bytes.len(), |l| l.min(bytes.len()));
                    let (payload, rest) = bytes.split_at(take);
                    *bytes = rest;
                    let collecting = ty == HEADERS && self.role == Role::Request;
                    if collecting {
                        self.section.extend_from_slice(payload);
                    }
                    let left = left - take as u64;
                    self.state = State::Payload(ty, left);
                    if left == 0 {
                        self.end_of_frame(ty)?;
                    }
                }
            }
        }
        Ok(())
    }

    /// One more octet of a variable-length integer; its value once complete.
    fn varint(&mut self, bytes: &mut &[u8]) -> Option<u64> {
        let (&first, rest) = bytes.split_first()?;
        *bytes = rest;
        self.varint[self.have] = first;
        self.have += 1;
        let len = 1 << (self.varint[0] >> 6);
        if self.have < len {
            return None;
        }
        self.have = 0;
        let mut value = u64::from(self.varint[0] & 0x3f);
        for &octet in &self.varint[1..len] {
            value = value << 8 | u64::from(octet);
        }
        Some(value)
    }

    /// A frame header is read: its type and length.
    fn frame(&mut self, ty: u64, len: u64) -> Result<State, u64> {
        if ty != DATA && len > MAX_FRAME {
            return Err(EXCESSIVE_LOAD);
        }
        if ty == HEADERS && self.role == Role::Request {
            // Grown as octets arrive, never reserved for the announced length: a frame header
            // alone must not cost 32 KiB (hostile review of issue 21).
            self.section = Vec::new();
        }
        if len == 0 {
            self.end_of_frame(ty)?;
            return Ok(State::FrameType);
        }
        Ok(State::Payload(ty, len))
    }

    fn end_of_frame(&mut self, ty: u64) -> Result<(), u64> {
        self.state = State::FrameType;
        if ty == HEADERS && self.role == Role::Request {
            self.sections += 1;
            let section = std::mem::take(&mut self.section);
            check_section(&section, self.sections == 1).map_err(|_| MESSAGE_ERROR)?;
        }
        Ok(())
    }
}

/// A pseudo-header a request may carry (RFC 9114 §4.3.1; `:protocol`, RFC 9220 §3).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Pseudo {
    Method = 0,
    Scheme = 1,
    Authority = 2,
    Path = 3,
    Protocol = 4,
}

/// What a field's name is, for the checks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Name {
    Pseudo(Pseudo),
    /// `:status`, or a name starting with `:` that no specification defines for requests.
    UndefinedPseudo,
    Regular,
}

/// Why a field section is refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Malformed {
    /// The guard cannot read it (dynamic table, bad index, truncated, bad Huffman code).
    Unreadable,
    PseudoAfterRegular,
    RepeatedPseudo,
    UndefinedPseudo,
    PseudoInTrailers,
}

/// The names of QPACK's static table that matter here, by index (RFC 9204 Appendix A).
fn static_name(index: u64) -> Result<Name, Malformed> {
    Ok(match index {
        0 => Name::Pseudo(Pseudo::Authority),
        1 => Name::Pseudo(Pseudo::Path),
        15..=21 => Name::Pseudo(Pseudo::Method),
        22 | 23 => Name::Pseudo(Pseudo::Scheme),
        24..=28 | 63..=71 => Name::UndefinedPseudo, // `:status`: a response's
        2..=98 => Name::Regular,
        _ => return Err(Malformed::Unreadable),
    })
}

fn literal_name(name: &[u8]) -> Name {
    match name {
        b":method" => Name::Pseudo(Pseudo::Method),
        b":scheme" => Name::Pseudo(Pseudo::Scheme),
        b":authority" => Name::Pseudo(Pseudo::Authority),
        b":path" => Name::Pseudo(Pseudo::Path),
        b":protocol" => Name::Pseudo(Pseudo::Protocol),
        [b':', ..] => Name::UndefinedPseudo,
        _ => Name::Regular,
    }
}

/// Checks the pseudo-headers of an encoded field section (RFC 9204 §4.5): a request's header
/// section when `first`, else trailers.
fn check_section(block: &[u8], first: bool) -> Result<(), Malformed> {
    let mut at = 0;
    // Required Insert Count (RFC 9204 §4.5.1.1): not zero means the dynamic table.
    if prefix_int(block, &mut at, 8)? != 0 {
        return Err(Malformed::Unreadable);
    }
    // Delta Base, with its sign bit; meaningless without the dynamic table.
    prefix_int(block, &mut at, 7)?;
    let mut seen = 0u8;
    let mut regular = false;
    while let Some(&octet) = block.get(at) {
        let name = if octet & 0x80 != 0 {
            // Indexed field line, `1Txxxxxx` (§4.5.2); T = 0 is the dynamic table.
            if octet & 0x40 == 0 {
                return Err(Malformed::Unreadable);
            }
            static_name(prefix_int(block, &mut at, 6)?)?
        } else if octet & 0x40 != 0 {
            // Literal with name reference, `01NTxxxx` (§4.5.4).
            if octet & 0x10 == 0 {
                return Err(Malformed::Unreadable);
            }
            let name = static_name(prefix_int(block, &mut at, 4)?)?;
            string(block, &mut at, 7)?;
            name
        } else if octet & 0x20 != 0 {
            // Literal with literal name, `001NHxxx` (§4.5.6).
            let name = literal_name(&string(block, &mut at, 3)?);
            string(block, &mut at, 7)?;
            name
        } else {
            // Post-base forms (§4.5.3, §4.5.5) need the dynamic table.
            return Err(Malformed::Unreadable);
        };
        match name {
            Name::Regular => regular = true,
            _ if !first => return Err(Malformed::PseudoInTrailers),
            Name::UndefinedPseudo => return Err(Malformed::UndefinedPseudo),
            Name::Pseudo(_) if regular => return Err(Malformed::PseudoAfterRegular),
            Name::Pseudo(pseudo) => {
                let bit = 1 << pseudo as u8;
                if seen & bit != 0 {
                    return Err(Malformed::RepeatedPseudo);
                }
                seen |= bit;
            }
        }
    }
    Ok(())
}

/// An integer with an N-bit prefix (RFC 9204 §4.1.1, which is RFC 7541 §5.1), starting at the
/// octet at `at`; values past 2^32 are refused (no field section needs them).
fn prefix_int(block: &[u8], at: &mut usize, prefix: u32) -> Result<u64, Malformed> {
    let mask = (1u64 << prefix) - 1;
    let first = *block.get(*at).ok_or(Malformed::Unreadable)?;
    *at += 1;
    let mut value = u64::from(first) & mask;
    if value < mask {
        return Ok(value);
    }
    let mut shift = 0;
    loop {
        if shift > 28 {
            return Err(Malformed::Unreadable);
        }
        let octet = *block.get(*at).ok_or(Malformed::Unreadable)?;
        *at += 1;
        value += u64::from(octet & 0x7f) << shift;
        if value > u64::from(u32::MAX) {
            return Err(Malformed::Unreadable);
        }
        if octet & 0x80 == 0 {
            return Ok(value);
        }
        shift += 7;
    }
}

/// A string literal whose length has an N-bit prefix and whose Huffman flag is the bit above
/// it (RFC 9204 §4.1.2), decoded.
fn string(block: &[u8], at: &mut usize, prefix: u32) -> Result<Vec<u8>, Malformed> {
    let huffman = block.get(*at).ok_or(Malformed::Unreadable)? & (1 << prefix) != 0;
    let len = usize::try_from(prefix_int(block, at, prefix)?).map_err(|_| Malformed::Unreadable)?;
    let end = at.checked_add(len).ok_or(Malformed::Unreadable)?;
    let raw = block.get(*at..end).ok_or(Malformed::Unreadable)?;
    *at = end;
    if huffman {
        crate::parse::huffman::decode(raw, usize::MAX).map_err(|_| Malformed::Unreadable)
    } else {
        Ok(raw.to_vec())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A field section of literals with literal names, no Huffman code.
    fn section(fields: &[(&str, &str)]) -> Vec<u8> {
        let mut out = vec![0, 0];
        for (name, value) in fields {
            assert!(name.len() < 7 + 127 && value.len() < 127);
            // `001NHxxx`: the name's length has a 3-bit prefix.
            if name.len() < 7 {
                out.push(0x20 | name.len() as u8);
            } else {
                out.push(0x27);
                out.push(name.len() as u8 - 7);
            }
            out.extend_from_slice(name.as_bytes());
            out.push(value.len() as u8);
            out.extend_from_slice(value.as_bytes());
        }
        out
    }

    fn frame(ty: u8, payload: &[u8]) -> Vec<u8> {
        let mut out = vec![ty];
        let len = payload.len();
        if len < 64 {
            out.push(len as u8);
        } else {
            out.extend_from_slice(&(0x4000 | len as u16).to_be_bytes());
        }
        out.extend_from_slice(payload);
        out
    }

    const REQUEST: [(&str, &str); 4] = [
        (":method", "GET"),
        (":scheme", "https"),
        (":path", "/"),
        ("host", "a"),
    ];

    #[test]
    fn a_plain_request_passes_whole_and_octet_by_octet() {
        let stream = [frame(1, &section(&REQUEST)), frame(0, b"body")].concat();
        assert_eq!(FrameCheck::new(Role::Request).feed(&stream), Ok(()));
        let mut check = FrameCheck::new(Role::Request);
        for octet in &stream {
            assert_eq!(check.feed(std::slice::from_ref(octet)), Ok(()));
        }
        assert_eq!(check.sections, 1);
    }

    #[test]
    fn static_references_read_as_their_names() {
        // :method GET (17), :scheme https (23), :path / (1), :authority (0) with a value.
        let block = [0, 0, 0xc0 | 17, 0xc0 | 23, 0xc1, 0x50, 1, b'a'];
        assert_eq!(check_section(&block, true), Ok(()));
        // :authority twice: once indexed with a value, once as a literal name.
        let mut twice = block.to_vec();
        twice.extend_from_slice(&section(&[(":authority", "b")])[2..]);
        assert_eq!(check_section(&twice, true), Err(Malformed::RepeatedPseudo));
        // :status 200 (25) in a request, :status 421 (69).
        assert_eq!(
            check_section(&[0, 0, 0xc0 | 25], true),
            Err(Malformed::UndefinedPseudo)
        );
        assert_eq!(
            check_section(&[0, 0, 0xff, 69 - 63], true),
            Err(Malformed::UndefinedPseudo)
        );
        // Index 99 is past the table; a dynamic reference (T = 0) is unreadable here.
        assert_eq!(
            check_section(&[0, 0, 0xff, 99 - 63], true),
            Err(Malformed::Unreadable)
        );
        assert_eq!(
            check_section(&[0, 0, 0x80], true),
            Err(Malformed::Unreadable)
        );
        // Required Insert Count 1: the dynamic table.
        assert_eq!(check_section(&[1, 0], true), Err(Malformed::Unreadable));
    }

    #[test]
    fn the_reviews_shapes_are_refused() {
        let cases: [(&[(&str, &str)], Malformed); 4] = [
            (
                &[(":authority", "evil"), (":authority", "a")],
                Malformed::RepeatedPseudo,
            ),
            (
                &[(":scheme", "http"), (":scheme", "https")],
                Malformed::RepeatedPseudo,
            ),
            (
                &[("host", "a"), (":path", "/")],
                Malformed::PseudoAfterRegular,
            ),
            (&[(":foo", "x")], Malformed::UndefinedPseudo),
        ];
        for (fields, why) in cases {
            let block = section(fields);
            assert_eq!(check_section(&block, true), Err(why), "{block:?}");
            let mut check = FrameCheck::new(Role::Request);
            assert_eq!(check.feed(&frame(1, &block)), Err(MESSAGE_ERROR));
            assert_eq!(check.feed(b"more"), Ok(()), "nothing more is read");
            assert_eq!(check.failed, Some(MESSAGE_ERROR));
        }
    }

    #[test]
    fn huffman_coded_names_are_read() {
        // ":path" Huffman-coded: ':' 1011100, 'p' 101011, 'a' 00011, 't' 01001, 'h' 100111,
        // then padding with ones.
        let bits = "1011100101011000110100110011 1".replace(' ', "");
        let mut bits = bits.into_bytes();
        while bits.len() % 8 != 0 {
            bits.push(b'1');
        }
        let coded: Vec<u8> = bits
            .chunks(8)
            .map(|c| u8::from_str_radix(std::str::from_utf8(c).unwrap(), 2).unwrap())
            .collect();
        assert_eq!(crate::parse::huffman::decode(&coded, 16).unwrap(), b":path");
        let mut block = vec![0, 0, 0xc1]; // :path / (index 1)
        block.push(0x28 | coded.len() as u8); // literal name, H = 1, length < 7
        block.extend_from_slice(&coded);
        block.push(1);
        block.push(b'/');
        assert_eq!(check_section(&block, true), Err(Malformed::RepeatedPseudo));
    }

    #[test]
    fn trailers_carry_no_pseudo_headers() {
        let header = frame(1, &section(&REQUEST));
        let good = [header.clone(), frame(1, &section(&[("x", "1")]))].concat();
        assert_eq!(FrameCheck::new(Role::Request).feed(&good), Ok(()));
        let bad = [header, frame(1, &section(&[(":path", "/")]))].concat();
        assert_eq!(
            FrameCheck::new(Role::Request).feed(&bad),
            Err(MESSAGE_ERROR)
        );
    }

    #[test]
    fn a_long_frame_is_refused_at_its_header() {
        // HEADERS announcing 2^40 octets (the review's shape): refused at the length's last octet.
        let mut check = FrameCheck::new(Role::Request);
        let header = [0x01, 0xc0, 0, 0, 0x01, 0, 0, 0, 0];
        assert_eq!(check.feed(&header[..8]), Ok(()));
        assert_eq!(check.feed(&header[8..]), Err(EXCESSIVE_LOAD));
        // An unknown frame type too; a DATA frame of any length passes.
        let mut check = FrameCheck::new(Role::Request);
        assert_eq!(
            check.feed(&[0x21, 0x80, 0, 0x80, 0x01]),
            Err(EXCESSIVE_LOAD)
        );
        let mut check = FrameCheck::new(Role::Request);
        let data = [
            frame(1, &section(&REQUEST)),
            vec![0x00, 0xc0, 0, 0, 0x01, 0, 0, 0, 0],
        ];
        assert_eq!(check.feed(&data.concat()), Ok(()));
        // MAX_FRAME itself is allowed.
        let mut check = FrameCheck::new(Role::Request);
        assert_eq!(check.feed(&[0x21, 0x80, 0, 0x80, 0x00]), Ok(()));
    }

    #[test]
    fn the_control_stream_is_bounded_and_other_streams_pass() {
        let mut control = FrameCheck::new(Role::Unidirectional);
        assert_eq!(control.feed(&[CONTROL as u8, 0x04, 0]), Ok(())); // empty SETTINGS
        assert_eq!(control.role, Role::Control);
        assert_eq!(
            control.feed(&[0x04, 0x80, 0, 0x80, 0x01]),
            Err(EXCESSIVE_LOAD)
        );
        let mut encoder = FrameCheck::new(Role::Unidirectional);
        assert_eq!(encoder.feed(&[0x02, 0xff, 0xff, 0xff]), Ok(()));
        assert_eq!(encoder.role, Role::Pass);
    }

    #[test]
    fn truncated_and_overlong_integers_are_unreadable() {
        assert_eq!(check_section(&[], true), Err(Malformed::Unreadable));
        assert_eq!(check_section(&[0], true), Err(Malformed::Unreadable));
        // A literal name whose length runs past the block.
        assert_eq!(
            check_section(&[0, 0, 0x25, b'a'], true),
            Err(Malformed::Unreadable)
        );
        // An integer of more than 32 bits.
        let mut block = vec![0, 0, 0xff];
        block.extend_from_slice(&[0xff; 6]);
        block.push(0x01);
        assert_eq!(check_section(&block, true), Err(Malformed::Unreadable));
    }
}
