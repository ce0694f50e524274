/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Test hooks into the C++ core for the KUnit suites (tests/kunit/), built
 * only into a module compiled against a KUnit kernel (ZCX_KUNIT).
 */
#ifndef ZCX_TEST_ABI_H
#define ZCX_TEST_ABI_H

#include "abi.h"

#ifdef __cplusplus
extern "C" {
#endif

struct zcx_test_pool;
struct zcx_test_pool *zcx_test_pool_create(void);
void zcx_test_pool_destroy(struct zcx_test_pool *pool);
/* 0 and *handle, or -errno. */
int zcx_test_pool_alloc(struct zcx_test_pool *pool, zcx_size_t size,
			enum zcx_gfp gfp, zcx_u64 *handle);
void zcx_test_pool_free(struct zcx_test_pool *pool, zcx_u64 handle);
zcx_size_t zcx_test_pool_object_size(struct zcx_test_pool *pool,
				     zcx_u64 handle);
void *zcx_test_pool_map(struct zcx_test_pool *pool, zcx_u64 handle);
void zcx_test_pool_unmap(struct zcx_test_pool *pool, const void *object);
zcx_u64 zcx_test_pool_pages(struct zcx_test_pool *pool);
/* 1 if the free lists and bitmaps agree. */
int zcx_test_pool_check(struct zcx_test_pool *pool);
/* 1 if the chunk the handle lives in has a well-formed block chain. */
int zcx_test_pool_check_page_of(zcx_u64 handle);
/* The chunk a handle lives in: its first pfn and its order. */
unsigned long zcx_test_handle_pfn(zcx_u64 handle);
unsigned int zcx_test_handle_order(zcx_u64 handle);
zcx_size_t zcx_test_max_alloc(void);

/* 1 if a slot set to (kind, value, size) reads back the same. */
int zcx_test_slot_roundtrip(int kind, zcx_u64 value, unsigned int size);
int zcx_test_slot_kinds(void);

/* The codec wrapper; compress uses this CPU's stream of host. */
int zcx_test_compress(struct zcx_host *host, const void *page, void *out,
		      zcx_size_t *len);
int zcx_test_decompress(struct zcx_host *host, const void *src,
			zcx_size_t len, void *page);
int zcx_test_same_filled(const void *page, zcx_u64 *word);
zcx_size_t zcx_test_huge_threshold(void);

#ifdef __cplusplus
}
#endif

#endif /* ZCX_TEST_ABI_H */
