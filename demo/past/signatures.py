"""The signatures on the past's records: a drawn-looking PNG per signer, stored once and shared by
every record that signer signed (the Signature rows point at the same file, with its SHA-256)."""

import hashlib
import io
import math
import random

from django.core.files.base import ContentFile
from PIL import Image, ImageDraw

from supervision.models import Signature


def signature_png(key: str) -> bytes:
    """A cursive-looking stroke (loops drifting right), the same for the same key."""
    rng = random.Random(f"signature:{key}")
    image = Image.new("L", (320, 100), 255)
    steps = 160
    speed, phase = rng.uniform(0.28, 0.45), rng.uniform(0, 6.3)
    height, slant = rng.uniform(14, 26), rng.uniform(-8, 8)
    points = []
    for t in range(steps):
        swell = 0.6 + 0.4 * math.sin(t / steps * math.pi * rng.uniform(1.5, 2.5))
        x = 18 + 270 * t / steps + 11 * math.cos(t * speed + phase)
        y = 50 + height * swell * math.sin(t * speed * 0.93) + slant * (t / steps - 0.5)
        points.append((x, y))
    ImageDraw.Draw(image).line(points, fill=0, width=2, joint="curve")
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


class SignatureFiles:
    def __init__(self):
        self.storage = Signature._meta.get_field("image").storage
        self.known: dict[str, tuple[str, str]] = {}  # key -> (file name, sha256)

    def signature(self, key: str) -> tuple[str, str]:
        """The stored file of a signer's signature (written on first need) and its SHA-256. A file
        already there (an earlier run) is kept, and hashed as it is."""
        if key not in self.known:
            name = f"signatures/demo/{key}.png"
            if self.storage.exists(name):
                with self.storage.open(name, "rb") as stored:
                    data = stored.read()
            else:
                data = signature_png(key)
                name = self.storage.save(name, ContentFile(data))
            self.known[key] = (name, hashlib.sha256(data).hexdigest())
        return self.known[key]
