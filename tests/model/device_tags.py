"""Rewrite the device tag of every storage in a ``torch.save`` archive (test helper, stdlib only).

A file saved on an Apple-silicon or CUDA machine records each storage's location as a string inside
the pickle's persistent id, ``('storage', <storage type>, '<key>', '<location>', <numel>)``. Loading
it without ``map_location`` on a machine lacking that device fails ("Storage device not recognized:
mps"). ``retag_storages`` produces such a file from a CPU one, so tests can reproduce the bug on any
machine.

How: the zip archive's ``<archive>/data.pkl`` is walked opcode by opcode with ``pickletools``; every
string opcode inside a persistent-id tuple whose value is a location (``cpu``, ``cuda``, ``cuda:N``,
``mps``...) is re-emitted as ``BINUNICODE`` with the new text and a correct length prefix. Memo
references (``BINPUT``/``BINGET``) are by index, not by byte offset, so they stay valid; torch writes
protocol 2, which has no frames (a framed pickle is refused rather than corrupted). The archive is
then rewritten with every other entry unchanged and stored uncompressed, as torch writes it.

Usage from other test packages: ``from tests.model.device_tags import retag_storages`` (run pytest
from the repository root), or ``from device_tags import ...`` inside ``tests/model``.
"""

from __future__ import annotations

import pickle
import pickletools
import struct
import zipfile
from pathlib import Path

_STRING_OPS = {"BINUNICODE", "SHORT_BINUNICODE", "BINUNICODE8", "UNICODE"}


def _is_location(text: str) -> bool:
    head = text.split(":", 1)[0]
    return head in {"cpu", "cuda", "mps", "xpu", "hpu", "meta", "privateuseone"}


def _next_non_memo(ops, k: int) -> str | None:
    while k < len(ops) and ops[k][0].name in ("BINPUT", "LONG_BINPUT", "PUT", "MEMOIZE"):
        k += 1
    return ops[k][0].name if k < len(ops) else None


def retag_pickle(data: bytes, location: str) -> tuple[bytes, int]:
    """Return ``(new_pickle_bytes, n_location_strings_rewritten)``."""
    ops = list(pickletools.genops(data))
    out = bytearray()
    rewritten = 0
    # Strings opened after a MARK whose tuple ends in BINPERSID are persistent-id members: track
    # the strings seen since the last MARK and rewrite only the location among them.
    pending: list[int] = []  # indices of string ops since the last MARK
    to_rewrite: set[int] = set()
    for k, (op, _arg, _pos) in enumerate(ops):
        if op.name == "FRAME":
            raise ValueError("framed pickle (protocol >= 4): not a torch.save data.pkl")
        if op.name == "MARK":
            pending = []
        elif op.name in _STRING_OPS:
            pending.append(k)
        elif op.name == "TUPLE" and _next_non_memo(ops, k + 1) == "BINPERSID":
            strs = [i for i in pending if isinstance(ops[i][1], str)]
            if strs and ops[strs[0]][1] == "storage":
                to_rewrite.update(i for i in strs[1:] if _is_location(ops[i][1]))
            pending = []
        # A location string shared by several storages is memoised (BINPUT) at its first use and
        # fetched with BINGET afterwards: rewriting it at its origin retags them all.
    for k, (_op, _arg, pos) in enumerate(ops):
        end = ops[k + 1][2] if k + 1 < len(ops) else len(data)
        if k in to_rewrite:
            enc = location.encode("utf-8")
            out += b"X" + struct.pack("<I", len(enc)) + enc  # BINUNICODE
            rewritten += 1
        else:
            out += data[pos:end]
    return bytes(out), rewritten


def persistent_ids(data: bytes) -> list[tuple]:
    """The persistent-id tuples of a torch ``data.pkl`` (no torch needed, nothing executed)."""
    pids: list[tuple] = []

    class _Stub:
        def __init__(self, *args, **kwargs):
            self.args = args

        def __setstate__(self, state):
            self.state = state

    class _Reader(pickle.Unpickler):
        def find_class(self, module, name):
            if module == "collections" and name == "OrderedDict":
                import collections

                return collections.OrderedDict
            return _Stub

        def persistent_load(self, pid):
            pids.append(tuple(pid))
            return pid

    import io

    _Reader(io.BytesIO(data)).load()
    return pids


def retag_storages(model_pt_path: str | Path, location: str) -> int:
    """Rewrite ``model_pt_path`` in place so every storage is tagged ``location``.

    Returns the number of location strings rewritten (memoised duplicates count once).
    """
    path = Path(model_pt_path)
    with zipfile.ZipFile(path) as zf:
        infos = zf.infolist()
        blobs = {info.filename: zf.read(info) for info in infos}
    names = [n for n in blobs if n == "data.pkl" or n.endswith("/data.pkl")]
    if len(names) != 1:
        raise ValueError(f"{path}: expected one data.pkl in the archive, found {names}")
    new, n = retag_pickle(blobs[names[0]], location)
    if n == 0:
        raise ValueError(f"{path}: no storage location tag found to rewrite")
    blobs[names[0]] = new
    tmp = path.with_name(path.name + ".retag.tmp")
    with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_STORED) as zf:
        for info in infos:
            zf.writestr(info, blobs[info.filename])
    tmp.replace(path)
    return n


def storage_locations(model_pt_path: str | Path) -> list[str]:
    """Location tag of every storage in a ``torch.save`` archive, in pickle order."""
    with zipfile.ZipFile(model_pt_path) as zf:
        name = next(n for n in zf.namelist() if n == "data.pkl" or n.endswith("/data.pkl"))
        data = zf.read(name)
    return [pid[3] for pid in persistent_ids(data) if pid and pid[0] == "storage"]
