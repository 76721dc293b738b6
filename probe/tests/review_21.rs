//! Hostile review of issue 21's fixes, the probe's side: what a server may send that the
//! probe still reads wrongly. Scripted byte streams, no network.

use std::io::{self, Read, Write};

use misdirect_probe::Answer;
use misdirect_probe::h2::{
    CONTINUATION, END_HEADERS, END_STREAM, HEADERS, Http2, SETTINGS, write_frame,
};

/// A byte stream that reads from a script and swallows what is written.
struct Script(io::Cursor<Vec<u8>>);

impl Read for Script {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.0.read(buf)
    }
}

impl Write for Script {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// RFC 9113 §6.2: END_STREAM is a flag of the HEADERS frame; "a HEADERS frame with the
/// END_STREAM flag set can be followed by CONTINUATION frames on the same stream", and
/// CONTINUATION defines no END_STREAM flag (§6.10). The probe reads END_STREAM off the block's
/// last frame, so a complete response whose header block is split (servers split blocks longer
/// than a frame: large `set-cookie`, CSP) is not seen as complete: against a live server the
/// probe waits for its deadline and reports a timeout, marking a correct 421 or 400 as a
/// failure. Here the script ends after the block, and the answer is `Closed` instead of the
/// 200 that was sent. Fails now.
#[test]
fn review21_h2_end_stream_on_headers_followed_by_continuation_is_a_response() {
    let mut input = Vec::new();
    write_frame(&mut input, SETTINGS, 0, 0, &[]).unwrap();
    // :status 200 (static index 8), END_STREAM on HEADERS, END_HEADERS on the CONTINUATION
    // (whose fragment is a table size update to 0: no field).
    write_frame(&mut input, HEADERS, END_STREAM, 1, &[0x88]).unwrap();
    write_frame(&mut input, CONTINUATION, END_HEADERS, 1, &[0x20]).unwrap();
    let mut conn = Http2::handshake(Script(io::Cursor::new(input))).unwrap();
    let answer = conn
        .exchange(&[(b":method", b"GET"), (b":path", b"/")], true)
        .unwrap();
    assert_eq!(
        answer,
        Answer::Response {
            status: 200,
            body: Vec::new()
        }
    );
}
