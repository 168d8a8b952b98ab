"""The Xet side of the loopback Hub: a content-addressed store (CAS) that the real `hf_xet` uploads to.

`huggingface_hub` 2.4 uploads every file through Xet whenever `hf_xet` is installed: it asks the
Hub for a write token (``GET /api/datasets/{repo}/xet-write-token/{rev}``, JSON ``casUrl``,
``accessToken``, ``exp``), then `hf_xet` chunks the files, uploads *xorbs* (compressed chunks) and
a *shard* (which chunks make which file) to the CAS, and the commit names each file by its
SHA-256. This module reads those two formats, as xet-core writes them
(``xet_core_structures/src/xorb_object`` and ``.../metadata_shard``), rebuilds each file, checks
it against the SHA-256 the shard declares, and hands the bytes to the Hub so that a later commit
of that SHA-256 finds them, exactly as the LFS path does.

The routes hf_xet 1.8 calls, and what this CAS answers:

- ``GET /v1/chunks/{prefix}/{hash}`` (global dedup query): 404, nothing to dedup against.
- ``POST /v1/xorb-grants/{prefix}/{hash}`` (presigned-upload grants): 404; the client then falls
  back to the direct upload below, as it does against a CAS without grants.
- ``POST /v1/xorbs/{prefix}/{hash}``: the serialized xorb; ``{"was_inserted": bool}``.
- ``POST /v2/shards``: 404 (the client falls back to v1). ``POST /v1/shards``: ``{"result": 0|1}``.
- ``POST /v1/telemetry``: accepted and dropped.

Downloads are not served through Xet (the Hub never sends ``X-Xet-Hash``): clients fetch the
plain bytes, which is what every non-Xet client does too.
"""
from __future__ import annotations

import hashlib
import struct
from dataclasses import dataclass

CHUNK_HEADER = struct.Struct("<B3sB3s")  # version, compressed length, scheme, uncompressed length
XORB_FOOTER_IDENT = b"XETBLOB"
SHARD_TAG = bytes([*b"HFRepoMetaData", 0, 85, 105, 103, 69, 106, 123, 129, 87, 131, 165, 189, 217, 92, 205,
                   209, 74, 169])
SHARD_HEADER = struct.Struct("<32sQQ")  # tag, version, footer size
FILE_HEADER = struct.Struct("<32sIIQ")  # file hash, flags, entry count, unused
FILE_SEGMENT = struct.Struct("<32sIIII")  # xorb hash, flags, unpacked bytes, chunk start, chunk end
ENTRY_SIZE = 48
FLAG_VERIFICATION = 1 << 31
FLAG_METADATA_EXT = 1 << 30
BOOKEND = b"\xff" * 32


class CasFormatError(ValueError):
    """An upload that is not a well-formed xorb or shard."""


def hash_hex(raw: bytes) -> str:
    """A Merkle hash as xet-core prints it: four little-endian u64, each as 16 hex digits."""
    return "".join(f"{v:016x}" for v in struct.unpack("<4Q", raw))


# ---- xorbs ---------------------------------------------------------------------------------
def _u24(b: bytes) -> int:
    return int.from_bytes(b, "little")


def lz4_frame_decompress(data: bytes) -> bytes:
    """Decode an LZ4 frame (the format lz4_flex's FrameEncoder writes), blocks linked or not."""
    if data[:4] != b"\x04\x22\x4d\x18":
        raise CasFormatError("not an LZ4 frame")
    flg = data[4]
    pos = 6 + (8 if flg & 0x08 else 0) + (4 if flg & 0x01 else 0) + 1  # FLG BD [size] [dict id] HC
    out = bytearray()
    while True:
        (size,) = struct.unpack_from("<I", data, pos)
        pos += 4
        if size == 0:
            break
        raw, size = bool(size & 0x80000000), size & 0x7FFFFFFF
        block = data[pos:pos + size]
        pos += size + (4 if flg & 0x10 else 0)
        if raw:
            out += block
        else:
            _lz4_block(block, out)
    return bytes(out)


def _lz4_length(block: bytes, i: int, length: int) -> tuple[int, int]:
    """A token's 4-bit length, extended by 255-bytes when it is 15; and the position after it."""
    if length == 15:
        while True:
            b = block[i]
            i += 1
            length += b
            if b != 255:
                break
    return length, i


def _lz4_block(block: bytes, out: bytearray) -> None:
    i, n = 0, len(block)
    while i < n:
        token = block[i]
        i += 1
        length, i = _lz4_length(block, i, token >> 4)
        out += block[i:i + length]
        i += length
        if i >= n:
            return
        offset = block[i] | block[i + 1] << 8
        i += 2
        length, i = _lz4_length(block, i, token & 15)
        length += 4
        start = len(out) - offset
        if offset <= 0 or start < 0:
            raise CasFormatError("LZ4 match offset outside the output")
        while length > 0:  # overlapping copies repeat the last `offset` bytes
            piece = out[start:start + min(length, offset)]
            out += piece
            length -= len(piece)
            start += len(piece)


def _bg4_regroup(grouped: bytes) -> bytes:
    n = len(grouped)
    split, rem = divmod(n, 4)
    out = bytearray(n)
    pos = 0
    for k in range(4):
        size = split + (1 if k < rem else 0)
        out[k::4] = grouped[pos:pos + size]
        pos += size
    return bytes(out)


def xorb_chunks(data: bytes) -> list[bytes]:
    """The decompressed chunks of a serialized xorb, in order (its footer is not needed)."""
    chunks, pos = [], 0
    while pos + CHUNK_HEADER.size <= len(data) and data[pos:pos + len(XORB_FOOTER_IDENT)] != XORB_FOOTER_IDENT:
        version, clen, scheme, ulen = CHUNK_HEADER.unpack_from(data, pos)
        clen, ulen = _u24(clen), _u24(ulen)
        if version != 0:
            raise CasFormatError(f"chunk header version {version}")
        body = data[pos + CHUNK_HEADER.size:pos + CHUNK_HEADER.size + clen]
        pos += CHUNK_HEADER.size + clen
        if scheme == 0:
            chunk = body
        elif scheme == 1:
            chunk = lz4_frame_decompress(body)
        elif scheme == 2:
            chunk = _bg4_regroup(lz4_frame_decompress(body))
        else:
            raise CasFormatError(f"unknown compression scheme {scheme}")
        if len(chunk) != ulen:
            raise CasFormatError(f"chunk decompressed to {len(chunk)} bytes, header says {ulen}")
        chunks.append(chunk)
    if not chunks:
        raise CasFormatError("xorb holds no chunk")
    return chunks


# ---- shards --------------------------------------------------------------------------------
@dataclass
class ShardFile:
    file_hash: str
    sha256: str | None  # from the metadata extension, when the client wrote one
    segments: list[tuple[str, int, int, int]]  # (xorb hash, first chunk, end chunk, unpacked bytes)


def shard_files(data: bytes) -> list[ShardFile]:
    """The file reconstructions of a shard's file-info section."""
    if len(data) < SHARD_HEADER.size or data[:32] != SHARD_TAG:
        raise CasFormatError("not an MDB shard (bad header tag)")
    pos, out = SHARD_HEADER.size, []
    while True:
        if pos + ENTRY_SIZE > len(data):
            raise CasFormatError("shard file-info section has no bookend")
        file_hash, flags, count, _ = FILE_HEADER.unpack_from(data, pos)
        pos += ENTRY_SIZE
        if file_hash == BOOKEND:
            return out
        segments = []
        for _ in range(count):
            xorb, _flags, unpacked, start, end = FILE_SEGMENT.unpack_from(data, pos)
            segments.append((hash_hex(xorb), start, end, unpacked))
            pos += ENTRY_SIZE
        if flags & FLAG_VERIFICATION:
            pos += count * ENTRY_SIZE
        sha256 = None
        if flags & FLAG_METADATA_EXT:
            sha256 = hash_hex(data[pos:pos + 32])  # stored like a Merkle hash: four u64
            pos += ENTRY_SIZE
        out.append(ShardFile(hash_hex(file_hash), sha256, segments))


def reconstruct(file: ShardFile, xorbs: dict[str, list[bytes]]) -> bytes:
    """A file's bytes from its segments; every xorb it names must have been uploaded."""
    parts = []
    for xorb, start, end, unpacked in file.segments:
        chunks = xorbs.get(xorb)
        if chunks is None:
            raise CasFormatError(f"xorb {xorb} was never uploaded")
        if not 0 <= start < end <= len(chunks):
            raise CasFormatError(f"chunk range {start}..{end} outside xorb {xorb} ({len(chunks)} chunks)")
        piece = b"".join(chunks[start:end])
        if len(piece) != unpacked:
            raise CasFormatError(f"segment of xorb {xorb} is {len(piece)} bytes, shard says {unpacked}")
        parts.append(piece)
    data = b"".join(parts)
    if file.sha256 is not None and hashlib.sha256(data).hexdigest() != file.sha256:
        raise CasFormatError(f"file {file.file_hash} does not match its declared sha256")
    return data
