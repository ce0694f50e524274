// SPDX-License-Identifier: GPL-2.0
/*
 * swapbench: a program that lives on swap, the way users meet zram.
 *
 * Fills MIB MiB of anonymous memory with pages of a real file (wrapping
 * around, shifted by half a page, if the file is shorter), then makes
 * ACCESSES skewed accesses: HOT_SHARE % of them to a hot HOT % of the
 * pages, the rest uniform over the "warm" pages, which are all pages but
 * the COLD % that are never touched again after the fill.  Every access
 * reads its whole page and checks it against the page's checksum; one in
 * REWRITE also overwrites part of it with other bytes of the file (and
 * updates the checksum).  All choices come from one seeded generator, so
 * every run makes the same accesses.
 *
 * Then, after IDLE seconds asleep (the program still owns its memory, so
 * a background policy finds it cold in swap), every page is read back and
 * checked once more.  Run it in a memory cgroup smaller than MIB with a
 * zram swap device.  The access phase is timed with CLOCK_MONOTONIC: under
 * QEMU's icount, guest time is a function of the instructions executed.
 *
 * Output: "SB key=value ..." lines (parsed by scripts/bench-swap-report.py);
 * with --dev zramN they carry the disk's mm_stat, pswpin/pswpout and, for
 * ours, the idle policy's debugfs counters.  Exit status 0 only if every
 * page checked came back intact.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#define PAGE 4096u
#define DONOR_BYTES (1u << 20)

static struct {
	unsigned long mib;
	unsigned long accesses;
	unsigned cold;		/* % of pages never touched after the fill */
	unsigned hot;		/* % of pages that are hot */
	unsigned hot_share;	/* % of accesses that go to the hot pages */
	unsigned rewrite;	/* one access in this many rewrites (0: none) */
	unsigned idle;		/* seconds asleep before the final check */
	unsigned ticks;		/* samples during the access phase */
	uint64_t seed;
	int thp;
	long corrupt;		/* page to spoil after the fill (-1: none) */
	const char *data;
	const char *dev;
} opt = {
	.mib = 384, .accesses = 1000000, .cold = 0, .hot = 10,
	.hot_share = 90, .rewrite = 5, .idle = 10, .ticks = 10,
	.seed = 19, .thp = 0, .corrupt = -1, .data = "/tmp/real.tar", .dev = NULL,
};

static uint64_t rng_state;

/* splitmix64: one multiply-xorshift chain, good enough to pick pages. */
static uint64_t rnd(void)
{
	uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static uint64_t below(uint64_t n)
{
	return rnd() % n;
}

/*
 * Seeded with the page's index, so a page that came back in another
 * page's place fails as surely as a corrupt one.
 */
static uint64_t page_sum(const unsigned char *p, uint64_t index)
{
	const uint64_t *w = (const uint64_t *)p;
	uint64_t h = index * 0x9e3779b97f4a7c15ull + 1;

	for (unsigned i = 0; i < PAGE / 8; i++) {
		h = (h ^ w[i]) * 0x100000001b3ull;
		h ^= h >> 29;
	}
	return h;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static double cpu_self(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
	       ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
}

static int slurp(const char *path, char *buf, size_t size)
{
	int fd = open(path, O_RDONLY);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = read(fd, buf, size - 1);
	close(fd);
	if (n < 0)
		return -1;
	buf[n] = 0;
	return 0;
}

static unsigned long long vmstat(const char *key)
{
	static char buf[16384];
	size_t len = strlen(key);

	if (slurp("/proc/vmstat", buf, sizeof(buf)))
		return 0;
	for (char *l = buf; l && *l; l = strchr(l, '\n'), l = l ? l + 1 : l)
		if (!strncmp(l, key, len) && l[len] == ' ')
			return strtoull(l + len + 1, NULL, 10);
	return 0;
}

/* Idle and total guest CPU time in seconds (/proc/stat's "cpu" line). */
static void cpu_all(double *idle, double *total)
{
	char buf[512];
	unsigned long long v[10] = {0};
	long hz = sysconf(_SC_CLK_TCK);

	*idle = *total = 0;
	if (slurp("/proc/stat", buf, sizeof(buf)))
		return;
	sscanf(buf, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1],
	       &v[2], &v[3], &v[4], &v[5], &v[6], &v[7]);
	for (int i = 0; i < 8; i++)
		*total += (double)v[i] / hz;
	*idle = (double)(v[3] + v[4]) / hz;
}

/*
 * The disk's state as one line: mm_stat's fields, swap traffic, guest
 * CPU, and what the idle policy has done (ours only).  Reading sysfs and
 * /proc costs the same on every configuration.
 */
static void snap(const char *phase, double t0, unsigned long done,
		 int block_state)
{
	char path[256], buf[4096];
	unsigned long long mm[9] = {0}, runs = 0, tried = 0, recomp = 0;
	double idle, total;

	printf("SB phase=%s t=%.6f accesses=%lu pswpin=%llu pswpout=%llu",
	       phase, now() - t0, done, vmstat("pswpin"), vmstat("pswpout"));
	cpu_all(&idle, &total);
	printf(" cpu_total=%.2f cpu_idle=%.2f self_cpu=%.3f", total, idle,
	       cpu_self());
	if (opt.dev) {
		snprintf(path, sizeof(path), "/sys/block/%s/mm_stat", opt.dev);
		if (!slurp(path, buf, sizeof(buf)))
			sscanf(buf, "%llu %llu %llu %llu %llu %llu %llu %llu %llu",
			       &mm[0], &mm[1], &mm[2], &mm[3], &mm[4], &mm[5],
			       &mm[6], &mm[7], &mm[8]);
		printf(" orig=%llu compr=%llu mem_used=%llu mem_max=%llu same=%llu huge=%llu",
		       mm[0], mm[1], mm[2], mm[4], mm[5], mm[7]);
		snprintf(path, sizeof(path),
			 "/sys/kernel/debug/zram/%s/idle_policy", opt.dev);
		if (!slurp(path, buf, sizeof(buf))) {
			sscanf(buf, "runs: %llu tried: %llu recompressed: %llu",
			       &runs, &tried, &recomp);
			printf(" policy_runs=%llu policy_tried=%llu policy_recompressed=%llu",
			       runs, tried, recomp);
			/* The ages it recompresses and groups at (seconds). */
			const char *age = strstr(buf, "\nage: ");
			const char *group_age = strstr(buf, "group_age: ");

			if (age && group_age)
				printf(" policy_age=%lu policy_group_age=%lu",
				       strtoul(age + 6, NULL, 10),
				       strtoul(group_age + 11, NULL, 10));
		}
		/* What mem_used is made of (ours): chunks, and the bytes of
		 * groups whose members are gone but whose streams stay. */
		snprintf(path, sizeof(path), "/sys/kernel/debug/zram/%s/pool",
			 opt.dev);
		if (!slurp(path, buf, sizeof(buf))) {
			unsigned long long c16 = 0, c4 = 0, compactable = 0,
					   groups = 0, grouped = 0, dead = 0;

			sscanf(buf, "chunks_16k: %llu chunks_4k: %llu compactable_pages: %llu "
			       "groups: %llu grouped_pages: %llu dead_group_bytes: %llu",
			       &c16, &c4, &compactable, &groups, &grouped, &dead);
			printf(" chunks_16k=%llu chunks_4k=%llu compactable_pages=%llu"
			       " groups=%llu grouped_pages=%llu dead_group_bytes=%llu",
			       c16, c4, compactable, groups, grouped, dead);
			/* Free space by block size: under 512 bytes, up to the
			 * largest object, and the rest (fresh chunks' tails). */
			const char *fb = strstr(buf, "free_bytes (");
			unsigned long long h[6] = {0};

			if (fb && (fb = strchr(fb, ':')) &&
			    sscanf(fb + 1, "%llu %llu %llu %llu %llu %llu", &h[0], &h[1],
				   &h[2], &h[3], &h[4], &h[5]) == 6)
				printf(" free_small=%llu free_mid=%llu free_rest=%llu",
				       h[0] + h[1], h[2] + h[3] + h[4], h[5]);
		}
	}
	/* Pages stored recompressed right now (ours' block_state flag r). */
	if (opt.dev && block_state) {
		FILE *f;
		char line[128];
		unsigned long long r = 0, n = 0;

		snprintf(path, sizeof(path),
			 "/sys/kernel/debug/zram/%s/block_state", opt.dev);
		f = fopen(path, "r");
		if (f) {
			while (fgets(line, sizeof(line), f)) {
				char *flags = strrchr(line, ' ');

				n++;
				if (flags && strchr(flags, 'r'))
					r++;
			}
			fclose(f);
			printf(" stored=%llu stored_recompressed=%llu", n, r);
		}
	}
	printf("\n");
	fflush(stdout);
}

static void usage(void)
{
	fprintf(stderr,
		"usage: swapbench [--mib N] [--accesses N] [--cold PCT] [--hot PCT]\n"
		"                 [--hot-share PCT] [--rewrite N] [--idle S] [--seed N]\n"
		"                 [--ticks N] [--data FILE] [--dev zramN] [--thp]\n"
		"                 [--corrupt PAGE]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "mib", 1, 0, 'm' }, { "accesses", 1, 0, 'a' },
		{ "cold", 1, 0, 'c' }, { "hot", 1, 0, 'h' },
		{ "hot-share", 1, 0, 'H' }, { "rewrite", 1, 0, 'r' },
		{ "idle", 1, 0, 'i' }, { "seed", 1, 0, 's' },
		{ "ticks", 1, 0, 't' }, { "data", 1, 0, 'd' },
		{ "dev", 1, 0, 'D' }, { "thp", 0, 0, 'T' },
		{ "corrupt", 1, 0, 'C' }, { 0, 0, 0, 0 },
	};
	unsigned char *mem, *donor;
	uint64_t *sums, npages, nwarm, nhot, fails = 0, rewrites = 0;
	uint32_t *perm;
	size_t bytes;
	int c, fd;
	double t0, t, cpu0, idle0, total0, idle1, total1;
	unsigned long tick_every;

	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (c) {
		case 'm': opt.mib = strtoul(optarg, NULL, 0); break;
		case 'a': opt.accesses = strtoul(optarg, NULL, 0); break;
		case 'c': opt.cold = strtoul(optarg, NULL, 0); break;
		case 'h': opt.hot = strtoul(optarg, NULL, 0); break;
		case 'H': opt.hot_share = strtoul(optarg, NULL, 0); break;
		case 'r': opt.rewrite = strtoul(optarg, NULL, 0); break;
		case 'i': opt.idle = strtoul(optarg, NULL, 0); break;
		case 's': opt.seed = strtoull(optarg, NULL, 0); break;
		case 't': opt.ticks = strtoul(optarg, NULL, 0); break;
		case 'd': opt.data = optarg; break;
		case 'D': opt.dev = optarg; break;
		case 'T': opt.thp = 1; break;
		case 'C': opt.corrupt = strtol(optarg, NULL, 0); break;
		default: usage();
		}
	}
	if (optind != argc || !opt.mib || opt.cold > 99 || !opt.hot ||
	    opt.hot > 100 - opt.cold || opt.hot_share > 100)
		usage();
	rng_state = opt.seed;
	bytes = opt.mib << 20;
	npages = bytes / PAGE;
	nwarm = npages * (100 - opt.cold) / 100;
	nhot = npages * opt.hot / 100;
	if (!nhot)
		nhot = 1;

	mem = mmap(NULL, bytes, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (mem == MAP_FAILED) {
		perror("swapbench: mmap");
		return 2;
	}
	/*
	 * Without THP each page swaps on its own, as zram's per-page
	 * design expects; Debian's default (always) would fault 2 MiB at
	 * a time into a cgroup of a few hundred of them.
	 */
	if (!opt.thp)
		madvise(mem, bytes, MADV_NOHUGEPAGE);
	sums = calloc(npages, sizeof(*sums));
	perm = malloc(npages * sizeof(*perm));
	donor = malloc(DONOR_BYTES);
	if (!sums || !perm || !donor) {
		fprintf(stderr, "swapbench: out of memory for the bookkeeping\n");
		return 2;
	}

	/* Which pages are hot and which warm: a seeded shuffle. */
	for (uint64_t i = 0; i < npages; i++)
		perm[i] = i;
	for (uint64_t i = npages - 1; i > 0; i--) {
		uint64_t j = below(i + 1);
		uint32_t x = perm[i];

		perm[i] = perm[j];
		perm[j] = x;
	}

	fd = open(opt.data, O_RDONLY);
	if (fd < 0) {
		fprintf(stderr, "swapbench: %s: %s\n", opt.data, strerror(errno));
		return 2;
	}
	t0 = now();
	snap("start", t0, 0, 0);
	{
		/* The fill, in file order; a second lap starts half a page
		 * in, so its pages are not copies of the first lap's. */
		size_t done = 0, shift = 0;

		while (done < bytes) {
			ssize_t n = read(fd, mem + done, bytes - done);

			if (n < 0) {
				perror("swapbench: read");
				return 2;
			}
			if (n == 0) {
				if (!done) {
					fprintf(stderr, "swapbench: %s is empty\n",
						opt.data);
					return 2;
				}
				shift = shift ? 0 : PAGE / 2;
				lseek(fd, shift, SEEK_SET);
				continue;
			}
			done += n;
		}
		if (pread(fd, donor, DONOR_BYTES, 0) != DONOR_BYTES) {
			fprintf(stderr, "swapbench: %s: under 1 MiB\n", opt.data);
			return 2;
		}
	}
	close(fd);
	for (uint64_t i = 0; i < npages; i++)
		sums[i] = page_sum(mem + i * PAGE, i);
	/* The checker's own test: one byte off must fail the run. */
	if (opt.corrupt >= 0 && (uint64_t)opt.corrupt < npages)
		mem[opt.corrupt * PAGE + 123] ^= 1;
	printf("SB config mib=%lu pages=%" PRIu64 " warm=%" PRIu64 " hot=%" PRIu64
	       " accesses=%lu hot_share=%u rewrite=%u idle=%u seed=%" PRIu64
	       " thp=%d fill_s=%.3f\n",
	       opt.mib, npages, nwarm, nhot, opt.accesses, opt.hot_share,
	       opt.rewrite, opt.idle, opt.seed, opt.thp, now() - t0);
	snap("filled", t0, 0, 1);

	tick_every = opt.ticks ? (opt.accesses + opt.ticks - 1) / opt.ticks : 0;
	/* After the snapshot: its block_state read is not the phase's. */
	cpu_all(&idle0, &total0);
	t = now();
	cpu0 = cpu_self();
	for (unsigned long a = 0; a < opt.accesses; a++) {
		uint64_t i = below(100) < opt.hot_share ? perm[below(nhot)]
							 : perm[below(nwarm)];
		unsigned char *p = mem + i * PAGE;

		if (page_sum(p, i) != sums[i]) {
			if (fails++ < 10)
				fprintf(stderr, "swapbench: page %" PRIu64
					" corrupt at access %lu\n", i, a);
		}
		if (opt.rewrite && below(opt.rewrite) == 0) {
			/* 64..1024 bytes of the file, somewhere in the page. */
			size_t len = 64 + below(961);
			size_t off = below(PAGE - len + 1);

			memcpy(p + off, donor + below(DONOR_BYTES - len + 1), len);
			sums[i] = page_sum(p, i);
			rewrites++;
		}
		if (tick_every && (a + 1) % tick_every == 0 && a + 1 < opt.accesses)
			snap("tick", t, a + 1, 0);
	}
	{
		double secs = now() - t, cpu = cpu_self() - cpu0;

		cpu_all(&idle1, &total1);
		/* busy: the whole guest's, the program's own included. */
		printf("SB result accesses=%lu rewrites=%" PRIu64 " secs=%.6f"
		       " per_s=%.1f self_cpu=%.3f busy=%.2f fails=%" PRIu64 "\n",
		       opt.accesses, rewrites, secs, opt.accesses / secs, cpu,
		       (total1 - idle1) - (total0 - idle0), fails);
	}
	snap("accessed", t, opt.accesses, 1);

	if (opt.idle) {
		t = now();
		sleep(opt.idle);
		snap("idle", t, 0, 1);
	}

	/* Every page once more, in index order: what came back from a
	 * long stay in swap, timed. */
	t = now();
	{
		uint64_t bad = 0;

		for (uint64_t i = 0; i < npages; i++)
			if (page_sum(mem + i * PAGE, i) != sums[i] && bad++ < 10)
				fprintf(stderr, "swapbench: page %" PRIu64
					" corrupt in the final check\n", i);
		fails += bad;
		printf("SB final pages=%" PRIu64 " secs=%.6f fails=%" PRIu64 "\n",
		       npages, now() - t, bad);
	}
	snap("checked", t, 0, 0);
	printf("SB done fails=%" PRIu64 "\n", fails);
	return fails ? 1 : 0;
}
