"""Citations and web search: text blocks quoting the request's documents (or a web search's
results) carry citations, JSON and SSE alike; the SDK's stream accumulation gives the JSON
answer."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from api_shapes import HAIKU, body, headers, sse_events, without_ids
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_emulator_streaming import rebuild

from claude_arch.core.tokens import count_text
from claude_arch.testing import EmulatorServer

anthropic = pytest.importorskip("anthropic")

RIVERS = (
    "The Nile is the longest river in Africa. It flows north into the Mediterranean Sea.\n"
    "Its basin covers eleven countries!   Cairo lies on its banks. Is it older than Rome?"
)
PDF = {"type": "base64", "media_type": "application/pdf", "data": "JVBERi0xLjQK"}
SEARCH = {"type": "web_search_20250305", "name": "web_search", "max_uses": 3}


def text_document(data: str, title: str | None = "Rivers", enabled: bool = True) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "type": "document",
        "source": {"type": "text", "media_type": "text/plain", "data": data},
        "citations": {"enabled": enabled},
    }
    if title is not None:
        doc["title"] = title
    return doc


def asking(*blocks: dict[str, Any], question: str = "Where does the Nile flow?") -> list[Any]:
    return [{"role": "user", "content": [*blocks, {"type": "text", "text": question}]}]


def text_tokens(content: list[dict[str, Any]]) -> int:
    return sum(count_text(b["text"]) for b in content if b["type"] == "text")


@pytest.fixture
def sdk(emu: EmulatorServer) -> Iterator[Any]:
    with anthropic.Anthropic(base_url=emu.url, api_key=emu.api_key, max_retries=0) as client:
        yield client


@pytest.fixture(scope="module")
def http() -> Iterator[httpx.Client]:
    with (
        EmulatorServer(rate_limit_tier="none") as emu,
        httpx.Client(base_url=emu.url, headers=headers(emu.api_key), timeout=10) as client,
    ):
        yield client


def test_a_cited_answer_quotes_the_document_json_and_streamed(sdk: Any) -> None:
    pdf = {"type": "document", "source": PDF, "citations": {"enabled": True}}
    params = {
        "model": HAIKU,
        "max_tokens": 1024,
        "messages": asking(pdf, text_document(RIVERS)),
    }
    created = sdk.messages.create(**params)
    assert created.stop_reason == "end_turn"
    assert created.content[0].type == "text"
    assert created.content[0].citations is None
    cited = [b for b in created.content if b.citations]
    assert cited
    for block in cited:
        (citation,) = block.citations
        assert type(citation).__name__ == "CitationCharLocation"
        assert citation.document_index == 1  # the PDF before it counts, though it is not cited
        assert citation.document_title == "Rivers"
        assert RIVERS[citation.start_char_index : citation.end_char_index] == citation.cited_text
        assert citation.cited_text in block.text
    assert created.usage.output_tokens == text_tokens(created.model_dump()["content"])
    with sdk.messages.stream(**params) as stream:
        final = stream.get_final_message()
    assert without_ids(final) == without_ids(created)


def test_a_cited_block_streams_citations_deltas_from_an_empty_list(http: httpx.Client) -> None:
    payload = body(asking(text_document(RIVERS))[0]["content"], max_tokens=1024)
    plain = http.post("/v1/messages", json=payload).json()
    events = sse_events(http.post("/v1/messages", json={**payload, "stream": True}).text)
    for index, block in enumerate(plain["content"]):
        (opening,) = [
            d["content_block"]
            for n, d in events
            if n == "content_block_start" and d["index"] == index
        ]
        deltas = [
            d["delta"] for n, d in events if n == "content_block_delta" and d["index"] == index
        ]
        kinds = [d["type"] for d in deltas]
        if "citations" in block:
            assert opening == {"type": "text", "text": "", "citations": []}
            assert kinds[0] == "citations_delta"
            assert [d["citation"] for d in deltas if d["type"] == "citations_delta"] == block[
                "citations"
            ]
        else:
            assert opening == {"type": "text", "text": ""}
            assert "citations_delta" not in kinds
        assert set(kinds) <= {"citations_delta", "text_delta"}
    rebuilt = rebuild(events)
    assert rebuilt["content"] == plain["content"]
    assert rebuilt["usage"]["output_tokens"] == plain["usage"]["output_tokens"]


def test_custom_content_documents_get_block_citations(http: httpx.Client) -> None:
    parts = ["Opening hours are nine to five.", "   ", "Closed on public holidays."]
    doc = {
        "type": "document",
        "title": "Shop",
        "source": {"type": "content", "content": [{"type": "text", "text": t} for t in parts]},
        "citations": {"enabled": True},
    }
    reply = http.post("/v1/messages", json=body([doc, {"type": "text", "text": "When?"}])).json()
    citations = [c for b in reply["content"] for c in b.get("citations", ())]
    assert citations
    for citation in citations:
        assert citation["type"] == "content_block_location"
        assert citation["end_block_index"] == citation["start_block_index"] + 1
        assert citation["cited_text"] == parts[citation["start_block_index"]]
        assert citation["start_block_index"] != 1  # blank blocks are not cited


def test_documents_without_citations_get_plain_text(http: httpx.Client) -> None:
    for doc in (text_document(RIVERS, enabled=False), {**text_document(RIVERS), "citations": None}):
        reply = http.post("/v1/messages", json=body(asking(doc)[0]["content"])).json()
        assert all("citations" not in b for b in reply["content"])


@settings(
    max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    data=st.text(max_size=600) | st.sampled_from([RIVERS, "x" * 900, "no full stop " * 40]),
    max_tokens=st.integers(1, 128),
    title=st.none() | st.text(max_size=20),
)
def test_every_citation_quotes_its_span_and_the_stream_says_the_same(
    http: httpx.Client, data: str, max_tokens: int, title: str | None
) -> None:
    payload = body(asking(text_document(data, title))[0]["content"], max_tokens=max_tokens)
    plain = http.post("/v1/messages", json=payload).json()
    citations = [c for b in plain["content"] for c in b.get("citations", ())]
    for citation in citations:
        span = data[citation["start_char_index"] : citation["end_char_index"]]
        assert span == citation["cited_text"]
        assert span.strip() == span != ""
        assert citation["document_title"] == title
    if data.strip() and max_tokens >= 16:
        assert citations
    assert plain["usage"]["output_tokens"] == text_tokens(plain["content"]) <= max_tokens
    events = sse_events(http.post("/v1/messages", json={**payload, "stream": True}).text)
    rebuilt = rebuild(events)
    assert rebuilt["content"] == plain["content"]
    assert rebuilt["stop_reason"] == plain["stop_reason"]
    assert rebuilt["usage"]["output_tokens"] == plain["usage"]["output_tokens"]


def test_a_web_search_answers_in_server_tool_blocks_json_and_streamed(sdk: Any) -> None:
    params = {
        "model": HAIKU,
        "max_tokens": 1024,
        "tools": [SEARCH],
        "messages": [{"role": "user", "content": "Use web_search: claude api rate limits"}],
    }
    created = sdk.messages.create(**params)
    kinds = [b.type for b in created.content]
    assert kinds[:3] == ["text", "server_tool_use", "web_search_tool_result"]
    assert set(kinds[3:]) == {"text"}
    call, result = created.content[1], created.content[2]
    assert call.id.startswith("srvtoolu_01")
    assert call.name == "web_search"
    assert call.input == {"query": "claude api rate limits"}
    assert result.tool_use_id == call.id
    urls = {r.url for r in result.content}
    cited = [c for b in created.content[3:] for c in b.citations or ()]
    assert cited
    assert {type(c).__name__ for c in cited} == {"CitationsWebSearchResultLocation"}
    assert {c.url for c in cited} <= urls
    assert created.stop_reason == "end_turn"
    assert created.usage.server_tool_use.web_search_requests == 1
    query = json.dumps(call.input, separators=(",", ":"))
    expected = text_tokens(created.model_dump()["content"]) + count_text("web_search")
    assert created.usage.output_tokens == expected + count_text(query)
    with sdk.messages.stream(**params) as stream:
        final = stream.get_final_message()
    assert without_ids(final) == without_ids(created)
    assert final.content[2].tool_use_id == final.content[1].id


def test_a_search_and_a_client_tool_in_one_turn(http: httpx.Client) -> None:
    weather = {
        "name": "get_weather",
        "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}},
    }
    prompt = "Use web_search and get_weather for Oslo"
    reply = http.post("/v1/messages", json=body(prompt, tools=[SEARCH, weather])).json()
    kinds = [b["type"] for b in reply["content"]]
    assert kinds[:3] == ["text", "server_tool_use", "web_search_tool_result"]
    assert kinds[-1] == "tool_use"
    assert reply["stop_reason"] == "tool_use"
    assert reply["content"][0]["text"] == "I'll use the web_search and get_weather tools."
    one = {"type": "auto", "disable_parallel_tool_use": True}
    reply = http.post(
        "/v1/messages", json=body(prompt, tools=[SEARCH, weather], tool_choice=one)
    ).json()
    assert "tool_use" not in [b["type"] for b in reply["content"]]
    assert reply["stop_reason"] == "end_turn"
