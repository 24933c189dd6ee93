#!/usr/bin/python3
"""Verifies the DKIM signatures of the message on stdin with dkimpy
(python3-dkim), asking the key records of the DNS server at
127.0.0.1:$DNS_PORT (the test's dnsfake) with dnspython. One line per
signature: "INDEX pass|fail DOMAIN SELECTOR"."""
import os
import re
import sys

import dkim
import dns.resolver

res = dns.resolver.Resolver(configure=False)
res.nameservers = ["127.0.0.1"]
res.port = int(os.environ["DNS_PORT"])
res.lifetime = 5


def dnsfunc(name, timeout=5):
    try:
        answer = res.resolve(name.decode().rstrip("."), "TXT")
    except Exception:
        return None
    # One record, its strings joined (RFC 6376 §3.6.2.2).
    return b"".join(answer[0].strings)


msg = sys.stdin.buffer.read()
d = dkim.DKIM(msg, minkey=1024)
sigs = [v for (k, v) in d.headers if k.lower() == b"dkim-signature"]
for i, sig in enumerate(sigs):
    tags = dict(
        (t.split(b"=", 1)[0].strip(), re.sub(rb"\s", b"", t.split(b"=", 1)[1]))
        for t in sig.split(b";")
        if b"=" in t
    )
    try:
        ok = dkim.DKIM(msg, minkey=1024).verify(idx=i, dnsfunc=dnsfunc)
    except dkim.DKIMException as e:  # some failures raise instead of returning False
        ok = False
        print("#", e, file=sys.stderr)
    print(i, "pass" if ok else "fail", tags[b"d"].decode(), tags[b"s"].decode())
