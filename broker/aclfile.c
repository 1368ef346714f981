/* SPDX-License-Identifier: ISC */
/* Runs in a worker that is already the requester: bridge.conf and its includes opened as they are. */
#include "aclfile.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/*
 * A bijective 64-bit mixer (the splitmix64 finalizer).  The file id is
 * ino ^ mix(dev): two files on one device never share an id, because XOR
 * with the same constant is a bijection on inode numbers.  Across devices a
 * collision needs two inode numbers whose XOR equals a pseudo-random 64-bit
 * value; the usual (dev << 32) ^ ino collides instead as soon as a
 * filesystem (btrfs, xfs, NFS, overlayfs) hands out inode numbers above
 * 2^32.  And should ids ever collide, acl.c reports an include loop and
 * refuses: the failure is closed, never a missed loop, since one file
 * always gets one id.
 */
static uint64_t mix64(uint64_t x)
{
	x ^= x >> 30;
	x *= UINT64_C(0xbf58476d1ce4e5b9);
	x ^= x >> 27;
	x *= UINT64_C(0x94d049bb133111eb);
	x ^= x >> 31;
	return x;
}

static int check_stat(const struct stat *st)
{
	if (S_ISDIR(st->st_mode))
		return -EISDIR;
	if (!S_ISREG(st->st_mode))
		return -EINVAL;
	if (st->st_size < 0 || (uint64_t)st->st_size > ACL_FILE_MAX)
		return -EFBIG;
	return 0;
}

static int grow(char **buf, size_t *cap)
{
	size_t ncap = *cap * 2;
	char *p;

	if (ncap > ACL_FILE_MAX + 1)
		ncap = ACL_FILE_MAX + 1;
	p = realloc(*buf, ncap);
	if (!p)
		return -ENOMEM;
	*buf = p;
	*cap = ncap;
	return 0;
}

/*
 * Reads to EOF.  st_size is only a hint: the file may grow or shrink while
 * we read, and /proc-like files report 0.  Reading one byte past
 * ACL_FILE_MAX is how growth beyond the bound is noticed.
 */
static int read_all(int fd, size_t hint, char **out, size_t *out_len)
{
	size_t cap = hint + 1 < 256 ? 256 : hint + 1, len = 0;
	char *buf = malloc(cap);
	int r = 0;

	if (!buf)
		return -ENOMEM;
	for (;;) {
		ssize_t n;

		if (len == cap) {
			r = cap > ACL_FILE_MAX ? -EFBIG : grow(&buf, &cap);
			if (r < 0)
				goto out;
		}
		n = read(fd, buf + len, cap - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			r = -errno;
			goto out;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	*out = buf;
	*out_len = len;
	buf = NULL;
out:
	free(buf);
	return r;
}

static int aclfile_load(void *ctx, const char *path, struct acl_file *f)
{
	struct stat st;
	char *buf = NULL;
	size_t len = 0;
	int fd, r;

	(void)ctx;
	/*
	 * O_NONBLOCK: an include may name a FIFO, whose open would otherwise
	 * wait for a writer; it is refused below as non-regular.  O_NOCTTY: an
	 * include may name a terminal.
	 */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0) {
		r = -errno;
		goto out;
	}
	r = check_stat(&st);
	if (r < 0)
		goto out;
	r = read_all(fd, (size_t)st.st_size, &buf, &len);
	if (r < 0)
		goto out;
	f->buf = buf;
	f->len = len;
	f->id = (uint64_t)st.st_ino ^ mix64((uint64_t)st.st_dev);
	f->priv = buf;
out:
	close(fd);
	return r;
}

static void aclfile_release(void *ctx, struct acl_file *f)
{
	(void)ctx;
	free(f->priv);
	memset(f, 0, sizeof(*f));
}

const struct acl_loader aclfile_loader = {
	.load = aclfile_load,
	.release = aclfile_release,
	.ctx = NULL,
};
