// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include "base64.h"

static const char alphabet[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

char *xs_base64_encode(const void *data, size_t length)
{
	const unsigned char *in = data;
	char *out, *p;
	size_t i;

	if (length > (SIZE_MAX - 1) / 4 * 3 - 3)
		return NULL;
	out = malloc((length + 2) / 3 * 4 + 1);
	if (!out)
		return NULL;
	p = out;
	for (i = 0; i + 2 < length; i += 3) {
		uint32_t v = in[i] << 16 | in[i + 1] << 8 | in[i + 2];

		*p++ = alphabet[v >> 18 & 63];
		*p++ = alphabet[v >> 12 & 63];
		*p++ = alphabet[v >> 6 & 63];
		*p++ = alphabet[v & 63];
	}
	if (i < length) {
		uint32_t v = in[i] << 16 |
			     (i + 1 < length ? in[i + 1] << 8 : 0);

		*p++ = alphabet[v >> 18 & 63];
		*p++ = alphabet[v >> 12 & 63];
		*p++ = i + 1 < length ? alphabet[v >> 6 & 63] : '=';
		*p++ = '=';
	}
	*p = '\0';
	return out;
}

static int sextet(char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

void *xs_base64_decode(const char *text, size_t text_length, size_t *length)
{
	unsigned char *out;
	size_t n = 0;

	if (text_length % 4) {
		errno = EINVAL;
		return NULL;
	}
	out = malloc(text_length / 4 * 3 + 1);
	if (!out) {
		errno = ENOMEM;
		return NULL;
	}
	for (size_t i = 0; i < text_length; i += 4) {
		int a = sextet(text[i]), b = sextet(text[i + 1]);
		int c = sextet(text[i + 2]), d = sextet(text[i + 3]);
		int last = i + 4 == text_length;

		/* '=' only at the end: "xx==" or "xxx=" */
		if (last && text[i + 3] == '=' && b >= 0 && a >= 0) {
			if (text[i + 2] == '=') {
				c = 0;
				d = -2;
			} else if (c >= 0) {
				d = -3;
			}
		}
		if (a < 0 || b < 0 || c < 0 || d == -1) {
			free(out);
			errno = EINVAL;
			return NULL;
		}
		uint32_t v = (uint32_t)a << 18 | (uint32_t)b << 12 |
			     (uint32_t)c << 6 | (uint32_t)(d < 0 ? 0 : d);

		out[n++] = v >> 16;
		if (d != -2)
			out[n++] = v >> 8 & 0xff;
		if (d >= 0)
			out[n++] = v & 0xff;
	}
	out[n] = '\0';
	*length = n;
	return out;
}
