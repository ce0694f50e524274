// SPDX-License-Identifier: GPL-2.0
// Sanitizer defaults baked into every test binary, so they hold whether a
// test runs under ctest or by hand.  The environment still overrides them.
extern "C" {

const char *__asan_default_options()
{
	// allocator_may_return_null: a test may ask for absurd sizes and
	// expect -ENOMEM rather than an ASan abort.
	return "detect_leaks=1:allocator_may_return_null=1:"
	       "strict_string_checks=1:detect_stack_use_after_return=1";
}

const char *__ubsan_default_options()
{
	return "print_stacktrace=1:halt_on_error=1";
}

} // extern "C"
