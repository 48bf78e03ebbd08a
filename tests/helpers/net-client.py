#!/usr/bin/python3
"""Clients for the net-*.t tests, run inside a session against the
forwarder on 127.0.0.1 (HTTP 3128, SOCKS 1080).  Each mode prints one line.

  parallel N URL      N connections at once, then N requests; counts statuses
  slowloris N         N connections that send a head one byte at a time; the
                      process stays in the background, holding them
  bigheader MB        a head of MB megabytes with no end; how far it got
  garbage             random bytes to the SOCKS port; what came back
  bench-get URL N direct|proxy    N requests, a connection each: median ms
  bench-download URL direct|proxy one download: MB/s (10^6 bytes a second)
"""
import os
import random
import selectors
import socket
import sys
import time

HTTP = ("127.0.0.1", 3128)
SOCKS = ("127.0.0.1", 1080)


def parallel(n, url):
    host = url.split("/")[2]
    req = f"GET {url} HTTP/1.1\r\nHost: {host}\r\n\r\n".encode()
    socks = [socket.create_connection(HTTP) for _ in range(n)]
    for s in socks:
        s.sendall(req)
    sel = selectors.DefaultSelector()
    data = {}
    for s in socks:
        s.setblocking(False)
        sel.register(s, selectors.EVENT_READ)
        data[s] = b""
    left = n
    deadline = time.monotonic() + 120
    while left and time.monotonic() < deadline:
        for key, _ in sel.select(timeout=1):
            s = key.fileobj
            try:
                chunk = s.recv(65536)
            except ConnectionError:
                chunk = b""
            if chunk:
                data[s] += chunk
                continue
            sel.unregister(s)
            s.close()
            left -= 1
    counts = {}
    for d in data.values():
        status = d.split(b" ", 2)[1].decode() if d.startswith(b"HTTP/1.") else "broken"
        if status == "503" and b"X-Ephemera-Rule: proxy_max_connections" not in d:
            status = "503-unnamed"
        counts[status] = counts.get(status, 0) + 1
    print(" ".join(f"{k}:{v}" for k, v in sorted(counts.items())))


def slowloris(n):
    socks = [socket.create_connection(HTTP) for _ in range(n)]
    for s in socks:
        s.sendall(b"GET http://allowed.test:8080/hello.txt HTTP/1.1\r\n")
    print(f"holding {n}", flush=True)
    if os.fork():
        return
    os.setsid()
    for _ in range(120):
        for s in socks:
            try:
                s.send(b"X")
            except OSError:
                pass
        time.sleep(1)


def bigheader(mb):
    s = socket.create_connection(HTTP)
    s.sendall(b"GET http://allowed.test:8080/hello.txt HTTP/1.1\r\n")
    chunk = b"X-Junk: " + b"a" * 65000 + b"\r\n"
    sent = 0
    try:
        while sent < mb << 20:
            s.sendall(chunk)
            sent += len(chunk)
    except OSError as e:
        print(f"stopped after {sent >> 20} MiB: {e.__class__.__name__}")
        return
    print(f"sent all {sent >> 20} MiB")


def garbage():
    s = socket.create_connection(SOCKS)
    rnd = random.Random(8)
    try:
        s.sendall(bytes([4]) + bytes(rnd.getrandbits(8) for _ in range(65535)))
        got = s.recv(100)
    except OSError as e:
        got = e.__class__.__name__.encode()
    print(f"garbage answered {got!r}")


def request(url, via):
    host = url.split("/")[2]
    path = "/" + url.split("/", 3)[3]
    if via == "direct":
        name, port = host.split(":")
        s = socket.create_connection(("127.0.0.1", int(port)))
        line = path
    else:
        s = socket.create_connection(HTTP)
        line = url
    s.sendall(f"GET {line} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n".encode())
    n = 0
    while True:
        b = s.recv(1 << 20)
        if not b:
            break
        n += len(b)
    s.close()
    return n


def bench_get(url, count, via):
    times = []
    for _ in range(count):
        t = time.perf_counter()
        if request(url, via) == 0:
            raise SystemExit("empty answer")
        times.append(time.perf_counter() - t)
    times.sort()
    print(f"{times[len(times) // 2] * 1000:.3f}")


def bench_download(url, via):
    t = time.perf_counter()
    n = request(url, via)
    print(f"{n / (time.perf_counter() - t) / 1e6:.1f} {n}")


def main():
    mode = sys.argv[1]
    if mode == "parallel":
        parallel(int(sys.argv[2]), sys.argv[3])
    elif mode == "slowloris":
        slowloris(int(sys.argv[2]))
    elif mode == "bigheader":
        bigheader(int(sys.argv[2]))
    elif mode == "garbage":
        garbage()
    elif mode == "bench-get":
        bench_get(sys.argv[2], int(sys.argv[3]), sys.argv[4])
    elif mode == "bench-download":
        bench_download(sys.argv[2], sys.argv[3])


main()
