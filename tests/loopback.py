"""A small HTTP server on 127.0.0.1 serving files from memory, for the download tests."""

import http.server
import threading
from urllib.parse import unquote


class FileServer:
    """Serves ``files`` (``{name: bytes}``, editable while it runs) under ``/{prefix}/`` and records every
    request's path; a name it does not hold gets HTTP 404."""

    def __init__(self, files, *, prefix="data"):
        self.files, self.requests = files, []
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 (http.server's name)
                outer.requests.append(self.path)
                data = outer.files.get(unquote(self.path.removeprefix(f"/{prefix}/")))
                self.send_response(200 if data is not None else 404)
                self.send_header("Content-Length", str(len(data or b"")))
                self.end_headers()
                self.wfile.write(data or b"")

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/{prefix}/"
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True)
        self.thread.start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
