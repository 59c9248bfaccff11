"""The raw RS256 signing rate with ``cryptography`` (RSA-2048, PKCS#1 v1.5, SHA-256): S7's floor.

    taskset -c 0 .venv/bin/python bench/raw_sign.py SECONDS [PROCESSES]   # one JSON line

Signs a JWT-sized signing input in a loop (key parsed once), in PROCESSES processes for SECONDS.
"""

from __future__ import annotations

import json
import multiprocessing
import sys
import time

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa


def _worker(seconds: float) -> tuple[int, float]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    msg = b"e" * 340  # a typical base64url header.payload of an access token
    pad, alg = padding.PKCS1v15(), hashes.SHA256()
    count = 0
    cpu0 = time.process_time()
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        for _ in range(20):
            key.sign(msg, pad, alg)
        count += 20
    return count, time.process_time() - cpu0


def main(seconds: float, processes: int) -> dict[str, float]:
    t0 = time.perf_counter()
    if processes == 1:
        results = [_worker(seconds)]
    else:
        with multiprocessing.get_context("fork").Pool(processes) as pool:
            results = pool.map(_worker, [seconds] * processes)
    elapsed = time.perf_counter() - t0
    total = sum(n for n, _ in results)
    cpu = sum(c for _, c in results)
    return {
        "signs": total,
        "seconds": round(elapsed, 3),
        "signs_per_s": round(total / seconds, 1),
        "cpu_us_per_sign": round(cpu * 1e6 / total, 1) if total else 0.0,
    }


if __name__ == "__main__":
    print(json.dumps(main(float(sys.argv[1]), int(sys.argv[2]) if len(sys.argv) > 2 else 1)))
