#!/bin/sh
# Build the sigverify container image from ./Dockerfile with buildah, on a machine that cannot pull public base
# images: a local Debian bookworm base is made with debootstrap (cached), imported into buildah, and passed as
# --build-arg BASE_IMAGE. The image is cached by a hash of the build context (Dockerfile + lock + package + entrypoint),
# so a session builds at most once.
#
#   tests/ci/build_image.sh            prints the image name (last line of stdout) and writes image.env
#
# Needs: debootstrap, buildah (apt-get install -y debootstrap buildah), root, network to Debian and PyPI.
# Environment: SIGVERIFY_IMAGE_CACHE (default ~/.cache/sigverify/image).
set -eu

REPO=$(cd "$(dirname "$0")/../.." && pwd)
CACHE=${SIGVERIFY_IMAGE_CACHE:-$HOME/.cache/sigverify/image}
BUILDAH="buildah --root $CACHE/storage --runroot $CACHE/run --storage-driver vfs"
BASE_PACKAGES=python3-minimal,python3-venv,ca-certificates
BASE_IMAGE=localhost/sigverify-test-base:bookworm
mkdir -p "$CACHE"
exec 9>"$CACHE/lock"
flock 9  # one build at a time (pytest-xdist workers share the cache)

log() { echo "build_image: $*" >&2; }

# ---- 1. the local base (debootstrap once, then imported into buildah storage) ----------------------------------
if [ -z "$($BUILDAH images --quiet "$BASE_IMAGE" 2>/dev/null)" ]; then
    rootfs="$CACHE/rootfs-bookworm"
    if [ ! -x "$rootfs/usr/bin/python3" ]; then
        log "debootstrap bookworm ($BASE_PACKAGES) into $rootfs"
        rm -rf "$rootfs"
        debootstrap --variant=minbase --include="$BASE_PACKAGES" bookworm "$rootfs" http://deb.debian.org/debian >&2
        rm -rf "$rootfs/var/cache/apt/archives/"*.deb "$rootfs/var/lib/apt/lists/"*
    fi
    # This machine reaches PyPI through a TLS-intercepting proxy: give the test base the host's CA bundle,
    # so the build stage's pip trusts it. (A real base image needs nothing of the sort.)
    cp /etc/ssl/certs/ca-certificates.crt "$rootfs/etc/ssl/certs/ca-certificates.crt"
    ctr=$($BUILDAH from scratch)
    mnt=$($BUILDAH mount "$ctr")
    cp -a "$rootfs/." "$mnt/"
    $BUILDAH umount "$ctr" >/dev/null
    $BUILDAH config --env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
        --env PIP_CERT=/etc/ssl/certs/ca-certificates.crt --env LANG=C.UTF-8 "$ctr"
    $BUILDAH commit --quiet "$ctr" "$BASE_IMAGE" >/dev/null
    $BUILDAH rm "$ctr" >/dev/null
    log "base image $BASE_IMAGE ready"
fi

# ---- 2. the build context, exactly what .dockerignore lets through, and its hash ----------------------------
ctx=$(mktemp -d)
trap 'rm -rf "$ctx"' EXIT
cp "$REPO/Dockerfile" "$REPO/.dockerignore" "$REPO/pyproject.toml" "$REPO/entrypoint.py" "$ctx/"
mkdir "$ctx/requirements"
cp "$REPO/requirements/runtime.txt" "$REPO/requirements/build.txt" "$ctx/requirements/"
tar -C "$REPO" --exclude=__pycache__ --exclude='*.pyc' -cf - sigverify | tar -C "$ctx" -xf -
if [ -f "$REPO/README.md" ]; then
    cp "$REPO/README.md" "$ctx/"
else
    log "README.md is missing (pyproject.toml names it): using a placeholder in the build context"
    echo "# sigverify" >"$ctx/README.md"
fi
[ -f "$REPO/LICENSE" ] && cp "$REPO/LICENSE" "$ctx/"
hash=$(cd "$ctx" && find . -type f | LC_ALL=C sort | xargs sha256sum | sha256sum | cut -c1-16)
IMAGE=localhost/sigverify:ctx-$hash

# ---- 3. build (skipped when this exact context was built before) --------------------------------------------
if [ -z "$($BUILDAH images --quiet "$IMAGE" 2>/dev/null)" ]; then
    log "building $IMAGE"
    start=$(date +%s)
    $BUILDAH bud --isolation chroot --layers --pull=never \
        --build-arg BASE_IMAGE="$BASE_IMAGE" -t "$IMAGE" -f "$ctx/Dockerfile" "$ctx" >&2
    log "built in $(($(date +%s) - start)) s"
else
    log "cached: $IMAGE"
fi

# vfs stores every layer as a full copy: keep only this build's image (and the layer cache it uses).
for old in $($BUILDAH images --format '{{.Name}}:{{.Tag}}' | grep '^localhost/sigverify:ctx-' | grep -v ":ctx-$hash\$"); do
    $BUILDAH rmi "$old" >/dev/null 2>&1 || true
done

# Dangling build-stage images are the layer cache; drop them all when the cache outgrows 8 GB.
if [ "$(du -sk "$CACHE/storage" | cut -f1)" -gt 8000000 ]; then
    log "layer cache over 8 GB: pruning dangling images"
    $BUILDAH rmi --prune >/dev/null 2>&1 || true
fi

size=$($BUILDAH images --format '{{.Size}}' "$IMAGE" | head -n1)
base_size=$($BUILDAH images --format '{{.Size}}' "$BASE_IMAGE" | head -n1)
cat >"$CACHE/image.env" <<EOF
IMAGE=$IMAGE
BUILDAH_ROOT=$CACHE/storage
BUILDAH_RUNROOT=$CACHE/run
IMAGE_SIZE="$size"
BASE_SIZE="$base_size"
EOF
log "image $IMAGE: $size (local base $BASE_IMAGE: $base_size)"
echo "$IMAGE"
