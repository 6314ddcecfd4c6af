#!/usr/bin/env python3
"""A real RFC 3161 time-stamping authority on 127.0.0.1, for tests only (stdlib + openssl).

At start it makes, in DIR, a throw-away CA (ca.pem), a TSA certificate with the critical
`extendedKeyUsage = timeStamping` (tsa.pem), a second one without it (noeku.pem) and a
document signer (signer.key, signer.pem; signer-chain.pem = signer + CA), then answers
POSTed `application/timestamp-query` bodies with `openssl ts -reply`. Every certificate the
CA issues names the CRL distribution point URL/crl/ca.crl, which the server answers (GET)
with the CA's CRL (DER, made by `openssl ca -gencrl`, nothing revoked; also ca.crl in DIR).
It prints its URL (http://127.0.0.1:PORT) on one line once it is ready.

The path asks for a fault, so one server serves every fault test:

  /                 a correct reply
  /503              HTTP 503
  /slow             a correct reply after SLOW seconds (default 30)
  /garbage          HTTP 200 with bytes that are not a TimeStampResp
  /reject           a TimeStampResp with status "rejection" and no token
  /wrong-imprint    a token over another message imprint (nonce kept)
  /no-nonce         a token without the nonce
  /sha1             a token whose imprint uses SHA-1
  /no-eku           a token signed by noeku.pem (openssl ts refuses that cert, so the
                    TSTInfo of a correct reply is signed again with `openssl cms -sign`)
  /bad-signature    a correct reply with the last byte of its signature changed
  /auth             a correct reply only with HTTP basic auth `tsa-user:tsa-secret`, else 401
  POST /ocsp        an OCSP responder for the CA (application/ocsp-request); GET /crl/ca.crl its CRL

Usage: test_tsa.py DIR [--port N] [--slow SECONDS] [--exit-on-stdin-eof] [--tls]
With --exit-on-stdin-eof the server stops when its standard input closes, so a test that
started it cannot leave it running.
"""

import argparse
import ssl
import base64
import http.server
import os
import subprocess
import sys
import tempfile
import threading
import time

BASIC_AUTH = "Basic " + base64.b64encode(b"tsa-user:tsa-secret").decode()
TST_INFO_OID = "1.2.840.113549.1.9.16.1.4"
SHA1_OID = bytes.fromhex("2b0e03021a")  # 1.3.14.3.2.26

EXTENSIONS = """
[tsa]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = critical,timeStamping
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
crlDistributionPoints = URI:{url}/crl/ca.crl
[noeku]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
crlDistributionPoints = URI:{url}/crl/ca.crl
[signer]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature,nonRepudiation
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
crlDistributionPoints = URI:{url}/crl/ca.crl
[ocspsigner]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature,nonRepudiation
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
authorityInfoAccess = OCSP;URI:{url}/ocsp
[tls]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = IP:127.0.0.1
[client]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = clientAuth
"""

CRL_CONFIG = """
[ca]
default_ca = ca_default
[ca_default]
database = {dir}/index.txt
crlnumber = {dir}/crlnumber
default_md = sha256
default_crl_days = 3650
"""

TS_CONFIG = """
[tsa]
default_tsa = tsa_config
[tsa_config]
dir = {dir}
serial = $dir/serial
crypto_device = builtin
signer_cert = $dir/tsa.pem
certs = $dir/ca.pem
signer_key = $dir/tsa.key
signer_digest = sha256
default_policy = 2.999.1
digests = sha1, sha256, sha384, sha512
accuracy = secs:1
ordering = yes
tsa_name = yes
ess_cert_id_chain = no
ess_cert_id_alg = sha256
"""


def openssl(*args, data=None):
    """Runs openssl; returns stdout, raises with its stderr on failure."""
    done = subprocess.run(["openssl", *args], input=data, capture_output=True)
    if done.returncode != 0:
        raise RuntimeError(f"openssl {' '.join(args)}: {done.stderr.decode(errors='replace')}")
    return done.stdout


def make_pki(d, url):
    """The CA, the TSA certificate, the one without the timeStamping EKU, the signer and the CRL."""
    with open(os.path.join(d, "ext.cnf"), "w") as f:
        f.write(EXTENSIONS.format(url=url))
    with open(os.path.join(d, "tsa.cnf"), "w") as f:
        f.write(TS_CONFIG.format(dir=d))
    with open(os.path.join(d, "serial"), "w") as f:
        f.write("01\n")
    p = lambda name: os.path.join(d, name)  # noqa: E731
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"]
    openssl("req", "-x509", *ec, "-keyout", p("ca.key"), "-out", p("ca.pem"), "-days", "3650",
            "-subj", "/CN=dora-evidence TEST TSA CA (NOT FOR PRODUCTION)",
            "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign")
    for serial, name, cn in [(2, "tsa", "dora-evidence TEST TSA"), (3, "noeku", "dora-evidence TEST TSA without EKU"),
                             (4, "signer", "dora-evidence TEST document signer"),
                             (5, "tls", "127.0.0.1"), (6, "client", "dora-evidence TEST TSA client"),
                             (7, "ocspsigner", "dora-evidence TEST document signer with OCSP only")]:
        openssl("req", "-new", *ec, "-keyout", p(f"{name}.key"), "-out", p(f"{name}.csr"), "-subj", f"/CN={cn}")
        openssl("x509", "-req", "-in", p(f"{name}.csr"), "-CA", p("ca.pem"), "-CAkey", p("ca.key"),
                "-set_serial", str(serial), "-days", "3650", "-extfile", p("ext.cnf"), "-extensions", name,
                "-out", p(f"{name}.pem"))
    for name in ("signer", "ocspsigner"):
        os.chmod(p(f"{name}.key"), 0o600)
        with open(p(f"{name}-chain.pem"), "w") as out:
            for part in (f"{name}.pem", "ca.pem"):
                with open(p(part)) as f:
                    out.write(f.read())
    with open(p("crl.cnf"), "w") as f:
        f.write(CRL_CONFIG.format(dir=d))
    open(p("index.txt"), "w").close()
    with open(p("crlnumber"), "w") as f:
        f.write("01\n")
    openssl("ca", "-gencrl", "-config", p("crl.cnf"), "-keyfile", p("ca.key"), "-cert", p("ca.pem"),
            "-out", p("ca.crl.pem"))
    openssl("crl", "-in", p("ca.crl.pem"), "-outform", "DER", "-out", p("ca.crl"))
    # The OCSP responder's database (after the CRL, which lists only revoked entries): every
    # issued certificate is good.
    with open(p("index.txt"), "w") as f:
        for serial, name in [(2, "tsa"), (4, "signer"), (7, "ocspsigner")]:
            subject = openssl("x509", "-in", p(f"{name}.pem"), "-noout", "-subject", "-nameopt", "compat")
            subject = subject.decode().strip().removeprefix("subject=")
            f.write(f"V\t351231235959Z\t\t{serial:02X}\tunknown\t{subject}\n")


# --- just enough DER to take requests and replies apart --------------------------------------

def tlv(buf, i=0):
    """(tag, value start, end) of the element at buf[i]."""
    n = buf[i + 1]
    j = i + 2
    if n & 0x80:
        k = n & 0x7F
        n = int.from_bytes(buf[j:j + k], "big")
        j += k
    return buf[i], j, j + n


def value(el):
    _, s, e = tlv(el)
    return el[s:e]


def kids(el):
    """The child elements of a constructed element."""
    body, out, i = value(el), [], 0
    while i < len(body):
        _, _, e = tlv(body, i)
        out.append(body[i:e])
        i = e
    return out


def enc(tag, body):
    n = len(body)
    if n < 0x80:
        head = bytes([n])
    else:
        raw = n.to_bytes((n.bit_length() + 7) // 8, "big")
        head = bytes([0x80 | len(raw)]) + raw
    return bytes([tag]) + head + body


def wrong_imprint(req):
    parts = kids(req)
    alg, hashed = kids(parts[1])
    parts[1] = enc(0x30, alg + enc(0x04, bytes(b ^ 0xFF for b in value(hashed))))
    return enc(0x30, b"".join(parts))


def no_nonce(req):
    parts = kids(req)
    return enc(0x30, b"".join(p for i, p in enumerate(parts) if i < 2 or p[0] != 0x02))


def sha1_imprint(req):
    parts = kids(req)
    alg = enc(0x30, enc(0x06, SHA1_OID) + enc(0x05, b""))
    parts[1] = enc(0x30, alg + enc(0x04, bytes(20)))
    return enc(0x30, b"".join(parts))


def tst_info(resp):
    """The TSTInfo DER inside a granted TimeStampResp."""
    token = kids(resp)[1]
    signed_data = value(kids(token)[1])
    encap = kids(signed_data)[2]
    return value(value(kids(encap)[1]))


def status_only(status, text):
    info = enc(0x02, bytes([status])) + enc(0x30, enc(0x0C, text.encode()))
    return enc(0x30, enc(0x30, info))


class Tsa:
    def __init__(self, d, slow):
        self.dir, self.slow, self.lock = d, slow, threading.Lock()

    def reply(self, req):
        with self.lock, tempfile.TemporaryDirectory() as tmp:
            q = os.path.join(tmp, "q.tsq")
            with open(q, "wb") as f:
                f.write(req)
            return openssl("ts", "-reply", "-config", os.path.join(self.dir, "tsa.cnf"), "-queryfile", q)

    def resign_without_eku(self, resp):
        p = lambda name: os.path.join(self.dir, name)  # noqa: E731
        token = openssl("cms", "-sign", "-binary", "-nodetach", "-signer", p("noeku.pem"), "-inkey", p("noeku.key"),
                        "-md", "sha256", "-econtent_type", TST_INFO_OID, "-nosmimecap", "-outform", "DER",
                        data=tst_info(resp))
        return enc(0x30, enc(0x30, enc(0x02, b"\x00")) + token)

    def ocsp(self, req):
        """An OCSP response for a DER request, signed by the CA (`openssl ocsp` as a one-shot responder)."""
        p = lambda name: os.path.join(self.dir, name)  # noqa: E731
        with self.lock, tempfile.TemporaryDirectory() as tmp:
            q, r = os.path.join(tmp, "req.der"), os.path.join(tmp, "resp.der")
            with open(q, "wb") as f:
                f.write(req)
            openssl("ocsp", "-index", p("index.txt"), "-CA", p("ca.pem"), "-rsigner", p("ca.pem"), "-rkey", p("ca.key"),
                    "-reqin", q, "-respout", r, "-ndays", "30")
            with open(r, "rb") as f:
                return f.read()

    def answer(self, path, req):
        """(HTTP status, body) for a request on `path`."""
        if path == "/auth":
            path = "/"
        if path == "/503":
            return 503, b"busy"
        if path == "/garbage":
            return 200, b"this is not DER"
        if path == "/reject":
            return 200, status_only(2, "request rejected by the test TSA")
        if path == "/slow":
            time.sleep(self.slow)
        rewrite = {"/wrong-imprint": wrong_imprint, "/no-nonce": no_nonce, "/sha1": sha1_imprint}.get(path)
        resp = self.reply(rewrite(req) if rewrite else req)
        if path == "/no-eku":
            resp = self.resign_without_eku(resp)
        if path == "/bad-signature":
            resp = resp[:-1] + bytes([resp[-1] ^ 0x01])
        return 200, resp


def handler(tsa):
    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 (http.server's name)
            path = os.path.join(tsa.dir, "ca.crl")
            if self.path == "/crl/ca.crl" and os.path.exists(path):
                with open(path, "rb") as f:
                    status, body, kind = 200, f.read(), "application/pkix-crl"
            else:
                status, body, kind = 404, b"not found", "text/plain"
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_POST(self):  # noqa: N802 (http.server's name)
            req = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            if self.path == "/ocsp" and self.headers.get("Content-Type") == "application/ocsp-request":
                try:
                    status, body = 200, tsa.ocsp(req)
                except Exception as e:  # noqa: BLE001 (a bad request: say why)
                    status, body = 400, str(e).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/ocsp-response" if status == 200 else "text/plain")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
                return
            if self.headers.get("Content-Type") != "application/timestamp-query":
                status, body = 415, b"expected application/timestamp-query"
            elif self.path == "/auth" and self.headers.get("Authorization") != BASIC_AUTH:
                status, body = 401, b"basic auth required"
            else:
                try:
                    status, body = tsa.answer(self.path, req)
                except Exception as e:  # a bad query is the client's fault: say why
                    status, body = 400, str(e).encode()
            self.send_response(status)
            ok = status == 200
            self.send_header("Content-Type", "application/timestamp-reply" if ok else "text/plain")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            try:
                self.wfile.write(body)
            except (BrokenPipeError, ConnectionResetError):
                pass  # a client that gave up (timeout tests)

        def log_message(self, *args):
            pass

    return Handler


def main():
    ap = argparse.ArgumentParser(description="test-only RFC 3161 TSA")
    ap.add_argument("dir")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--slow", type=float, default=30.0)
    ap.add_argument("--exit-on-stdin-eof", action="store_true")
    ap.add_argument("--tls", action="store_true",
                    help="serve HTTPS (tls.pem, for IP 127.0.0.1) and require a client certificate of the CA (client.pem)")
    args = ap.parse_args()
    d = os.path.abspath(args.dir)
    os.makedirs(d, exist_ok=True)
    # Bound first, so the certificates can name the CRL URL on this port.
    server = http.server.ThreadingHTTPServer(("127.0.0.1", args.port), handler(Tsa(d, args.slow)))
    scheme = "https" if args.tls else "http"
    make_pki(d, f"{scheme}://127.0.0.1:{server.server_address[1]}")
    if args.tls:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(os.path.join(d, "tls.pem"), os.path.join(d, "tls.key"))
        ctx.load_verify_locations(os.path.join(d, "ca.pem"))
        ctx.verify_mode = ssl.CERT_REQUIRED
        server.socket = ctx.wrap_socket(server.socket, server_side=True)
    server.daemon_threads = True
    if args.exit_on_stdin_eof:
        def watch():
            sys.stdin.buffer.read()
            os._exit(0)
        threading.Thread(target=watch, daemon=True).start()
    print(f"{scheme}://127.0.0.1:{server.server_address[1]}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
