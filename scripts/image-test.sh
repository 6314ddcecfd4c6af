#!/usr/bin/env bash
# Builds deploy/Dockerfile and checks the image the Fargate tasks run, without a Docker daemon:
# buildah (Debian's package, `--isolation chroot`, the `vfs` storage driver) builds and runs
# it. Checks: the runtime is non-root (`USER nonroot`, uid 65532) with `/dora-evidence` as its
# entry point; the image adds exactly one file, the stripped binary, to its base; the binary
# runs there (`--version`, `collect --help`), and builds the bundled sample quarter into a
# package byte-identical to the one the host's release binary builds (files owned by 65532).
#
# Base images: where `rust:1.95-slim-bookworm` and `gcr.io/distroless/cc-debian12:nonroot`
# can be pulled, they are. Where no registry is reachable (this project's CI), stand-ins are
# made under the same names, from the same parts:
# - the builder: Debian 12 (`debootstrap --variant=minbase`) with gcc, libc6-dev and
#   ca-certificates, as the rust:slim images have, and this machine's Rust toolchain (1.95)
#   under /usr/local/rust, CARGO_HOME=/usr/local/cargo; its CA bundle is this machine's, so
#   that cargo trusts the same network (here, a proxy's own CA);
# - the runtime: Debian 12's libc6, libgcc-s1, libstdc++6, libgomp1, tzdata and netbase
#   unpacked onto an empty root with the CA bundle, the `root`, `nobody` and `nonroot` (65532)
#   users and `/home/nonroot` as the working folder, which is what distroless cc-debian12 is
#   made of. No shell, no package manager.
# Everything this script makes (containers, images, its folder under /var/tmp) it removes at
# the end; images it did not make are left alone.
#
# Needs root (buildah, debootstrap, chroot), network to deb.debian.org and crates.io, and a
# host binary of the same source to compare with ($CARGO_TARGET_DIR/debug/dora-evidence).
# Took 13 min cold on 2 cores, most of it the release build inside the builder; about 1 min
# once buildah has kept its cache mount for `target/` (in /var/tmp/buildah-cache).
set -euo pipefail
cd "$(dirname "$0")/.."
root_dir=$PWD
target=${CARGO_TARGET_DIR:-$root_dir/target}
# What `cargo test` just built (scripts/test.sh runs this after it): the package does not
# depend on the build profile. HOST_BIN=… names another.
host_bin=${HOST_BIN:-$target/debug/dora-evidence}
rust_image=docker.io/library/rust:1.95-slim-bookworm
runtime_image=gcr.io/distroless/cc-debian12:nonroot
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
bah=(buildah --storage-driver vfs)

[ -x "$host_bin" ] || { echo "image-test: $host_bin missing (cargo build first)" >&2; exit 2; }
work=$(mktemp -d /var/tmp/dora-image-test.XXXXXX)
# Tagged after this run's own folder, so that no image of the same name is replaced or removed.
image=localhost/dora-evidence-image-test:${work##*.}
made_images=()
made_containers=()
cleanup() {
  for c in "${made_containers[@]}"; do "${bah[@]}" rm "$c" >/dev/null 2>&1 || true; done
  for i in "${made_images[@]}"; do "${bah[@]}" rmi -f "$i" >/dev/null 2>&1 || true; done
  rm -rf "$work"
}
trap cleanup EXIT
fail() { echo "image-test: FAIL: $*" >&2; exit 1; }
have_image() { "${bah[@]}" inspect --type image "$1" >/dev/null 2>&1; }
new_container() { # image: a working container of it in $ctr, removed at the end
  ctr=$("${bah[@]}" from --pull=never "$1")
  made_containers+=("$ctr")
}

# A stand-in image: an empty root, filled by the function $2 (given the root folder), configured
# with the remaining arguments (`buildah config` options) and committed as $1.
standin() {
  local name=$1 fill=$2 rootfs
  shift 2
  new_container scratch
  rootfs=$("${bah[@]}" mount "$ctr")
  "$fill" "$rootfs"
  "${bah[@]}" config "$@" "$ctr"
  "${bah[@]}" commit -q "$ctr" "$name" >/dev/null
  made_images+=("$name")
}

fill_builder() {
  local rootfs=$1 sysroot
  debootstrap --variant=minbase --include=gcc,libc6-dev,ca-certificates bookworm "$rootfs" "$mirror" \
    >"$work/debootstrap.log" 2>&1 || { tail -20 "$work/debootstrap.log" >&2; fail "debootstrap"; }
  # This machine reaches crates.io through a proxy whose CA only its own bundle holds.
  cp /etc/ssl/certs/ca-certificates.crt "$rootfs/etc/ssl/certs/ca-certificates.crt"
  sysroot=$(rustc --print sysroot)
  mkdir -p "$rootfs/usr/local/rust/bin" "$rootfs/usr/local/cargo"
  cp -a "$sysroot/bin/cargo" "$sysroot/bin/rustc" "$rootfs/usr/local/rust/bin/"
  cp -a "$sysroot/lib" "$sysroot/libexec" "$rootfs/usr/local/rust/"
}

fill_runtime() {
  local rootfs=$1 deb
  mkdir -p "$work/debs"
  (cd "$work/debs" && apt-get -o APT::Sandbox::User=root download libc6 libgcc-s1 libstdc++6 libgomp1 tzdata netbase >/dev/null)
  for deb in "$work"/debs/*.deb; do dpkg-deb -x "$deb" "$rootfs"; done
  mkdir -p "$rootfs/etc/ssl/certs" "$rootfs/home/nonroot" "$rootfs/tmp"
  cp /etc/ssl/certs/ca-certificates.crt "$rootfs/etc/ssl/certs/"
  printf '%s\n' 'root:x:0:0:root:/root:/sbin/nologin' 'nobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin' \
    'nonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin' >"$rootfs/etc/passwd"
  printf '%s\n' 'root:x:0:' 'nobody:x:65534:' 'nonroot:x:65532:' >"$rootfs/etc/group"
  chown 65532:65532 "$rootfs/home/nonroot"
  chmod 1777 "$rootfs/tmp"
}

pull=missing
for base in "$rust_image" "$runtime_image"; do
  if have_image "$base" || "${bah[@]}" pull -q "$base" >/dev/null 2>&1; then continue; fi
  echo "image-test: $base cannot be pulled here; making a stand-in (see this script's header)"
  pull=never
  if [ "$base" = "$rust_image" ]; then
    standin "$base" fill_builder --env CARGO_HOME=/usr/local/cargo \
      --env PATH=/usr/local/rust/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
  else
    standin "$base" fill_runtime --user 65532 --workingdir /home/nonroot
  fi
done

echo "image-test: building deploy/Dockerfile (the release build inside takes a while)"
"${bah[@]}" bud --isolation chroot --pull="$pull" -q -f deploy/Dockerfile -t "$image" . >"$work/bud.log" 2>&1 ||
  { tail -40 "$work/bud.log" >&2; fail "buildah bud deploy/Dockerfile"; }
made_images+=("$image")

# The image's configuration.
config=$("${bah[@]}" inspect --type image --format '{{.OCIv1.Config.User}}|{{.OCIv1.Config.Entrypoint}}' "$image")
[ "$config" = 'nonroot|[/dora-evidence]' ] || fail "user|entrypoint is $config, want nonroot|[/dora-evidence]"

# What the image adds to its runtime base: the binary, nothing else, and stripped.
new_container "$runtime_image"
base_c=$ctr
new_container "$image"
img_c=$ctr
base_fs=$("${bah[@]}" mount "$base_c")
img_fs=$("${bah[@]}" mount "$img_c")
added=$(diff <(cd "$base_fs" && find . | sort) <(cd "$img_fs" && find . | sort) | grep '^[<>]' || true)
[ "$added" = "> ./dora-evidence" ] || fail "the image differs from its base by: $added"
[ ! -e "$img_fs/bin/sh" ] && [ ! -e "$img_fs/usr/bin/sh" ] || fail "the runtime has a shell"
# (.debug_gdb_scripts is loaded, not debug information: strip keeps it.)
unstripped=$(readelf -SW "$img_fs/dora-evidence" | grep -o '\.symtab\|\.debug_info\|\.debug_line' | tr '\n' ' ' || true)
[ -z "$unstripped" ] || fail "/dora-evidence is not stripped: it has $unstripped"

echo "image-test: the image adds /dora-evidence ($(du -m "$img_fs/dora-evidence" | cut -f1) MiB, stripped) to its base; user nonroot"

# It runs there, as 65532, and builds the sample quarter as the host binary does.
# Output taken whole before it is searched: `grep -q` leaving a pipe early could fail the run.
version=$("${bah[@]}" run --isolation chroot "$img_c" -- /dora-evidence --version) || fail "--version"
grep -q '^dora-evidence ' <<<"$version" || fail "--version printed: $version"
help=$("${bah[@]}" run --isolation chroot "$img_c" -- /dora-evidence collect --help) || fail "collect --help"
grep -q -- '--shard' <<<"$help" || fail "collect --help does not mention --shard"
mkdir -p "$work/out"
chown 65532:65532 "$work/out"
# Relative input paths, as artifacts.csv records them: the same in both runs.
args=(build --input samples/input --config samples/dora-evidence.toml --period 2026-Q3
  --generated-at 2026-10-05T00:00:00Z)
"${bah[@]}" run --isolation chroot -v "$root_dir/samples:/home/nonroot/samples:ro" -v "$work/out:/out" "$img_c" -- \
  /dora-evidence "${args[@]}" --out /out/image >"$work/image-build.log" 2>&1 ||
  { tail -20 "$work/image-build.log" >&2; fail "build in the image"; }
owners=$(find "$work/out/image" -printf '%u\n' | sort -u | tr '\n' ' ')
[ "$owners" = "65532 " ] || [ "$owners" = "nonroot " ] || fail "package files owned by $owners, want 65532"
"$host_bin" "${args[@]}" --out "$work/host" >/dev/null 2>&1 || fail "build with the host binary"
diff -r "$work/out/image" "$work/host" >"$work/diff.txt" || { head -20 "$work/diff.txt" >&2; fail "packages differ"; }
echo "image-test: OK: the image's binary, as uid 65532, built the sample package byte-identical to the host's"
