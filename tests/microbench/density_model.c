// SPDX-License-Identifier: GPL-2.0
/*
 * density_model: what a compressor alone can do with a file, the yardstick
 * issue 18 set its target by.  Compressed bytes of FILE cut into units of
 * 1, 4 and 16 pages, with user-space libzstd at levels 3, 9 and 19,
 * relative to liblzo2's lzo1x-1 (lzo-rle's parent) page by page.  No pool,
 * no table, no metadata: the floor any zram can reach with these units.
 * A unit that does not shrink counts its own size (zram stores it raw);
 * same-filled pages count nothing in either column (zram keeps no bytes).
 *
 * The recompression bench runs it on the very tar it stores, so the report
 * shows how close the module comes to the compressor, and why a target
 * taken from another sample may not be reachable on this one.
 *
 * Usage: density_model FILE    Output: a Markdown table.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <lzo/lzo1x.h>
#include <zstd.h>

enum { PAGE = 4096, MAX_UNIT_PAGES = 16 };

static int same_filled(const unsigned char *page)
{
	for (size_t i = sizeof(uint64_t); i < PAGE; i += sizeof(uint64_t))
		if (memcmp(page, page + i, sizeof(uint64_t)))
			return 0;
	return 1;
}

static size_t capped(size_t compressed, size_t unit)
{
	return compressed < unit ? compressed : unit;
}

int main(int argc, char **argv)
{
	static unsigned char lzo_work[LZO1X_1_MEM_COMPRESS];
	static const int levels[] = { 3, 9, 19 };
	static const int unit_pages[] = { 1, 4, 16 };
	size_t out_cap = ZSTD_compressBound(MAX_UNIT_PAGES * PAGE);
	unsigned char *data, *out, *unit;
	size_t pages = 0, kept = 0;
	double lzo_bytes = 0;
	FILE *f;

	if (argc != 2) {
		fprintf(stderr, "usage: %s FILE\n", argv[0]);
		return 2;
	}
	f = fopen(argv[1], "rb");
	if (!f) {
		fprintf(stderr, "%s: %s\n", argv[1], strerror(errno));
		return 1;
	}
	/* Whole pages only, as a disk holds them. */
	data = malloc(MAX_UNIT_PAGES * PAGE);
	out = malloc(out_cap);
	unit = malloc(MAX_UNIT_PAGES * PAGE);
	if (!data || !out || !unit || lzo_init() != LZO_E_OK)
		return 1;
	fseek(f, 0, SEEK_END);
	pages = (size_t)ftell(f) / PAGE;

	/*
	 * Same-filled pages are left out of every unit, as zram leaves them
	 * out of the pool: a unit is the stored pages of an aligned window.
	 */
	double zstd_bytes[3][3] = { { 0 } };
	for (size_t window = 0; window < pages; window += MAX_UNIT_PAGES) {
		size_t n = pages - window < MAX_UNIT_PAGES ? pages - window : MAX_UNIT_PAGES;
		size_t stored = 0;

		fseek(f, (long)(window * PAGE), SEEK_SET);
		if (fread(data, PAGE, n, f) != n)
			return 1;
		for (size_t p = 0; p < n; p++) {
			lzo_uint len = out_cap;

			if (same_filled(data + p * PAGE))
				continue;
			lzo1x_1_compress(data + p * PAGE, PAGE, out, &len, lzo_work);
			lzo_bytes += capped(len, PAGE);
			memcpy(unit + stored * PAGE, data + p * PAGE, PAGE);
			stored++;
		}
		kept += stored;
		for (int l = 0; l < 3; l++)
			for (int u = 0; u < 3; u++)
				for (size_t first = 0; first < stored; first += unit_pages[u]) {
					size_t len = stored - first < (size_t)unit_pages[u] ?
						stored - first : (size_t)unit_pages[u];
					size_t c = ZSTD_compress(out, out_cap, unit + first * PAGE,
								 len * PAGE, levels[l]);

					if (ZSTD_isError(c))
						return 1;
					zstd_bytes[l][u] += capped(c, len * PAGE);
				}
	}
	fclose(f);

	printf("| %zu pages (%zu not same-filled), compressed bytes vs lzo1x-1 page by page (%.1f MB) |",
	       pages, kept, lzo_bytes / 1e6);
	for (int l = 0; l < 3; l++)
		printf(" zstd level %d |", levels[l]);
	printf("\n|---|");
	for (int l = 0; l < 3; l++)
		printf("---:|");
	printf("\n");
	for (int u = 0; u < 3; u++) {
		printf("| %d KiB (%d page%s) |", unit_pages[u] * 4, unit_pages[u],
		       unit_pages[u] > 1 ? "s" : "");
		for (int l = 0; l < 3; l++)
			printf(" %.3f |", zstd_bytes[l][u] / lzo_bytes);
		printf("\n");
	}
	free(data);
	free(out);
	free(unit);
	return 0;
}
