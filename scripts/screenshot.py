"""Screenshot pages of a running judging server with Debian's Chromium.

    python scripts/screenshot.py OUT.png [URL] [--width W] [--height H] [--full]

Without URL it serves the app itself (instance/ database, seeded) on a free port and
shoots the Excellence Award page, as the README shows it.
"""

import argparse
import os
import threading

from playwright.sync_api import sync_playwright
from werkzeug.serving import make_server

CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


def serve_app() -> str:
    from judging import create_app

    # A local plain-HTTP server, as `make run`'s: no BASE_URL needed, no Secure cookies.
    os.environ.setdefault("JUDGING_ENV", "development")
    app = create_app()
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return f"http://127.0.0.1:{server.server_port}/awards/excellence-award"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("out")
    parser.add_argument("url", nargs="?")
    parser.add_argument("--width", type=int, default=1280)
    parser.add_argument("--height", type=int, default=860)
    parser.add_argument("--full", action="store_true", help="the whole page, not the viewport")
    args = parser.parse_args()
    url = args.url or serve_app()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path="/usr/bin/chromium", args=CHROMIUM_FLAGS
        )
        page = browser.new_page(viewport={"width": args.width, "height": args.height})
        page.goto(url)
        page.screenshot(path=args.out, full_page=args.full)
        browser.close()
    print(f"{url} -> {args.out}")


if __name__ == "__main__":
    main()
