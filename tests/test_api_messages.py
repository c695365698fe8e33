"""What an API client reads when a request goes wrong: the message names the real problem."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from test_service import running

from evaluator import Evaluator
from evaluator.service.app import create_app


@pytest.fixture(scope="module")
def client(evaluator: Evaluator) -> Iterator[httpx.Client]:
    with running(create_app(evaluator, token="")) as url, httpx.Client(base_url=url, timeout=600) as c:
        yield c


def error(r: httpx.Response) -> dict[str, object]:
    body = r.json()
    assert isinstance(body, dict) and isinstance(body.get("error"), dict), body
    return body["error"]  # type: ignore[no-any-return]


def test_bad_json_says_json_and_where(client: httpx.Client) -> None:
    r = client.post("/v1/evaluate", content=b'{"answer": "x",, }', headers={"Content-Type": "application/json"})
    e = error(r)
    assert r.status_code == 400 and e["type"] == "invalid_request"
    assert e["message"] == (
        "the request body is not valid JSON at character 15 (Expecting property name enclosed in double quotes)"
    )
    assert all(d["field"] == "" for d in e["details"])  # type: ignore[attr-defined]


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", None])
def test_a_body_not_sent_as_json_says_so(client: httpx.Client, content_type: str | None) -> None:
    headers = {"Content-Type": content_type} if content_type else {}
    r = client.post("/v1/evaluate", content=b'{"answer": "x"}', headers=headers)
    e = error(r)
    assert r.status_code == 400
    assert str(e["message"]).startswith(
        "the request body must be a JSON object sent with Content-Type: application/json"
    )
    assert (content_type or "no Content-Type") in str(e["message"])


def test_no_match_for_a_sent_question_does_not_ask_for_the_question(client: httpx.Client) -> None:
    r = client.post("/v1/evaluate", json={"answer": "先把鸡蛋炒熟盛出，再炒番茄，最后一起翻炒加盐。",
                                          "question": "番茄炒蛋怎么做？"})  # fmt: skip
    e = error(r)
    assert r.status_code == 422 and e["type"] == "no_confident_match"
    assert "the question text" in str(e["message"]) and "text as question" not in str(e["message"])
    assert e["candidates"]


def test_docs_pages_load_nothing_from_elsewhere(client: httpx.Client) -> None:
    for path in ("/docs", "/redoc"):
        page = client.get(path)
        assert page.status_code == 200
        assert "http://" not in page.text and "https://" not in page.text and "//cdn" not in page.text
    assert client.get("/docs-assets/swagger-ui-bundle.js").status_code == 200
    assert client.get("/docs-assets/swagger-ui.css").status_code == 200
    assert client.get("/docs-assets/redoc.standalone.js").status_code == 200
