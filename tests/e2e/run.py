#!/usr/bin/python3
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
"""Runs the end-to-end tests (or those whose name contains argv[1])."""
import sys

import harness
import test_traffic  # noqa: F401  (registers its tests)
import test_cli  # noqa: F401
import test_apply_diff  # noqa: F401
import test_splitd  # noqa: F401
import test_flood  # noqa: F401
import test_faults  # noqa: F401
import test_network  # noqa: F401
import test_trust  # noqa: F401
import test_upgrade  # noqa: F401
import test_btf  # noqa: F401
import test_metrics  # noqa: F401
import test_peers  # noqa: F401
import test_hostile  # noqa: F401
import test_race  # noqa: F401
import test_icmp  # noqa: F401
import test_fleet_net  # noqa: F401
import test_fleet  # noqa: F401
import test_grammar  # noqa: F401
import test_live  # noqa: F401
import test_systemd  # noqa: F401
import test_webhooks  # noqa: F401
import test_package  # noqa: F401

if __name__ == "__main__":
    sys.exit(harness.run(sys.argv[1] if len(sys.argv) > 1 else None))
