// SPDX-License-Identifier: GPL-2.0
// Driver for the callgrind per-page profile (scripts/microbench.sh
// callgrind).  For each page kind, on a fresh device of N pages: writes N
// distinct pages into empty slots, overwrites them with N others, reads
// them back (and checks them).  Under callgrind with
//   --collect-atstart=no --toggle-collect=zcx_dev_write_page
//   --toggle-collect=zcx_dev_read_page
// only the core's entry points are counted; each phase ends in a dump named
// "<phase>/<kind>".  Natively the client requests do nothing.
//
// usage: percall [pages per kind [kind...]]   (default: 20000, all kinds)
// Run one kind per process under callgrind: it counts calls on a call arc
// even while it collects no cost, and CALLGRIND_ZERO_STATS does not reset
// them, so one device's teardown would inflate the next kind's call counts
// (the instruction counts are unaffected).
//
// Prints one line per kind: kind, N, stored bytes per page, same and huge
// pages, pool pages (tab-separated, after a '#' header).
#include "pages.hpp"
#include "platform_host.hpp"

#include "zcx/abi.h"

#include <valgrind/callgrind.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iterator>
#include <string>
#include <vector>

namespace {

using mb::Kind;
using mb::kPage;

[[noreturn]] void fail(const char *what, unsigned long i)
{
	std::fprintf(stderr, "percall: %s failed at page %lu\n", what, i);
	std::exit(1);
}

void dump(const char *phase, Kind kind)
{
	const std::string label = std::string(phase) + "/" + mb::kind_name(kind);
	CALLGRIND_DUMP_STATS_AT(label.c_str());
}

} // namespace

int main(int argc, char **argv)
{
	unsigned long n = argc > 1 ? std::strtoul(argv[1], nullptr, 0) : 20000;
	std::vector<Kind> kinds;
	for (int a = 2; a < argc; a++) {
		for (Kind k : mb::kKinds) {
			if (!std::strcmp(argv[a], mb::kind_name(k)))
				kinds.push_back(k);
		}
		if (kinds.size() != static_cast<std::size_t>(a - 1))
			n = 0; // unknown kind
	}
	if (kinds.empty())
		kinds.assign(std::begin(mb::kKinds), std::end(mb::kKinds));
	if (n == 0) {
		std::fprintf(stderr, "usage: %s [pages per kind [kind...]]\n",
			     argv[0]);
		return 2;
	}
	// Page-aligned buffers, as the C layer hands the core kmapped pages.
	auto *src = static_cast<std::uint8_t *>(std::aligned_alloc(kPage, kPage));
	auto *dst = static_cast<std::uint8_t *>(std::aligned_alloc(kPage, kPage));
	std::printf("# kind\tpages\tstored_bytes_per_page\tsame\thuge\tpool_pages\n");
	for (Kind kind : kinds) {
		zcx_host *host = host::streams_create();
		zcx_dev *dev = nullptr;
		if (zcx_dev_create(n * kPage, host, &dev))
			fail("zcx_dev_create", 0);

		for (unsigned long i = 0; i < n; i++) {
			mb::make_page(kind, i, src);
			if (zcx_dev_write_page(dev, i, src))
				fail("write", i);
		}
		dump("write", kind);

		for (unsigned long i = 0; i < n; i++) {
			mb::make_page(kind, n + i, src);
			if (zcx_dev_write_page(dev, i, src))
				fail("overwrite", i);
		}
		dump("overwrite", kind);

		zcx_stats st;
		zcx_dev_get_stats(dev, &st);

		for (unsigned long i = 0; i < n; i++) {
			unsigned long block;
			if (zcx_dev_read_page(dev, i, dst, &block))
				fail("read", i);
			mb::make_page(kind, n + i, src);
			if (std::memcmp(src, dst, kPage))
				fail("read back", i);
		}
		dump("read", kind);

		std::printf("%s\t%lu\t%.1f\t%llu\t%llu\t%llu\n", mb::kind_name(kind),
			    n, static_cast<double>(st.compr_data_size) / n,
			    static_cast<unsigned long long>(st.same_pages),
			    static_cast<unsigned long long>(st.huge_pages),
			    static_cast<unsigned long long>(
				    (st.mem_used_total >> 12) - st.huge_pages));
		zcx_dev_destroy(dev);
		host::streams_destroy(host);
	}
	std::free(src);
	std::free(dst);
	return 0;
}
