"""Screenshot families of the re-share benchmark (bench/reshares.py lists them).

Drawn, not pasted from real apps: dark and light desktop chat clients (a region or the whole
window), a phone screenshot of a social post (status bar, author, caption, buttons) and a 9:16
story over a blurred enlargement of the picture; the picture at 40-90% of the width.
"""

from __future__ import annotations

import random

from PIL import Image, ImageDraw, ImageEnhance
from reshare_parts import (
    WORDS,
    Edit,
    Partner,
    Reshare,
    avatar,
    blurred_cover,
    colour,
    font,
    handle,
    paste,
    scaled,
    text_lines,
    words,
)


def _share(rng: random.Random) -> float:
    return rng.uniform(0.40, 0.90)


CHAT_THEMES = {  # message area, channel list, server rail, text, muted text
    True: ((49, 51, 56), (43, 45, 49), (30, 31, 34), (219, 222, 225), (148, 155, 164)),
    False: ((255, 255, 255), (242, 243, 245), (227, 229, 232), (6, 6, 7), (92, 94, 102)),
}


def chat_screenshot(dark: bool) -> Edit:
    """A desktop chat client: either a region around the message (a snipping tool's) or the
    whole window (server rail, channel list, header, input box); messages with avatars above
    and below, the picture as an attachment at 40-90% of the screenshot's width."""

    def edit(picture: Image.Image, rng: random.Random, partner: Partner) -> Reshare:
        share = _share(rng)
        window = rng.random() < 0.5
        background, channels, rail, ink, muted = CHAT_THEMES[dark]
        if window:
            width = rng.randint(1280, 1920)
            shown = scaled(picture, round(width * share))
        else:
            shown = scaled(picture, rng.randint(360, 820))
            width = round(shown.width / share)
        unit = max(14, width / rng.uniform(60, 90))  # text size in pixels
        margin = unit * 1.2
        indent = round(margin + unit * 3.6)  # the messages' text column, right of the avatars
        # The window's left chrome, as much of it as leaves room for the attachment.
        chrome = min(round(width * 0.17), width - shown.width - indent) if window else 0
        chrome = max(0, chrome)
        header = round(unit * 3.2) if window else 0
        footer = round(unit * 4.5) if window else 0
        above, below = rng.randint(0, 3), rng.randint(0, 2)
        body = shown.height + unit * (6 + 4.5 * (above + below)) + rng.uniform(0, 3) * unit
        height = round(header + body + footer)
        canvas = Image.new("RGB", (width, height), background)
        draw = ImageDraw.Draw(canvas)
        if window:
            draw.rectangle((0, 0, chrome, height), fill=channels)
            draw.rectangle((0, 0, min(chrome, round(unit * 4.5)), height), fill=rail)
            for number in range(int(height / (unit * 3.6))):  # server icons on the rail
                if chrome >= unit * 4.5:
                    avatar(draw, unit * 0.9, unit * (0.8 + number * 3.6), unit * 2.7, rng)
            draw.line((chrome, header, width, header), fill=rail, width=2)
            draw.text(
                (chrome + margin, header * 0.3),
                "# " + rng.choice(WORDS),
                fill=ink,
                font=font(unit * 1.05),
            )
            box = (
                chrome + margin,
                height - footer + unit * 0.6,
                width - margin,
                height - unit * 0.8,
            )
            draw.rounded_rectangle(box, radius=unit * 0.5, fill=channels if dark else rail)
            draw.text(
                (box[0] + unit, box[1] + unit * 0.9),
                "Message #" + rng.choice(WORDS),
                fill=muted,
                font=font(unit),
            )
        x0 = chrome
        y = header + unit * rng.uniform(0.5, 2)

        def message(y: float, lines: int) -> float:
            avatar(draw, x0 + margin, y, unit * 2.6, rng)
            draw.text((x0 + indent, y), handle(rng), fill=colour(rng), font=font(unit * 1.05))
            stamp = f"Today at {rng.randint(1, 12)}:{rng.randint(0, 59):02d} PM"
            draw.text(
                (x0 + indent + unit * 12, y + unit * 0.15),
                stamp,
                fill=muted,
                font=font(unit * 0.8),
            )
            return text_lines(
                draw,
                x0 + indent,
                y + unit * 1.6,
                unit,
                ink,
                rng,
                lines,
                width - x0 - indent - margin,
            )

        for _ in range(above):
            y = message(y, rng.randint(1, 2)) + unit
        y = message(y, rng.randint(0, 1))
        left = min(x0 + indent, width - shown.width)
        box = paste(canvas, shown, left, round(y + unit * 0.3), radius=round(unit * 0.5))
        y = box[3] + unit
        for _ in range(below):
            y = message(y, rng.randint(1, 2)) + unit
        return Reshare(
            canvas,
            {"share": round(shown.width / width, 3), "window": window},
            box,
            fmt=rng.choice(("PNG", "JPEG")),
            quality=rng.randint(80, 95),
        )

    return edit


def _status_bar(
    draw: ImageDraw.ImageDraw, width: int, height: float, ink: object, rng: random.Random
) -> None:
    draw.text(
        (width * 0.07, height * 0.25),
        f"{rng.randint(1, 12)}:{rng.randint(0, 59):02d}",
        fill=ink,
        font=font(height * 0.5),
    )
    right = width * 0.93
    battery = (right - height * 0.9, height * 0.3, right, height * 0.7)
    draw.rounded_rectangle(battery, radius=height * 0.1, outline=ink, width=2)
    draw.rectangle(
        (
            battery[0] + 3,
            battery[1] + 3,
            battery[0] + 3 + (battery[2] - battery[0] - 6) * rng.uniform(0.2, 1),
            battery[3] - 3,
        ),
        fill=ink,
    )
    for bar in range(4):  # signal strength
        x = right - height * (2.2 - bar * 0.22)
        draw.rectangle((x, height * (0.65 - bar * 0.1), x + height * 0.14, height * 0.7), fill=ink)


def phone_post(picture: Image.Image, rng: random.Random, partner: Partner) -> Reshare:
    """A phone screenshot of a social post: status bar, author, caption, picture, buttons."""
    share = _share(rng)
    width = rng.choice((1080, 1170, 1284, 750))
    dark = rng.random() < 0.5
    background, ink = ((0, 0, 0), (231, 233, 234)) if dark else ((255, 255, 255), (15, 20, 25))
    muted = (113, 118, 123)
    shown = scaled(picture, round(width * share))
    unit = width / 30
    lines = rng.randint(0, 3)  # of caption above the picture
    top_chrome = unit * (8.5 + 1.4 * lines)
    height = round(max(width * rng.uniform(1.9, 2.17), top_chrome + shown.height + unit * 6))
    canvas = Image.new("RGB", (width, height), background)
    draw = ImageDraw.Draw(canvas)
    _status_bar(draw, width, unit * 1.8, ink, rng)
    draw.line((0, unit * 4.5, width, unit * 4.5), fill=muted, width=1)
    avatar(draw, unit, unit * 5.2, unit * 2.6, rng)
    draw.text((unit * 4.2, unit * 5.3), handle(rng), fill=ink, font=font(unit * 0.95))
    draw.text((unit * 4.2, unit * 6.5), handle(rng), fill=muted, font=font(unit * 0.85))
    text_lines(draw, unit * 4.2, unit * 8, unit * 0.95, ink, rng, lines, width - unit * 5.5)
    left = round(
        min(unit * 4.2, width - shown.width) if rng.random() < 0.6 else (width - shown.width) / 2
    )
    box = paste(canvas, shown, left, round(top_chrome), radius=round(unit * rng.choice((0, 0.6))))
    y = box[3] + unit * 0.8
    for number in range(4):  # reply, re-share, like, share buttons with counts
        x = unit * 4.2 + number * (width - unit * 6) / 4
        draw.ellipse((x, y, x + unit * 1.1, y + unit * 1.1), outline=muted, width=3)
        draw.text(
            (x + unit * 1.5, y + unit * 0.1),
            f"{rng.randint(1, 999)}",
            fill=muted,
            font=font(unit * 0.8),
        )
    return Reshare(
        canvas,
        {"share": round(share, 3), "width": width, "dark": dark},
        box,
        fmt=rng.choice(("PNG", "JPEG")),
        quality=rng.randint(80, 95),
    )


def story(picture: Image.Image, rng: random.Random, partner: Partner) -> Reshare:
    """A 9:16 story: the picture over a blurred enlargement of itself, progress bar, reply box."""
    width = rng.choice((1080, 720, 1170))
    height = width * 16 // 9
    share = _share(rng)
    shown = scaled(picture, round(width * share))
    if shown.height > height * 0.8:  # a tall picture is shown smaller
        shown = scaled(picture, round(shown.width * height * 0.8 / shown.height))
        share = shown.width / width
    canvas = blurred_cover(picture, (width, height), rng.uniform(20, 60) * width / 1080)
    canvas = ImageEnhance.Brightness(canvas).enhance(rng.uniform(0.6, 1.0))
    draw = ImageDraw.Draw(canvas)
    unit = width / 30
    _status_bar(draw, width, unit * 1.8, "white", rng)
    segments = rng.randint(1, 5)
    for number in range(segments):  # the progress bar
        x0 = unit * 0.5 + number * (width - unit) / segments
        draw.rectangle(
            (x0 + 3, unit * 2.2, x0 + (width - unit) / segments - 3, unit * 2.35),
            fill=(255, 255, 255) if number == 0 else (170, 170, 170),
        )
    avatar(draw, unit * 0.8, unit * 2.8, unit * 2.2, rng)
    draw.text((unit * 3.4, unit * 3.3), handle(rng), fill="white", font=font(unit * 0.9))
    left = round((width - shown.width) / 2 + rng.uniform(-0.2, 0.2) * (width - shown.width))
    top = round((height - shown.height) / 2 + rng.uniform(-0.2, 0.2) * (height - shown.height))
    box = paste(canvas, shown, left, top)
    draw.rounded_rectangle(
        (unit, height - unit * 3.5, width - unit * 5, height - unit * 1.3),
        radius=unit * 1.1,
        outline="white",
        width=3,
    )
    draw.text((unit * 2, height - unit * 2.9), "Send message", fill="white", font=font(unit * 0.9))
    if rng.random() < 0.5:  # a caption the poster typed over the story
        text = words(rng, 2, 5)
        draw.text(
            (width / 2, max(unit * 7, top - unit * 2)),
            text,
            fill="white",
            font=font(unit * 1.3),
            anchor="mm",
            stroke_width=2,
            stroke_fill="black",
        )
    return Reshare(
        canvas,
        {"share": round(share, 3), "width": width},
        box,
        fmt="JPEG",
        quality=rng.randint(75, 92),
    )
