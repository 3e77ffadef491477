"""WeasyPrint never fetches a URL or reads a file that a document's content names.

Each case renders a document through core.pdf.render_pdf while a real HTTP server on 127.0.0.1
counts every connection it accepts, and looks for a marker that only a fetched resource could put
in the PDF. The "control" tests render the same documents with WeasyPrint's own fetcher, or with
the resource moved inside the allowed directories, and see the hits and the markers: so a count
of 0 here means "not fetched", not "the server or the marker does not work".
"""

import io
import shutil
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import weasyprint
from PIL import Image
from pypdf import PdfReader

from core import pdf

MARKER = "FETCHEDMARKER"
# A style sheet that, once applied, writes MARKER into the document's text.
MARKER_CSS = f'body::before {{ content: "{MARKER}"; }}'
PASSWD = Path("/etc/passwd")


def png_bytes(size=(8, 8)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, "red").save(buffer, "PNG")
    return buffer.getvalue()


class _Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        self.server.paths.append(self.path)
        if self.path.endswith(".css"):
            body, kind = MARKER_CSS.encode(), "text/css"
        else:
            body, kind = png_bytes(), "image/png"
        self.send_response(200)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_POST = do_HEAD = do_GET

    def log_message(self, *args):
        pass


class CountingServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self):
        super().__init__(("127.0.0.1", 0), _Handler)
        self.connections = 0  # every accepted connection, TLS attempts and garbage included
        self.paths: list[str] = []

    def verify_request(self, request, client_address):
        self.connections += 1
        return True

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


@pytest.fixture
def server():
    httpd = CountingServer()
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield httpd
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture
def static_root(settings, tmp_path):
    """A STATIC_ROOT of the test's own (render_pdf resolves relative URLs against it)."""
    root = tmp_path / "static"
    root.mkdir()
    settings.STATIC_ROOT = root
    return root


def pdf_text(document: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(document)).pages)


def pdf_images(document: bytes) -> int:
    return sum(len(page.images) for page in PdfReader(io.BytesIO(document)).pages)


def pdf_fonts(document: bytes) -> set[str]:
    names = set()
    for page in PdfReader(io.BytesIO(document)).pages:
        for font in (page["/Resources"].get("/Font") or {}).values():
            names.add(str(font.get_object()["/BaseFont"]))
    return names


def document(head: str = "", body: str = "") -> str:
    return f"<html><head>{head}</head><body>{body}<p>Inspection record body</p></body></html>"


# Every way a document can name a network resource. {url} is the counting server.
NETWORK_CASES = {
    "img": ("", '<img src="{url}/x.png">'),
    "img over https": ("", '<img src="{https}/x.png">'),
    "img protocol-relative": ("", '<img src="//127.0.0.1:{port}/x.png">'),
    "linked style sheet": ('<link rel="stylesheet" href="{url}/linked.css">', ""),
    "css @import": ("<style>@import url({url}/imported.css);</style>", ""),
    "css @import string": ('<style>@import "{url}/imported2.css";</style>', ""),
    "css background": ("", '<div style="background-image: url({url}/bg.png); height: 20px"></div>'),
    "css list-style-image": ("", '<ul style="list-style-image: url({url}/li.png)"><li>x</li></ul>'),
    "css content url": ("<style>p::after {{ content: url({url}/after.png); }}</style>", ""),
    "css font-face": (
        "<style>@font-face {{ font-family: Remote; src: url({url}/font.ttf); }} "
        "p {{ font-family: Remote; }}</style>",
        "",
    ),
    "object": ("", '<object data="{url}/object.png" type="image/png"></object>'),
    "embed": ("", '<embed src="{url}/embed.png" type="image/png">'),
    "svg image": (
        "",
        '<svg width="10" height="10"><image href="{url}/svg.png" width="10" height="10"/></svg>',
    ),
    "base href": ('<base href="{url}/">', '<img src="based.png">'),
    "attachment": ('<link rel="attachment" href="{url}/attached.txt">', ""),
}


def network_document(case: str, server: CountingServer) -> str:
    head, body = NETWORK_CASES[case]
    port = server.server_address[1]
    values = {"url": server.url, "https": f"https://127.0.0.1:{port}", "port": port}
    return document(head.format(**values), body.format(**values))


@pytest.mark.parametrize("case", NETWORK_CASES)
def test_a_document_naming_a_network_resource_renders_without_a_single_request(case, server):
    result = pdf.render_pdf(network_document(case, server))
    assert server.connections == 0, server.paths
    assert "Inspection record body" in pdf_text(result)
    assert MARKER not in pdf_text(result)
    assert pdf_images(result) == 0
    assert not PdfReader(io.BytesIO(result)).attachments


@pytest.mark.parametrize("case", NETWORK_CASES)
def test_control_weasyprints_own_fetcher_does_reach_the_server(case, server, monkeypatch):
    """Each case above is one WeasyPrint really fetches when left to itself."""
    for variable in ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(variable, raising=False)
    # A web base URL, for the protocol-relative case (render_pdf's base is a file:// one).
    weasyprint.HTML(string=network_document(case, server), base_url="http://localhost/").write_pdf()
    assert server.connections >= 1


@pytest.mark.parametrize("case", ["img", "linked style sheet", "css @import", "base href"])
def test_control_what_the_server_sends_shows_in_the_pdf(case, server, monkeypatch):
    for variable in ("http_proxy", "HTTP_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(variable, raising=False)
    result = weasyprint.HTML(string=network_document(case, server)).write_pdf()
    assert MARKER in pdf_text(result) or pdf_images(result) == 1


# --- local files outside the static and media directories -------------------------------------------


@pytest.fixture
def outside(tmp_path) -> Path:
    """A directory next to (not inside) STATIC_ROOT and MEDIA_ROOT, holding a marker style sheet."""
    directory = tmp_path / "outside"
    directory.mkdir()
    (directory / "marker.css").write_text(MARKER_CSS)
    (directory / "picture.png").write_bytes(png_bytes())
    return directory


def test_a_linked_or_imported_file_outside_the_allowed_directories_is_not_read(static_root, outside):
    css = (outside / "marker.css").as_uri()
    for head in [
        f'<link rel="stylesheet" href="{css}">',
        f"<style>@import url({css});</style>",
        f'<link rel="stylesheet" href="{css.replace("file://", "file://localhost")}">',
        # Relative URLs resolve against STATIC_ROOT: climbing out of it is refused too.
        '<link rel="stylesheet" href="../outside/marker.css">',
        '<link rel="stylesheet" href="%2e%2e/outside/marker.css">',
        f'<link rel="stylesheet" href="{static_root.as_uri()}/../outside/marker.css">',
    ]:
        assert MARKER not in pdf_text(pdf.render_pdf(document(head))), head


def test_a_symlink_inside_static_pointing_out_is_not_followed(static_root, outside):
    (static_root / "innocent.css").symlink_to(outside / "marker.css")
    (static_root / "innocent.png").symlink_to(outside / "picture.png")
    result = pdf.render_pdf(
        document('<link rel="stylesheet" href="innocent.css">', '<img src="innocent.png">')
    )
    assert MARKER not in pdf_text(result)
    assert pdf_images(result) == 0


def test_an_image_outside_the_allowed_directories_is_not_embedded(static_root, outside):
    result = pdf.render_pdf(document(body=f'<img src="{(outside / "picture.png").as_uri()}">'))
    assert pdf_images(result) == 0


@pytest.mark.skipif(not PASSWD.exists(), reason="needs /etc/passwd")
@pytest.mark.parametrize(
    ("head", "body"),
    [
        ("", '<img src="file:///etc/passwd">'),
        ("", '<object data="file:///etc/passwd" type="text/plain"></object>'),
        ('<link rel="stylesheet" href="file:///etc/passwd">', ""),
        ("<style>@import url(file:///etc/passwd);</style>", ""),
        ('<link rel="attachment" href="file:///etc/passwd">', ""),
        ('<base href="file:///etc/">', '<img src="passwd"><link rel="attachment" href="passwd">'),
        ("", '<img src="/etc/passwd">'),
        ("", '<img src="../../../../../../../../etc/passwd">'),
    ],
)
def test_the_text_of_etc_passwd_never_reaches_the_pdf(head, body):
    result = pdf.render_pdf(document(head, body))
    reader = PdfReader(io.BytesIO(result))
    assert not reader.attachments
    first_line = PASSWD.read_text().splitlines()[0]
    assert first_line.encode() not in result
    assert first_line.split(":")[0] + ":x:" not in pdf_text(result)
    assert pdf_images(result) == 0


@pytest.mark.skipif(not PASSWD.exists(), reason="needs /etc/passwd")
def test_control_weasyprints_own_fetcher_would_attach_etc_passwd():
    html = document('<link rel="attachment" href="file:///etc/passwd">')
    assert PdfReader(io.BytesIO(weasyprint.HTML(string=html).write_pdf())).attachments


# --- what PDFs may read still loads --------------------------------------------------------------


def test_control_a_marker_style_sheet_inside_static_root_is_applied(static_root, outside):
    shutil.copy(outside / "marker.css", static_root / "marker.css")
    for head in ['<link rel="stylesheet" href="marker.css">', "<style>@import url(marker.css);</style>"]:
        assert MARKER in pdf_text(pdf.render_pdf(document(head))), head


def test_the_apps_own_static_css_is_read_through_the_finders(settings, monkeypatch):
    """Before collectstatic, core/app.css lives in core/static; the finders supply it."""
    loaded = []
    real_fetch = pdf.LocalOnlyURLFetcher.fetch

    def spy(self, url, headers=None):
        response = real_fetch(self, url, headers)
        loaded.append(url)
        return response

    monkeypatch.setattr(pdf.LocalOnlyURLFetcher, "fetch", spy)
    pdf.render_pdf(document('<link rel="stylesheet" href="core/app.css">'))
    assert loaded == [Path(settings.STATIC_ROOT).as_uri() + "/core/app.css"]


def test_a_font_in_static_root_is_embedded(static_root):
    font = Path("/usr/share/fonts/truetype/dejavu/DejaVuSerif-Bold.ttf")
    if not font.exists():
        pytest.skip("needs the DejaVu fonts")
    shutil.copy(font, static_root / "probe.ttf")
    head = "<style>@font-face { font-family: Probe; src: url(probe.ttf); } p { font-family: Probe; }</style>"
    # WeasyPrint names an embedded web font after its @font-face family.
    assert any("Probe" in name for name in pdf_fonts(pdf.render_pdf(document(head))))


def test_control_the_same_font_outside_static_root_is_not_embedded(static_root, tmp_path):
    font = Path("/usr/share/fonts/truetype/dejavu/DejaVuSerif-Bold.ttf")
    if not font.exists():
        pytest.skip("needs the DejaVu fonts")
    shutil.copy(font, tmp_path / "probe.ttf")
    head = (
        f"<style>@font-face {{ font-family: Probe; src: url({(tmp_path / 'probe.ttf').as_uri()}); }} "
        "p { font-family: Probe; }</style>"
    )
    assert not any("Probe" in name for name in pdf_fonts(pdf.render_pdf(document(head))))


def test_a_media_file_is_embedded(settings):
    media = Path(settings.MEDIA_ROOT)
    media.mkdir(parents=True, exist_ok=True)
    (media / "photo.png").write_bytes(png_bytes())
    result = pdf.render_pdf(document(body=f'<img src="{(media / "photo.png").as_uri()}">'))
    assert pdf_images(result) == 1


def test_a_data_uri_image_is_embedded():
    import base64

    uri = "data:image/png;base64," + base64.b64encode(png_bytes()).decode()
    assert pdf_images(pdf.render_pdf(document(body=f'<img src="{uri}">'))) == 1
