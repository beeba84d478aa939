#!/usr/bin/env bash
# Install what wharf needs from Debian 12's archive.
#   scripts/deps.sh build   libraries and tools to build and run wharfd
#   scripts/deps.sh test    also the peers the test suite drives (skopeo, podman, ...)
set -euo pipefail
want=${1:-build}

build_pkgs=(meson ninja-build pkg-config gcc libmicrohttpd-dev libcurl4-openssl-dev libssl-dev
            libjansson-dev libsqlite3-dev libp11-kit-dev)
test_pkgs=(libcmocka-dev clang libclang-rt-14-dev python3 curl jq skopeo podman buildah umoci mmdebstrap
           uidmap docker-registry apache2-utils wrk softhsm2 opensc)
# Each area lists its own packages on its own lines, so changes to one don't collide with another's.
# scan (issue 5)
build_pkgs+=(libarchive-dev zlib1g-dev libzstd-dev libisal-dev libyaml-dev)
test_pkgs+=(isal)
# scan/lang catalogers and secrets (issue 5): Go binaries built and read by the tests (golang-go, skopeo
# above), objcopy (binutils) for a cargo-auditable section, openssl and ssh-keygen for private keys.
build_pkgs+=(zlib1g-dev)
test_pkgs+=(golang-go binutils openssl openssh-client)
# scan end to end (issue 5, tests/integration/test_scan_images.py): the jar and the dist-info copied into its images
test_pkgs+=(libcommons-cli-java python3-yaml)
# vulndb (issue 5)
build_pkgs+=(libyaml-dev libarchive-dev)
# run and secrets (issue 6)
build_pkgs+=(libarchive-dev zlib1g-dev)
test_pkgs+=(runc crun uidmap busybox-static hyperfine)
# secrets (issue 6): SoftHSM2 for the token-wrapped master key, an independent AES-GCM for the format test
test_pkgs+=(softhsm2 opensc python3-cryptography)
# access control (issue 7)
build_pkgs+=(libargon2-dev libldap-dev)
test_pkgs+=(slapd ldap-utils openssl python3-cryptography notary)

pkgs=("${build_pkgs[@]}")
[ "$want" = test ] && pkgs+=("${test_pkgs[@]}")

missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# The docker CLI (for `docker login` tests) comes from docker.io when no docker is on PATH.
if [ "$want" = test ] && ! command -v docker >/dev/null; then missing+=(docker.io); fi

if [ ${#missing[@]} -gt 0 ]; then
  echo "installing: ${missing[*]}" >&2
  if [ "$(id -u)" != 0 ]; then
    echo "scripts/deps.sh: run as root (apt-get install needs it)" >&2; exit 2
  fi
  # Packages such as docker.io and docker-registry must not start their services here.
  policy=/usr/sbin/policy-rc.d
  had_policy=0; [ -e $policy ] && had_policy=1
  [ $had_policy = 1 ] || { printf '#!/bin/sh\nexit 101\n' > $policy; chmod +x $policy; }
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  [ $had_policy = 1 ] || rm -f $policy
fi
