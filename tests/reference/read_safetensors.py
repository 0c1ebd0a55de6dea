# Reads a safetensors file with only the standard library and numpy, and prints
# "name shape sum first" per tensor; the checkpoint test compares this with xgrad's values.
import json, struct, sys
import numpy as np

path = sys.argv[1]
with open(path, "rb") as f:
    blob = f.read()
(n,) = struct.unpack("<Q", blob[:8])
header = json.loads(blob[8:8 + n])
data = blob[8 + n:]
kinds = {"F32": "<f4", "F64": "<f8"}
for name in sorted(k for k in header if k != "__metadata__"):
    e = header[name]
    b, end = e["data_offsets"]
    a = np.frombuffer(data[b:end], dtype=kinds[e["dtype"]]).reshape(e["shape"])
    first = float(a.flat[0]) if a.size else 0.0
    print(f"{name} {'x'.join(map(str, a.shape))} {float(a.astype(np.float64).sum()):.9g} {first:.9g}")
print("metadata", json.dumps(header.get("__metadata__", {}), sort_keys=True))
