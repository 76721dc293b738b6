//! HTTP/2 over raw frames (RFC 9113 §4, §6): any header block, exactly as given.
//!
//! A library client (hyper, h2) builds `:scheme`, `:authority` and `:path` from a URI, so it
//! cannot send the shapes RFC 9113 allows or forbids around them: `Host` in place of
//! `:authority` (§8.3.1), `:authority` and `host` that disagree, two `:authority`, `:scheme
//! http` over TLS. [`Http2`] writes the connection preface, SETTINGS and one HEADERS frame per
//! request whose block is made of HPACK literals ([`encode_literals`]), so every pseudo-header
//! combination reaches the server as sent; it reads the answer frame by frame, acknowledging
//! SETTINGS and PING and returning the flow-control window it used, over any byte stream (TLS
//! or cleartext with prior knowledge, §3.3).
//!
//! What a server sends is bounded: a frame's payload, a header block, the header list it
//! decodes to, the SETTINGS and PING frames and the informational responses one answer reads.
//! Time is the stream's to bound: the probe's streams end by a deadline
//! ([`TimedTcp`](super::client::TimedTcp)).

use std::io::{self, Read, Write};

use super::hpack::{Decoder, encode_literals};
use super::{Answer, MAX_INTERIM};

/// DATA.
pub const DATA: u8 = 0x0;
/// HEADERS.
pub const HEADERS: u8 = 0x1;
/// RST_STREAM.
pub const RST_STREAM: u8 = 0x3;
/// SETTINGS.
pub const SETTINGS: u8 = 0x4;
/// PUSH_PROMISE.
pub const PUSH_PROMISE: u8 = 0x5;
/// PING.
pub const PING: u8 = 0x6;
/// GOAWAY.
pub const GOAWAY: u8 = 0x7;
/// WINDOW_UPDATE.
pub const WINDOW_UPDATE: u8 = 0x8;
/// CONTINUATION.
pub const CONTINUATION: u8 = 0x9;

/// END_STREAM (DATA, HEADERS).
pub const END_STREAM: u8 = 0x1;
/// ACK (SETTINGS, PING).
pub const ACK: u8 = 0x1;
/// END_HEADERS (HEADERS, CONTINUATION).
pub const END_HEADERS: u8 = 0x4;
/// PADDED (DATA, HEADERS).
pub const PADDED: u8 = 0x8;
/// PRIORITY (HEADERS).
pub const PRIORITY: u8 = 0x20;

/// SETTINGS_HEADER_TABLE_SIZE.
pub const SETTINGS_HEADER_TABLE_SIZE: u16 = 0x1;
/// SETTINGS_ENABLE_PUSH.
pub const SETTINGS_ENABLE_PUSH: u16 = 0x2;
/// SETTINGS_MAX_HEADER_LIST_SIZE.
pub const SETTINGS_MAX_HEADER_LIST_SIZE: u16 = 0x6;
/// SETTINGS_ENABLE_CONNECT_PROTOCOL (RFC 8441 §3).
pub const SETTINGS_ENABLE_CONNECT_PROTOCOL: u16 = 0x8;

/// Error code PROTOCOL_ERROR (RFC 9113 §7).
pub const PROTOCOL_ERROR: u32 = 0x1;
/// Error code COMPRESSION_ERROR (RFC 9113 §7).
pub const COMPRESSION_ERROR: u32 = 0x9;
/// Error code ENHANCE_YOUR_CALM (RFC 9113 §7).
pub const ENHANCE_YOUR_CALM: u32 = 0xb;

/// The client's SETTINGS_HEADER_TABLE_SIZE: 0, so the server's encoder may keep nothing in
/// its dynamic table (RFC 7541 §4.2), and the client's decoder holds it to that: a table size
/// update above 0 is a decoding error, and an indexed literal adds nothing.
pub const HEADER_TABLE_SIZE: u32 = 0;

/// The client's SETTINGS_MAX_HEADER_LIST_SIZE (RFC 9113 §6.5.2): the most a response's header
/// list may hold, each field counting its name, its value and 32 octets. The decoder stops at
/// a list past it and the connection fails (GOAWAY COMPRESSION_ERROR: the block is left half
/// decoded, §4.3). A response's headers are a few KiB; this leaves room for large cookies
/// and policies and keeps a block from decoding to more than 64 KiB.
pub const MAX_HEADER_LIST_SIZE: u32 = 64 * 1024;

/// The most octets of one header block (a HEADERS or PUSH_PROMISE frame's fragment and its
/// CONTINUATION frames) the client gathers. RFC 9113 §6.10 sets no limit on how many
/// CONTINUATION frames follow: without one, a server that never sets END_HEADERS grows the
/// client without bound. A longer block fails the connection (GOAWAY ENHANCE_YOUR_CALM): it
/// cannot be skipped, since every block shares the connection's HPACK state (§4.3, §10.5.1).
///
/// It equals [`MAX_HEADER_LIST_SIZE`]: a block encoding a list the client accepts is no
/// longer, since every field counts 32 octets in the list on top of its name and value, more
/// than its encoding's prefixes take (unless an encoder Huffman-codes strings into more octets
/// than they have, which RFC 7541 §5.2 allows and no encoder does).
pub const MAX_HEADER_BLOCK: usize = MAX_HEADER_LIST_SIZE as usize;

/// The most SETTINGS and PING frames, each asking for an acknowledgement, one answer reads:
/// a server sending them without end keeps the client writing ACKs instead of reading an
/// answer. Past it the connection fails with GOAWAY ENHANCE_YOUR_CALM (RFC 9113 §10.5).
pub const MAX_ACKS: usize = 16;

/// The largest frame payload read: SETTINGS_MAX_FRAME_SIZE's initial value, which the client
/// never raises (RFC 9113 §4.2).
const MAX_FRAME: usize = 16_384;

/// The most response body kept per request; the rest is read and dropped.
const MAX_BODY: usize = 64 * 1024;

/// The connection preface (RFC 9113 §3.4).
const PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

/// One frame as read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Frame {
    /// The type.
    pub kind: u8,
    /// The flags.
    pub flags: u8,
    /// The stream identifier (the reserved bit cleared).
    pub stream: u32,
    /// The payload, padding included.
    pub payload: Vec<u8>,
}

/// An HTTP/2 client connection over a byte stream, one request at a time.
#[derive(Debug)]
pub struct Http2<S> {
    io: S,
    decoder: Decoder,
    next_stream: u32,
    settings: Vec<(u16, u32)>,
    closed: bool,
    /// Octets of DATA received on the connection and not yet given back by WINDOW_UPDATE.
    unacked: u32,
}

/// WINDOW_UPDATE is sent once this many octets of DATA are owed (on the connection, or on the
/// request's stream): half the 65,535 the probe's SETTINGS leave as the initial window, so
/// neither window runs dry, and a few frames' worth at a time rather than one update per
/// frame (Traffic Server's `min_avg_window_update` ends a connection whose updates average
/// under 2,560 octets with GOAWAY(ENHANCE_YOUR_CALM)).
const WINDOW_BATCH: u32 = 32 * 1024;

fn be32(bytes: &[u8]) -> u32 {
    u32::from_be_bytes([bytes[0], bytes[1], bytes[2], bytes[3]])
}

/// Whether an I/O error means the peer closed the connection (as opposed to a timeout or a
/// TLS alert, which say more).
pub(crate) fn is_closed(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::UnexpectedEof
            | io::ErrorKind::ConnectionReset
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::BrokenPipe
    )
}

impl<S: Read + Write> Http2<S> {
    /// Sends the preface and the client's SETTINGS (push disabled, a header table of
    /// [`HEADER_TABLE_SIZE`], header lists of at most [`MAX_HEADER_LIST_SIZE`]), reads the
    /// server's SETTINGS (its preface) and acknowledges them.
    ///
    /// # Errors
    /// The stream's error, or `InvalidData` when the server's first frame is not SETTINGS.
    pub fn handshake(mut io: S) -> io::Result<Http2<S>> {
        io.write_all(PREFACE)?;
        // The server applies these before it reads the first request (RFC 9113 §6.5.3: in the
        // order received), so every response's block is held to them.
        let mut settings = Vec::new();
        for (id, value) in [
            (SETTINGS_HEADER_TABLE_SIZE, HEADER_TABLE_SIZE),
            (SETTINGS_ENABLE_PUSH, 0),
            (SETTINGS_MAX_HEADER_LIST_SIZE, MAX_HEADER_LIST_SIZE),
        ] {
            settings.extend_from_slice(&id.to_be_bytes());
            settings.extend_from_slice(&value.to_be_bytes());
        }
        write_frame(&mut io, SETTINGS, 0, 0, &settings)?;
        io.flush()?;
        let frame = read_frame(&mut io)?;
        if frame.kind != SETTINGS || frame.flags & ACK != 0 {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!(
                    "the server's preface is a frame of type {}, not SETTINGS",
                    frame.kind
                ),
            ));
        }
        let settings = frame
            .payload
            .chunks_exact(6)
            .map(|s| (u16::from_be_bytes([s[0], s[1]]), be32(&s[2..6])))
            .collect();
        write_frame(&mut io, SETTINGS, ACK, 0, &[])?;
        io.flush()?;
        Ok(Http2 {
            io,
            decoder: Decoder::with_limits(
                HEADER_TABLE_SIZE as usize,
                MAX_HEADER_LIST_SIZE as usize,
            ),
            next_stream: 1,
            settings,
            closed: false,
            unacked: 0,
        })
    }

    /// The settings of the server's preface, as (identifier, value) pairs.
    #[must_use]
    pub fn server_settings(&self) -> &[(u16, u32)] {
        &self.settings
    }

    /// Whether a server setting has this value in its preface.
    #[must_use]
    pub fn server_setting(&self, id: u16) -> Option<u32> {
        self.settings
            .iter()
            .rev()
            .find(|(i, _)| *i == id)
            .map(|(_, v)| *v)
    }

    /// Whether the connection is known to be unusable: GOAWAY or EOF seen, or GOAWAY sent
    /// after an answer it could not read.
    #[must_use]
    pub fn is_closed(&self) -> bool {
        self.closed
    }

    /// The stream underneath.
    pub fn get_ref(&self) -> &S {
        &self.io
    }

    /// The stream underneath, to move its deadline before an exchange, say.
    pub fn get_mut(&mut self) -> &mut S {
        &mut self.io
    }

    /// Sends a header block on a new stream (`end_stream`: no body follows, as for a GET) and
    /// reads the answer on that stream: the final response with its body, a reset, a GOAWAY,
    /// or the connection's end. A 2xx to a request whose stream stays open (CONNECT) is
    /// returned at its HEADERS.
    ///
    /// # Errors
    /// A timeout, a TLS alert, a frame or header block that does not parse, or a server past
    /// a bound: a header block past [`MAX_HEADER_BLOCK`], a header list past
    /// [`MAX_HEADER_LIST_SIZE`], more than [`MAX_ACKS`] SETTINGS and PING frames or more than
    /// [`MAX_INTERIM`] informational responses. Past a bound the connection is failed
    /// (GOAWAY) and [`Http2::is_closed`].
    pub fn exchange(&mut self, fields: &[(&[u8], &[u8])], end_stream: bool) -> io::Result<Answer> {
        if self.closed {
            return Ok(Answer::Closed);
        }
        let stream = self.next_stream;
        self.next_stream += 2;
        let block = encode_literals(fields);
        if block.len() > MAX_FRAME {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "a header block larger than one frame",
            ));
        }
        let flags = END_HEADERS | if end_stream { END_STREAM } else { 0 };
        let sent = write_frame(&mut self.io, HEADERS, flags, stream, &block)
            .and_then(|()| self.io.flush());
        match sent {
            Err(e) if is_closed(&e) => {
                self.closed = true;
                return Ok(Answer::Closed);
            }
            other => other?,
        }
        match self.answer(stream, end_stream) {
            Err(e) if is_closed(&e) => {
                self.closed = true;
                Ok(Answer::Closed)
            }
            other => other,
        }
    }

    fn answer(&mut self, stream: u32, end_stream: bool) -> io::Result<Answer> {
        let mut status = None;
        let mut block = Vec::new();
        let mut block_stream = 0;
        // END_STREAM is a flag of the HEADERS frame, not of the CONTINUATION that ends its
        // block (RFC 9113 §6.2, §6.10).
        let mut block_ends_stream = false;
        let mut body = Vec::new();
        let (mut acks, mut interim) = (0, 0);
        // DATA on the request's stream not yet given back.
        let mut stream_unacked = 0u32;
        loop {
            let frame = match read_frame(&mut self.io) {
                Ok(frame) => frame,
                // Once the final status is read, a connection that ends, breaks or passes the
                // deadline does not take it back (a 200 cut short is still served); the
                // connection is not used again.
                Err(e) => {
                    return match status {
                        Some(status) => {
                            self.closed = true;
                            Ok(Answer::Response { status, body })
                        }
                        None => Err(e),
                    };
                }
            };
            match frame.kind {
                SETTINGS | PING if frame.flags & ACK == 0 => {
                    acks += 1;
                    if acks > MAX_ACKS {
                        return Err(self.fail(
                            ENHANCE_YOUR_CALM,
                            format!("more than {MAX_ACKS} SETTINGS and PING frames in one answer"),
                        ));
                    }
                    let payload: &[u8] = if frame.kind == PING {
                        &frame.payload
                    } else {
                        &[]
                    };
                    write_frame(&mut self.io, frame.kind, ACK, 0, payload)?;
                    self.io.flush()?;
                }
                GOAWAY if frame.payload.len() >= 8 => {
                    let last = be32(&frame.payload[0..4]) & 0x7fff_ffff;
                    let code = be32(&frame.payload[4..8]);
                    self.closed = true;
                    // A graceful GOAWAY that still covers this stream: its answer follows.
                    if !(code == 0 && last >= stream) {
                        return Ok(match status {
                            Some(status) => Answer::Response { status, body },
                            None => Answer::GoAway(code),
                        });
                    }
                }
                DATA => {
                    let data = unpad(&frame)?;
                    // Give back what frames used, padding included (RFC 9113 §6.9), in
                    // batches of WINDOW_BATCH, so long runs of responses never stall on the
                    // connection's window and a long body not on its stream's.
                    let used = frame.payload.len() as u32;
                    self.unacked = self.unacked.saturating_add(used);
                    let mut wrote = false;
                    if self.unacked >= WINDOW_BATCH {
                        let owed = std::mem::take(&mut self.unacked);
                        write_frame(&mut self.io, WINDOW_UPDATE, 0, 0, &owed.to_be_bytes())?;
                        wrote = true;
                    }
                    if frame.stream == stream && frame.flags & END_STREAM == 0 {
                        stream_unacked = stream_unacked.saturating_add(used);
                        if stream_unacked >= WINDOW_BATCH {
                            let owed = std::mem::take(&mut stream_unacked);
                            write_frame(
                                &mut self.io,
                                WINDOW_UPDATE,
                                0,
                                stream,
                                &owed.to_be_bytes(),
                            )?;
                            wrote = true;
                        }
                    }
                    if wrote {
                        self.io.flush()?;
                    }
                    if frame.stream == stream {
                        let room = MAX_BODY.saturating_sub(body.len());
                        body.extend_from_slice(&data[..data.len().min(room)]);
                        if frame.flags & END_STREAM != 0 {
                            let status = status.ok_or_else(|| invalid("DATA before HEADERS"))?;
                            return Ok(Answer::Response { status, body });
                        }
                    }
                }
                HEADERS | CONTINUATION | PUSH_PROMISE => {
                    // Every header block is decoded, whatever its stream: they share the
                    // dynamic table.
                    let fragment = if frame.kind == HEADERS {
                        block_stream = frame.stream;
                        block_ends_stream = frame.flags & END_STREAM != 0;
                        headers_fragment(&frame)?
                    } else if frame.kind == PUSH_PROMISE {
                        block_stream = 0;
                        block_ends_stream = false;
                        unpad(&frame)?.get(4..).unwrap_or_default()
                    } else {
                        &frame.payload[..]
                    };
                    if block.len() + fragment.len() > MAX_HEADER_BLOCK {
                        return Err(self.fail(
                            ENHANCE_YOUR_CALM,
                            format!(
                                "a header block past {MAX_HEADER_BLOCK} octets (HEADERS and \
                                 CONTINUATION)"
                            ),
                        ));
                    }
                    block.extend_from_slice(fragment);
                    if frame.flags & END_HEADERS == 0 {
                        continue;
                    }
                    // A decoding error is a connection error (RFC 9113 §4.3): the shared
                    // HPACK state is lost with the rest of the block.
                    let fields = match self.decoder.decode(&block) {
                        Ok(fields) => fields,
                        Err(e) => return Err(self.fail(COMPRESSION_ERROR, e.to_string())),
                    };
                    block.clear();
                    if block_stream != stream {
                        continue;
                    }
                    let code = fields
                        .iter()
                        .find(|(name, _)| name == b":status")
                        .and_then(|(_, v)| core::str::from_utf8(v).ok()?.parse::<u16>().ok());
                    // Informational (1xx) responses precede the final one; trailers have no
                    // :status.
                    match code {
                        Some(code) if code >= 200 => status = Some(code),
                        Some(_) => {
                            // RFC 9110 §15.2 puts no bound on how many precede the final one.
                            interim += 1;
                            if interim > MAX_INTERIM {
                                return Err(self.fail(
                                    ENHANCE_YOUR_CALM,
                                    format!(
                                        "more than {MAX_INTERIM} informational (1xx) responses"
                                    ),
                                ));
                            }
                        }
                        None if status.is_none() => {
                            return Err(io::Error::new(
                                io::ErrorKind::InvalidData,
                                "a response header block without :status",
                            ));
                        }
                        None => {}
                    }
                    let done = block_ends_stream
                        || (!end_stream && status.is_some_and(|s| (200..300).contains(&s)));
                    match status {
                        Some(status) if done => return Ok(Answer::Response { status, body }),
                        _ => {}
                    }
                }
                RST_STREAM if frame.stream == stream && frame.payload.len() >= 4 => {
                    // After the final status a reset ends the body, not the response.
                    return Ok(match status {
                        Some(status) => Answer::Response { status, body },
                        None => Answer::Reset(be32(&frame.payload)),
                    });
                }
                _ => {}
            }
        }
    }
}

impl<S: Write> Http2<S> {
    /// Ends the connection from the client's side: GOAWAY with this code (RFC 9113 §5.4.1,
    /// last stream 0: the client accepts no pushes), written as a courtesy since the server
    /// may be past listening, and the error to return.
    fn fail(&mut self, code: u32, why: String) -> io::Error {
        self.closed = true;
        let mut goaway = [0u8; 8];
        goaway[4..].copy_from_slice(&code.to_be_bytes());
        let _ = write_frame(&mut self.io, GOAWAY, 0, 0, &goaway).and_then(|()| self.io.flush());
        io::Error::new(io::ErrorKind::InvalidData, why)
    }
}

/// The payload of a DATA, HEADERS or PUSH_PROMISE frame without its padding.
fn unpad(frame: &Frame) -> io::Result<&[u8]> {
    if frame.flags & PADDED == 0 || frame.kind == CONTINUATION {
        return Ok(&frame.payload);
    }
    let pad = usize::from(
        *frame
            .payload
            .first()
            .ok_or_else(|| invalid("empty padded frame"))?,
    );
    frame
        .payload
        .get(1..frame.payload.len().saturating_sub(pad))
        .filter(|_| pad < frame.payload.len())
        .ok_or_else(|| invalid("padding longer than the frame"))
}

/// A HEADERS frame's block fragment: without padding and priority fields.
fn headers_fragment(frame: &Frame) -> io::Result<&[u8]> {
    let data = unpad(frame)?;
    if frame.flags & PRIORITY != 0 {
        data.get(5..)
            .ok_or_else(|| invalid("HEADERS shorter than its priority"))
    } else {
        Ok(data)
    }
}

fn invalid(what: &'static str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, what)
}

/// Writes one frame (RFC 9113 §4.1).
///
/// # Errors
/// The stream's.
pub fn write_frame<W: Write>(
    io: &mut W,
    kind: u8,
    flags: u8,
    stream: u32,
    payload: &[u8],
) -> io::Result<()> {
    let len = u32::try_from(payload.len())
        .ok()
        .filter(|len| *len < 1 << 24)
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "a frame past 2^24 octets"))?
        .to_be_bytes();
    let mut frame = Vec::with_capacity(9 + payload.len());
    frame.extend_from_slice(&[len[1], len[2], len[3], kind, flags]);
    frame.extend_from_slice(&(stream & 0x7fff_ffff).to_be_bytes());
    frame.extend_from_slice(payload);
    io.write_all(&frame)
}

/// Reads one frame; a payload past 16,384 octets (the client never allows more) is an error.
///
/// # Errors
/// The stream's (`UnexpectedEof` when it ends), or `InvalidData` for an oversized frame.
pub fn read_frame<R: Read>(io: &mut R) -> io::Result<Frame> {
    let mut head = [0u8; 9];
    io.read_exact(&mut head)?;
    let len = u32::from_be_bytes([0, head[0], head[1], head[2]]) as usize;
    if len > MAX_FRAME {
        return Err(invalid("a frame larger than SETTINGS_MAX_FRAME_SIZE"));
    }
    let mut payload = vec![0u8; len];
    io.read_exact(&mut payload)?;
    Ok(Frame {
        kind: head[3],
        flags: head[4],
        stream: be32(&head[5..9]) & 0x7fff_ffff,
        payload,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A byte stream that reads from a script of frames and records what is written.
    struct Script {
        input: io::Cursor<Vec<u8>>,
        written: Vec<u8>,
    }

    impl Read for Script {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            self.input.read(buf)
        }
    }

    impl Write for Script {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.written.extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    /// The server's preface (empty SETTINGS) and then these frames, each (type, flags,
    /// stream, payload); the client's connection after its handshake.
    fn connection(frames: &[(u8, u8, u32, Vec<u8>)]) -> Http2<Script> {
        let mut input = Vec::new();
        write_frame(&mut input, SETTINGS, 0, 0, &[]).unwrap();
        for (kind, flags, stream, payload) in frames {
            write_frame(&mut input, *kind, *flags, *stream, payload).unwrap();
        }
        Http2::handshake(Script {
            input: io::Cursor::new(input),
            written: Vec::new(),
        })
        .unwrap()
    }

    fn get(conn: &mut Http2<Script>) -> io::Result<Answer> {
        conn.exchange(&[(b":method", b"GET"), (b":path", b"/")], true)
    }

    /// The frames the client wrote of this type.
    fn written(conn: &Http2<Script>, kind: u8) -> Vec<Frame> {
        let mut io = &conn.io.written[PREFACE.len()..];
        let mut frames = Vec::new();
        while !io.is_empty() {
            let frame = read_frame(&mut io).unwrap();
            if frame.kind == kind {
                frames.push(frame);
            }
        }
        frames
    }

    #[test]
    fn a_response_reads() {
        let mut conn = connection(&[(HEADERS, END_HEADERS | END_STREAM, 1, vec![0x88])]);
        assert_eq!(
            get(&mut conn).unwrap(),
            Answer::Response {
                status: 200,
                body: Vec::new()
            }
        );
    }

    /// A final status read stands when the stream is reset, the server says GOAWAY, or the
    /// connection ends before END_STREAM: a 200 cut short is served, not refused (a reset or
    /// a close alone matches a 400 expected). The connection is not used again.
    #[test]
    fn a_status_stands_when_its_body_is_cut() {
        let cut = |end: Option<(u8, Vec<u8>)>| {
            let mut frames = vec![
                (HEADERS, END_HEADERS, 1, vec![0x88]),
                (DATA, 0, 1, b"admin".to_vec()),
            ];
            if let Some((kind, payload)) = end {
                frames.push((kind, 0, if kind == GOAWAY { 0 } else { 1 }, payload));
            }
            let mut conn = connection(&frames);
            let answer = get(&mut conn).unwrap();
            (answer, conn.closed)
        };
        let served = Answer::Response {
            status: 200,
            body: b"admin".to_vec(),
        };
        for (end, what) in [
            (
                Some((RST_STREAM, 8u32.to_be_bytes().to_vec())),
                "RST_STREAM",
            ),
            (Some((GOAWAY, [0, 0, 0, 0, 0, 0, 0, 2].to_vec())), "GOAWAY"),
            (None, "the connection's end"),
        ] {
            let (answer, closed) = cut(end);
            assert_eq!(answer, served, "{what}");
            assert!(closed || what == "RST_STREAM", "{what}");
        }
        // Without a status, a reset is still the answer.
        let mut conn = connection(&[(RST_STREAM, 0, 1, 1u32.to_be_bytes().to_vec())]);
        assert_eq!(get(&mut conn).unwrap(), Answer::Reset(1));
    }

    /// WINDOW_UPDATE comes in batches of at least WINDOW_BATCH octets, never one per DATA
    /// frame, on the connection and on a long body's stream, and covers every octet owed.
    #[test]
    fn window_updates_are_batched() {
        // Five responses on streams 1..9 of 100 DATA frames of 1,000 octets each.
        let mut frames = Vec::new();
        for i in 0..5u32 {
            let stream = 2 * i + 1;
            frames.push((HEADERS, END_HEADERS, stream, vec![0x88]));
            for n in 0..100 {
                let flags = if n == 99 { END_STREAM } else { 0 };
                frames.push((DATA, flags, stream, vec![b'x'; 1000]));
            }
        }
        let mut conn = connection(&frames);
        for _ in 0..5 {
            assert!(matches!(
                get(&mut conn).unwrap(),
                Answer::Response { status: 200, .. }
            ));
        }
        let updates = written(&conn, WINDOW_UPDATE);
        let amount = |f: &Frame| be32(&f.payload) as usize;
        let (on_conn, on_streams): (Vec<_>, Vec<_>) = updates.iter().partition(|f| f.stream == 0);
        assert!(
            updates.iter().all(|f| amount(f) >= WINDOW_BATCH as usize),
            "{updates:?}"
        );
        // 500,000 octets on the connection: every full batch given back, the rest owed.
        let given: usize = on_conn.iter().map(|f| amount(f)).sum();
        assert_eq!(given + conn.unacked as usize, 500_000);
        assert!((conn.unacked as usize) < WINDOW_BATCH as usize);
        // Each stream's 100,000 octets (99,000 before END_STREAM) past its 65,535 window:
        // three updates each.
        assert_eq!(on_streams.len(), 5 * 3, "{on_streams:?}");
    }

    /// RFC 9113 §6.10 sets no bound on CONTINUATION frames; the client does. A block of
    /// exactly the bound is read, one octet more fails the connection with GOAWAY.
    #[test]
    fn a_header_block_past_its_bound_fails_the_connection() {
        let last = MAX_HEADER_BLOCK - 3 * MAX_FRAME - 1;
        let block = |last: usize| {
            // END_STREAM is the HEADERS frame's flag (RFC 9113 §6.2); END_HEADERS ends the block.
            let mut frames = vec![(HEADERS, END_STREAM, 1, vec![0x88])];
            for _ in 0..3 {
                frames.push((CONTINUATION, 0, 1, vec![0x20; MAX_FRAME]));
            }
            // Size updates to 0 are no fields: the block is long and harmless.
            frames.push((CONTINUATION, END_HEADERS, 1, vec![0x20; last]));
            frames
        };
        let mut conn = connection(&block(last));
        assert_eq!(get(&mut conn).unwrap().status(), Some(200));

        let mut conn = connection(&block(last + 1));
        let e = get(&mut conn).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::InvalidData);
        assert!(
            e.to_string().contains("header block past 65536 octets"),
            "{e}"
        );
        assert!(conn.is_closed());
        let goaway = written(&conn, GOAWAY);
        assert_eq!(goaway.len(), 1);
        assert_eq!(be32(&goaway[0].payload[4..8]), ENHANCE_YOUR_CALM);
    }

    /// Up to the bound every SETTINGS and PING is acknowledged and the answer read; one more
    /// fails the connection.
    #[test]
    fn settings_and_pings_in_one_answer_are_bounded() {
        let frames = |n: usize| {
            let mut frames: Vec<_> = (0..n)
                .map(|i| match i % 2 {
                    0 => (PING, 0, 0, (i as u64).to_be_bytes().to_vec()),
                    _ => (SETTINGS, 0, 0, Vec::new()),
                })
                .collect();
            frames.push((HEADERS, END_HEADERS | END_STREAM, 1, vec![0x88]));
            frames
        };
        let mut conn = connection(&frames(MAX_ACKS));
        assert_eq!(get(&mut conn).unwrap().status(), Some(200));
        assert_eq!(written(&conn, PING).len(), MAX_ACKS / 2);
        // The handshake's ACK and one for each SETTINGS of the answer.
        assert_eq!(written(&conn, SETTINGS).len(), 2 + MAX_ACKS / 2);
        // The count is per answer: as many again before the second request's response.
        let mut two = frames(MAX_ACKS);
        two.extend(
            frames(MAX_ACKS)
                .into_iter()
                .map(|(kind, flags, stream, payload)| {
                    let stream = if kind == HEADERS { 3 } else { stream };
                    (kind, flags, stream, payload)
                }),
        );
        let mut conn = connection(&two);
        assert_eq!(get(&mut conn).unwrap().status(), Some(200));
        assert_eq!(get(&mut conn).unwrap().status(), Some(200));

        let mut conn = connection(&frames(MAX_ACKS + 1));
        let e = get(&mut conn).unwrap_err();
        assert!(e.to_string().contains("SETTINGS and PING"), "{e}");
        assert!(conn.is_closed());
        assert_eq!(written(&conn, PING).len(), MAX_ACKS / 2);
    }

    #[test]
    fn informational_responses_are_bounded() {
        let frames = |n: usize| {
            // :status 100, a literal without indexing on the static name :status.
            let mut frames = vec![(HEADERS, END_HEADERS, 1, vec![0x08, 3, b'1', b'0', b'0']); n];
            frames.push((HEADERS, END_HEADERS | END_STREAM, 1, vec![0x88]));
            frames
        };
        let mut conn = connection(&frames(MAX_INTERIM));
        assert_eq!(get(&mut conn).unwrap().status(), Some(200));
        let mut conn = connection(&frames(MAX_INTERIM + 1));
        let e = get(&mut conn).unwrap_err();
        assert!(e.to_string().contains("informational"), "{e}");
        assert!(conn.is_closed());
    }
}
