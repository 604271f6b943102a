"""A Scrapy crawl through pinning's context factory, run by test_twisted in a subprocess.

Usage: crawl.py POLICY.toml CAFILE BACKENDS URL... — for each backend of BACKENDS (``c,pure``)
in turn, one crawl that POSTs the test secret to each URL; then one JSON line: for each backend,
for each URL, ``{"body": ...}`` or ``{"pin_mismatch": message}`` or ``{"error": repr}``. One process
for both backends: Scrapy's import is most of a crawl's time.
"""

from __future__ import annotations

import json
import sys
from typing import Any

import scrapy
from scrapy.crawler import CrawlerProcess

from pinning import find_pin_mismatch
from pinning.core import backend as _backend

SECRET = "s3cr3t-token-7f1c"  # tlsutil.SECRET (this script runs outside pytest's path).


def spider(urls: list[str], results: dict[str, Any]) -> type[scrapy.Spider]:
    """A spider that POSTs the secret to each of ``urls`` and records what came of it."""

    class Pinned(scrapy.Spider):
        name = "pinned"

        async def start(self) -> Any:
            for url in urls:
                yield scrapy.Request(
                    url,
                    method="POST",
                    body=f"password={SECRET}",
                    headers={"X-Secret": SECRET},
                    callback=self.parse,
                    errback=self.failed,
                    dont_filter=True,
                    meta={"url": url},
                )

        def parse(self, response: Any) -> None:
            results[response.meta["url"]] = {"body": response.text}

        def failed(self, failure: Any) -> None:
            url = failure.request.meta["url"]
            mismatch = find_pin_mismatch(failure)
            if mismatch is None:
                results[url] = {"error": repr(failure.value)}
            else:
                results[url] = {"pin_mismatch": str(mismatch)}

    return Pinned


def main(policy_file: str, cafile: str, backends: list[str], urls: list[str]) -> None:
    results: dict[str, dict[str, Any]] = {name: {} for name in backends}
    process = CrawlerProcess(
        settings={
            "DOWNLOADER_CLIENTCONTEXTFACTORY": "pinning.twisted.PinnedScrapyContextFactory",
            "PINNING_POLICY": policy_file,
            "PINNING_CAFILE": cafile,
            "RETRY_ENABLED": False,
            "ROBOTSTXT_OBEY": False,
            "TELNETCONSOLE_ENABLED": False,
            "DOWNLOAD_TIMEOUT": 5,
            "LOG_LEVEL": "ERROR",
        }
    )

    def crawl(_: object, name: str) -> Any:
        _backend.backend = _backend.load(name)  # What the active_backend fixture does.
        return process.crawl(spider(urls, results[name]))

    done = crawl(None, backends[0])
    for name in backends[1:]:
        done.addCallback(crawl, name)  # One after the other: the backend is process-wide.
    process.start()
    print(json.dumps(results))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], sys.argv[3].split(","), sys.argv[4:])
