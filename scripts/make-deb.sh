#!/bin/sh
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# make deb: builds the Debian package with dpkg-buildpackage in a copy of
# the tree, BUILD/deb/src, so that its artefacts (written next to the tree it
# builds) land in BUILD/deb and not in ../ of the checkout; copies the .deb
# to BUILD/. The copy holds the files git knows (committed or not, untracked
# but not ignored), or, outside a git checkout, everything but the builds.
set -eu

build=${1:-build}
top=$(pwd)
out="$top/$build/deb"

if ! command -v dpkg-buildpackage >/dev/null; then
	echo "make deb needs dpkg-buildpackage: apt-get install dpkg-dev debhelper (or make deps)" >&2
	exit 1
fi
rm -rf "$out"
mkdir -p "$out/src"
if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
	# a file deleted but not yet committed is listed and missing: skipped
	git ls-files -z --cached --others --exclude-standard |
		xargs -0 sh -c 'for f; do [ -e "$f" ] && printf "%s\0" "$f"; done' _ |
		tar --null -T - -cf - | tar -xf - -C "$out/src"
else
	tar --exclude='./build*' --exclude=./debian/xdpsplit --exclude=./debian/.debhelper \
		-cf - . | tar -xf - -C "$out/src"
fi
cd "$out/src"
# the package is built as debian/rules says, not with the calling make's
# variables (make check SANITIZE=1 would pass its own down)
unset MAKEFLAGS MFLAGS MAKELEVEL SANITIZE BUILD
# both cores, and no make check inside the package build (its tests need
# root, namespaces and XDP: make check runs them)
DEB_BUILD_OPTIONS=${DEB_BUILD_OPTIONS:-"parallel=$(nproc) nocheck"} \
	dpkg-buildpackage -us -uc -b
cp "$out"/xdpsplit_*.deb "$top/$build/"
ls "$top/$build"/xdpsplit_*.deb
