"""LINE's default rich menu: four large buttons (รายงานกิจกรรม, แจ้งปัญหา, รายงานของฉัน,
ช่วยเหลือ) on an image drawn here, so no designer file has to be kept in step with the words."""

from __future__ import annotations

import asyncio
import io

import fontpkg
from linebot.v3.messaging import (
    PostbackAction,
    RichMenuArea,
    RichMenuBounds,
    RichMenuRequest,
    RichMenuSize,
)
from PIL import Image, ImageDraw, ImageFont

from bot.channels.line.adapter import LineChannel
from handlers.i18n import Translator
from handlers.router import MENU_PREFIX

WIDTH, HEIGHT = 2500, 1686
ITEMS = ("activity", "problem", "my_reports", "help")
ICONS = ("+", "!", "…", "?")  # glyphs the bundled Sarabun font has
COLOURS = ("#1b7f4c", "#c0392b", "#2c6fbb", "#7f8c8d")


def menu_image(i18n: Translator, lang: str) -> bytes:
    """A 2500×1686 PNG: a 2×2 grid, each cell an icon and its label in `lang`."""
    image = Image.new("RGB", (WIDTH, HEIGHT), "white")
    draw = ImageDraw.Draw(image)
    label_font = ImageFont.truetype(str(fontpkg.path("Sarabun", weight=700)), 150)
    icon_font = ImageFont.truetype(str(fontpkg.path("Sarabun", weight=700)), 260)
    cell_w, cell_h = WIDTH // 2, HEIGHT // 2
    for index, item in enumerate(ITEMS):
        x, y = (index % 2) * cell_w, (index // 2) * cell_h
        draw.rectangle([x + 12, y + 12, x + cell_w - 12, y + cell_h - 12], fill=COLOURS[index])
        centre = x + cell_w // 2
        draw.text(
            (centre, y + cell_h * 0.36), ICONS[index], font=icon_font, fill="white", anchor="mm"
        )
        draw.text(
            (centre, y + cell_h * 0.72),
            i18n.t(lang, f"menu.{item}"),
            font=label_font,
            fill="white",
            anchor="mm",
        )
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=True)
    return out.getvalue()


def menu_request(i18n: Translator, lang: str) -> RichMenuRequest:
    cell_w, cell_h = WIDTH // 2, HEIGHT // 2
    areas = [
        RichMenuArea(
            bounds=RichMenuBounds(
                x=(index % 2) * cell_w, y=(index // 2) * cell_h, width=cell_w, height=cell_h
            ),
            action=PostbackAction(
                label=i18n.t(lang, f"menu.{item}")[:20],
                data=MENU_PREFIX + item,
                displayText=i18n.t(lang, f"menu.{item}"),
            ),
        )
        for index, item in enumerate(ITEMS)
    ]
    return RichMenuRequest(
        size=RichMenuSize(width=WIDTH, height=HEIGHT),
        selected=True,
        name="fieldbot main menu",
        chatBarText=i18n.t(lang, "line.richmenu_bar")[:14],
        areas=areas,
    )


async def setup_rich_menu(channel: LineChannel) -> str:
    """Create the menu, upload its image and make it every user's default. Returns its id."""
    core = channel.core
    lang = core.settings.default_language
    created = await channel.api.create_rich_menu(menu_request(core.i18n, lang))
    rich_menu_id = str(created.rich_menu_id)
    image = await asyncio.to_thread(menu_image, core.i18n, lang)  # drawing is CPU work
    await channel.blob.set_rich_menu_image(
        rich_menu_id, body=image, _headers={"Content-Type": "image/png"}
    )
    await channel.api.set_default_rich_menu(rich_menu_id)
    return rich_menu_id
