#!/usr/bin/env python3
"""Edits a safetensors file in place, as a careless user or a broken disk would (reliability tests).

  edit_safetensors.py FILE meta KEY VALUE      set a metadata string
  edit_safetensors.py FILE nan [PREFIX]        first element of the first tensor (whose name starts
                                               with PREFIX) becomes NaN
  edit_safetensors.py FILE optim-step VALUE    the optimiser's step counter (a float64 scalar)
"""
import json
import math
import struct
import sys


def load(path):
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    return json.loads(data[8:8 + n]), data[8 + n:]


def save(path, header, body):
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + body)


def main():
    path, what = sys.argv[1], sys.argv[2]
    header, body = load(path)
    body = bytearray(body)
    if what == "meta":
        header.setdefault("__metadata__", {})[sys.argv[3]] = sys.argv[4]
    elif what == "nan":
        prefix = sys.argv[3] if len(sys.argv) > 3 else ""
        name = next(k for k in sorted(header) if k != "__metadata__" and k.startswith(prefix))
        t = header[name]
        start = t["data_offsets"][0]
        if t["dtype"] == "F32":
            body[start:start + 4] = struct.pack("<f", math.nan)
        else:
            body[start:start + 8] = struct.pack("<d", math.nan)
    elif what == "optim-step":
        t = header["optim.step"]
        start = t["data_offsets"][0]
        value = float(sys.argv[3])
        if t["dtype"] == "F32":
            body[start:start + 4] = struct.pack("<f", value)
        else:
            body[start:start + 8] = struct.pack("<d", value)
    else:
        sys.exit(f"unknown edit {what}")
    save(path, header, bytes(body))


if __name__ == "__main__":
    main()
