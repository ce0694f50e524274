// SPDX-License-Identifier: GPL-2.0
// The key=value parser behind recompress, recomp_algorithm,
// algorithm_params, writeback and idle_policy, through its C entry points.
#include "test_util.hpp"

#include <string>
#include <vector>

namespace {

struct Token {
	std::string key;
	bool has_value;
	std::string value;
	bool operator==(const Token &) const = default;
};

// All tokens of in, or the first error.
int tokens(const std::string &in, std::vector<Token> *out)
{
	// An exact-size heap copy: the parser must honour len.
	auto buf = std::make_unique<char[]>(in.size() + !in.size());
	std::memcpy(buf.get(), in.data(), in.size());
	zcx_size_t pos = 0;
	zcx_kv kv;
	int rc;
	while ((rc = zcx_kv_next(buf.get(), in.size(), &pos, &kv)) == 1) {
		out->push_back({std::string(kv.key, kv.key_len), kv.value != nullptr,
				kv.value ? std::string(kv.value, kv.value_len)
					 : std::string()});
		EXPECT_LE(pos, in.size());
	}
	return rc;
}

TEST(KvTest, SplitsTokens)
{
	std::vector<Token> t;
	ASSERT_EQ(tokens("type=idle max_pages=10\n", &t), 0);
	EXPECT_EQ(t, (std::vector<Token>{{"type", true, "idle"},
					 {"max_pages", true, "10"}}));
	t.clear();
	ASSERT_EQ(tokens("  idle\t\n", &t), 0);
	EXPECT_EQ(t, (std::vector<Token>{{"idle", false, ""}}));
	t.clear();
	ASSERT_EQ(tokens("", &t), 0);
	EXPECT_TRUE(t.empty());
	t.clear();
	ASSERT_EQ(tokens("\n", &t), 0);
	EXPECT_TRUE(t.empty());
	// Only the first '=' splits: a path may contain more.
	t.clear();
	ASSERT_EQ(tokens("dict=/a=b", &t), 0);
	EXPECT_EQ(t, (std::vector<Token>{{"dict", true, "/a=b"}}));
}

TEST(KvTest, RejectsEmptyKeyOrValue)
{
	std::vector<Token> t;
	EXPECT_EQ(tokens("=idle", &t), -ZCX_EINVAL);
	t.clear();
	EXPECT_EQ(tokens("type=", &t), -ZCX_EINVAL);
	t.clear();
	EXPECT_EQ(tokens("type=idle =", &t), -ZCX_EINVAL);
	EXPECT_EQ(t.size(), 1u); // the good token before it was returned
}

TEST(KvTest, MatchesKeysAndValuesExactly)
{
	const char buf[] = "typex=idle";
	zcx_size_t pos = 0;
	zcx_kv kv;
	ASSERT_EQ(zcx_kv_next(buf, sizeof(buf) - 1, &pos, &kv), 1);
	EXPECT_FALSE(zcx_kv_key_is(&kv, "type"));
	EXPECT_TRUE(zcx_kv_key_is(&kv, "typex"));
	EXPECT_TRUE(zcx_kv_value_is(&kv, "idle"));
	EXPECT_FALSE(zcx_kv_value_is(&kv, "idl"));
	const char bare[] = "idle";
	pos = 0;
	ASSERT_EQ(zcx_kv_next(bare, 4, &pos, &kv), 1);
	EXPECT_TRUE(zcx_kv_key_is(&kv, "idle"));
	EXPECT_FALSE(zcx_kv_value_is(&kv, ""));
}

zcx_kv token(const char *s)
{
	zcx_kv kv;
	zcx_size_t pos = 0;
	EXPECT_EQ(zcx_kv_next(s, std::strlen(s), &pos, &kv), 1) << s;
	return kv;
}

TEST(KvTest, Numbers)
{
	zcx_u64 v = 7;
	zcx_kv kv = token("n=0");
	EXPECT_EQ(zcx_kv_u64(&kv, &v), 0);
	EXPECT_EQ(v, 0u);
	kv = token("n=18446744073709551615");
	EXPECT_EQ(zcx_kv_u64(&kv, &v), 0);
	EXPECT_EQ(v, ~0ull);
	v = 7;
	for (const char *bad : {"n=0x10", "n=1K", "n=-1", "n=+1", "n=1.5", "n"}) {
		kv = token(bad);
		EXPECT_EQ(zcx_kv_u64(&kv, &v), -ZCX_EINVAL) << bad;
		EXPECT_EQ(v, 7u);
	}
	kv = token("n=18446744073709551616");
	EXPECT_EQ(zcx_kv_u64(&kv, &v), -ZCX_ERANGE);
	EXPECT_EQ(v, 7u);
	// Decimal, as kstrtou64(s, 10): a leading zero is not octal.
	kv = token("n=010");
	EXPECT_EQ(zcx_kv_u64(&kv, &v), 0);
	EXPECT_EQ(v, 10u);
}

TEST(KvTest, Ranges)
{
	zcx_u64 lo = 1, hi = 1;
	zcx_kv kv = token("page_indexes=100-199");
	EXPECT_EQ(zcx_kv_range(&kv, &lo, &hi), 0);
	EXPECT_EQ(lo, 100u);
	EXPECT_EQ(hi, 199u);
	kv = token("page_indexes=5-5");
	EXPECT_EQ(zcx_kv_range(&kv, &lo, &hi), 0);
	EXPECT_EQ(lo, 5u);
	EXPECT_EQ(hi, 5u);
	lo = hi = 1;
	for (const char *bad : {"r=6-5", "r=5", "r=-5", "r=5-", "r=1-2-3",
				"r=a-b", "r"}) {
		kv = token(bad);
		EXPECT_EQ(zcx_kv_range(&kv, &lo, &hi), -ZCX_EINVAL) << bad;
		EXPECT_EQ(lo, 1u);
		EXPECT_EQ(hi, 1u);
	}
	kv = token("r=0-99999999999999999999");
	EXPECT_EQ(zcx_kv_range(&kv, &lo, &hi), -ZCX_ERANGE);
}

} // namespace
