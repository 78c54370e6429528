/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Names userspace finds the data plane by. Map names are also the pin file
 * names (libbpf pins by name), so they stay within the kernel's 15 characters.
 */
#ifndef XDPSPLIT_MAPS_NAMES_H
#define XDPSPLIT_MAPS_NAMES_H

#define XS_DEFAULT_PIN_DIR "/sys/fs/bpf/xdpsplit"
#define XS_PIN_DIR_ENV "XDPSPLIT_PIN_DIR"
#define XS_DEFAULT_RUN_DIR "/run/xdpsplit"
#define XS_RUN_DIR_ENV "XDPSPLIT_RUN_DIR"

#define XS_PROG_SPLIT "xdp_split"
#define XS_PROG_DECAP "xdp_decap"

#define XS_MAP_CONFIG "config"
#define XS_MAP_VIPS "vips"
#define XS_MAP_ROUTES "routes"
#define XS_MAP_POOL_EPOCHS "pool_epochs"
#define XS_MAP_MAGLEV "maglev"
#define XS_MAP_BACKENDS "backends"
#define XS_MAP_FLOWS "flows"
#define XS_MAP_OVERRIDES "overrides"
#define XS_MAP_EGRESS_MACS "egress_macs"
#define XS_MAP_TUNNEL_HOPS "tunnel_hops"
#define XS_MAP_POOL_STATS "pool_stats"
#define XS_MAP_BACKEND_STATS "backend_stats"
#define XS_MAP_GLOBAL_STATS "global_stats"

#endif /* XDPSPLIT_MAPS_NAMES_H */
