#!/usr/bin/env bash
# The image's base, debian:bookworm-slim's equivalent made here from Debian's packages.
#
# Why this exists: public image registries are unreachable from the project's build machines, so
# the Dockerfile's default base (debian:bookworm-slim) cannot be pulled; Debian's mirror can be
# reached. This builds a bookworm minbase root filesystem with debootstrap and slims it the way
# the official image is slimmed (no docs, man pages or locales; apt keeps no caches), so that the
# Dockerfile's steps run on the same Debian release, packages and apt setup as users' builds.
#
# The file's content is the base image's cache key (scripts/image/build.sh hashes it): change a
# line here and the next build makes a new base.
#
# Usage: scripts/image/base-rootfs.sh OUT.tar.gz   (as root; writes a gzipped root filesystem)
set -euo pipefail

readonly SUITE="bookworm"
readonly MIRROR="http://deb.debian.org/debian"
readonly SECURITY_MIRROR="http://deb.debian.org/debian-security"

out="$1"
[[ ${EUID} -eq 0 ]] || { echo "base-rootfs.sh: run as root (debootstrap needs it)" >&2; exit 1; }
work="$(mktemp -d "${TMPDIR:-/tmp}/bro-base.XXXXXX")"
trap 'rm -rf "${work}"' EXIT
root="${work}/rootfs"

debootstrap --variant=minbase "${SUITE}" "${root}" "${MIRROR}" >"${work}/debootstrap.log" 2>&1 ||
  { tail -n 30 "${work}/debootstrap.log" >&2; exit 1; }

# apt sources as debian:bookworm-slim has them (deb822, with updates and security).
rm -f "${root}/etc/apt/sources.list"
cat >"${root}/etc/apt/sources.list.d/debian.sources" <<EOF
Types: deb
URIs: ${MIRROR}
Suites: ${SUITE} ${SUITE}-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: ${SECURITY_MIRROR}
Suites: ${SUITE}-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF

# The official images' apt and dpkg settings: no package caches, compressed indexes, no
# translations, no documentation installed by later packages either.
cat >"${root}/etc/apt/apt.conf.d/docker-clean" <<'EOF'
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
EOF
echo 'Acquire::GzipIndexes "true";' >"${root}/etc/apt/apt.conf.d/docker-gzip-indexes"
echo 'Acquire::Languages "none";' >"${root}/etc/apt/apt.conf.d/docker-no-languages"
echo 'Apt::AutoRemove::SuggestsImportant "false";' >"${root}/etc/apt/apt.conf.d/docker-autoremove-suggests"
cat >"${root}/etc/dpkg/dpkg.cfg.d/docker" <<'EOF'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/groff/*
path-exclude /usr/share/info/*
path-exclude /usr/share/linda/*
path-exclude /usr/share/lintian/overrides/*
path-exclude /usr/share/locale/*
path-exclude /usr/share/man/*
EOF
# The same for what debootstrap already installed.
find "${root}/usr/share/doc" -mindepth 1 -not -name copyright -not -type d -delete
find "${root}/usr/share/doc" -mindepth 1 -type d -empty -delete
rm -rf "${root}"/usr/share/{groff,info,linda,lintian/overrides,locale,man}/*
rm -rf "${root}"/var/lib/apt/lists/* "${root}"/var/cache/apt/* "${root}"/var/log/*.log \
  "${root}"/var/cache/debconf/*-old "${root}"/var/lib/dpkg/*-old
# The runtime supplies these per container; debootstrap copied the build machine's.
rm -f "${root}/etc/hostname" "${root}/etc/resolv.conf"

tar --numeric-owner --sort=name --xattrs -C "${root}" -czf "${work}/rootfs.tar.gz" .
mv -f "${work}/rootfs.tar.gz" "${out}"
