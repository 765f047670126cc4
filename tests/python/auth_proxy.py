"""An HTTPS front for the test Schema Registry that demands credentials, as
a managed registry does: `auth_proxy.py --upstream URL --cert C --key K
--basic USER:PASSWORD --bearer TOKEN` listens on 127.0.0.1 (a free port,
printed as `listening PORT` on stdout), answers 401 to a request without
one of the two credentials, and forwards the others to the upstream
registry (scripts/schema-registry's), path and body as they are. Each
request is logged on stderr with the credential kind it carried."""

import argparse
import base64
import http.server
import ssl
import sys
import urllib.error
import urllib.request


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--upstream", required=True, help="base of the real registry, e.g. http://127.0.0.1:58081")
    parser.add_argument("--cert", required=True)
    parser.add_argument("--key", required=True)
    parser.add_argument("--basic", required=True, help="USER:PASSWORD accepted")
    parser.add_argument("--bearer", required=True, help="token accepted")
    args = parser.parse_args()
    accepted = {
        "Basic " + base64.b64encode(args.basic.encode()).decode(): "basic",
        "Bearer " + args.bearer: "bearer",
    }

    class Handler(http.server.BaseHTTPRequestHandler):
        def forward(self, method: str) -> None:
            kind = accepted.get(self.headers.get("Authorization", ""))
            sys.stderr.write(f"{method} {self.path} credentials={kind}\n")
            if kind is None:
                body = b'{"error_code":40101,"message":"Unauthorized"}'
                self.send_response(401)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
                return
            length = int(self.headers.get("Content-Length") or 0)
            data = self.rfile.read(length) if length else None
            request = urllib.request.Request(args.upstream + self.path, data=data, method=method)
            for name in ("Content-Type", "Accept"):
                if self.headers.get(name):
                    request.add_header(name, self.headers[name])
            try:
                with urllib.request.urlopen(request, timeout=10) as answer:
                    status, body = answer.status, answer.read()
            except urllib.error.HTTPError as error:
                status, body = error.code, error.read()
            self.send_response(status)
            self.send_header("Content-Type", "application/vnd.schemaregistry.v1+json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self) -> None:  # noqa: N802 (http.server's names)
            self.forward("GET")

        def do_POST(self) -> None:  # noqa: N802
            self.forward("POST")

        def log_message(self, *_args) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(args.cert, args.key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    print(f"listening {server.server_address[1]}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
