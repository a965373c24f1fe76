"""An HTTPS JSON service for the tests of `http` modules.

Usage: https_echo.py PORT CERTIFICATE KEY LOG. Every POST's path and body are appended to LOG; the answer is
{"doubled": 2 * x}. A client that refuses the certificate ends only its own connection.
"""

import json
import ssl
import sys
from http.server import BaseHTTPRequestHandler, HTTPServer

port, certificate, key, log = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]


class Handler(BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        with open(log, "a") as file:
            file.write(f"{self.path} {body.decode()}\n")
        answer = json.dumps({"doubled": json.loads(body)["x"] * 2}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, *arguments):
        pass


server = HTTPServer(("127.0.0.1", port), Handler)
context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
context.load_cert_chain(certificate, key)
server.socket = context.wrap_socket(server.socket, server_side=True)
server.serve_forever()
