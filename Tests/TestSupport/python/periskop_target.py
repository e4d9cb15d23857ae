#!/usr/bin/env python3
"""A real Periskop target for Canopy's tests, built on the PyPI package periskop-client.

It reports REAL Python exceptions with periskop-client's own ExceptionCollector and serves
them with its own ExceptionExporter and HTTP handler at GET /-/exceptions. The test drives it:

    POST /raise?kind=zero&n=3   raises and reports ZeroDivisionError 3 times
         kind=missing           KeyError
         kind=http              RuntimeError with an HTTP context (Authorization header and a
                                JSON body with a password)
         kind=checkout-order    shared_orders.InvalidOrder, through the checkout's own code
         kind=billing-order     the same bug of the same library, through billing's code
    answers {"aggregation_key": ..., "reported": n, "total_count": ...}

--library DIR makes it import shared_orders (the library both *-order kinds call) from DIR, as
a service with its own installation of a shared library would.

It listens on 127.0.0.1, on the port given with --port (default 0: the OS chooses), prints the
port on stdout, and exits when its stdin closes or on SIGTERM/SIGINT, so that it never
outlives the test that started it.
"""

import argparse
import json
import os
import signal
import sys
import threading
from http.server import HTTPServer
from urllib.parse import parse_qs, urlsplit

from periskop_client.collector import ExceptionCollector
from periskop_client.exporter import ExceptionExporter
from periskop_client.handler import exception_http_handler
from periskop_client.models import HTTPContext

# Imported in main(), after --library has said where from.
shared_orders = None

ENDPOINT = "/-/exceptions"

# The request whose context goes with kind=http. The test checks that the leaf redacts the
# Authorization header and the password, and keeps everything else.
REQUEST_METHOD = "POST"
REQUEST_URL = "https://shop.example/api/orders/42/pay?currency=EUR"
REQUEST_HEADERS = {
    "Authorization": "Bearer py-s3cr3t-bearer",
    "Content-Type": "application/json",
    "X-Request-Id": "req-7f3a",
}
REQUEST_BODY = '{"user": "alice", "password": "hunter2-py", "amount": 12}'


def divide(numerator, denominator):
    return numerator / denominator


def zero():
    divide(1, 0)


def missing():
    users = {"alice": 1}
    return users["bob"]


def payment():
    raise RuntimeError("payment provider declined order 42")


def checkout_order():
    return shared_orders.load_order({"id": 7})


def bill_order():
    invoice = {"id": 9, "currency": "EUR"}
    return shared_orders.load_order(invoice)


KINDS = {"zero": zero, "missing": missing, "http": payment, "checkout-order": checkout_order, "billing-order": bill_order}


def totals(exporter):
    payload = json.loads(exporter.export())
    return {group["aggregation_key"]: group["total_count"] for group in payload["aggregated_errors"]}


def make_handler(collector, exporter):
    base = exception_http_handler(ENDPOINT, exporter)

    class Handler(base):
        def do_POST(self):
            url = urlsplit(self.path)
            query = parse_qs(url.query)
            kind = query.get("kind", [""])[0]
            try:
                count = int(query.get("n", ["1"])[0])
            except ValueError:
                count = -1
            if url.path != "/raise" or kind not in KINDS or count < 0:
                self._answer(400, {"error": f"unknown command {self.path}"})
                return
            before = totals(exporter)
            for _ in range(count):
                try:
                    KINDS[kind]()
                except Exception as error:  # noqa: BLE001 - reporting is the point
                    if kind == "http":
                        context = HTTPContext(
                            request_method=REQUEST_METHOD,
                            request_url=REQUEST_URL,
                            request_headers=dict(REQUEST_HEADERS),
                            request_body=REQUEST_BODY,
                        )
                        collector.report_with_context(error, context)
                    else:
                        collector.report(error)
            after = totals(exporter)
            grown = [key for key, total in after.items() if total != before.get(key, 0)]
            key = grown[0] if len(grown) == 1 else None
            self._answer(200, {"aggregation_key": key, "reported": count, "total_count": after.get(key, 0)})

        def _answer(self, status, document):
            body = json.dumps(document).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format, *args):  # noqa: A002 - the base class's signature
            pass

    return Handler


def exit_when_stdin_closes():
    while sys.stdin.buffer.read(4096):
        pass
    os._exit(0)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--library", help="a directory to import shared_orders from (default: beside this script)")
    arguments = parser.parse_args()
    if arguments.library:
        sys.path.insert(0, arguments.library)
    global shared_orders
    import shared_orders

    # A parent may have left these blocked or ignored (a test runner does): take them back.
    stop_signals = {signal.SIGTERM, signal.SIGINT, signal.SIGHUP}
    signal.pthread_sigmask(signal.SIG_UNBLOCK, stop_signals)
    for number in stop_signals:
        signal.signal(number, lambda *_: os._exit(0))
    threading.Thread(target=exit_when_stdin_closes, daemon=True).start()

    collector = ExceptionCollector()
    exporter = ExceptionExporter(collector)
    # Single-threaded on purpose: the collector is not thread-safe, so requests run one by one.
    server = HTTPServer(("127.0.0.1", arguments.port), make_handler(collector, exporter))
    print(server.server_address[1], flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
