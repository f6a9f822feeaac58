"""DSSE: the pre-authentication encoding (PAE) that a DSSE signature covers."""

from __future__ import annotations


def pae(payload_type: str, payload: bytes) -> bytes:
    """``DSSEv1 <len(type)> <type> <len(payload)> <payload>``, the bytes a DSSE signature signs."""
    t = payload_type.encode()
    return b"DSSEv1 %d %s %d %s" % (len(t), t, len(payload), payload)
