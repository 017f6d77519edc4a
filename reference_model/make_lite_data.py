"""Generate lite_data deterministically: 10 classes of coloured shapes on noisy backgrounds.

Class ``c`` is a shape (circle, square, triangle, cross, ring: ``c % 5``) in its own hue
(``36 * c`` degrees), drawn at a random size and position with jittered hue, saturation and
brightness over a random low-saturation textured background. Every image comes from a random
generator seeded by ``(seed, split, index)``, so the pixels are the same on every machine.

Writes::

    <out>/lite_data.tar            lite_data/{train,val}/<class>/<n>.png + train_list.txt, val_list.txt
    <out>/demo/<class>_demo.png    one inference demo image per class (not in the tar)

``--check`` regenerates everything in memory and compares pixel digests with the files on
disk (PNG/tar bytes may differ between zlib versions; the pixels may not).

    python reference_model/make_lite_data.py --out test_images
    python reference_model/make_lite_data.py --out test_images --check
"""

from __future__ import annotations

import argparse
import colorsys
import hashlib
import io
import sys
import tarfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

SIZE = 32
SUPERSAMPLE = 4
SHAPES = ("circle", "square", "triangle", "cross", "ring")
HUE_NAMES = ("red", "orange", "yellow", "lime", "green", "teal", "cyan", "blue", "purple", "magenta")
NUM_CLASSES = 10
SPLITS = {"train": 32, "val": 10}  # images per class
DEMO_SPLIT = "demo"


def class_name(c: int) -> str:
    return f"c{c}_{HUE_NAMES[c]}_{SHAPES[c % len(SHAPES)]}"


def _rgb(h: float, s: float, v: float) -> tuple[int, int, int]:
    r, g, b = colorsys.hsv_to_rgb(h % 1.0, min(max(s, 0.0), 1.0), min(max(v, 0.0), 1.0))
    return int(r * 255), int(g * 255), int(b * 255)


def render(c: int, rng: np.random.Generator) -> Image.Image:
    big = SIZE * SUPERSAMPLE
    # background: a low-saturation colour with blocky noise
    base = np.array(_rgb(rng.random(), rng.uniform(0.0, 0.25), rng.uniform(0.25, 0.8)), dtype="float32")
    noise = rng.normal(0.0, 18.0, size=(SIZE // 4, SIZE // 4, 3)).repeat(4 * SUPERSAMPLE, 0).repeat(4 * SUPERSAMPLE, 1)
    bg = np.clip(base + noise, 0, 255).astype("uint8")
    img = Image.fromarray(bg, "RGB")
    draw = ImageDraw.Draw(img)

    hue = c / NUM_CLASSES + rng.uniform(-0.02, 0.02)
    colour = _rgb(hue, rng.uniform(0.75, 1.0), rng.uniform(0.75, 1.0))
    r = rng.uniform(0.22, 0.38) * big  # half extent
    cx, cy = rng.uniform(r + 2, big - r - 2, size=2)
    box = (cx - r, cy - r, cx + r, cy + r)
    shape = SHAPES[c % len(SHAPES)]
    if shape == "circle":
        draw.ellipse(box, fill=colour)
    elif shape == "square":
        draw.rectangle(box, fill=colour)
    elif shape == "triangle":
        draw.polygon([(cx, cy - r), (cx - r, cy + r), (cx + r, cy + r)], fill=colour)
    elif shape == "cross":
        t = r * 0.35
        draw.rectangle((cx - r, cy - t, cx + r, cy + t), fill=colour)
        draw.rectangle((cx - t, cy - r, cx + t, cy + r), fill=colour)
    else:  # ring
        draw.ellipse(box, fill=colour)
        inner = r * 0.55
        draw.ellipse((cx - inner, cy - inner, cx + inner, cy + inner), fill=tuple(int(v) for v in bg[int(cy), int(cx)]))
    return img.resize((SIZE, SIZE), Image.LANCZOS)


def generate(seed: int) -> Iterator[tuple[str, int, Image.Image]]:
    """Yield ``(relative path, class id, image)`` for every split, in a fixed order."""
    for split_id, (split, per_class) in enumerate([*SPLITS.items(), (DEMO_SPLIT, 1)]):
        for c in range(NUM_CLASSES):
            for n in range(per_class):
                rng = np.random.default_rng((seed, split_id, c, n))
                img = render(c, rng)
                if split == DEMO_SPLIT:
                    yield f"demo/{class_name(c)}_demo.png", c, img
                else:
                    yield f"{split}/{class_name(c)}/{n:03d}.png", c, img


def _png_bytes(img: Image.Image) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format="PNG", optimize=False, compress_level=9)
    return buf.getvalue()


def _add(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mtime = 0
    info.mode = 0o644
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    tar.addfile(info, io.BytesIO(data))


def digest(img: Image.Image) -> str:
    return hashlib.sha256(np.asarray(img.convert("RGB")).tobytes()).hexdigest()


def write(out: Path, seed: int) -> None:
    out.mkdir(parents=True, exist_ok=True)
    (out / "demo").mkdir(exist_ok=True)
    lists: dict[str, list[str]] = {split: [] for split in SPLITS}
    with tarfile.open(out / "lite_data.tar", "w", format=tarfile.USTAR_FORMAT) as tar:
        for rel, c, img in generate(seed):
            if rel.startswith("demo/"):
                img.save(out / rel, format="PNG", optimize=False, compress_level=9)
                continue
            _add(tar, f"lite_data/{rel}", _png_bytes(img))
            lists[rel.split("/", 1)[0]].append(f"{rel} {c}")
        for split, lines in lists.items():
            _add(tar, f"lite_data/{split}_list.txt", ("\n".join(lines) + "\n").encode())
        names = "\n".join(f"{c} {class_name(c)}" for c in range(NUM_CLASSES)) + "\n"
        _add(tar, "lite_data/label_list.txt", names.encode())
    size = (out / "lite_data.tar").stat().st_size
    print(f"wrote {out / 'lite_data.tar'} ({size / 1e6:.2f} MB): "
          + ", ".join(f"{s} {len(v)}" for s, v in lists.items()) + f"; demo images in {out / 'demo'}")


def check(out: Path, seed: int) -> int:
    with tarfile.open(out / "lite_data.tar") as tar:
        stored = {}
        for member in tar.getmembers():
            if member.name.endswith(".png"):
                f = tar.extractfile(member)
                assert f is not None
                stored[member.name.removeprefix("lite_data/")] = digest(Image.open(io.BytesIO(f.read())))
    bad = 0
    for rel, _, img in generate(seed):
        if rel.startswith("demo/"):
            have = digest(Image.open(out / rel)) if (out / rel).is_file() else None
        else:
            have = stored.pop(rel, None)
        if have != digest(img):
            bad += 1
            print(f"mismatch: {rel}")
    bad += len(stored)
    for rel in stored:
        print(f"unexpected: {rel}")
    print("lite_data matches its generator" if not bad else f"{bad} image(s) differ from the generator")
    return 1 if bad else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default="test_images", help="output directory (default: test_images)")
    parser.add_argument("--seed", type=int, default=2024)
    parser.add_argument("--check", action="store_true", help="verify the files on disk instead of writing")
    args = parser.parse_args(argv)
    if args.check:
        return check(Path(args.out), args.seed)
    write(Path(args.out), args.seed)
    return 0


if __name__ == "__main__":
    sys.exit(main())
