"""lite_data loading: an ImageNet-style folder plus ``train_list.txt`` / ``val_list.txt``.

Each list line is ``<path relative to the data root> <class id>``. Images are small RGB PNGs;
preprocessing (resize to the model's input size, ImageNet mean/std normalisation, HWC -> CHW)
is shared with the inference scripts so that training, evaluation, prediction and Paddle
Inference all see the same tensors.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import paddle
from PIL import Image

IMAGE_SIZE = 32
MEAN = np.array([0.485, 0.456, 0.406], dtype="float32")
STD = np.array([0.229, 0.224, 0.225], dtype="float32")
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp")


def load_image(path: str | os.PathLike[str], size: int = IMAGE_SIZE) -> np.ndarray:
    """Decode an image into a normalised float32 CHW array."""
    with Image.open(path) as img:
        img = img.convert("RGB")
        if img.size != (size, size):
            img = img.resize((size, size), Image.BILINEAR)
        arr = np.asarray(img, dtype="float32") / 255.0
    arr = (arr - MEAN) / STD
    return np.ascontiguousarray(arr.transpose(2, 0, 1))


def list_images(path: str | os.PathLike[str]) -> list[Path]:
    """An image file, a directory of images (sorted), or a list file (first column)."""
    p = Path(path)
    if p.is_dir():
        return sorted(q for q in p.iterdir() if q.suffix.lower() in IMAGE_SUFFIXES)
    if p.suffix.lower() == ".txt":
        root = p.parent
        return [root / line.split()[0] for line in p.read_text().splitlines() if line.strip()]
    if p.is_file():
        return [p]
    raise FileNotFoundError(f"no image, image directory or list file at {path}")


def read_list(data_root: str | os.PathLike[str], list_name: str) -> list[tuple[Path, int]]:
    root = Path(data_root)
    list_file = root / list_name
    if not list_file.is_file():
        raise FileNotFoundError(
            f"{list_file} not found: extract the lite dataset first "
            "(python reference_model/prepare.py lite_train_lite_infer)"
        )
    items = []
    for line in list_file.read_text().splitlines():
        if line.strip():
            rel, label = line.split()
            items.append((root / rel, int(label)))
    return items


class ListDataset(paddle.io.Dataset):
    """All images decoded once up front (lite_data is a few hundred 32x32 images).

    Augmentation (random horizontal flip and a shift of up to ``shift`` pixels) is drawn from a
    generator keyed by ``(seed, epoch, index)``, so every process of a data-parallel job, and a
    single-process job, transforms a given sample identically.
    """

    def __init__(self, data_root: str, list_name: str, train: bool, seed: int = 0, shift: int = 2) -> None:
        super().__init__()
        self.items = read_list(data_root, list_name)
        self.images = np.stack([load_image(path) for path, _ in self.items])
        self.labels = np.array([label for _, label in self.items], dtype="int64")
        self.train = train
        self.seed = seed
        self.shift = shift
        self.epoch = 0

    @property
    def num_classes(self) -> int:
        return int(self.labels.max()) + 1

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, index: int) -> tuple[np.ndarray, np.ndarray]:
        img = self.images[index]
        if self.train:
            rng = np.random.default_rng((self.seed, self.epoch, index))
            if rng.random() < 0.5:
                img = img[:, :, ::-1]
            if self.shift:
                dy, dx = rng.integers(-self.shift, self.shift + 1, size=2)
                img = np.roll(img, (int(dy), int(dx)), axis=(1, 2))
            img = np.ascontiguousarray(img)
        return img, self.labels[index : index + 1]
