"""Hostile-input benchmark (issue 9): how long the Thai layer and the router take on text built
to make parsers backtrack, at 160, 1,000, 5,000 and 10,000 characters.

Every public function of `handlers.thai`, `Translator.is_keyword` and `router.handle` (at every
step of every form, each stage of an area pick, and with no form open) gets every input of the
corpus at every length. Each call is timed as the best of `--repeat` runs (the machine is
shared; noise only adds). The table shows, per function, the input that took longest, its time,
and the growth from 1,000 to 10,000 characters (worst time at 10,000 / worst time at 1,000):
about 10 is linear, about 1 is bounded (long text refused unread), 100 would be quadratic.

Then the particle pattern that issue 9 reported is timed the way it was, in a subprocess with a
timeout, next to its replacement.

    .venv/bin/python -m bench.hostile_input
    .venv/bin/python -m bench.hostile_input --lengths 160,1000 --repeat 1   # quicker
"""

from __future__ import annotations

import argparse
import datetime as dt
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import geothai

from bot.lists import load_lists
from handlers import router, thai
from handlers.areas import AreaDirectory
from handlers.engine import Env, FormState, UserView, option_values
from handlers.forms import FORMS, Form, Step
from handlers.i18n import Translator, load_translator
from handlers.messages import Inbound

ROOT = Path(__file__).resolve().parent.parent
NOW = dt.datetime(2026, 12, 2, 3, 0, tzinfo=dt.UTC)
TODAY = NOW.date()
VILLAGE_HEAD = UserView(
    registered=True, language="th", display_name="สมชาย", role="village_head",
    province_code="50", district_code="5001", subdistrict_code="500101", village_no=3,
)  # fmt: skip
NEWCOMER = UserView()


def _fill(unit: str, length: int, head: str = "", tail: str = "") -> str:
    """`head`, then `unit` repeated, then `tail`: `length` characters in all."""
    body = length - len(head) - len(tail)
    return head + (unit * (body // len(unit) + 1))[:body] + tail


# Each input kind makes text of a given length that some parser used to be slow on.
CORPUS: dict[str, Callable[[int], str]] = {
    # นะครับ is also นะ + ครับ: the old particle pattern tried every split (issue 9).
    "particles+x": lambda n: "นะครับ" * ((n - 1) // 6) + "x",  # 157 characters at 160
    "answer+particles": lambda n: _fill("นะครับ", n, head="ใช่"),
    # Ends in a whole particle, so the new walk back from the end goes all the way.
    "answer+particles.": lambda n: "ใช่" + "นะครับ" * ((n - 3) // 6),
    # pythainlp's number-word check backtracks exponentially on a run of ล้าน that fails.
    "ล้าน…ลบ": lambda n: _fill("ล้าน", n, tail="ลบ"),
    "สิบ…": lambda n: _fill("สิบ", n),
    # A lazy match followed by \s* is quadratic on a long run of spaces.
    "1 spaces x": lambda n: _fill(" ", n, head="1", tail="x"),
    "หมู่ spaces x": lambda n: _fill(" ", n, head="หมู่", tail="x"),
    "พ. spaces": lambda n: _fill("พ. ", n),
    "digits": lambda n: _fill("1", n),
    "digits,commas": lambda n: _fill(",000", n, head="1"),
    "combining marks": lambda n: _fill("\u0e31\u0e48\u0301", n, head="ก"),
    "mixed scripts": lambda n: _fill("aก1๑ 😀\u0e34", n),
    "wrong layout": lambda n: _fill("l;ylfu ", n),
    "control chars": lambda n: _fill("\x00\u200b\n\t", n, head="ใช่"),
}
YES_NO = [("yes", ("ใช่", "yes", "ตกลง")), ("no", ("ไม่ใช่", "no", "ไม่"))]


def _sample_answer(step: Step, env: Env) -> Any:
    if step.type in ("choice", "multi"):
        first = option_values(step, env)[0]
        return [first] if step.type == "multi" else first
    return {
        "consent": "agree", "text": "ทดสอบ", "phone": "0812345678", "number": 5,
        "date": "2026-12-01", "location": {"registered_village": True}, "photos": [],
        "area": {"province_code": "50", "district_code": "5001", "subdistrict_code": "500101",
                 "village_no": 3},
    }.get(step.type)  # fmt: skip


AREA_STAGES: tuple[dict[str, str], ...] = (
    {"stage": "province"},
    {"stage": "district", "province_code": "50"},
    {"stage": "subdistrict", "province_code": "50", "district_code": "5001"},
    {"stage": "village", "province_code": "50", "district_code": "5001",
     "subdistrict_code": "500101"},
)  # fmt: skip


def form_states(form: Form, env: Env) -> list[tuple[str, FormState]]:
    """The form waiting at each step (each stage of an area pick), earlier steps answered."""
    states = []
    for index, step in enumerate(form.steps):
        earlier = form.steps[:index]
        answers = {s.id: _sample_answer(s, env) for s in earlier}
        if step.when is not None:
            answers[step.when.step] = step.when.value
        for stage in AREA_STAGES if step.type == "area" else ({},):
            context: dict[str, Any] = {"history": [s.id for s in earlier]}
            name = f"{form.id}/{step.id}"
            if stage:
                context["area"] = dict(stage)
                name += f" [{stage['stage']}]"
            state = FormState(form.id, form.version, step.id, dict(answers), context, NOW)
            states.append((name, state))
    return states


def build_env() -> Env:
    i18n = load_translator()
    lists = load_lists(ROOT / "config/choices.toml", ROOT / "config/pilot_districts.toml", i18n)
    return Env(i18n=i18n, forms=FORMS, areas=AreaDirectory(lists.pilot_districts),
               lists=lists.options, now=NOW, tz=ZoneInfo("Asia/Bangkok"))  # fmt: skip


def subjects(env: Env) -> list[tuple[str, Callable[[str], object]]]:
    """Every function under test, as a call on one text."""
    districts = [(d.code, (d.name_th, d.name_en)) for p in geothai.provinces()
                 for d in geothai.districts(p.code)]  # fmt: skip
    i18n: Translator = env.i18n
    found: list[tuple[str, Callable[[str], object]]] = [
        ("thai.normalize_digits", thai.normalize_digits),
        ("thai.fix_keyboard_layout", thai.fix_keyboard_layout),
        ("thai.strip_particles", thai.strip_particles),
        ("thai.parse_number", thai.parse_number),
        ("thai.parse_date", lambda text: thai.parse_date(text, TODAY)),
        ("thai.parse_phone", thai.parse_phone),
        ("thai.parse_village_no", thai.parse_village_no),
        ("thai.match_choice (yes/no)", lambda text: thai.match_choice(text, YES_NO)),
        ("thai.match_names (928 districts)", lambda text: thai.match_names(text, districts)),
        ("Translator.is_keyword", lambda text: i18n.is_keyword(text, "kw.cancel")),
        ("router.handle, newcomer", _handler(NEWCOMER, None, env)),
        ("router.handle, no form open", _handler(VILLAGE_HEAD, None, env)),
    ]
    for form in FORMS.values():
        for name, state in form_states(form, env):
            found.append((f"router.handle {name}", _handler(VILLAGE_HEAD, state, env)))
    return found


def _handler(user: UserView, state: FormState | None, env: Env) -> Callable[[str], object]:
    return lambda text: router.handle(user, state, Inbound("text", text), env)


def best_time(call: Callable[[str], object], text: str, repeat: int) -> float:
    """Seconds: the fastest of `repeat` calls."""
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        call(text)
        best = min(best, time.perf_counter() - start)
    return best


def measure(
    env: Env, lengths: Sequence[int], repeat: int, progress: bool
) -> list[tuple[str, dict[int, tuple[float, str]]]]:
    """For each function and length: the worst time over the corpus, and the input's kind."""
    inputs = {(kind, n): make(n) for kind, make in CORPUS.items() for n in lengths}
    rows = []
    for name, call in subjects(env):
        worst: dict[int, tuple[float, str]] = {}
        for n in lengths:
            times = [(best_time(call, inputs[kind, n], repeat), kind) for kind in CORPUS]
            worst[n] = max(times)
        rows.append((name, worst))
        if progress:
            print(f"  {name}", file=sys.stderr)
    return rows


def table(rows: list[tuple[str, dict[int, tuple[float, str]]]], lengths: Sequence[int]) -> str:
    longest = max(lengths)
    growth_from = 1_000 if 1_000 in lengths and longest > 1_000 else None
    head = ["function", f"worst input (at {longest:,})", *(f"{n:,} ch (ms)" for n in lengths)]
    if growth_from:
        head.append(f"growth {growth_from:,}→{longest:,}")
    lines = ["| " + " | ".join(head) + " |", "|" + " --- |" * len(head)]
    for name, worst in rows:
        cells = [name, worst[longest][1], *(f"{worst[n][0] * 1000:.3f}" for n in lengths)]
        if growth_from:
            cells.append(f"{worst[longest][0] / worst[growth_from][0]:.1f}×")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


# The pattern issue 9 reported, as it was before.
OLD_PARTICLES = r"(?:นะครับ|นะคะ|ครับผม|ครับ|คับ|ค่ะ|ค่า|คะ|จ้ะ|จ้า|จ้|นะ|ฮะ)+$"
_OLD_PROBE = """
import re, sys, time
pattern = re.compile(sys.argv[1])
text = "นะครับ" * int(sys.argv[2]) + "x"
start = time.perf_counter()
pattern.sub("", text.strip())
print(time.perf_counter() - start)
"""


def old_particles(runs: int, timeout: float) -> float | None:
    """Seconds the old pattern takes on "นะครับ" * runs + "x", or None past `timeout`."""
    try:
        done = subprocess.run(
            [sys.executable, "-c", _OLD_PROBE, OLD_PARTICLES, str(runs)],
            capture_output=True, text=True, timeout=timeout, check=True,
        )  # fmt: skip
    except subprocess.TimeoutExpired:
        return None
    return float(done.stdout)


def compare_particles(timeout: float, repeat: int) -> str:
    lines = []
    small = {runs: old_particles(runs, timeout) for runs in (14, 16, 18, 20)}
    measured = {runs: s for runs, s in small.items() if s is not None}
    # Each particle more doubles the work (two ways to read each นะครับ): fit on the largest.
    base_runs = max(measured)
    per_run = (measured[base_runs] / measured[min(measured)]) ** (1 / (base_runs - min(measured)))
    estimate = measured[base_runs] * per_run ** (26 - base_runs)
    for runs, seconds in small.items():
        shown = f"{seconds * 1000:,.0f} ms" if seconds is not None else f"> {timeout:g} s"
        lines.append(f'- old pattern, `"นะครับ" * {runs} + "x"` ({runs * 6 + 1} ch): {shown}')
    at_160 = old_particles(26, timeout)
    shown = f"{at_160:,.1f} s" if at_160 is not None else f"> {timeout:g} s (stopped)"
    lines.append(
        f'- old pattern, `"นะครับ" * 26 + "x"` (157 ch): {shown}; extrapolated from the runs '
        f"above (×{per_run:.2f} per particle): about {estimate:,.0f} s per call"
    )
    new = best_time(thai.strip_particles, "นะครับ" * 26 + "x", max(repeat, 3))
    lines.append(f"- new `strip_particles` on the same 157 characters: {new * 1000:.3f} ms")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--lengths", default="160,1000,5000,10000",
        help="text lengths in characters, comma-separated (default: %(default)s)",
    )  # fmt: skip
    parser.add_argument("--repeat", type=int, default=3, help="runs per call; the best counts")
    parser.add_argument(
        "--old-timeout", type=float, default=20.0,
        help="seconds to let the old particle pattern run on one input (default: %(default)s)",
    )  # fmt: skip
    parser.add_argument("--skip-old", action="store_true", help="do not time the old pattern")
    parser.add_argument("--progress", action="store_true", help="name each function as it is done")
    args = parser.parse_args()
    lengths = sorted(int(n) for n in args.lengths.split(","))

    env = build_env()
    started = time.perf_counter()
    rows = measure(env, lengths, args.repeat, args.progress)
    print(table(rows, lengths))
    longest = max(worst[max(lengths)][0] for _name, worst in rows)
    seconds, n, kind, name = max(
        (seconds, n, kind, name) for name, worst in rows for n, (seconds, kind) in worst.items()
    )
    print(f"\nslowest call at {max(lengths):,} characters: {longest * 1000:.1f} ms; slowest of "
          f"all: {seconds * 1000:.1f} ms ({name}, {kind}, {n:,} characters); "
          f"{len(rows)} functions × {len(CORPUS)} inputs × {len(lengths)} lengths "
          f"in {time.perf_counter() - started:.0f} s")  # fmt: skip
    if not args.skip_old:
        print()
        print(compare_particles(args.old_timeout, args.repeat))


if __name__ == "__main__":
    main()
