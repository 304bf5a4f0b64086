"""A small real process for supervisor tests: /healthz on a port, prints lines, leaves a grandchild.

GET /freeze makes it hang for good, as a process whose event loop is pinned does: it stays alive and
its one-threaded server never answers again.
"""

from __future__ import annotations

import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer


class Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        if self.path == "/freeze":
            print("freezing", flush=True)
            threading.Event().wait()
        self.send_response(200 if self.path == "/healthz" else 404)
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        print("request", self.path, flush=True)


def main() -> None:
    port = int(sys.argv[1])
    # A grandchild in the same process group (it just lives): stopping the component must take it too.
    subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
    print(f"toy listening on {port}", flush=True)
    HTTPServer(("127.0.0.1", port), Handler).serve_forever()


if __name__ == "__main__":
    main()
