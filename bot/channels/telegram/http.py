"""python-telegram-bot's networking on aiohttp. PTB still builds every request, reads every
answer and raises its own errors; this only carries the bytes. Its default backend (httpx)
scans its whole connection pool on every request and cost about half of the CPU of sending
a broadcast (docs/benchmarks.md); aiohttp is already what the server and the LINE SDK use."""

from __future__ import annotations

from typing import Any

import aiohttp
from telegram.error import NetworkError, TimedOut
from telegram.request import BaseRequest, RequestData

from bot.redact import redact


class AiohttpRequest(BaseRequest):
    """A PTB request backend (telegram.request.BaseRequest) with one aiohttp session."""

    def __init__(
        self,
        connections: int = 16,
        *,
        connect_timeout: float = 5.0,
        read_timeout: float = 5.0,
        media_timeout: float = 20.0,
    ) -> None:
        self._connections = connections
        self._connect = connect_timeout
        self._read = read_timeout
        self._media = media_timeout
        self._session: aiohttp.ClientSession | None = None

    @property
    def read_timeout(self) -> float | None:
        return self._read

    async def initialize(self) -> None:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=self._connections),
                headers={"User-Agent": self.USER_AGENT},
            )

    async def shutdown(self) -> None:
        if self._session is not None and not self._session.closed:
            await self._session.close()
        self._session = None

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: Any = BaseRequest.DEFAULT_NONE,
        write_timeout: Any = BaseRequest.DEFAULT_NONE,
        connect_timeout: Any = BaseRequest.DEFAULT_NONE,
        pool_timeout: Any = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        if self._session is None or self._session.closed:
            raise RuntimeError("This AiohttpRequest is not initialized!")
        files = request_data.multipart_data if request_data else None
        data = request_data.json_parameters if request_data else None
        body: Any = data or None
        if files:
            form = aiohttp.FormData()
            for key, value in (data or {}).items():
                form.add_field(key, value)
            for name, (filename, content, mime) in files.items():
                form.add_field(name, content, filename=filename, content_type=mime)
            body = form
        read = self._read if not isinstance(read_timeout, (int, float)) else read_timeout
        if files and not isinstance(write_timeout, (int, float)):
            read = max(read or 0.0, self._media)  # an upload's answer comes after the upload
        connect = (self._connect if not isinstance(connect_timeout, (int, float))
                   else connect_timeout)  # fmt: skip
        timeout = aiohttp.ClientTimeout(total=None, sock_connect=connect, sock_read=read)
        try:
            async with self._session.request(method, url, data=body, timeout=timeout) as answer:
                return answer.status, await answer.read()
        except TimeoutError as error:
            raise TimedOut from error
        except aiohttp.ClientError as error:
            # aiohttp's text names the URL, which holds the bot token: the text is redacted
            # and the original left out of the chain (a traceback would print it).
            detail = redact(str(error))
            raise NetworkError(f"aiohttp.{type(error).__name__}: {detail}") from None
