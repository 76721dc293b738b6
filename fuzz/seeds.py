#!/usr/bin/env python3
"""Writes the seed corpora under fuzz/corpus/<target>/ from the test vectors.

Run from the repository root: python3 fuzz/seeds.py. The seeds are committed; rerun after
adding vectors. Each seed file is named by the SHA-1 of its content, as libFuzzer names its own.
"""
import hashlib
import pathlib
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
    for data in patterns + matches:
        write("pattern", data)
        write("webpki", data)
    for data in patterns:
        write("idna", data)
    for i in range(0, len(patterns), 4):
        write("index", b"\n".join(patterns[i : i + 4]))
    for data in decide:
        write("decide", data)


if __name__ == "__main__":
    main()
