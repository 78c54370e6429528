/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Standard base64 (RFC 4648 section 4, padded), as etcd's JSON gateway
 * carries keys and values. */
#ifndef XDPSPLIT_FLEET_BASE64_H
#define XDPSPLIT_FLEET_BASE64_H

#include <stddef.h>

/* The text for length bytes, NUL-terminated, in a malloc'd buffer the
 * caller frees; NULL when out of memory. */
char *xs_base64_encode(const void *data, size_t length);

/*
 * The bytes of a padded base64 text of text_length characters in a
 * malloc'd buffer (NUL-terminated beyond *length, so a text value can be
 * used as a string), or NULL with errno EINVAL for text that is not
 * base64 (a stray character, bad padding, a length not a multiple of 4)
 * or ENOMEM.
 */
void *xs_base64_decode(const char *text, size_t text_length, size_t *length);

#endif /* XDPSPLIT_FLEET_BASE64_H */
