#!/usr/bin/env python3
"""Writes the seed corpora under fuzz/corpus/<target>/ from the test vectors, long hosts, and
the census's seed search.

Run from the repository root: python3 fuzz/seeds.py. The seeds are committed; rerun after
adding vectors. Each seed file is named by the SHA-1 of its content, as libFuzzer names its own.

The structured targets (all but `authority` and `ipv6`) decode their input with `arbitrary`, so text seeds
mean little to them; their seeds holding a host over 64 octets with a capital come from
`examples/corpus_census.rs --seeds` (a fixed-seed search over inputs, decoded as the targets
decode them). The script ends with the census: per target, how many corpus inputs hold such a
host. It needs the nightly toolchain (cargo +nightly), as cargo fuzz does.
"""
import hashlib
import pathlib
import subprocess
import tomllib

ROOT = pathlib.Path(__file__).resolve().parent.parent
VECTORS = ROOT / "tests" / "vectors"
CORPUS = ROOT / "fuzz" / "corpus"


def load(name):
    with open(VECTORS / name, "rb") as f:
        return tomllib.load(f)


def write(target, data):
    folder = CORPUS / target
    folder.mkdir(parents=True, exist_ok=True)
    (folder / hashlib.sha1(data).hexdigest()).write_bytes(data)


def filled(length, suffix, fill):
    """A name of exactly `length` octets: `suffix` under labels of at most 63 octets cut from
    `fill` (repeated)."""
    prefix = length - len(suffix) - 1
    letters = (fill * 300)[: max(prefix, 0)]
    labels = []
    while prefix > 0:
        take = 62 if prefix == 64 else min(prefix, 63)
        labels.append(letters[:take])
        letters = letters[take:]
        prefix -= take + 1
    return ".".join(labels + [suffix])


def long_hosts():
    """Hosts over 64 octets with capitals (the hostile review's defect 1 needed one): 65, 128,
    200, 253 octets (the limit) and 254 (refused), a capital first, in the middle, last, or
    everywhere; with a trailing dot and ports; and a 64-octet label (refused)."""
    hosts = []
    for length in (65, 128, 200, 253, 254):
        name = filled(length, "example.com", "l0ng")
        middle = length // 2
        while not name[middle].isalpha():
            middle += 1
        hosts += [
            name[0].upper() + name[1:],
            name[:middle] + name[middle].upper() + name[middle + 1 :],
            name[:-1] + name[-1].upper(),
            name.upper(),
            name.upper() + ".",
            name[0].upper() + name[1:] + ":443",
            name.upper() + ".:8443",
        ]
    hosts.append("A" + "b" * 63 + ".example.com")
    return [h.encode() for h in hosts]


# IPv6 text on the edges of std's `Ipv6Addr` rules, for the `ipv6` target (beside the insides of
# the bracketed authority vectors): group counts with and without `::`, five-digit groups, the
# dotted-quad tail in and out of place, octets with leading zeros or over 255.
IPV6_EDGES = [
    "::", ":::", "::1", "1::", ":1", "1:", "1:2:3:4:5:6:7:8", "1:2:3:4:5:6:7:8:9",
    "1:2:3:4:5:6:7::", "::1:2:3:4:5:6:7", "1:2:3:4:5:6:7::8", "1::2::3", ":1::", "1:::2",
    "12345::", "0000::", "ABCD:ef01::", "::ffff:1.2.3.4", "::1.2.3.4", "1:2:3:4:5:6:1.2.3.4",
    "1:2:3:4:5:6:7:1.2.3.4", "1:2:3:4:5::1.2.3.4", "1:2:3:4:5:6::1.2.3.4", "1.2.3.4::",
    "::01.2.3.4", "::1.2.3", "::256.1.1.1", "::255.255.255.255", "::1.2.3.4.5",
    "fe80::1%eth0",
]


def ipv6_seeds(authorities):
    """The `ipv6` target's seeds: the insides of the bracketed authority vectors, and the edges."""
    seeds = []
    for data in authorities:
        if data.startswith(b"[") and b"]" in data:
            seeds.append(data[1 : data.index(b"]")])
    return seeds + [text.encode() for text in IPV6_EDGES]


def census_seeds(count):
    """The census's seed search: `count` inputs per structured target, as (target, bytes)."""
    out = subprocess.run(
        ["cargo", "+nightly", "run", "--quiet", "--release", "--example", "corpus_census",
         "--", "--seeds", str(count)],
        cwd=ROOT / "fuzz", check=True, capture_output=True, text=True,
    ).stdout
    for line in out.splitlines():
        target, data = line.split()
        yield target, bytes.fromhex(data)


def main():
    authorities = []
    for case in load("authority.toml")["case"]:
        if "input_hex" in case:
            authorities.append(bytes.fromhex(case["input_hex"]))
        else:
            authorities.append(case["input"].encode())
    patterns = [c["pattern"].encode() for c in load("pattern.toml")["case"]]
    matches = [(c["pattern"] + "\n" + c["host"]).encode() for c in load("match.toml")["case"]]
    decide = []
    for case in load("decide.toml")["case"]:
        r = case["request"]
        fields = r.get("authority", []) + r.get("host", []) + [case["conn"].get("sni", "")]
        decide.append("\n".join(fields).encode())

    for data in authorities:
        write("authority", data)
    for data in ipv6_seeds(authorities):
        write("ipv6", data)
    for data in patterns + matches:
        write("pattern", data)
        write("webpki", data)
    for data in patterns:
        write("idna", data)
    for i in range(0, len(patterns), 4):
        write("index", b"\n".join(patterns[i : i + 4]))
    for data in decide:
        write("server", data)
    for data in long_hosts():
        write("authority", data)
    for target, data in census_seeds(6):
        write(target, data)

    subprocess.run(
        ["cargo", "+nightly", "run", "--quiet", "--release", "--example", "corpus_census"],
        cwd=ROOT / "fuzz", check=True,
    )


if __name__ == "__main__":
    main()
