//! Decisions on servers drawn once per process (`misdirect_fuzz::space()`: 256 servers from the
//! `server` target's generator, each with its configuration built again and permuted and built
//! again): the input picks a server, then a connection and a request drawn from its names and
//! mutated. Engine verdict == model verdict and the SPEC §6 invariants
//! (`checks::one_server`); then a second server of the space, or the first one rebuilt or
//! permuted (`checks::two_servers`).
#![no_main]

use libfuzzer_sys::fuzz_target;
use misdirect_fuzz::checks::{one_server, two_servers};
use misdirect_fuzz::space;

fuzz_target!(
    init: {
        space();
    },
    |data: &[u8]| {
        let Some(input) = space().input(data) else {
            return;
        };
        one_server(input.a, &input.conn, &input.request);
        two_servers(&input);
    }
);
