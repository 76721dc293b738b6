//! A whole server built from the input (a configuration over a pool of overlapping names,
//! repaired until it builds), a connection and a request drawn from its names and mutated:
//! engine verdict == model verdict, and the SPEC §6 invariants hold (`checks::one_server`).
//!
//! Then a second server (independent, the first one's configuration built again, or built
//! again with every list permuted): `checks::two_servers`. This target explores
//! configurations; `decide` explores decisions on servers built once per process.
#![no_main]

use libfuzzer_sys::fuzz_target;
use misdirect_fuzz::checks::{one_server, two_servers};
use misdirect_fuzz::decide::input;

fuzz_target!(|data: &[u8]| {
    let Some(input) = input(data) else {
        return;
    };
    one_server(&input.a, &input.conn, &input.request);
    two_servers(&input);
});
