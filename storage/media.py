"""Photos stored once by content hash under FIELDBOT_MEDIA_DIR; rows keep the relative path."""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path

from handlers.messages import PhotoRef

MAX_PHOTO_BYTES = 20 * 1024 * 1024
_EXTENSIONS = {
    "image/jpeg": ".jpg",
    "image/png": ".png",
    "image/webp": ".webp",
    "image/gif": ".gif",
}


class PhotoTooLargeError(ValueError):
    pass


def sniff_content_type(data: bytes) -> str:
    """The image type from the file's first bytes (platforms and users mislabel files)."""
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return "image/gif"
    return "application/octet-stream"


class MediaStore:
    def __init__(self, root: Path) -> None:
        self.root = root

    def save(self, data: bytes) -> PhotoRef:
        """Store `data` (blocking: call through a thread from async code). The same bytes twice
        are stored once."""
        if len(data) > MAX_PHOTO_BYTES:
            raise PhotoTooLargeError(len(data))
        digest = hashlib.sha256(data).hexdigest()
        content_type = sniff_content_type(data)
        relative = Path(digest[:2]) / f"{digest}{_EXTENSIONS.get(content_type, '.bin')}"
        target = self.root / relative
        if not target.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            # Write then rename, so a crash never leaves half a photo under its final name.
            fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".incoming-")
            try:
                with os.fdopen(fd, "wb") as handle:
                    handle.write(data)
                Path(tmp).replace(target)
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
                raise
        return PhotoRef(digest, relative.as_posix(), content_type, len(data))

    def path(self, ref: PhotoRef | str) -> Path:
        relative = ref.path if isinstance(ref, PhotoRef) else ref
        return self.root / relative
