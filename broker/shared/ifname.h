/* SPDX-License-Identifier: ISC */
#ifndef ONTAP_IFNAME_H
#define ONTAP_IFNAME_H

#include <stdbool.h>
#include <stddef.h>

/*
 * The kernel's own rule for a network interface name (dev_valid_name() in
 * net/core/dev.c): 1..IFNAMSIZ-1 bytes, not "." or "..", and no '/', ':',
 * NUL or whitespace (the kernel's isspace(), which also counts 0xa0).  A name is checked as the
 * (buf, len) the user gave, so nothing is ever truncated before checking.
 */
bool ifname_valid(const char *buf, size_t len);

#endif
