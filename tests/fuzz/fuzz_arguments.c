// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* The parsers of every CLI argument (VIPs, addresses, prefixes, MACs,
 * percentages, pools, numbers) on arbitrary text; what they accept must
 * format and parse back to the same value. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "user/lib/parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char text[256], again[128];
	struct xs_vip_key key, key2;
	__be32 address[4];
	__u32 length, number;
	__u16 bp;
	__u8 family, mac[6], pool;

	if (size >= sizeof(text))
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	if (!xs_parse_vip(text, &key)) {
		xs_format_vip(&key, again, sizeof(again));
		if (xs_parse_vip(again, &key2) ||
		    memcmp(&key, &key2, sizeof(key)))
			abort();
	}
	if (!xs_parse_percent(text, &bp) && bp > XS_WEIGHT_TOTAL)
		abort();
	xs_parse_address(text, &family, address);
	if (!xs_parse_prefix(text, &family, address, &length) &&
	    length > (family == XS_FAMILY_IPV4 ? 32u : 128u))
		abort();
	xs_parse_mac(text, mac);
	xs_parse_pool(text, &pool);
	xs_parse_u32(text, 0, 65535, &number);
	return 0;
}
