"""The web desk in tests: a staff member asks for a sign-in link in chat, and the link (whose
host is the server's configured address) is pointed at the test server."""

from __future__ import annotations

import datetime as dt
import re
from urllib.parse import urlsplit

from storage import staff
from tests.support.fake_line import LineEvents
from tests.support.platforms import Platforms, line_texts

LINK = re.compile(r"https?://\S+/desk/login\?token=[\w-]+")


async def officer(p: Platforms, user_id: str = "Uofficer0000000000", area: str = "5001",
                  role: str = "officer", name: str = "ปลัดสมศักดิ์") -> LineEvents:  # fmt: skip
    """A staff member who joined on LINE with an invite code."""
    async with p.core.sessions() as session, session.begin():
        code = await staff.create_invite(
            session, role, area, expires_in=dt.timedelta(days=1), now=p.core.clock()
        )
    events = LineEvents(p.line, user_id)
    await p.line_say(events, f"/join {code}", "ภาษาไทย", "ยินยอม", name, "ข้าม", "ยืนยัน")
    return events


async def link_from_chat(p: Platforms, who: LineEvents, typed: str = "/desk") -> str:
    """The path and query of the sign-in link the bot sends `who` for `typed`."""
    since = len(p.line.calls)
    await p.line_say(who, typed)
    for text in line_texts(p, who.user_id, since):
        found = LINK.search(text)
        if found:
            url = urlsplit(found.group(0))
            return f"{url.path}?{url.query}"
    raise AssertionError(f"no desk link in {line_texts(p, who.user_id, since)}")
