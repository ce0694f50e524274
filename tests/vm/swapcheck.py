#!/usr/bin/env python3
"""Fills MIB mebibytes of anonymous memory with page-unique, half-
compressible data, then reads every page back and checks it.  Run inside a
memory cgroup smaller than MIB, every page makes a round trip through swap.
Exit status 0 only if every page came back intact."""
import hashlib
import sys

PAGE = 4096


def page_bytes(i):
    # 2 KiB of digest-derived noise, 2 KiB of a repeated byte: compresses
    # to about half, like real anonymous memory, and names its page.
    noise = hashlib.sha256(i.to_bytes(8, "little")).digest() * 64
    return noise + bytes([i & 0xFF]) * (PAGE - len(noise))


def main():
    mib = int(sys.argv[1])
    pages = mib * 256
    mem = bytearray(pages * PAGE)
    for i in range(pages):
        mem[i * PAGE:(i + 1) * PAGE] = page_bytes(i)
    bad = sum(1 for i in range(pages)
              if mem[i * PAGE:(i + 1) * PAGE] != page_bytes(i))
    print(f"swapcheck: {pages} pages, {bad} corrupt")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
