"""Makes a real Isso database for kiln's import test: runs Isso's own WSGI
app on a loopback port and posts comments through its HTTP API, as a
reader's browser would. Usage: python isso_post.py DB_PATH

Prints one JSON object: the ids Isso gave each comment, by a name.
"""

import json
import sys
import tempfile
import threading
import urllib.parse
import urllib.request

from isso import config, make_app
from werkzeug.serving import make_server

SITE = "http://127.0.0.1:1313"


def main(db):
    with tempfile.NamedTemporaryFile("w", suffix=".cfg", delete=False) as cfg:
        cfg.write(
            f"[general]\ndbpath = {db}\nhost = {SITE}/\n"
            "[moderation]\nenabled = false\n[guard]\nenabled = false\n"
        )
    app = make_app(config.load(config.default_file(), cfg.name))
    server = make_server("127.0.0.1", 0, app)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_port}"
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor())

    def call(method, path, body=None, page=None):
        headers = {"Content-Type": "application/json"}
        if page:
            headers["Referer"] = SITE + urllib.parse.quote(page)
            headers["Origin"] = SITE
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(base + path, data=data, headers=headers, method=method)
        with opener.open(req) as answer:
            return json.loads(answer.read() or b"null")

    def post(page, **body):
        # A title spares Isso fetching the page, which does not exist here.
        body.setdefault("title", page)
        return call("POST", "/new?uri=" + urllib.parse.quote(page), body, page)["id"]

    ids = {}
    hello = "/posts/hello-world/"
    ids["ann"] = post(hello, text="First, *from Isso*.", author="Ann & Bo", email="ann@kiln.example",
                      website="ann.kiln.example")
    ids["ben"] = post(hello, text="Ben answers Ann.", author="Ben", parent=ids["ann"])
    # Isso keeps one level: this reply to Ben is stored under Ann.
    ids["cy"] = post(hello, text="Cy answers Ben.", author="Cy", parent=ids["ben"])
    ids["gone"] = post(hello, text="Soon deleted.", author="Dee")
    ids["eve"] = post(hello, text="Eve answers the deleted one.", author="Eve", parent=ids["gone"])
    ids["leaf"] = post(hello, text="Deleted, nobody answered.", author="Fox")
    ids["second"] = post("/posts/second-post/", text="On the second post.", author="Gil")
    # The cookie from posting lets the author delete: one with a reply stays
    # as Isso's mode 4, one without goes.
    call("DELETE", f"/id/{ids['gone']}")
    call("DELETE", f"/id/{ids['leaf']}")
    server.shutdown()
    print(json.dumps(ids))


if __name__ == "__main__":
    main(sys.argv[1])
