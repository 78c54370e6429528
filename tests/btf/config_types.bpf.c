// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Not a program: the configuration's structs compiled with BTF, so that
 * tests/test_config_diff.c can list their members as the compiler sees
 * them and fail on one that user/lib/config_fields.c does not name.
 */
#include "user/lib/config.h"

struct xs_config_file *xs_config_btf_anchor;
