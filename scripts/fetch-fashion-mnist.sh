#!/usr/bin/env bash
# Fetches Fashion-MNIST as the four standard gzip IDX files, from Debian's (and Ubuntu's)
# package dataset-fashion-mnist, for machines whose only way out is the package archive.
#
# Usage: scripts/fetch-fashion-mnist.sh [--download] [DIR]   (DIR defaults to ./data/fashion-mnist)
#
# If the package is installed, its files (/usr/share/datasets/fashion-mnist) are used.
# Otherwise, or with --download, `apt-get download dataset-fashion-mnist` fetches the .deb
# (about 31 MB; no root needed) into a temporary folder and `dpkg-deb -x` unpacks it there
# (nothing is installed). The SHA-256 of every uncompressed file is checked against the pinned
# sums (those of replay-mnist's FASHION_MNIST_CANONICAL_FILES), then
#   train-images-idx3-ubyte.gz  train-labels-idx1-ubyte.gz
#   t10k-images-idx3-ubyte.gz   t10k-labels-idx1-ubyte.gz
# are written into DIR, each through a temporary file in DIR and a rename, and the temporary
# folder is removed.
#
# Environment: FASHION_MNIST_SYSTEM_DIR, the installed folder to use (default
# /usr/share/datasets/fashion-mnist); APT_CONFIG and the other apt variables as usual.
set -euo pipefail

say() { printf 'fetch-fashion-mnist: %s\n' "$*" >&2; }
die() { printf 'fetch-fashion-mnist: error: %s\n' "$*" >&2; exit 1; }

readonly upstream="https://github.com/zalandoresearch/fashion-mnist (folder data/fashion)"
readonly package=dataset-fashion-mnist
usage="usage: scripts/fetch-fashion-mnist.sh [--download] [DIR]   (DIR defaults to ./data/fashion-mnist)"

force_download=0
dest=""
for arg in "$@"; do
    case "$arg" in
        --download) force_download=1 ;;
        -h | --help) printf '%s\n' "$usage"; exit 0 ;;
        -*) die "unknown option '$arg'; $usage" ;;
        *)
            [[ -z "$dest" ]] || die "more than one DIR given ('$dest', '$arg'); $usage"
            dest="$arg"
            ;;
    esac
done
dest="${dest:-data/fashion-mnist}"
installed="${FASHION_MNIST_SYSTEM_DIR:-/usr/share/datasets/fashion-mnist}"

# Pinned SHA-256 of the four uncompressed files (Zalando's originals, as Debian ships them).
names=(train-images-idx3-ubyte train-labels-idx1-ubyte t10k-images-idx3-ubyte t10k-labels-idx1-ubyte)
declare -A sha256=(
    [train-images-idx3-ubyte]=c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888
    [train-labels-idx1-ubyte]=bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9
    [t10k-images-idx3-ubyte]=5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b
    [t10k-labels-idx1-ubyte]=0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34
)

for tool in gzip sha256sum mktemp; do
    command -v "$tool" >/dev/null 2>&1 || die "'$tool' not found; install it (Debian/Ubuntu: gzip, coreutils)"
done

work="$(mktemp -d "${TMPDIR:-/tmp}/fetch-fashion-mnist.XXXXXX")" \
    || die "cannot create a temporary folder in ${TMPDIR:-/tmp}"
partial=()
cleanup() {
    rm -rf "$work"
    # Temporary files left in DIR by an interrupted copy.
    if ((${#partial[@]})); then rm -f "${partial[@]}"; fi
}
trap cleanup EXIT

# Where the four .gz files come from.
if ((!force_download)) && [[ -d "$installed" ]]; then
    source_dir="$installed"
    say "using the installed files in $source_dir"
else
    if ((force_download)); then
        say "--download: not looking at $installed"
    else
        say "$installed not found (the package $package is not installed)"
    fi
    command -v apt-get >/dev/null 2>&1 \
        || die "apt-get not found (not Debian or Ubuntu?); download the four .gz files from $upstream into $dest, or set FASHION_MNIST_DIR to a folder holding them"
    command -v dpkg-deb >/dev/null 2>&1 \
        || die "dpkg-deb not found; install dpkg, or download the four .gz files from $upstream into $dest"
    say "downloading the package $package with apt-get (about 31 MB)"
    if ! (cd "$work" && apt-get download -q "$package" >"$work/apt.log" 2>&1); then
        tail -n 5 "$work/apt.log" | sed 's/^/  apt-get: /' >&2
        die "'apt-get download $package' failed (unknown package? run 'apt-get update' as root first; Ubuntu has it in universe); or download the four .gz files from $upstream into $dest"
    fi
    debs=("$work"/"$package"_*.deb)
    [[ -f "${debs[0]}" ]] || die "apt-get reported success but no $package .deb is in $work"
    say "unpacking $(basename "${debs[0]}") (nothing is installed)"
    dpkg-deb -x "${debs[0]}" "$work/root" || die "'dpkg-deb -x ${debs[0]}' failed; is the download damaged?"
    source_dir="$work/root/usr/share/datasets/fashion-mnist"
    [[ -d "$source_dir" ]] || die "the package holds no usr/share/datasets/fashion-mnist folder; has its layout changed?"
fi

# Check every file before writing any.
for name in "${names[@]}"; do
    file="$source_dir/$name.gz"
    [[ -f "$file" ]] || die "$file is missing; the package $package should hold the four .gz files"
    got="$(gzip -dc -- "$file" 2>/dev/null | sha256sum)" \
        || die "$file does not decompress (gzip); is it damaged?"
    got="${got%% *}"
    [[ "$got" == "${sha256[$name]}" ]] \
        || die "$file decompresses to SHA-256 $got, expected ${sha256[$name]}; not the canonical Fashion-MNIST file"
    say "checked $name.gz (uncompressed SHA-256 ok)"
done

mkdir -p -- "$dest" || die "cannot create the destination folder '$dest'"
for name in "${names[@]}"; do
    [[ ! -d "$dest/$name.gz" ]] || die "'$dest/$name.gz' is a folder; remove it and run again"
done
for name in "${names[@]}"; do
    # A temporary file in the destination (the same filesystem), synced, then renamed: a crash
    # or a full disk never leaves a half-written file under the real name.
    tmp="$dest/.$name.gz.partial-$$"
    partial+=("$tmp")
    cp -- "$source_dir/$name.gz" "$tmp" || die "cannot write '$tmp'"
    cmp -s -- "$source_dir/$name.gz" "$tmp" || die "'$tmp' does not read back as written"
    sync -- "$tmp" 2>/dev/null || true
    mv -f -- "$tmp" "$dest/$name.gz" || die "cannot rename '$tmp' to '$dest/$name.gz'"
done
partial=()

say "done: the four Fashion-MNIST files are in $dest (use it with FASHION_MNIST_DIR=$dest or the default ./data/fashion-mnist)"
