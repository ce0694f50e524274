// SPDX-License-Identifier: GPL-2.0
// direct-reader DEV BYTES COUNT: opens DEV with O_DIRECT and an aligned
// buffer, stops itself (SIGSTOP), and once continued reads COUNT chunks of
// BYTES from the start, ignoring errors.  Everything it needs is set up
// before the stop, so a test can mark it for fault injection
// (/proc/PID/make-it-fail) and know that only its reads can fail; built
// static and run from tmpfs, it never touches the guest's 9p root again.
#define _GNU_SOURCE
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	if (argc != 4)
		return 2;
	const size_t bytes = strtoul(argv[2], NULL, 0);
	const long count = strtol(argv[3], NULL, 0);
	const int fd = open(argv[1], O_RDONLY | O_DIRECT);
	void *buf;
	if (fd < 0 || posix_memalign(&buf, 4096, bytes))
		return 1;
	raise(SIGSTOP);
	long failed = 0;
	for (long i = 0; i < count; i++)
		failed += pread(fd, buf, bytes, (off_t)i * bytes) != (ssize_t)bytes;
	return failed ? 3 : 0;
}
