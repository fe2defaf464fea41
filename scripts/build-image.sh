#!/usr/bin/env bash
# Builds spotfit's container image from a Release build, without a container engine or a registry (these
# machines and CI have neither), and writes it as an OCI image-layout archive:
#
#   scripts/build-image.sh [BUILD_DIR [OUTPUT]]    # default build/release, BUILD_DIR/spotfit-image.tar
#
# The image holds BUILD_DIR/spotfit (stripped) as the entrypoint /usr/bin/spotfit, exactly the shared
# libraries it loads (from this Debian host, with their copyright files), the CA bundle, /etc/passwd with
# user 65532 (nonroot, the image's user) and no shell. Its tag is the version (ghcr.io/spotfit/spotfit:
# VERSION, SPOTFIT_IMAGE_NAME changes the name), its labels the version, git revision and source, all read
# from `spotfit version --output json` of the binary itself. Push it with
# `skopeo copy oci-archive:BUILD_DIR/spotfit-image.tar docker://REGISTRY/spotfit:VERSION` (README.md).
#
# Why the layout is written by hand (scripts/image/build_image.py, Python standard library only) rather than
# with Debian's umoci or buildah: the image is one layer of files we already have, and reproducibility
# needs control of every tar header, the gzip header and the JSON key order. umoci works from an unpacked
# runtime bundle, takes file metadata from the disk and needs flags to pin each timestamp; buildah needs
# container storage and a runtime. Neither is needed to write three blobs and an index. skopeo (Debian,
# scripts/install-deps.sh) is what the tests (tests/image/) use to check the result independently: it
# reads the archive and verifies every blob's digest and size.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
build_dir=${1:-$here/../build/release}
output=${2:-$build_dir/spotfit-image.tar}
[[ -x $build_dir/spotfit ]] || { echo "build-image: $build_dir/spotfit not found (cmake --build $build_dir --target spotfit)" >&2; exit 1; }
exec python3 "$here/image/build_image.py" "$build_dir/spotfit" "$output"
