import io
import shutil
import socket
import subprocess
from pathlib import Path

import pytest
import zxingcpp
from django.conf import settings as django_settings
from django.core.files.storage import default_storage
from PIL import Image
from pypdf import PdfReader

from core import code_documents, pdf
from core.code_documents import code_batch_build, code_batch_create, code_pdf
from core.codes import code_issue, code_revoke, code_rotate, code_url
from core.errors import DomainError
from core.models import AuditEvent, CodeBatch, District, IdentityCode, Scene
from tests.factories import EnterpriseFactory, MembershipFactory, RegulatorFactory, make_uscc

pytestmark = pytest.mark.django_db

A6 = (297.6, 419.5)
A4 = (595.3, 841.9)


def page_size(reader: PdfReader, index: int = 0) -> tuple[float, float]:
    box = reader.pages[index].mediabox
    return round(float(box.width), 1), round(float(box.height), 1)


def flat(text: str) -> str:
    return "".join(text.split())


@pytest.fixture
def code(enterprise):
    enterprise.name = "北京市朝阳区老王家常菜馆有限公司"
    enterprise.save()
    return code_issue(enterprise=enterprise)


# --- One code --------------------------------------------------------------------------------


def test_it_renders_a_one_page_a6_sticker_with_the_enterprise_and_instructions(code, enterprise):
    reader = PdfReader(io.BytesIO(code_pdf(code, "sticker")))
    assert len(reader.pages) == 1
    assert page_size(reader) == pytest.approx(A6, abs=0.5)
    text = flat(reader.pages[0].extract_text())
    for snippet in [
        enterprise.name,
        enterprise.uscc,
        enterprise.scene.name,
        " ".join(code.token[i : i + 4] for i in range(0, 22, 4)),
        "扫码查看公示信息、反映问题",
        "扫码查看合规手册、自查和整改",
        "执法人员扫码开始检查",
        "scan to see the public card and report a problem",
        "scan to start an inspection",
    ]:
        assert flat(snippet) in text


def test_it_prints_chinese_with_the_cjk_font(code):
    page = PdfReader(io.BytesIO(code_pdf(code, "sticker"))).pages[0]
    fonts = {str(font.get_object()["/BaseFont"]) for font in page["/Resources"]["/Font"].values()}
    assert fonts and all("WenQuanYi" in font for font in fonts)


def test_it_renders_a_one_page_a4_poster(code, enterprise):
    reader = PdfReader(io.BytesIO(code_pdf(code, "poster")))
    assert len(reader.pages) == 1
    assert page_size(reader) == pytest.approx(A4, abs=0.5)
    text = flat(reader.pages[0].extract_text())
    assert enterprise.name in text
    assert "一业一码·一业一册" in text  # the page footer, in a margin box


def test_the_qr_inside_the_sticker_decodes_to_the_code_url(code):
    page = PdfReader(io.BytesIO(code_pdf(code, "sticker"))).pages[0]
    (embedded,) = page.images
    assert [b.text for b in zxingcpp.read_barcodes(embedded.image)] == [code_url(code.token)]


@pytest.mark.skipif(not shutil.which("pdftoppm"), reason="pdftoppm (poppler-utils) is not installed")
def test_the_printed_sticker_scans(code, tmp_path):
    sticker = tmp_path / "sticker.pdf"
    sticker.write_bytes(code_pdf(code, "sticker"))
    # 100 dpi: the QR is ~270 px wide, about what a phone camera resolves at arm's length.
    subprocess.run(["pdftoppm", "-r", "100", "-png", "-singlefile", sticker, tmp_path / "page"], check=True)
    page = Image.open(tmp_path / "page.png")
    assert [b.text for b in zxingcpp.read_barcodes(page)] == [code_url(code.token)]


def test_a_very_long_name_still_fits_on_one_page(code, enterprise):
    enterprise.name = "北京市朝阳区" * 33
    enterprise.save()
    reader = PdfReader(io.BytesIO(code_pdf(code, "sticker")))
    assert len(reader.pages) == 1


def test_it_stores_the_pdf_and_serves_it_afterwards(code, enterprise, monkeypatch):
    renders = []
    real_render = code_documents.render_pdf
    monkeypatch.setattr(code_documents, "render_pdf", lambda html: renders.append(1) or real_render(html))

    first = code_pdf(code, "sticker")
    assert code_pdf(code, "sticker") == first
    assert len(renders) == 1
    assert any(name.startswith(f"{code.token}-sticker") for name in default_storage.listdir("codes")[1])

    enterprise.name = "北京市朝阳区老王家常菜馆（新店名）"
    enterprise.save()
    code.refresh_from_db()
    assert code_pdf(code, "sticker") != first
    assert len(renders) == 2


def test_a_rotated_code_gets_a_new_sticker(code, enterprise, admin_user):
    code_pdf(code, "sticker")
    new_code = code_rotate(enterprise=enterprise, actor=admin_user, reason="lost")
    text = PdfReader(io.BytesIO(code_pdf(new_code, "sticker"))).pages[0].extract_text()
    assert new_code.token[:4] in text
    code.refresh_from_db()
    with pytest.raises(DomainError) as refused:
        code_pdf(code, "sticker")
    assert refused.value.code == "code_replaced"


def test_it_refuses_to_print_a_revoked_code(code, enterprise, admin_user):
    code_revoke(enterprise=enterprise, actor=admin_user, reason="licence revoked")
    code.refresh_from_db()
    with pytest.raises(DomainError) as refused:
        code_pdf(code, "sticker")
    assert refused.value.code == "code_revoked"


def test_it_refuses_an_unknown_layout(code):
    with pytest.raises(DomainError) as refused:
        code_pdf(code, "billboard")
    assert refused.value.code == "unknown_layout"


# --- The PDF renderer fetches nothing from outside ------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:9/x.png",
        "https://example.com/x.css",
        "ftp://example.com/x.png",
        "file:///etc/passwd",
        "file://otherhost/srv/x.png",
        Path(django_settings.STATIC_ROOT).as_uri() + "/../../../../etc/passwd",
    ],
)
def test_the_fetcher_refuses_anything_but_local_static_and_media_files(url):
    with pytest.raises(pdf.ResourceRefused):
        pdf.LocalOnlyURLFetcher().fetch(url)


def test_the_fetcher_refuses_a_symlink_out_of_media(settings):
    media = Path(settings.MEDIA_ROOT)
    media.mkdir(parents=True, exist_ok=True)
    (media / "passwd.png").symlink_to("/etc/passwd")
    with pytest.raises(pdf.ResourceRefused):
        pdf.LocalOnlyURLFetcher().fetch((media / "passwd.png").as_uri())


def test_the_fetcher_reads_data_uris_static_files_and_media(settings):
    fetcher = pdf.LocalOnlyURLFetcher()
    assert fetcher.fetch("data:text/plain;base64,aGk=").read() == b"hi"
    # Relative to STATIC_ROOT, found by the staticfiles finders before collectstatic.
    css = fetcher.fetch(Path(settings.STATIC_ROOT).as_uri() + "/core/app.css")
    assert css.content_type == "text/css"
    assert css.read()
    media = Path(settings.MEDIA_ROOT)
    media.mkdir(parents=True, exist_ok=True)
    (media / "photo.png").write_bytes(b"png")
    assert fetcher.fetch((media / "photo.png").as_uri()).read() == b"png"


def test_render_pdf_skips_outside_resources_without_fetching_them(monkeypatch):
    def no_network(*args, **kwargs):
        raise AssertionError("the PDF renderer opened a connection")

    monkeypatch.setattr(socket, "create_connection", no_network)
    monkeypatch.setattr(socket.socket, "connect", no_network)
    refused = []
    real_fetch = pdf.LocalOnlyURLFetcher.fetch

    def spy(self, url, headers=None):
        try:
            return real_fetch(self, url, headers)
        except pdf.ResourceRefused:
            refused.append(url)
            raise

    monkeypatch.setattr(pdf.LocalOnlyURLFetcher, "fetch", spy)
    html = """<html><head>
      <style>@import url(http://127.0.0.1:9/imported.css); p { color: red }</style>
      <link rel="stylesheet" href="http://127.0.0.1:9/linked.css">
    </head><body>
      <p>巡查记录 Inspection record</p>
      <img src="http://127.0.0.1:9/x.png"><img src="file:///etc/passwd">
    </body></html>"""
    document = pdf.render_pdf(html)
    assert document.startswith(b"%PDF")
    assert "巡查记录" in PdfReader(io.BytesIO(document)).pages[0].extract_text()
    assert set(refused) == {
        "http://127.0.0.1:9/imported.css",
        "http://127.0.0.1:9/linked.css",
        "http://127.0.0.1:9/x.png",
        "file:///etc/passwd",
    }


# --- Batches --------------------------------------------------------------------------------------


@pytest.fixture
def chaoyang():
    return District.objects.get(code="110105")


@pytest.fixture
def regulator(chaoyang):
    """Market regulation in Chaoyang: catering enterprises of the district and its streets."""
    return RegulatorFactory(district=chaoyang).user


@pytest.fixture
def in_scope(chaoyang):
    street = District.objects.get(code="110105003")
    # Created out of USCC order, to see the pages come out in order.
    return [
        EnterpriseFactory(uscc=make_uscc(30), name="朝阳烤鸭店"),
        EnterpriseFactory(uscc=make_uscc(10), name="朝阳面馆", district=street),
        EnterpriseFactory(uscc=make_uscc(20), name="Chaoyang Coffee"),
    ]


@pytest.fixture
def out_of_scope(in_scope):
    return [
        EnterpriseFactory(uscc=make_uscc(40), district=District.objects.get(code="110108")),
        EnterpriseFactory(uscc=make_uscc(50), scene=Scene.objects.get(code="medical")),
    ]


def test_a_district_batch_is_built_in_the_background(
    regulator, chaoyang, in_scope, out_of_scope, monkeypatch, django_capture_on_commit_callbacks
):
    monkeypatch.setattr(code_documents, "PAGES_PER_RENDER", 2)  # two chunks, concatenated
    existing = code_issue(enterprise=in_scope[0])
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        batch = code_batch_create(user=regulator, layout="sticker", district=chaoyang)
    assert len(callbacks) == 1

    batch.refresh_from_db()
    assert batch.status == CodeBatch.Status.DONE
    assert batch.total == batch.done == 3
    assert batch.finished_at is not None and batch.error == ""
    with batch.file.open("rb") as file:
        reader = PdfReader(io.BytesIO(file.read()), strict=True)
    assert len(reader.pages) == 3
    assert page_size(reader, 2) == pytest.approx(A6, abs=0.5)
    texts = [flat(page.extract_text()) for page in reader.pages]
    printed = [next(e for e in in_scope if e.uscc in text) for text in texts]
    assert [e.uscc for e in printed] == sorted(e.uscc for e in in_scope)
    # Each page carries its enterprise's active code: issued where missing, the existing one kept.
    for enterprise, text in zip(printed, texts, strict=True):
        active = IdentityCode.objects.get(enterprise=enterprise, status=IdentityCode.Status.ACTIVE)
        assert active.token in text
    assert IdentityCode.objects.get(enterprise=in_scope[0], status="active") == existing
    assert not IdentityCode.objects.filter(enterprise__in=out_of_scope).exists()
    assert AuditEvent.objects.filter(action="code.batch.create", target_id=str(batch.pk)).exists()


def test_a_selection_batch_prints_exactly_the_selection(
    regulator, in_scope, out_of_scope, django_capture_on_commit_callbacks
):
    selection = [in_scope[0].uscc.lower(), f" {in_scope[2].uscc} ", in_scope[0].uscc]
    with django_capture_on_commit_callbacks(execute=True):
        batch = code_batch_create(user=regulator, layout="poster", usccs=selection)
    batch.refresh_from_db()
    assert batch.status == CodeBatch.Status.DONE
    assert batch.usccs == sorted([in_scope[0].uscc, in_scope[2].uscc])
    assert batch.total == batch.done == 2
    reader = PdfReader(batch.file.path)
    assert len(reader.pages) == 2
    assert page_size(reader) == pytest.approx(A4, abs=0.5)


def test_a_selection_with_an_invisible_or_unknown_enterprise_is_refused_whole(
    in_scope, out_of_scope, django_capture_on_commit_callbacks
):
    owner = MembershipFactory(enterprise=in_scope[0]).user
    unknown = make_uscc(99)
    with django_capture_on_commit_callbacks() as callbacks, pytest.raises(DomainError) as refused:
        code_batch_create(user=owner, layout="sticker", usccs=[in_scope[0].uscc, in_scope[1].uscc, unknown])
    assert refused.value.code == "unknown_enterprises"
    assert refused.value.details == sorted([in_scope[1].uscc, unknown])
    assert callbacks == []
    assert not CodeBatch.objects.exists()
    assert not IdentityCode.objects.exists()


def test_an_empty_selection_is_refused(regulator):
    with pytest.raises(DomainError) as refused:
        code_batch_create(user=regulator, layout="sticker", usccs=[" ", ""])
    assert refused.value.code == "empty_batch"


def test_an_outsiders_district_batch_is_empty_and_refused(outsider, chaoyang, in_scope):
    with pytest.raises(DomainError) as refused:
        code_batch_create(user=outsider, layout="sticker", district=chaoyang)
    assert refused.value.code == "empty_batch"
    assert not CodeBatch.objects.exists()


def test_a_batch_over_the_maximum_is_refused(regulator, chaoyang, in_scope, monkeypatch):
    monkeypatch.setattr(code_documents, "MAX_BATCH", 2)
    for scope in [{"district": chaoyang}, {"usccs": [e.uscc for e in in_scope]}]:
        with pytest.raises(DomainError) as refused:
            code_batch_create(user=regulator, layout="sticker", **scope)
        assert refused.value.code == "batch_too_large"
    assert not CodeBatch.objects.exists()


def test_a_batch_needs_a_district_or_a_selection_but_not_both(regulator, chaoyang, in_scope):
    for scope in [{}, {"district": chaoyang, "usccs": [in_scope[0].uscc]}]:
        with pytest.raises(DomainError) as refused:
            code_batch_create(user=regulator, layout="sticker", **scope)
        assert refused.value.code == "scope_required"


def test_a_failing_batch_is_marked_failed_with_the_error(
    regulator, chaoyang, in_scope, monkeypatch, django_capture_on_commit_callbacks
):
    def broken(html):
        raise RuntimeError("renderer exploded")

    monkeypatch.setattr(code_documents, "render_pdf", broken)
    with django_capture_on_commit_callbacks(execute=True):
        batch = code_batch_create(user=regulator, layout="sticker", district=chaoyang)
    batch.refresh_from_db()
    assert batch.status == CodeBatch.Status.FAILED
    assert "renderer exploded" in batch.error
    assert batch.finished_at is not None
    assert not batch.file


def test_a_batch_already_built_is_not_built_again(regulator, chaoyang, in_scope):
    batch = CodeBatch.objects.create(
        requested_by=regulator, district=chaoyang, status=CodeBatch.Status.DONE, total=3, done=3
    )
    code_batch_build(batch_id=batch.pk)
    batch.refresh_from_db()
    assert batch.status == CodeBatch.Status.DONE
    assert not IdentityCode.objects.exists()
