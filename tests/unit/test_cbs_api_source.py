"""CbsApiSource's limit on requests in flight (the ``concurrency`` setting), with a fake session."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from veiligheidsbeeld.sources.odata import CbsApiSource


class _CountingSession:
    """Answers every GET after 50 ms and records how many were in flight at once."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.now = 0
        self.most = 0

    def get(self, url, params=None, timeout=None):
        with self.lock:
            self.now += 1
            self.most = max(self.most, self.now)
        time.sleep(0.05)
        with self.lock:
            self.now -= 1

        class Response:
            status_code = 200
            content = b'{"value": []}'
            headers: dict[str, str] = {}

        return Response()


def _most_in_flight(source: CbsApiSource, threads: int = 12) -> int:
    session = _CountingSession()
    source._session = lambda: session  # type: ignore[method-assign]
    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(lambda i: source._get_json(f"http://x/{i}", None, "test"), range(threads * 2)))
    return session.most


def test_requests_in_flight_are_limited_across_threads():
    source = CbsApiSource("stub.invalid", use_https=False)
    assert _most_in_flight(source) > 3  # without a limit, every thread's request runs at once
    source.limit_requests_in_flight(3)
    assert _most_in_flight(source) == 3


def test_a_limit_below_one_is_refused():
    with pytest.raises(ValueError):
        CbsApiSource("stub.invalid").limit_requests_in_flight(0)
