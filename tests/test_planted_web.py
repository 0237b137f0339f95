"""The web page's access rules, each exercised so that breaking it turns a test red (issue 22):
downloads only of files the manifest names, after a real generation; the form token checked on
a real multipart upload; sign-in redirects that stay on this site. Everything goes through
HTTP (Flask's test client), not through the site's internals."""

from __future__ import annotations

import io
import time
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from pipeline.web import create_app

from .test_web import CONTENT, app, blanks, client, filled, status_of, token  # noqa: F401  (fixtures)


def wait_for_generation(client, timeout: float = 600) -> str:
    """Poll the generation page, as the clerk's browser does, until the build has finished."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        page = client.get("/generate").get_data(as_text=True)
        if "生成完毕" in page:
            return page
        time.sleep(0.2)
    raise AssertionError("生成没有在时限内完成")


def multipart(client, workbook: bytes, csrf: str | None):
    data = {"workbooks": [(io.BytesIO(workbook), "九台区.xlsx")]}
    if csrf is not None:
        data["csrf_token"] = csrf
    return client.post("/upload", data=data, content_type="multipart/form-data",
                       follow_redirects=True)  # redirect after POST: the result page


# --- downloads: only what the manifest names ---------------------------------------------------------


def test_downloads_after_a_real_generation_only_from_the_manifest(client, app, tmp_path, blanks):  # noqa: F811
    # one region returns its final ratings; the clerk generates everything
    response = multipart(client, filled(blanks, "九台区", final="达标"), token(client))
    assert response.status_code == 200 and "已接收" in response.get_data(as_text=True)
    response = client.post("/generate", data={"csrf_token": token(client, "/generate")})
    assert response.status_code in (302, 303)
    page = wait_for_generation(client)
    output = tmp_path / "work" / "output"
    assert (output / "manifest.json").is_file()
    assert "九台区.pdf" in page
    # what was generated is downloadable, and is what is on disk
    good = client.get("/file", query_string={"path": "等次函/九台区.pdf"})
    assert good.status_code == 200 and good.data == (output / "等次函" / "九台区.pdf").read_bytes()
    # … but nothing else under output/, though it exists there
    cached = sorted(p.relative_to(output).as_posix() for p in (output / ".cache").rglob("*") if p.is_file())
    assert cached, "the build keeps its laid-out forms in output/.cache/"
    (output / "笔记.txt").write_text("不是生成的文件", encoding="utf-8")
    (output / "等次函" / "伪造.pdf").write_bytes(b"%PDF-1.7 not ours")
    for path in ["manifest.json", cached[0], cached[-1], ".cache", "笔记.txt", "等次函/伪造.pdf",
                 "等次函", "./等次函/九台区.pdf", "等次函//九台区.pdf", str(output / "等次函" / "九台区.pdf")]:
        response = client.get("/file", query_string={"path": path})
        assert response.status_code == 404, path
        assert b"%PDF" not in response.data and b"documents" not in response.data, path
    # the archive of everything holds the manifest's documents, no stray file
    import zipfile
    names = zipfile.ZipFile(io.BytesIO(client.get("/all.zip").data)).namelist()
    assert "等次函/九台区.pdf" in names
    assert not [n for n in names if n.startswith(".cache") or n in ("manifest.json", "笔记.txt", "等次函/伪造.pdf")]


# --- the form token on a real upload ---------------------------------------------------------------


@pytest.mark.parametrize("csrf", [None, "", "forged-token-0123456789abcdef"])
def test_multipart_upload_without_the_right_token_is_refused_and_nothing_kept(client, blanks, csrf):  # noqa: F811
    token(client)  # the session has a token; the request does not carry it
    response = multipart(client, filled(blanks, "九台区", final="优秀"), csrf)
    assert response.status_code == 400
    assert "校验码" in response.get_data(as_text=True)
    assert status_of(client, "九台区") == "未交"
    assert client.get("/upload/1").status_code == 404  # no upload kept
    assert "已自评" not in client.get("/region/九台区").get_data(as_text=True)
    # the same workbook with the page's token is taken (the refusal was the token's doing)
    response = multipart(client, filled(blanks, "九台区", final="优秀"), token(client))
    assert response.status_code == 200 and "已接收" in response.get_data(as_text=True)
    assert status_of(client, "九台区") == "已考评"
    assert client.get("/upload/1").status_code == 200


def test_token_of_another_session_is_refused(app, blanks):  # noqa: F811
    other = app.test_client()
    stolen = token(other)
    client = app.test_client()
    token(client)
    response = multipart(client, filled(blanks, "九台区"), stolen)
    assert response.status_code == 400 and status_of(client, "九台区") == "未交"


# --- sign-in ------------------------------------------------------------------------------------------


@pytest.fixture
def locked(tmp_path):
    app = create_app(CONTENT, tmp_path / "locked", password="春风")
    app.config["TESTING"] = True
    return app.test_client()


def sign_in(client, next_url: str | None, password: str = "春风"):
    query = {} if next_url is None else {"next": next_url}
    csrf = token(client, "/login")
    return client.post("/login", query_string=query, data={"csrf_token": csrf, "password": password})


@pytest.mark.parametrize("target", ["//evil.example/", "//evil.example/region/九台区", "/\\evil.example/",
                                    "https://evil.example/", "http:evil.example", "\\\\evil.example",
                                    " //evil.example/", "/%2F/evil.example/"])
def test_sign_in_never_redirects_off_this_site(locked, target):
    response = sign_in(locked, target)
    assert response.status_code in (302, 303)
    location = response.headers["Location"]
    parts = urlsplit(location.replace("\\", "/"))
    assert parts.netloc in ("", "localhost"), location
    assert not parts.path.startswith("//"), location
    assert locked.get("/").status_code == 200  # signed in all the same


def test_sign_in_returns_to_the_page_asked_for(locked):
    response = locked.get("/region/九台区")
    assert response.status_code in (302, 303) and "/login" in response.headers["Location"]
    login_page = response.headers["Location"]
    csrf = token(locked, login_page)
    response = locked.post(login_page, data={"csrf_token": csrf, "password": "春风"})
    assert response.status_code in (302, 303)
    assert urlsplit(response.headers["Location"]).path == "/region/%E4%B9%9D%E5%8F%B0%E5%8C%BA" or \
        urlsplit(response.headers["Location"]).path == "/region/九台区"


def test_wrong_password_gives_no_session(locked):
    response = sign_in(locked, "/", password="秋雨")
    assert response.status_code == 401
    response = locked.get("/")
    assert response.status_code in (302, 303) and "/login" in response.headers["Location"]
    assert locked.get("/results.csv").status_code in (302, 303)


def test_signed_out_session_is_locked_again(locked):
    assert sign_in(locked, "/").status_code in (302, 303)
    assert locked.get("/").status_code == 200
    response = locked.post("/logout", data={"csrf_token": token(locked, "/")})
    assert response.status_code in (302, 303)
    response = locked.get("/")
    assert response.status_code in (302, 303) and "/login" in response.headers["Location"]


def test_data_folder_path_is_not_reachable(client, app, tmp_path):
    work = Path(tmp_path / "work")
    assert (work / "secret.key").exists()
    for name in ["pipeline.sqlite3", "secret.key", "../work/secret.key", "../secret.key"]:
        assert client.get("/file", query_string={"path": name}).status_code == 404
        assert client.get(f"/static/{name}").status_code == 404
