/* SPDX-License-Identifier: ISC */
/*
 * A test driver of the broker's veth path without the protocol: as root,
 *   veth-make UID BRIDGE NETNS-PATH [PEER]
 * opens NETNS-PATH as the caller, checks it for UID (netns_check) and makes
 * the pair (veth_create) with an ontap alias for UID.  Prints
 * "NAME IFINDEX PEER PEER-IFINDEX" and exits 0, or the error line and 1.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "census.h"
#include "netns.h"
#include "tap.h"
#include "veth.h"

int main(int argc, char **argv)
{
	char err[512], alias[CENSUS_ALIAS_MAX];
	struct tap_owner o = { 0 };
	struct netns_ref ref;
	struct bridge br;
	struct veth v;
	long owner;
	int fd;

	if (argc < 4 || argc > 5) {
		fprintf(stderr, "usage: veth-make UID BRIDGE NETNS-PATH [PEER]\n");
		return 2;
	}
	o.uid = (unsigned)strtoul(argv[1], NULL, 10);
	o.since = time(NULL);
	o.pid = getpid();
	fd = open(argv[3], O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		perror(argv[3]);
		return 1;
	}
	if (netns_ref_self(&ref, err, sizeof(err)) < 0 ||
	    netns_check(fd, &ref, o.uid, &owner, err, sizeof(err)) < 0 ||
	    bridge_lookup(argv[2], &br, err, sizeof(err)) < 0 ||
	    census_alias_format(&o, alias, sizeof(alias)) < 0 ||
	    veth_create(&br, fd, argc == 5 ? argv[4] : NULL, alias, &v, err, sizeof(err)) < 0) {
		fprintf(stderr, "veth-make: %s\n", err);
		return 1;
	}
	printf("%s %u %s %u\n", v.name, v.ifindex, v.peer_name, v.peer_ifindex);
	return 0;
}
