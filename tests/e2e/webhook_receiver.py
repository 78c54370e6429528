#!/usr/bin/python3
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
"""A webhook receiver for the end-to-end tests: a real HTTP server
(http.server, one thread per connection) that writes every request it
gets, as one JSON line, to LOG (path, its arrival on the monotonic clock,
the headers splitd sets, the body) before it answers:

  POST /record/...  200
  POST /gate/...    the status in DIR/gate_status (503 if absent)
  POST /hang/...    nothing, ever: the connection stays open, unanswered

Usage: webhook_receiver.py ADDRESS PORT LOG DIR. Runs until killed."""
import http.server
import json
import os
import sys
import threading
import time

LOG_LOCK = threading.Lock()


def main():
    address, port, log_path, directory = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):
            pass

        def do_POST(self):
            length = int(self.headers.get("Content-Length", "0"))
            raw = self.rfile.read(length)
            try:
                body = json.loads(raw)
            except ValueError:
                body = raw.decode(errors="replace")
            entry = {"path": self.path, "t": time.monotonic(), "body": body,
                     "headers": {k: self.headers.get(k) for k in (
                         "Content-Type", "Authorization", "X-Team",
                         "X-Xdpsplit-Event", "X-Xdpsplit-Delivery")}}
            with LOG_LOCK, open(log_path, "a") as log:
                log.write(json.dumps(entry) + "\n")
            if self.path.startswith("/hang"):
                time.sleep(3600)
                return
            status = 200
            if self.path.startswith("/gate"):
                try:
                    with open(os.path.join(directory, "gate_status")) as f:
                        status = int(f.read().strip())
                except (OSError, ValueError):
                    status = 503
            answer = b"ok\n"
            self.send_response(status)
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

    server = http.server.ThreadingHTTPServer((address, port), Handler)
    server.daemon_threads = True
    server.serve_forever()


if __name__ == "__main__":
    main()
