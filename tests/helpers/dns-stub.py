#!/usr/bin/python3
"""A DNS server for net-proxy.t, on 127.0.0.1:53 (UDP): every A query for a
name in the zone given (e.g. "corp") gets 127.0.0.1, every other query
NXDOMAIN.  With "search corp" in resolv.conf it shows what a search list
would do to the proxy's lookups.  Usage: dns-stub.py ZONE"""
import socket
import struct
import sys

zone = sys.argv[1].strip(".").lower().encode()


def qname(msg, off):
    labels = []
    while msg[off]:
        n = msg[off]
        labels.append(msg[off + 1:off + 1 + n])
        off += 1 + n
    return b".".join(labels).lower(), off + 1


s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", 53))
while True:
    msg, peer = s.recvfrom(512)
    if len(msg) < 12:
        continue
    qid, = struct.unpack("!H", msg[:2])
    name, end = qname(msg, 12)
    qtype, = struct.unpack("!H", msg[end:end + 2])
    question = msg[12:end + 4]
    hit = qtype == 1 and (name == zone or name.endswith(b"." + zone))
    flags = 0x8180 if hit else 0x8183  # response, RD, RA; rcode 0 or 3
    reply = struct.pack("!HHHHHH", qid, flags, 1, 1 if hit else 0, 0, 0) + question
    if hit:
        reply += b"\xc0\x0c" + struct.pack("!HHIH", 1, 1, 60, 4) + socket.inet_aton("127.0.0.1")
    s.sendto(reply, peer)
