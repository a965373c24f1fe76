#!/usr/bin/env python3
"""Send a mix of bad requests to a Sluice server until killed (for measuring good traffic's p99 meanwhile).

Usage: scripts/serve-bad-traffic.py http://127.0.0.1:PORT [path-prefix]   (stdlib only)
Prints the count of answers per status on exit (SIGTERM/SIGINT).
"""
import collections, http.client, signal, socket, sys, time, urllib.parse

base = urllib.parse.urlparse(sys.argv[1])
prefix = sys.argv[2] if len(sys.argv) > 2 else ""
key = "bench-secret"
json_headers = {"Content-Type": "application/json", "x-api-key": key}
cases = [
    ("/stream", b'{"x": [[0.3,]]', json_headers),                    # malformed JSON
    ("/batch", b'{"x": [[1.0, 2.0]]}', json_headers),                 # wrong feature count
    ("/stream", b'{"x": [[NaN,1,1,1,1,1,1,1,1,1]]}', json_headers),   # NaN
    ("/stream", b"", json_headers),                                   # empty body
    ("/stream", b'{"x": [[0,0,0,0,0,0,0,0,0,0]]}', {"Content-Type": "application/json"}),  # missing key
    ("/stream", b'{"x": [[0,0,0,0,0,0,0,0,0,0]]}', {"x-api-key": "wrong"}),                 # wrong key
    ("/stream", b"1" * (7 * 1024 * 1024), json_headers),              # 7 MB body
]
counts = collections.Counter()
running = True


def stop(*_):
    global running
    running = False


signal.signal(signal.SIGTERM, stop)
signal.signal(signal.SIGINT, stop)
i = 0
while running:
    path, body, headers = cases[i % len(cases)]
    i += 1
    try:
        if i % 20 == 0:  # a slow client: headers, then half the body, then silence
            s = socket.create_connection((base.hostname, base.port), timeout=2)
            s.sendall(b"POST " + (prefix + path).encode() + b" HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                      b"x-api-key: " + key.encode() + b"\r\nContent-Length: 200\r\n\r\n{\"x\": [[")
            s.settimeout(0.5)
            try:
                s.recv(100)
            except OSError:
                pass
            s.close()
            counts["slow"] += 1
            continue
        c = http.client.HTTPConnection(base.hostname, base.port, timeout=10)
        c.request("POST", prefix + path, body=body, headers=headers)
        counts[c.getresponse().status] += 1
        c.close()
    except OSError as e:
        counts[type(e).__name__] += 1
    time.sleep(0.002)
print(dict(counts), flush=True)
