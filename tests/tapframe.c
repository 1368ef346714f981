/* SPDX-License-Identifier: ISC */
/*
 * tapframe: a program that is not qemu, run by ontap-tap, using its tap.
 *
 *   tapframe IP MAC [SECONDS]
 *
 * Checks that $ONTAP_FD is open, inherited (no FD_CLOEXEC) and a tap named
 * $ONTAP_IFNAME, and prints "fd N: tap NAME, inherited".  Then reads frames
 * from it (no packet information, no vnet header) for at most SECONDS
 * (default 10) until an ARP request for IP arrives from the bridge side,
 * answers it with an ARP reply from MAC, prints "arp request for IP from
 * SENDER-MAC: replied" and exits 0.  Exit 1: no such request in time;
 * 2: usage or an unusable descriptor.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>
#include <linux/if_tun.h>

#define ETH_HLEN 14
#define ARP_LEN  28

static int bad(const char *what)
{
	fprintf(stderr, "tapframe: %s\n", what);
	return 2;
}

static int parse_mac(const char *s, uint8_t mac[6])
{
	unsigned v[6];

	if (sscanf(s, "%x:%x:%x:%x:%x:%x", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5]) != 6)
		return -1;
	for (int i = 0; i < 6; i++)
		mac[i] = (uint8_t)v[i];
	return 0;
}

/* the descriptor ontap-tap announced: a tap, named as announced, inherited */
static int check_fd(int *fd)
{
	const char *s = getenv("ONTAP_FD"), *name = getenv("ONTAP_IFNAME");
	struct ifreq ifr = { 0 };
	char *end;
	long v;
	int fl;

	if (!s || !name)
		return bad("ONTAP_FD or ONTAP_IFNAME not set");
	v = strtol(s, &end, 10);
	if (*end || v < 0 || v > 1 << 20)
		return bad("ONTAP_FD is not a descriptor number");
	*fd = (int)v;
	fl = fcntl(*fd, F_GETFD);
	if (fl < 0)
		return bad("ONTAP_FD is not open");
	if (fl & FD_CLOEXEC)
		return bad("ONTAP_FD is close-on-exec: it was not meant for us");
	if (ioctl(*fd, TUNGETIFF, &ifr) < 0 || !(ifr.ifr_flags & IFF_TAP))
		return bad("ONTAP_FD is not a tap");
	if (strncmp(ifr.ifr_name, name, IFNAMSIZ))
		return bad("ONTAP_FD is not the tap ONTAP_IFNAME names");
	printf("fd %d: tap %s, inherited\n", *fd, ifr.ifr_name);
	return 0;
}

static long ms_left(const struct timespec *end)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (end->tv_sec - now.tv_sec) * 1000 + (end->tv_nsec - now.tv_nsec) / 1000000;
}

int main(int argc, char *argv[])
{
	uint8_t mac[6], f[2048], out[ETH_HLEN + ARP_LEN];
	struct in_addr ip;
	struct timespec end;
	int fd, r;

	if (argc < 3 || argc > 4 || inet_pton(AF_INET, argv[1], &ip) != 1 ||
	    parse_mac(argv[2], mac) < 0)
		return bad("usage: tapframe IP MAC [SECONDS]");
	r = check_fd(&fd);
	if (r)
		return r;
	fflush(stdout);
	clock_gettime(CLOCK_MONOTONIC, &end);
	end.tv_sec += argc == 4 ? atoi(argv[3]) : 10;
	for (long left; (left = ms_left(&end)) > 0;) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		ssize_t n;

		if (poll(&p, 1, (int)left) <= 0)
			continue;
		n = read(fd, f, sizeof(f));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return bad("read from the tap failed");
		/* an ARP request (Ethernet, IPv4) for our address */
		if (n < ETH_HLEN + ARP_LEN || f[12] != 0x08 || f[13] != 0x06 ||
		    memcmp(f + ETH_HLEN, "\x00\x01\x08\x00\x06\x04\x00\x01", 8) ||
		    memcmp(f + ETH_HLEN + 24, &ip, 4))
			continue;
		memcpy(out, f + ETH_HLEN + 8, 6);                       /* to the asker */
		memcpy(out + 6, mac, 6);
		out[12] = 0x08;
		out[13] = 0x06;
		memcpy(out + ETH_HLEN, "\x00\x01\x08\x00\x06\x04\x00\x02", 8);  /* a reply */
		memcpy(out + ETH_HLEN + 8, mac, 6);
		memcpy(out + ETH_HLEN + 14, &ip, 4);
		memcpy(out + ETH_HLEN + 18, f + ETH_HLEN + 8, 10);      /* their MAC and IP */
		if (write(fd, out, sizeof(out)) != (ssize_t)sizeof(out))
			return bad("write to the tap failed");
		printf("arp request for %s from %02x:%02x:%02x:%02x:%02x:%02x: replied\n", argv[1],
		       f[ETH_HLEN + 8], f[ETH_HLEN + 9], f[ETH_HLEN + 10], f[ETH_HLEN + 11],
		       f[ETH_HLEN + 12], f[ETH_HLEN + 13]);
		return 0;
	}
	fprintf(stderr, "tapframe: no ARP request for %s in time\n", argv[1]);
	return 1;
}
