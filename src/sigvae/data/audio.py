"""Reading audio files: one place that checks a file holds the frames its header declares.

libsndfile quietly shortens a WAV or AIFF whose data ends before its header says (a
copy or download cut short): it reports and reads only the frames present. Every audio
read in sigvae goes through :func:`open_audio` (streamed reads), :func:`read_audio_file`
(whole files) or :func:`check_header_frames` (``soundfile.info`` of a file), which compare
the frames available with the count in the header (the ``data`` chunk of a WAV, the
``COMM`` chunk of an AIFF; FLAC's STREAMINFO is libsndfile's own count), and raise a
:class:`~sigvae.errors.DataError` naming the file for a file that is cut short, rather than
training on or embedding half a recording.
"""

from __future__ import annotations

import contextlib
import os
import struct
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import DataError, first_line

#: WAV format tags whose data length maps to frames through ``block_align``: PCM, IEEE
#: float, A-law, µ-law and WAVE_FORMAT_EXTENSIBLE (whose sub-formats sigvae reads are PCM/float).
_LINEAR_WAV_TAGS = (0x0001, 0x0003, 0x0006, 0x0007, 0xFFFE)
#: Chunks walked at most before giving up on finding the data chunk (a header is a handful).
_MAX_CHUNKS = 1000


def header_frames(path: str | Path) -> int | None:
    """The number of frames the header of the WAV/AIFF file ``path`` declares, or None.

    None where the header does not say (FLAC, OGG, RF64, compressed WAV formats, a WAV
    written as a stream with a data length of 0 or 0xFFFFFFFF) or cannot be parsed (then
    libsndfile's own checks apply).
    """
    try:
        with open(path, "rb") as f:
            head = f.read(12)
            if head[:4] in (b"RIFF", b"RIFX") and head[8:12] == b"WAVE":
                return _wav_frames(f, "<" if head[:4] == b"RIFF" else ">")
            if head[:4] == b"FORM" and head[8:12] in (b"AIFF", b"AIFC"):
                return _aiff_frames(f)
    except (OSError, struct.error):
        return None
    return None


def _wav_frames(f, endian: str) -> int | None:
    tag = block_align = None
    for _ in range(_MAX_CHUNKS):
        chunk = f.read(8)
        if len(chunk) < 8:
            return None
        cid, size = chunk[:4], struct.unpack(endian + "I", chunk[4:])[0]
        if cid == b"fmt ":
            body = f.read(min(size, 16))
            if len(body) < 14:
                return None
            tag = struct.unpack(endian + "H", body[0:2])[0]
            block_align = struct.unpack(endian + "H", body[12:14])[0]
            f.seek(size - len(body) + (size & 1), 1)
        elif cid == b"data":
            if tag not in _LINEAR_WAV_TAGS or not block_align or size in (0, 0xFFFFFFFF):
                return None
            return size // block_align
        else:
            f.seek(size + (size & 1), 1)
    return None


def _aiff_frames(f) -> int | None:
    for _ in range(_MAX_CHUNKS):
        chunk = f.read(8)
        if len(chunk) < 8:
            return None
        cid, size = chunk[:4], struct.unpack(">I", chunk[4:])[0]
        if cid == b"COMM":
            body = f.read(6)
            return struct.unpack(">I", body[2:6])[0] if len(body) == 6 else None
        f.seek(size + (size & 1), 1)
    return None


def check_header_frames(path: str | Path, frames: int) -> None:
    """DataError if the header of ``path`` declares another number of frames than ``frames``
    (what libsndfile found in the file)."""
    declared = header_frames(path)
    if declared is not None and declared != int(frames):
        raise DataError(f"{path}: truncated or damaged audio file: its header declares {declared} frames, "
                        f"but the file holds {int(frames)}")


def _unreadable(path, e: BaseException) -> DataError:
    return DataError(f"{path}: cannot be read as audio ({first_line(e)})")


@contextlib.contextmanager
def c_library_stderr_silenced():
    """Send what C libraries write straight to file descriptor 2 to /dev/null for the block.

    libsndfile's MP3 decoder (libmpg123) prints "Note: ..." lines on stderr while it probes
    a file that is not audio; the CLI's promise is one error line, which sigvae writes
    itself. Python's own ``sys.stderr`` is untouched if it is not descriptor 2 (pytest).
    """
    try:
        saved = os.dup(2)
    except OSError:  # no descriptor 2 to redirect
        yield
        return
    try:
        with open(os.devnull, "wb") as null:
            os.dup2(null.fileno(), 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def open_audio(path: str | Path):
    """Open ``path`` for reading as a ``soundfile.SoundFile`` whose frames match its header.

    DataError (naming the file) if it cannot be opened as audio, is empty, or its header
    declares more (or fewer) frames than it holds. Read blocks with :func:`read_audio_block`.
    """
    import soundfile as sf

    try:
        with c_library_stderr_silenced():
            f = sf.SoundFile(str(path))
    except Exception as e:  # soundfile raises several types for corrupt files
        raise _unreadable(path, e) from None
    try:
        if f.frames <= 0:
            raise DataError(f"{path}: audio file is empty (0 samples)")
        check_header_frames(path, f.frames)
    except BaseException:
        f.close()
        raise
    return f


def audio_file_info(path: str | Path):
    """``soundfile.info`` of ``path`` (frames, channels, samplerate) without reading samples.

    Raises DataError (naming the file) if it cannot be read as audio, is empty, holds fewer
    frames than its header declares, or claims a sample rate outside
    :data:`~sigvae.limits.MIN_SAMPLE_RATE` .. :data:`~sigvae.limits.MAX_SAMPLE_RATE`.
    """
    import soundfile as sf

    from ..limits import check_sample_rate

    try:
        with c_library_stderr_silenced():
            info = sf.info(str(path))
    except Exception as e:  # soundfile raises several types for corrupt files
        raise _unreadable(path, e) from None
    check_sample_rate(info.samplerate, str(path))
    check_header_frames(path, info.frames)  # a file cut short: libsndfile reports only what is there
    if info.frames <= 0:
        raise DataError(f"{path}: audio file is empty (0 samples)")
    return info


def read_audio_block(f, start: int, frames: int) -> np.ndarray:
    """Frames ``start`` … ``start + frames`` of the open ``soundfile.SoundFile`` ``f``: float32 [C, frames].

    Raises DataError if the file ends before them (its header promised more), cannot be
    decoded there, or they hold NaN/inf (a float WAV can), rather than returning zeros or NaN.
    """
    import soundfile as sf

    try:
        f.seek(start)
        x = f.read(frames, dtype="float32", always_2d=True).T
    except sf.LibsndfileError as e:  # a file corrupt past its header
        raise _unreadable(f.name, e) from None
    if x.shape[1] != frames:
        raise DataError(f"{f.name}: audio data ends at frame {start + x.shape[1]}, but the header promises {f.frames} frames")
    if not np.all(np.isfinite(x)):
        raise DataError(f"{f.name}: contains NaN or inf samples")
    return x


def read_audio_file(path: str | Path, dtype: str = "float32") -> tuple[np.ndarray, int]:
    """Read the whole audio file ``path`` → (samples [frames, channels] of ``dtype``, sample rate).

    The shared whole-file reader: DataError (naming the file) if it cannot be read, is
    empty, or the frames read differ from those its header declares. NaN/inf are left to
    the caller.
    """
    with open_audio(path) as f:
        frames, rate = int(f.frames), int(f.samplerate)
        try:
            audio = f.read(dtype=dtype, always_2d=True)
        except Exception as e:  # a file corrupt past its header
            raise _unreadable(path, e) from None
    if audio.shape[0] != frames:
        raise DataError(f"{path}: audio data ends at frame {audio.shape[0]}, but the header declares {frames} frames")
    return audio, rate


@dataclass
class Conversion:
    """What fitting inputs to a model's sample rate and channel count did, counted per input.

    The data layer only counts; a command turns :meth:`describe` into one line (``sigvae:
    12 files at 44100 Hz resampled to 16000 Hz; 3 stereo files mixed down to mono``), once
    per command. ``unit`` names one input (``file`` for audio files, ``signal`` for the rows
    of an ``.npz`` or a built-in source).
    """

    target_rate: int
    target_channels: int
    unit: str = "file"
    #: input sample rate (Hz) → how many inputs were resampled from it
    resampled: dict[int, int] = field(default_factory=dict)
    #: input channel count → how many inputs were averaged down to the model's one channel
    mixed_down: dict[int, int] = field(default_factory=dict)

    def add(self, rate: int, channels: int, count: int = 1) -> None:
        """Count ``count`` inputs of ``rate`` Hz and ``channels`` channels fitted to the target."""
        rate, channels, count = int(rate), int(channels), int(count)
        if count <= 0:
            return
        if rate != self.target_rate:
            self.resampled[rate] = self.resampled.get(rate, 0) + count
        if self.target_channels == 1 and channels > 1:  # other channel mismatches are refused
            self.mixed_down[channels] = self.mixed_down.get(channels, 0) + count

    def __bool__(self) -> bool:
        return bool(self.resampled or self.mixed_down)

    def _count(self, n: int, what: str = "") -> str:
        return f"{n} {what}{self.unit}{'' if n == 1 else 's'}"

    def describe(self) -> str | None:
        """One clause per kind of change, joined by ``; `` (None when nothing was changed)."""
        parts = []
        if self.resampled:
            rates = sorted(self.resampled.items(), key=lambda kv: (-kv[1], kv[0]))
            items = [f"{self._count(n)} at {r} Hz" if i == 0 else f"{n} at {r} Hz" for i, (r, n) in enumerate(rates)]
            parts.append(f"{_and(items)} resampled to {self.target_rate} Hz")
        if self.mixed_down:
            items = [self._count(n, "stereo ") if c == 2 else f"{self._count(n)} of {c} channels"
                     for c, n in sorted(self.mixed_down.items())]
            parts.append(f"{_and(items)} mixed down to mono")
        return "; ".join(parts) or None


def _and(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


__all__ = ["Conversion", "header_frames", "check_header_frames", "audio_file_info", "open_audio", "read_audio_block", "read_audio_file"]
