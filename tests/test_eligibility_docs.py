"""docs/eligibility.md: every curl example is sent to a real ``invoicekit serve`` and must get
the status and JSON the page shows after it."""

from __future__ import annotations

import itertools
import json
import re
import shlex
from pathlib import Path

import pytest
import requests

from servers import free_port, invoicekit, kit_env, start_serve, stop_serve

DOC = Path(__file__).resolve().parent.parent / "docs" / "eligibility.md"


def examples() -> list[tuple[list[str], int, object]]:
    """(curl arguments, documented status, documented JSON) for each curl block followed by
    an http block."""
    text = DOC.read_text(encoding="utf-8")
    found = []
    for curl, answer in re.findall(r"```sh\n(curl .*?)```\s*```http\n(.*?)```", text, re.DOTALL):
        status = int(answer.split()[1])
        body = answer.split("\n\n", 1)[1]
        found.append((shlex.split(curl.replace("\\\n", " ")), status, json.loads(body)))
    return found


def test_the_page_has_examples_of_each_answer():
    assert sorted({status for _, status, _ in examples()}) == [200, 401, 422]


def send(args: list[str], port: int, key: str) -> requests.Response:
    """What curl would send: the URL (on ``port``), ``-H`` headers and the ``-d`` body."""
    url = next(a for a in args if a.startswith("http://"))
    url = url.replace("127.0.0.1:8000", f"127.0.0.1:{port}")
    headers, body = {}, None
    for flag, value in itertools.pairwise(args):
        if flag == "-H":
            name, _, header = value.partition(": ")
            headers[name] = header.replace("$API_KEY", key)
        elif flag == "-d":
            body = value.encode()
    return requests.post(url, data=body, headers=headers, timeout=10)


@pytest.mark.slow
def test_every_example_answers_as_documented(tmp_path, database_url, queue_url, engine):
    env = kit_env(tmp_path / "instance", database_url, queue_url)
    invoicekit(env, "merchants", "add", "3333", "--name", "ACME Office GmbH", "--kyc-verified")
    created = invoicekit(env, "apikeys", "create", "--merchant", "3333", "--name", "checkout")
    key = re.search(r"^(ik_\S+)$", created, re.MULTILINE).group(1)
    port = free_port()
    server = start_serve(env, port, tmp_path / "serve.log")
    try:
        for args, status, documented in examples():
            answer = send(args, port, key)
            assert (answer.status_code, answer.json()) == (status, documented), args
    finally:
        stop_serve(server)
